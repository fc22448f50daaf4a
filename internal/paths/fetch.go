package paths

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/hushnet/hush/protocol/snapshot"
)

// snapshotRequest asks a node for its newest snapshot, which it answers
// with the registry's signed bytes verbatim (internal/nodeapi
// get_snapshot; DESIGN.md §3 "Nodes serve the snapshot"). No "after"
// parameter: the caller wants an answer to verify, not a 204.
var snapshotRequest = []byte(`{"method":"get_snapshot"}`)

// DoFunc carries one storage RPC body to one node and returns the node's
// HTTP status and body: through a path ([Manager.Do]) or over a direct
// connection pinned to the node's key.
type DoFunc func(ctx context.Context, body []byte) (status int, resp []byte, err error)

// FetchSnapshot asks a node, through do, for its newest snapshot and
// verifies it with v at now, accepting no epoch below minEpoch. It is the
// one snapshot fetch of the client, the devnet and the tools (nodes follow
// the registry hosts instead: registryclient.Pool.Follow); how the request
// travels is do's business.
func FetchSnapshot(ctx context.Context, do DoFunc, v snapshot.Verifier, now time.Time, minEpoch uint64) ([]byte, *snapshot.Snapshot, error) {
	status, raw, err := do(ctx, snapshotRequest)
	if err != nil {
		return nil, nil, err
	}
	if status != http.StatusOK {
		return nil, nil, fmt.Errorf("paths: snapshot request answered %d", status)
	}
	// The node's JSON writer ends the document with a newline.
	raw = bytes.TrimSpace(raw)
	s, err := v.Verify(raw, now, minEpoch)
	if err != nil {
		return nil, nil, err
	}
	return raw, s, nil
}

// FetchSnapshot asks a random node of the current snapshot for a newer
// one, through a path, and verifies it against the registry keys (epoch
// at least minEpoch). The node learns only that some relay asked.
func (m *Manager) FetchSnapshot(ctx context.Context, minEpoch uint64) ([]byte, *snapshot.Snapshot, error) {
	s := m.opts.Snapshot()
	if s == nil || len(s.Nodes) == 0 {
		return nil, nil, ErrNoSnapshot
	}
	n := s.Nodes[rand.IntN(len(s.Nodes))]
	do := func(ctx context.Context, body []byte) (int, []byte, error) { return m.Do(ctx, n, body) }
	return FetchSnapshot(ctx, do, m.opts.Verifier, m.Now(), minEpoch)
}
