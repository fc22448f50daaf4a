package replication

import (
	"context"
	"sync"

	"github.com/hushnet/hush/protocol/rpc"
)

// forwardQueue batches the forwards to one peer: while one apply to the
// peer is in flight, the forwards that arrive queue up and go in the next
// apply, up to rpc.MaxNodeOps operations. Under load this turns one HTTPS
// request, one signature and one fsync on the peer per message into one
// per batch; a lone forward is sent at once.
type forwardQueue struct {
	r    *Replicator
	peer Member

	mu      sync.Mutex // guards pending and running
	pending []*forwardReq
	running bool
}

type forwardReq struct {
	op     rpc.NodeOp
	ctx    context.Context
	result rpc.ApplyResult
	err    error
	done   chan struct{}
}

func (r *Replicator) queue(m Member) *forwardQueue {
	id := m.Key.String() + "@" + m.Address
	r.mu.Lock()
	defer r.mu.Unlock()
	q, ok := r.queues[id]
	if !ok {
		q = &forwardQueue{r: r, peer: m}
		r.queues[id] = q
	}
	return q
}

// send forwards op to the peer in the next batch and waits for its result
// or ctx.
func (q *forwardQueue) send(ctx context.Context, op rpc.NodeOp) (rpc.ApplyResult, error) {
	req := &forwardReq{op: op, ctx: ctx, done: make(chan struct{})}
	q.mu.Lock()
	q.pending = append(q.pending, req)
	if !q.running {
		q.running = true
		go q.run()
	}
	q.mu.Unlock()
	select {
	case <-req.done:
		return req.result, req.err
	case <-ctx.Done():
		return rpc.ApplyResult{}, ctx.Err()
	}
}

func (q *forwardQueue) run() {
	for {
		q.mu.Lock()
		n := min(len(q.pending), rpc.MaxNodeOps)
		reqs := q.pending[:n:n]
		q.pending = q.pending[n:]
		if n == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		// Requests whose caller gave up are not sent; the batch is sent
		// for as long as its newest caller (usually the last to give up)
		// waits.
		live := reqs[:0:0]
		var ops []rpc.NodeOp
		for _, r := range reqs {
			if r.ctx.Err() != nil {
				r.err = r.ctx.Err()
				close(r.done)
				continue
			}
			live = append(live, r)
			ops = append(ops, r.op)
		}
		if len(live) == 0 {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		stop := context.AfterFunc(live[len(live)-1].ctx, cancel)
		var reply rpc.ApplyReply
		err := q.r.call(ctx, q.peer, rpc.NodeApply, rpc.ApplyParams{Source: rpc.SourceForward, Ops: ops}, &reply)
		stop()
		cancel()
		if err == nil && len(reply.Results) != len(ops) {
			err = errWrongResults
		}
		for i, r := range live {
			if err != nil {
				r.err = err
			} else {
				r.result = reply.Results[i]
			}
			close(r.done)
		}
	}
}
