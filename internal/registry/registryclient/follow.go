package registryclient

import (
	"context"
	"crypto/ed25519"
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

// Verifier checks snapshots as a node or client must: majority-signed by
// the network file's registry hosts, for its network, not expired, and
// never older than the last one accepted.
type Verifier struct {
	NetworkID string
	Hosts     []ed25519.PublicKey
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Verify checks raw with snapshot.Verify, accepting no epoch below minEpoch.
func (v Verifier) Verify(raw []byte, minEpoch uint64) (*snapshot.Snapshot, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	return snapshot.Verify(raw, v.Hosts, v.NetworkID, now(), minEpoch)
}

// Follow long-polls the pool for snapshots newer than epoch after and
// calls fn with each one that verifies, in increasing epoch order, until
// ctx is done (then it returns nil) or fn returns an error (which it
// returns). A snapshot that fails verification is skipped and retried
// after a pause, as are unavailable hosts: a node keeps following.
func (p *Pool) Follow(ctx context.Context, v Verifier, after uint64, fn func(s *snapshot.Snapshot, raw []byte) error) error {
	const wait, pause = 25 * time.Second, time.Second
	for ctx.Err() == nil {
		raw, err := p.Snapshot(ctx, after, wait)
		var s *snapshot.Snapshot
		if err == nil && raw != nil {
			s, err = v.Verify(raw, after+1)
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
