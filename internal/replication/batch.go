package replication

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// forwardQueue batches the forwards to one peer: while one apply to the
// peer is in flight, the forwards that arrive queue up and go in the next
// apply, up to rpc.MaxNodeOps operations. Under load this turns one HTTPS
// request, one signature and one fsync on the peer per message into one
// per batch; a lone forward is sent at once.
//
// A store is answered before its slowest peers have it ([Replicator.Forward]),
// so the queue, not the client's request, holds a forward until it is sent:
// it is bounded by [Config.ForwardQueue] operations and maxQueuedData
// bytes, and an operation is sent only within [Config.ForwardTimeout] of
// its store. One goroutine per peer sends, only while there is something
// to send. A peer that hangs thus costs at most the queue's memory and
// its own in-flight request; what does not fit or waits too long is left
// to anti-entropy and counted ([ForwardStats]).
type forwardQueue struct {
	r    *Replicator
	peer snapshot.Node

	mu          sync.Mutex // guards the fields below
	pending     []*forwardReq
	pendingData int // bytes of message data in pending
	running     bool
	// down is when forwards to the peer resume after it failed to answer
	// (refused, reset or timed out); until then they fail at once, so a
	// frozen peer costs a client's store one ForwardTimeout per back-off
	// period instead of each time. Anti-entropy repairs what is skipped.
	down     time.Time
	failures int
}

// Errors a forward to one peer ends with (logged at debug level; the write
// is left to anti-entropy).
var (
	// ErrPeerDown: forwards to a peer that recently failed to answer are
	// skipped until its back-off ends.
	ErrPeerDown = errors.New("peer is backed off after failing to answer")
	// ErrQueueFull: the peer's forward queue holds Config.ForwardQueue
	// operations or maxQueuedData bytes already.
	ErrQueueFull = errors.New("the peer's forward queue is full")
	// ErrForwardExpired: the operation waited in the queue past
	// Config.ForwardTimeout.
	ErrForwardExpired = errors.New("forward waited past its time-out")
)

// maxBackoff bounds how long a peer that stopped answering is skipped.
const maxBackoff = 30 * time.Second

// maxQueuedData bounds the message data queued for one peer: two full
// applies, so a peer that keeps up always finds the next batch ready.
const maxQueuedData = 2 * maxApplyData

// ForwardStats counts, since the Replicator was made, the forwards that
// did not reach a peer and are left to anti-entropy.
type ForwardStats struct {
	QueueFull uint64 // not queued: the peer's queue was full
	Failed    uint64 // queued but not delivered: the peer was backed off, the op expired in the queue, or the apply failed
}

// forwardStats are the counters behind [Replicator.ForwardStats].
type forwardStats struct {
	queueFull, failed atomic.Uint64
}

// ForwardStats returns the forward counters.
func (r *Replicator) ForwardStats() ForwardStats {
	return ForwardStats{QueueFull: r.stats.queueFull.Load(), Failed: r.stats.failed.Load()}
}

type forwardReq struct {
	op       rpc.NodeOp
	deadline time.Time // on the Replicator's clock; not sent after it
	// results receives exactly one forwardResult; it has room for it, so
	// the queue never waits for Forward (which may have returned).
	results chan<- forwardResult
}

type forwardResult struct {
	peer   snapshot.Node
	hash   string
	result rpc.ApplyResult
	err    error
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

// enqueue queues req for the peer's next batch, which will send its
// result; it fails at once, sending nothing, if the peer is backed off or
// its queue is full.
func (q *forwardQueue) enqueue(req *forwardReq) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.r.cfg.Clock().Before(q.down) {
		q.r.stats.failed.Add(1)
		return ErrPeerDown
	}
	if len(q.pending) >= q.r.cfg.ForwardQueue || (len(q.pending) > 0 && q.pendingData+len(req.op.Data) > maxQueuedData) {
		q.r.stats.queueFull.Add(1)
		return ErrQueueFull
	}
	q.pending = append(q.pending, req)
	q.pendingData += len(req.op.Data)
	if !q.running {
		q.running = true
		go q.run()
	}
	return nil
}

func (q *forwardQueue) finish(req *forwardReq, res rpc.ApplyResult, err error) {
	if err != nil {
		q.r.stats.failed.Add(1)
	}
	req.results <- forwardResult{peer: q.peer, hash: req.op.Hash, result: res, err: err}
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
		if n == 0 {
			q.running = false
			q.pending = nil // the array may have grown large under a burst
			q.mu.Unlock()
			return
		}
		reqs := slices.Clone(q.pending[:n])
		clear(q.pending[:n]) // the array keeps no data of sent ops
		q.pending = q.pending[n:]
		q.pendingData -= size
		now := q.r.cfg.Clock()
		down := now.Before(q.down)
		q.mu.Unlock()
		live := reqs[:0]
		var ops []rpc.NodeOp
		var last time.Time
		for _, r := range reqs {
			switch {
			case down:
				q.finish(r, rpc.ApplyResult{}, ErrPeerDown)
			case !now.Before(r.deadline):
				q.finish(r, rpc.ApplyResult{}, ErrForwardExpired)
			default:
				live = append(live, r)
				ops = append(ops, r.op)
				if r.deadline.After(last) {
					last = r.deadline
				}
			}
		}
		if len(live) == 0 {
			continue
		}
		// The batch is sent for as long as its newest op may wait, and
		// no longer than the Replicator lives.
		ctx, cancel := context.WithTimeout(q.r.life, last.Sub(now))
		var reply rpc.ApplyReply
		err := q.r.call(ctx, q.peer, rpc.NodeApply, rpc.ApplyParams{Source: rpc.SourceForward, Ops: ops}, &reply)
		cancel()
		if err == nil && len(reply.Results) != len(ops) {
			err = errWrongResults
		}
		q.noteOutcome(err)
		for i, r := range live {
			if err != nil {
				q.finish(r, rpc.ApplyResult{}, err)
			} else {
				q.finish(r, reply.Results[i], nil)
			}
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
