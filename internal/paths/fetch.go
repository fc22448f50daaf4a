package paths

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/protocol/snapshot"
)

// snapshotRequest asks a node for its newest snapshot, which it answers
// with the registry's signed bytes verbatim (internal/nodeapi
// get_snapshot; DESIGN.md §3 "Nodes serve the snapshot"). No "after"
// parameter: the caller wants an answer to verify, not a 204.
var snapshotRequest = []byte(`{"method":"get_snapshot"}`)

// FetchSnapshot asks a random node of the current snapshot for a newer
// one, through a path, and verifies it against the registry keys (epoch
// at least minEpoch). The node learns only that some relay asked.
func (m *Manager) FetchSnapshot(ctx context.Context, minEpoch uint64) ([]byte, *snapshot.Snapshot, error) {
	s := m.opts.Snapshot()
	if s == nil || len(s.Nodes) == 0 {
		return nil, nil, ErrNoSnapshot
	}
	n := s.Nodes[rand.IntN(len(s.Nodes))]
	status, raw, err := m.Do(ctx, n, snapshotRequest)
	if err != nil {
		return nil, nil, err
	}
	if status != http.StatusOK {
		return nil, nil, fmt.Errorf("paths: snapshot request answered %d", status)
	}
	got, err := snapshot.Verify(raw, m.opts.RegistryKeys, m.opts.NetworkID, m.Now(), minEpoch)
	if err != nil {
		return nil, nil, err
	}
	return raw, got, nil
}

// FetchFromSeed fetches a client's first snapshot directly from a seed
// node of the network file (the only request a client sends outside a
// path: it has no nodes to build one from), over a connection pinned to
// the seed's key, and verifies it.
func FetchFromSeed(ctx context.Context, p onionclient.Poster, seedKey identity.Ed25519PublicKey, seedAddr string, hosts []ed25519.PublicKey, networkID string, now time.Time, minEpoch uint64) ([]byte, *snapshot.Snapshot, error) {
	status, raw, err := p.Post(ctx, seedKey, seedAddr, onionclient.RPCPath, snapshotRequest, snapshot.MaxEncodedSize)
	if err != nil {
		return nil, nil, err
	}
	if status != http.StatusOK {
		return nil, nil, fmt.Errorf("paths: seed answered %d", status)
	}
	s, err := snapshot.Verify(raw, hosts, networkID, now, minEpoch)
	if err != nil {
		return nil, nil, err
	}
	return raw, s, nil
}
