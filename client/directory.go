package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Directory is the client's view of the network: its ID (signatures carry
// it) and which nodes hold an account. Implementations must be safe for
// concurrent use.
type Directory interface {
	// NetworkID is the network's ID.
	NetworkID() string
	// SwarmFor returns the members of the swarm that holds id, refreshing
	// the view first when it is stale.
	SwarmFor(ctx context.Context, id identity.AccountID) ([]snapshot.Node, error)
	// Invalidate says a node answered that it does not hold an account
	// (421): the next SwarmFor should refresh the view.
	Invalidate()
}

// StandaloneDirectory is one standalone node (`hushd node --standalone`)
// that owns every account.
type StandaloneDirectory struct {
	Node    snapshot.Node
	Network string
}

// NewStandaloneDirectory asks the node at addr (host:port), over HTTPS
// pinned to key, for its network ID and X25519 key.
func NewStandaloneDirectory(ctx context.Context, t Transport, addr string, key identity.Ed25519PublicKey) (*StandaloneDirectory, error) {
	n := snapshot.Node{Ed25519: key, Address: addr}
	status, body, err := t.Do(ctx, n, []byte(`{"method":"info"}`))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("node info answered %d", status)
	}
	var info rpc.InfoResult
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("node info: %w", err)
	}
	if n.X25519, err = snapshot.ParseX25519Key(info.PubkeyX25519); err != nil {
		return nil, fmt.Errorf("node info: %w", err)
	}
	if err := snapshot.CheckNetworkID(info.NetworkID); err != nil {
		return nil, fmt.Errorf("node info: %w", err)
	}
	return &StandaloneDirectory{Node: n, Network: info.NetworkID}, nil
}

// NetworkID implements [Directory].
func (d *StandaloneDirectory) NetworkID() string { return d.Network }

// SwarmFor implements [Directory]: the one node holds every account.
func (d *StandaloneDirectory) SwarmFor(context.Context, identity.AccountID) ([]snapshot.Node, error) {
	return []snapshot.Node{d.Node}, nil
}

// Invalidate implements [Directory]; a standalone node never moves.
func (d *StandaloneDirectory) Invalidate() {}

// SnapshotFetcher fetches a snapshot newer than (or as new as) minEpoch
// through the client's paths; paths.Manager.FetchSnapshot is one.
type SnapshotFetcher func(ctx context.Context, minEpoch uint64) ([]byte, *snapshot.Snapshot, error)

// SnapshotDirectory follows the registry's signed snapshots. The first
// comes straight from a seed node of the network file, later ones through
// Fetch (onion paths) or, without it, from a random known node over the
// direct pool. Every snapshot is verified against the network file's
// registry keys, and an epoch older than the newest seen is refused, so a
// node cannot roll the client back. The newest snapshot is kept in the
// home (public data: node keys and addresses), so a restart needs no seed.
// [Open] builds the one for [Options].Network.
type SnapshotDirectory struct {
	net   *netfile.Network
	v     snapshot.Verifier
	pool  onionclient.Poster
	file  string
	clock func() time.Time

	// Fetch, when set, fetches refreshes through paths. Set it before
	// the first SwarmFor.
	Fetch SnapshotFetcher

	mu    sync.Mutex // guards the fields below
	cur   *snapshot.Snapshot
	stale bool
	epoch uint64 // newest epoch seen, never decreases
}

// refreshBefore is how long before its expiry a snapshot is replaced.
const refreshBefore = 5 * time.Minute

// newSnapshotDirectory returns a directory for the network n, keeping its
// snapshot in home (empty: memory only). pool reaches seed nodes directly.
func newSnapshotDirectory(n *netfile.Network, home string, pool onionclient.Poster, clock func() time.Time) *SnapshotDirectory {
	if clock == nil {
		clock = time.Now
	}
	d := &SnapshotDirectory{net: n, v: n.SnapshotVerifier(), pool: pool, clock: clock}
	if home != "" {
		d.file = filepath.Join(home, snapshotFile)
		if raw, err := os.ReadFile(d.file); err == nil {
			// An expired or damaged file still tells the newest epoch seen.
			if s, err := snapshot.Decode(raw); err == nil && s.NetworkID == n.ID {
				d.epoch = s.Epoch
			}
			if s, err := d.v.Verify(raw, clock(), 0); err == nil {
				d.cur = s
			}
		}
	}
	return d
}

// NetworkID implements [Directory].
func (d *SnapshotDirectory) NetworkID() string { return d.net.ID }

// Loopback reports whether the network file allows one path's relays in
// one /24 (a devnet on one machine).
func (d *SnapshotDirectory) Loopback() bool { return d.net.Loopback }

// Current returns the newest verified snapshot, or nil: the provider
// paths.Manager takes.
func (d *SnapshotDirectory) Current() *snapshot.Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cur
}

// Invalidate implements [Directory].
func (d *SnapshotDirectory) Invalidate() {
	d.mu.Lock()
	d.stale = true
	d.mu.Unlock()
}

// SwarmFor implements [Directory].
func (d *SnapshotDirectory) SwarmFor(ctx context.Context, id identity.AccountID) ([]snapshot.Node, error) {
	s, err := d.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	_, nodes, ok := s.SwarmOf(id)
	if !ok || len(nodes) == 0 {
		return nil, ErrNoSwarm
	}
	return nodes, nil
}

// snapshot returns a usable snapshot, fetching one when there is none, it
// nears expiry, or a 421 made it stale. A failed refresh keeps a snapshot
// that has not expired.
func (d *SnapshotDirectory) snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	d.mu.Lock()
	cur, stale, epoch := d.cur, d.stale, d.epoch
	d.mu.Unlock()
	now := d.clock()
	if cur != nil && !stale && now.Before(cur.ExpiresAt.Add(-refreshBefore)) {
		return cur, nil
	}
	raw, s, err := d.fetch(ctx, cur, epoch)
	if err != nil {
		if cur != nil && now.Before(cur.ExpiresAt) {
			return cur, nil
		}
		return nil, fmt.Errorf("%w: no snapshot: %w", ErrUnreachable, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s.Epoch < d.epoch {
		return nil, fmt.Errorf("snapshot epoch %d is older than %d", s.Epoch, d.epoch)
	}
	d.cur, d.stale, d.epoch = s, false, s.Epoch
	if d.file != "" {
		// Best effort: the file only spares the next start a seed request.
		_ = writeFileAtomic(d.file, raw)
	}
	return s, nil
}

func (d *SnapshotDirectory) fetch(ctx context.Context, cur *snapshot.Snapshot, minEpoch uint64) ([]byte, *snapshot.Snapshot, error) {
	if cur != nil && d.Fetch != nil {
		raw, s, err := d.Fetch(ctx, minEpoch)
		if err == nil {
			return raw, s, nil
		}
		// Refreshes go through paths (DESIGN.md §3); a seed is asked
		// directly again only once the current snapshot has expired and
		// the paths built from it cannot be trusted to work.
		if d.clock().Before(cur.ExpiresAt) {
			return nil, nil, err
		}
	}
	// Seeds first for a fresh client; a client with a snapshot but no
	// paths asks a random known node directly.
	var cands []snapshot.Node
	if cur != nil && d.Fetch == nil {
		cands = append(cands, cur.Nodes...)
		rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	}
	for _, s := range d.net.Seeds {
		cands = append(cands, snapshot.Node{Ed25519: s.Ed25519, X25519: s.X25519, Address: s.Address})
	}
	var lastErr error = errors.New("no seed nodes")
	for _, n := range cands {
		raw, s, err := d.fromNode(ctx, n, minEpoch)
		if err == nil {
			return raw, s, nil
		}
		lastErr = err
	}
	return nil, nil, lastErr
}

// fromNode fetches straight from n over a connection pinned to its key.
func (d *SnapshotDirectory) fromNode(ctx context.Context, n snapshot.Node, minEpoch uint64) ([]byte, *snapshot.Snapshot, error) {
	do := func(ctx context.Context, body []byte) (int, []byte, error) {
		return d.pool.Post(ctx, n.Ed25519, n.Address, onionclient.RPCPath, body, snapshot.MaxEncodedSize)
	}
	return paths.FetchSnapshot(ctx, do, d.v, d.clock(), minEpoch)
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
