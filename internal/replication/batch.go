package replication

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// forwardQueue batches the forwards to one peer: while one apply to the
// peer is in flight, the forwards that arrive queue up and go in the next
// apply, up to rpc.MaxNodeOps operations. Under load this turns one HTTPS
// request, one signature and one fsync on the peer per message into one
// per batch; a lone forward is sent at once.
type forwardQueue struct {
	r    *Replicator
	peer snapshot.Node

	mu      sync.Mutex // guards the fields below
	pending []*forwardReq
	running bool
	// down is when forwards to the peer resume after it failed to answer
	// (refused, reset or timed out); until then they fail at once, so a
	// frozen peer costs a client's store one ForwardTimeout per back-off
	// period instead of each time. Anti-entropy repairs what is skipped.
	down     time.Time
	failures int
}

// ErrPeerDown: forwards to a peer that recently failed to answer are
// skipped until its back-off ends.
var ErrPeerDown = errors.New("peer is backed off after failing to answer")

// maxBackoff bounds how long a peer that stopped answering is skipped.
const maxBackoff = 30 * time.Second

type forwardReq struct {
	op     rpc.NodeOp
	ctx    context.Context
	result rpc.ApplyResult
	err    error
	done   chan struct{}
}

func (r *Replicator) queue(m snapshot.Node) *forwardQueue {
	id := m.Ed25519.String() + "@" + m.Address
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
	if q.r.cfg.Clock().Before(q.down) {
		q.mu.Unlock()
		return rpc.ApplyResult{}, ErrPeerDown
	}
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
		// At most MaxNodeOps ops and maxApplyData bytes of data, so the
		// apply fits the peer's request body cap.
		n, size := 0, 0
		for n < len(q.pending) && n < rpc.MaxNodeOps && (n == 0 || size+len(q.pending[n].op.Data) <= maxApplyData) {
			size += len(q.pending[n].op.Data)
			n++
		}
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
		q.noteOutcome(err)
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

// noteOutcome backs the peer off after a transport failure (doubling from
// a second up to maxBackoff) and clears the back-off when it answers. An
// HTTP error is an answer: the peer is up.
func (q *forwardQueue) noteOutcome(err error) {
	var answered *PeerError
	q.mu.Lock()
	defer q.mu.Unlock()
	if err == nil || errors.As(err, &answered) {
		q.failures, q.down = 0, time.Time{}
		return
	}
	q.failures++
	q.down = q.r.cfg.Clock().Add(min(time.Second<<min(q.failures-1, 5), maxBackoff))
}
