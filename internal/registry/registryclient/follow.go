package registryclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/snapshot"
)

// NewPoolForNetwork returns a pool over a network file's registry hosts,
// whose addresses are their API addresses.
func NewPoolForNetwork(n *netfile.Network) *Pool {
	hosts := make([]entry.HostInfo, len(n.Registries))
	for i, r := range n.Registries {
		hosts[i] = entry.HostInfo{Key: r.Ed25519, APIAddress: r.Address}
	}
	return NewPool(hosts)
}

// Follow long-polls the pool for snapshots newer than epoch after and
// calls fn with each one that verifies, in increasing epoch order, until
// ctx is done (then it returns nil) or fn returns an error (which it
// returns). A snapshot that fails verification is skipped and retried
// after a pause, as are unavailable hosts: a node keeps following.
func (p *Pool) Follow(ctx context.Context, v snapshot.Verifier, after uint64, fn func(s *snapshot.Snapshot, raw []byte) error) error {
	const wait, pause = 25 * time.Second, time.Second
	for ctx.Err() == nil {
		raw, err := p.Snapshot(ctx, after, wait)
		var s *snapshot.Snapshot
		if err == nil && raw != nil {
			s, err = v.Verify(raw, time.Now(), after+1)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !errors.Is(err, entry.ErrUnavailable) && !isSnapshotError(err):
			return fmt.Errorf("registry: follow: %w", err)
		case err != nil:
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
			continue
		case s == nil:
			continue // no newer epoch within the wait
		}
		if err := fn(s, raw); err != nil {
			return err
		}
		after = s.Epoch
	}
	return nil
}

func isSnapshotError(err error) bool {
	for _, e := range []error{snapshot.ErrMalformed, snapshot.ErrWrongNetwork, snapshot.ErrRollback, snapshot.ErrExpired,
		snapshot.ErrNotYetValid, snapshot.ErrTooFewSignatures, snapshot.ErrBadSignature} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
