package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/internal/registry/registryclient"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/snapshot"
)

// SnapshotFile keeps the newest verified snapshot across restarts, so a
// restarted node serves clients at once and still refuses older epochs.
// Its epoch stays the floor even after it expires (epochs only go up), so
// a node moved to a registry founded anew, whose epochs start again at 1,
// needs this file deleted.
const SnapshotFile = "snapshot.json"

// Registration retries back off from the first to the last delay; the
// cap keeps a node that waits for its admission from hammering the hosts.
const (
	registerRetryFirst = 100 * time.Millisecond
	registerRetryMax   = 30 * time.Second
)

// LoadNetwork reads and parses a network file.
func LoadNetwork(path string) (*netfile.Network, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("network file: %w", err)
	}
	n, err := netfile.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// loadAdmission reads a steward's admission (JSON, as entry.Admission
// encodes it) for this node's key.
func loadAdmission(path string, self identity.Ed25519PublicKey) (*entry.Admission, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registration: %w", err)
	}
	var a entry.Admission
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("registration %s: %w", path, err)
	}
	if a.Node != self {
		return nil, fmt.Errorf("registration %s: admits key %s, not this node's %s", path, a.Node, self)
	}
	return &a, nil
}

// registryLink is what a registry-backed node does with the registry:
// register its descriptor, follow the signed snapshots, and register
// again when a snapshot shows it was dropped (after an outage the hosts
// voted it unreachable).
type registryLink struct {
	net       *netfile.Network
	pool      *registryclient.Pool
	verifier  snapshot.Verifier
	id        *Identity
	advertise string // set by Node.Run before run starts
	admission *entry.Admission
	members   *snapshotMembership
	logger    *slog.Logger
	dataDir   string

	reg   registration
	again chan struct{} // buffered 1: a registration is wanted
}

// registration tells from the snapshots a node installs whether the
// registry dropped its registration (after an outage the hosts voted it
// unreachable). The snapshots installed first after a registration may
// not show it yet: a node that registered before it had any snapshot, or
// whose snapshot lagged the registry's, installs epochs built before the
// registration was committed. So a registration counts as dropped only
// when a snapshot without the node follows one that listed it (epochs
// only go up), or, if none listed it yet, two epochs after the first
// snapshot installed since it succeeded: that one was fetched about
// when the registration was committed, and the leader ticks at most one
// epoch ahead of the signed snapshot it serves. Should a lagging host
// make that guess wrong, the cost is one needless registration.
type registration struct {
	mu         sync.Mutex // guards the fields below
	registered bool       // a registration succeeded and is not known dropped
	listed     bool       // a snapshot since then listed the node
	first      uint64     // epoch of the first snapshot installed since then
	hasFirst   bool
}

// succeeded notes a registration that just succeeded.
func (r *registration) succeeded() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.registered, r.listed, r.hasFirst = true, false, false
}

// dropped takes one snapshot, newer than the ones before, and whether it
// lists the node, and reports whether it shows the registration dropped;
// then the node is no longer registered until succeeded.
func (r *registration) dropped(epoch uint64, listed bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case !r.registered:
		return false
	case listed:
		r.listed = true
		return false
	case !r.listed && !r.hasFirst:
		r.first, r.hasFirst = epoch, true
		return false
	case !r.listed && epoch <= r.first+1:
		return false
	}
	r.registered = false
	return true
}

func newRegistryLink(n *netfile.Network, id *Identity, adm *entry.Admission, m *snapshotMembership, logger *slog.Logger, dataDir string) *registryLink {
	l := &registryLink{
		net: n, pool: registryclient.NewPoolForNetwork(n), id: id, admission: adm,
		members: m, logger: logger, dataDir: dataDir, again: make(chan struct{}, 1),
		verifier: n.SnapshotVerifier(),
	}
	l.again <- struct{}{}
	return l
}

// loadSaved installs the snapshot saved by a previous run if it still
// verifies (an expired one is useless: clients would refuse it too).
func (l *registryLink) loadSaved() {
	raw, err := os.ReadFile(filepath.Join(l.dataDir, SnapshotFile))
	if err != nil {
		return
	}
	s, err := l.verifier.Verify(raw, time.Now(), 0)
	if err != nil {
		l.logger.Info("saved snapshot not used", "err", err)
		return
	}
	l.members.set(s, raw)
}

// run registers and follows until ctx is done.
func (l *registryLink) run(ctx context.Context) {
	defer l.pool.Close()
	var wg sync.WaitGroup
	wg.Go(func() { l.registrar(ctx) })
	wg.Go(func() { l.follow(ctx) })
	wg.Wait()
}

func (l *registryLink) registrar(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.again:
		}
		if err := l.register(ctx); err != nil {
			return // ctx done
		}
	}
}

// register submits a fresh descriptor until a registry host accepts it.
func (l *registryLink) register(ctx context.Context) error {
	d := entry.Descriptor{
		Ed25519: identity.Ed25519PublicKeyOf(l.id.Ed25519), X25519: snapshot.X25519Key(l.id.X25519Public()),
		Address: l.advertise, Version: Version,
	}
	delay := registerRetryFirst
	for {
		// A fresh timestamp each try: the registry takes a descriptor
		// only if it is newer than the one it holds.
		d.TimestampMs = time.Now().UnixMilli()
		sd, err := entry.SignDescriptor(l.net.ID, d, l.id.Ed25519)
		if err != nil {
			return err
		}
		err = l.pool.Register(ctx, sd, l.admission)
		if err == nil {
			l.reg.succeeded()
			_, epoch := l.members.snapshot()
			l.logger.Info("registered with the registry", "epoch", epoch)
			return nil
		}
		if errors.Is(err, entry.ErrNotAdmitted) {
			l.logger.Error("the registry has not admitted this node; ask a steward to run `hushd registry admit KEY` or set registration to their admission file",
				"key", d.Ed25519.String(), "err", err)
		} else {
			l.logger.Warn("registration failed; retrying", "err", err, "retry_in", delay)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, registerRetryMax)
	}
}

// follow long-polls the registry for snapshots and installs each one.
func (l *registryLink) follow(ctx context.Context) {
	for ctx.Err() == nil {
		_, after := l.members.snapshot()
		err := l.pool.Follow(ctx, l.verifier, after, l.install)
		if err != nil && ctx.Err() == nil {
			l.logger.Warn("following registry snapshots failed; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// install publishes a verified snapshot, saves it, and asks for a new
// registration when the snapshot no longer lists this node although it
// was built after the node registered.
func (l *registryLink) install(s *snapshot.Snapshot, raw []byte) error {
	if err := l.members.set(s, raw); err != nil {
		return nil // an older epoch from another host: keep ours
	}
	if err := writeFileAtomic(filepath.Join(l.dataDir, SnapshotFile), raw); err != nil {
		l.logger.Warn("could not save the snapshot", "err", err)
	}
	_, listed := s.Node(identity.Ed25519PublicKeyOf(l.id.Ed25519))
	l.logger.Debug("snapshot", "epoch", s.Epoch, "nodes", len(s.Nodes), "swarms", len(s.SwarmIDs()), "listed", listed)
	if l.reg.dropped(s.Epoch, listed) {
		l.logger.Warn("the registry dropped this node; registering again", "epoch", s.Epoch)
		select {
		case l.again <- struct{}{}:
		default:
		}
	}
	return nil
}

// writeFileAtomic replaces path with data so that a crash leaves the old
// or the new file, never a torn one.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
