package replication

import (
	"context"
	"sync"

	"github.com/hushnet/hush/internal/store"
)

// groupCommit commits the stores of concurrent applies together: while
// one PutBatch (and its fsync) runs, the applies that arrive queue up and
// go into the next one. With many clients storing into a swarm, each
// member then pays one fsync per batch of forwards instead of one per
// message; a lone forward waits for nobody.
type groupCommit struct {
	store store.Replica

	mu      sync.Mutex // guards pending and running
	pending []*commitReq
	running bool
}

type commitReq struct {
	msgs []store.Message
	res  []store.PutResult
	err  error
	done chan struct{}
}

// put stores msgs in the next group commit and returns their results.
// If ctx ends first, put returns its error; the messages may still be
// committed, and the caller must then not confirm them.
func (g *groupCommit) put(ctx context.Context, msgs []store.Message) ([]store.PutResult, error) {
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
func (g *groupCommit) run() {
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
		res, err := g.store.PutBatch(context.Background(), all)
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

// GroupCommitStore returns s with Put going through group commit: the
// Puts of concurrent client stores share one transaction and one fsync,
// and each still returns only after its message is committed, so a store
// acknowledged to a client is durable as before. The other methods are
// s's own.
func GroupCommitStore(s store.Replica) store.Store {
	return &groupStore{Replica: s, g: &groupCommit{store: s}}
}

type groupStore struct {
	store.Replica
	g *groupCommit
}

// Put implements store.Store.
func (s *groupStore) Put(ctx context.Context, m store.Message) (bool, error) {
	res, err := s.g.put(ctx, []store.Message{m})
	if err != nil {
		return false, err
	}
	return res[0].Added, res[0].Err
}
