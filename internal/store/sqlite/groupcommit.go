package sqlite

import (
	"context"
	"sync"

	"github.com/hushnet/hush/internal/store"
)

// GroupCommit is a [DB] whose Put and PutBatch commit together with those
// of concurrent callers: while one transaction (and its fsync) runs, the
// writes that arrive queue up and go into the next one. With many clients
// storing into a swarm, each member then pays one fsync per batch of
// stores and forwards instead of one per message; a lone write waits for
// nobody. Each call still returns only after its own messages are
// committed, so what it reports stored is as durable as with DB.Put.
//
// A batch that fails as a whole (ErrStoreFull, a closed store...) fails
// every call whose messages were in it. The other methods are the DB's own.
type GroupCommit struct {
	*DB

	mu      sync.Mutex // guards pending and running
	pending []*commitReq
	running bool
}

var _ store.Replica = (*GroupCommit)(nil)

type commitReq struct {
	msgs []store.Message
	res  []store.PutResult
	err  error
	done chan struct{}
}

// NewGroupCommit returns db with group commit. Closing the DB (through
// the GroupCommit or not) fails the writes still queued.
func NewGroupCommit(db *DB) *GroupCommit { return &GroupCommit{DB: db} }

// Put implements [store.Store]. If ctx ends before the commit, Put returns
// its error; the message may still be committed, so the caller must not
// acknowledge it.
func (g *GroupCommit) Put(ctx context.Context, m store.Message) (bool, error) {
	res, err := g.PutBatch(ctx, []store.Message{m})
	if err != nil {
		return false, err
	}
	return res[0].Added, res[0].Err
}

// PutBatch implements [store.Replica], sharing its transaction with
// concurrent calls. If ctx ends before the commit, PutBatch returns its
// error; the messages may still be committed, and the caller must then
// not confirm them.
func (g *GroupCommit) PutBatch(ctx context.Context, msgs []store.Message) ([]store.PutResult, error) {
	req := &commitReq{msgs: msgs, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	if !g.running {
		g.running = true
		go g.run()
	}
	g.mu.Unlock()
	select {
	case <-req.done:
		return req.res, req.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run commits queued requests until none are left.
func (g *GroupCommit) run() {
	for {
		g.mu.Lock()
		reqs := g.pending
		g.pending = nil
		if len(reqs) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		var all []store.Message
		for _, r := range reqs {
			all = append(all, r.msgs...)
		}
		// Not a request's context: the batch serves several requests.
		res, err := g.DB.PutBatch(context.Background(), all)
		for _, r := range reqs {
			if err != nil {
				r.err = err
			} else {
				r.res, res = res[:len(r.msgs)], res[len(r.msgs):]
			}
			close(r.done)
		}
	}
}
