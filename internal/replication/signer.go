package replication

import (
	"crypto/ed25519"
	"sync"

	"github.com/hushnet/hush/protocol/rpc"
)

// confirmSigner signs this node's own confirmations of the stores clients
// make here, batching those that arrive together: while one batch is being
// signed, the requests that come in wait and go into the next, under one
// signature over their Merkle root (rpc.SignConfirmations), as a peer's
// apply confirms its batch. The group commit releases its stores at once,
// so under load their confirmations fall into one batch and a member signs
// once per commit instead of once per store (an ed25519.Sign was 4% of a
// replicated store's CPU); a lone store is signed at once with a plain
// signature.
type confirmSigner struct {
	networkID string
	key       ed25519.PrivateKey

	mu      sync.Mutex // guards pending and running
	pending []*signReq
	running bool
}

type signReq struct {
	item rpc.Stored
	out  rpc.Confirmation
	done chan struct{}
}

// sign returns this node's confirmation of item.
func (s *confirmSigner) sign(item rpc.Stored) rpc.Confirmation {
	req := &signReq{item: item, done: make(chan struct{})}
	s.mu.Lock()
	s.pending = append(s.pending, req)
	if !s.running {
		s.running = true
		go s.run()
	}
	s.mu.Unlock()
	<-req.done
	return req.out
}

// run signs queued requests until none are left.
func (s *confirmSigner) run() {
	for {
		s.mu.Lock()
		reqs := s.pending
		s.pending = nil
		if len(reqs) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		// A batch's proofs grow with its size; MaxNodeOps keeps them within
		// what a client accepts.
		for len(reqs) > 0 {
			n := min(len(reqs), rpc.MaxNodeOps)
			items := make([]rpc.Stored, n)
			for i, r := range reqs[:n] {
				items[i] = r.item
			}
			for i, c := range rpc.SignConfirmations(s.networkID, s.key, items) {
				reqs[i].out = c
				close(reqs[i].done)
			}
			reqs = reqs[n:]
		}
	}
}
