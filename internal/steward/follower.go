// Package steward holds what hush's steward servers share: the file
// server (internal/files), the push server (internal/push) and TURN
// (internal/turn) each serve only the network's nodes as relays, so each
// follows the registry's snapshots to know who those are.
//
// # The follower
//
// A [Follower] keeps the newest snapshot of one network that verifies
// under the network file's registry hosts (a strict majority of their
// signatures, the network ID, not expired: netfile.Network.SnapshotVerifier).
// It long-polls the registry hosts (registryclient.Pool.Follow) and
// installs each newer epoch; epochs only go up, so an older or equal one
// is never installed. A snapshot that does not verify is never installed,
// whatever host sent it.
//
// With a file set, the follower writes every snapshot it installs there
// (a temporary file, then a rename, so a crash leaves the old one or the
// new one) and [New] installs the saved one if it still verifies, so a
// restarted server serves the network's nodes at once instead of
// refusing every relay until the registry answers. Without a file the
// snapshot lives in memory only (the push server, whose transparency
// report says so).
//
// Before the first snapshot [Follower.IsNode] is false for every key: a
// steward server with a network file serves no relay blind.
package steward

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/registry/registryclient"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/snapshot"
)

// SnapshotFile is the name the steward servers give the saved snapshot
// in their data directories.
const SnapshotFile = "snapshot.json"

// Config is what [New] needs.
type Config struct {
	// Network is the network followed; required.
	Network *netfile.Network
	// File, when not empty, is where the newest snapshot is kept across
	// restarts (usually filepath.Join(data, SnapshotFile)).
	File string
	// Logger gets a debug line per snapshot installed and a warning per
	// failed round of following; nil discards them.
	Logger *slog.Logger
	// Installed, when set, is called (from Run's goroutine) with every
	// snapshot installed, after [Follower.Snapshot] returns it; not for
	// the saved one New installs.
	Installed func(*snapshot.Snapshot)
	// Retry is the pause after a round of following fails before the
	// next one (default one second).
	Retry time.Duration
}

// Follower keeps the newest verified snapshot of a network. Its methods
// may be called from any goroutine; Run runs in one.
type Follower struct {
	cfg    Config
	verify snapshot.Verifier
	snap   atomic.Pointer[snapshot.Snapshot] // written only by New and Run
}

// New returns a follower of cfg.Network and installs the snapshot saved
// in cfg.File if there is one that verifies now; a missing, damaged,
// forged or expired file is ignored (the registry will send a fresh
// one). It opens no connection; Run does.
func New(cfg Config) *Follower {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Retry <= 0 {
		cfg.Retry = time.Second
	}
	f := &Follower{cfg: cfg, verify: cfg.Network.SnapshotVerifier()}
	if cfg.File != "" {
		if raw, err := os.ReadFile(cfg.File); err == nil {
			if snap, err := f.verify.Verify(raw, time.Now(), 0); err == nil {
				f.snap.Store(snap)
			}
		}
	}
	return f
}

// Snapshot returns the newest verified snapshot, nil before the first.
func (f *Follower) Snapshot() *snapshot.Snapshot { return f.snap.Load() }

// IsNode reports whether k is a node of the newest verified snapshot;
// false before the first.
func (f *Follower) IsNode(k identity.Ed25519PublicKey) bool {
	snap := f.snap.Load()
	if snap == nil {
		return false
	}
	_, ok := snap.Node(k)
	return ok
}

// Run follows the registry until ctx is done, installing every newer
// verified snapshot. A failed round (hosts unreachable, a host answering
// garbage) is logged and retried after cfg.Retry; Run returns only when
// ctx is done.
func (f *Follower) Run(ctx context.Context) {
	pool := registryclient.NewPoolForNetwork(f.cfg.Network)
	defer pool.Close()
	for ctx.Err() == nil {
		var after uint64
		if cur := f.snap.Load(); cur != nil {
			after = cur.Epoch
		}
		err := pool.Follow(ctx, f.verify, after, func(snap *snapshot.Snapshot, raw []byte) error {
			f.install(snap, raw)
			return nil
		})
		if err != nil && ctx.Err() == nil {
			f.cfg.Logger.Warn("following registry snapshots failed; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(f.cfg.Retry):
			}
		}
	}
}

// install keeps snap, verified by the caller, if it is newer than the
// current one, and saves it. A failed write is not fatal: the snapshot
// is in memory, and the next restart asks the registry.
func (f *Follower) install(snap *snapshot.Snapshot, raw []byte) {
	if cur := f.snap.Load(); cur != nil && snap.Epoch <= cur.Epoch {
		return
	}
	f.snap.Store(snap)
	if f.cfg.File != "" {
		tmp := f.cfg.File + ".tmp"
		if err := os.WriteFile(tmp, raw, 0o600); err == nil {
			os.Rename(tmp, f.cfg.File)
		}
	}
	f.cfg.Logger.Debug("snapshot", "epoch", snap.Epoch, "nodes", len(snap.Nodes))
	if f.cfg.Installed != nil {
		f.cfg.Installed(snap)
	}
}
