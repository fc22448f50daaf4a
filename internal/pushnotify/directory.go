package pushnotify

import (
	"slices"
	"sync"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/snapshot"
)

// WithoutNode returns a snapshot source for the node's path manager
// (paths.Options.Snapshot): src's snapshots without the node self, so
// that none of its onion paths runs through itself. Each snapshot is
// copied once.
func WithoutNode(src func() *snapshot.Snapshot, self identity.Ed25519PublicKey) func() *snapshot.Snapshot {
	var (
		mu   sync.Mutex // guards seen and out
		seen *snapshot.Snapshot
		out  *snapshot.Snapshot
	)
	return func() *snapshot.Snapshot {
		s := src()
		if s == nil {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if s != seen {
			c := *s
			// Deleting keeps the order snapshot.Node's lookup relies on.
			c.Nodes = slices.DeleteFunc(slices.Clone(s.Nodes), func(n snapshot.Node) bool { return n.Ed25519 == self })
			seen, out = s, &c
		}
		return out
	}
}
