package steward_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/internal/registry/registryapi"
	"github.com/hushnet/hush/internal/steward"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/snapshot"
)

const networkID = "stewardtest"

// registry is one registry host's API over TLS pinned to its key, as
// registryclient reaches it, with snapshots the test publishes: a real
// API handler and client, a fake Raft behind them.
type registry struct {
	key     ed25519.PrivateKey
	network *netfile.Network

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every publish
	raws    [][]byte      // published, in order; the newest last
	epochs  []uint64
	served  map[uint64]int // answers per epoch
}

func startRegistry(t *testing.T) *registry {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r := &registry{key: key, changed: make(chan struct{}), served: map[uint64]int{}}
	cert, err := keytls.Certificate(key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", keytls.ServerConfig(cert, nil))
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: registryapi.New(r, slog.New(slog.DiscardHandler), registryapi.Limits{})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	pub, _ := identity.Ed25519PublicKeyFromBytes(key.Public().(ed25519.PublicKey))
	r.network = &netfile.Network{ID: networkID, Registries: []netfile.Registry{{Address: ln.Addr().String(), Ed25519: pub}}}
	return r
}

// Snapshot implements registryapi.Backend: the newest published snapshot
// if its epoch is above after, else it waits for one.
func (r *registry) Snapshot(ctx context.Context, after uint64) ([]byte, error) {
	for {
		r.mu.Lock()
		n := len(r.raws)
		ch := r.changed
		if n > 0 && r.epochs[n-1] > after {
			raw := r.raws[n-1]
			r.served[r.epochs[n-1]]++
			r.mu.Unlock()
			return raw, nil
		}
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, nil
		case <-ch:
		}
	}
}

func (r *registry) Submit(context.Context, *entry.Command) error { return entry.ErrForbidden }
func (r *registry) Status() registryapi.Status                   { return registryapi.Status{NetworkID: networkID} }

// publish serves s, signed by signer, as the newest snapshot.
func (r *registry) publish(t *testing.T, s *snapshot.Snapshot, signer ed25519.PrivateKey) {
	t.Helper()
	if err := snapshot.Sign(s, signer); err != nil {
		t.Fatal(err)
	}
	raw, err := snapshot.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.raws = append(r.raws, raw)
	r.epochs = append(r.epochs, s.Epoch)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// waitServed waits until epoch was served n times.
func (r *registry) waitServed(t *testing.T, epoch uint64, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.mu.Lock()
		got := r.served[epoch]
		r.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("epoch %d served %d times, want %d", epoch, got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newNode returns a node entry with a fresh Ed25519 key.
func newNode(t *testing.T, i int) snapshot.Node {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := identity.Ed25519PublicKeyFromBytes(pub)
	xk, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x := snapshot.X25519Key(xk.PublicKey().Bytes())
	return snapshot.Node{Ed25519: k, X25519: x, Address: fmt.Sprintf("127.0.0.1:%d", 10000+i),
		Version: "test", Swarm: snapshot.Unassigned}
}

func snap(epoch uint64, nodes ...snapshot.Node) *snapshot.Snapshot {
	now := time.Now()
	return &snapshot.Snapshot{NetworkID: networkID, Epoch: epoch, IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour),
		SwarmMinSize: 3, SwarmIdealSize: 4, Nodes: append([]snapshot.Node(nil), nodes...)}
}

// run starts f.Run until the test ends.
func run(t *testing.T, f *steward.Follower) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
}

// waitEpoch waits until f holds epoch want.
func waitEpoch(t *testing.T, f *steward.Follower, want uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if s := f.Snapshot(); s != nil && s.Epoch == want {
			return
		}
		if time.Now().After(deadline) {
			var got any = "none"
			if s := f.Snapshot(); s != nil {
				got = s.Epoch
			}
			t.Fatalf("follower holds epoch %v, want %d", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// savedEpoch is the epoch of the snapshot saved at path.
func savedEpoch(t *testing.T, path string) uint64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s.Epoch
}

func TestFollowerFollowsAndSaves(t *testing.T) {
	reg := startRegistry(t)
	a, b := newNode(t, 1), newNode(t, 2)
	file := filepath.Join(t.TempDir(), steward.SnapshotFile)
	var mu sync.Mutex
	var installed []uint64
	f := steward.New(steward.Config{Network: reg.network, File: file, Installed: func(s *snapshot.Snapshot) {
		mu.Lock()
		installed = append(installed, s.Epoch)
		mu.Unlock()
	}})
	if f.Snapshot() != nil || f.IsNode(a.Ed25519) {
		t.Fatal("a new follower without a saved snapshot knows nodes")
	}
	run(t, f)

	reg.publish(t, snap(1, a), reg.key)
	waitEpoch(t, f, 1)
	if !f.IsNode(a.Ed25519) || f.IsNode(b.Ed25519) {
		t.Fatalf("epoch 1: IsNode(a) = %v, IsNode(b) = %v; want true, false", f.IsNode(a.Ed25519), f.IsNode(b.Ed25519))
	}
	if got := savedEpoch(t, file); got != 1 {
		t.Fatalf("saved epoch %d, want 1", got)
	}

	// a leaves the network, b joins: from then on a is refused.
	reg.publish(t, snap(2, b), reg.key)
	waitEpoch(t, f, 2)
	if f.IsNode(a.Ed25519) || !f.IsNode(b.Ed25519) {
		t.Fatalf("epoch 2: IsNode(a) = %v, IsNode(b) = %v; want false, true", f.IsNode(a.Ed25519), f.IsNode(b.Ed25519))
	}
	if got := savedEpoch(t, file); got != 2 {
		t.Fatalf("saved epoch %d, want 2", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(installed) != 2 || installed[0] != 1 || installed[1] != 2 {
		t.Fatalf("Installed called with epochs %v, want [1 2]", installed)
	}
}

// A snapshot a registry host serves but that the network's registry did
// not sign is never installed nor saved; the follower keeps following
// and takes the next genuine one.
func TestFollowerRefusesForgedSnapshot(t *testing.T) {
	reg := startRegistry(t)
	a, mallory := newNode(t, 1), newNode(t, 2)
	file := filepath.Join(t.TempDir(), steward.SnapshotFile)
	var mu sync.Mutex
	var installed []uint64
	f := steward.New(steward.Config{Network: reg.network, File: file, Retry: 10 * time.Millisecond, Installed: func(s *snapshot.Snapshot) {
		mu.Lock()
		installed = append(installed, s.Epoch)
		mu.Unlock()
	}})
	run(t, f)
	reg.publish(t, snap(1, a), reg.key)
	waitEpoch(t, f, 1)

	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	reg.publish(t, snap(2, a, mallory), forger)
	// Served twice: the follower fetched it, refused it, and asked again.
	reg.waitServed(t, 2, 2)
	if f.IsNode(mallory.Ed25519) || f.Snapshot().Epoch != 1 || savedEpoch(t, file) != 1 {
		t.Fatal("a snapshot signed by another key was installed")
	}
	reg.publish(t, snap(3, a), reg.key)
	waitEpoch(t, f, 3)
	if f.IsNode(mallory.Ed25519) {
		t.Fatal("mallory, only in the forged snapshot, is a node")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range installed {
		if e == 2 {
			t.Fatalf("installed epochs %v include the forged 2", installed)
		}
	}
}

// A restarted follower serves the saved snapshot's nodes before the
// registry answers at all (here it never does), and goes on from that
// epoch.
func TestFollowerRestartUsesSavedSnapshot(t *testing.T) {
	reg := startRegistry(t)
	a := newNode(t, 1)
	file := filepath.Join(t.TempDir(), steward.SnapshotFile)
	reg.publish(t, snap(4, a), reg.key)
	f := steward.New(steward.Config{Network: reg.network, File: file})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	waitEpoch(t, f, 4)
	cancel()
	<-done

	// The registry is gone: the restart has only the file.
	down := &netfile.Network{ID: networkID, Registries: []netfile.Registry{{Address: "127.0.0.1:1", Ed25519: reg.network.Registries[0].Ed25519}}}
	g := steward.New(steward.Config{Network: down, File: file, Retry: 10 * time.Millisecond})
	if s := g.Snapshot(); s == nil || s.Epoch != 4 || !g.IsNode(a.Ed25519) {
		t.Fatalf("restarted follower: snapshot %v, IsNode(a) %v; want epoch 4 with a", g.Snapshot(), g.IsNode(a.Ed25519))
	}

	// Back with the registry: it asks for epochs after the saved one.
	h := steward.New(steward.Config{Network: reg.network, File: file})
	run(t, h)
	reg.publish(t, snap(5), reg.key)
	waitEpoch(t, h, 5)
	if h.IsNode(a.Ed25519) {
		t.Fatal("a, not in epoch 5, is still a node")
	}
}

// A saved file that does not verify (forged, another network, damaged)
// is ignored: the follower starts with no snapshot.
func TestFollowerIgnoresBadSavedSnapshot(t *testing.T) {
	reg := startRegistry(t)
	a := newNode(t, 1)
	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	forged := snap(7, a)
	if err := snapshot.Sign(forged, forger); err != nil {
		t.Fatal(err)
	}
	forgedRaw, _ := snapshot.Encode(forged)
	expired := snap(7, a)
	expired.IssuedAt, expired.ExpiresAt = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)
	if err := snapshot.Sign(expired, reg.key); err != nil {
		t.Fatal(err)
	}
	expiredRaw, _ := snapshot.Encode(expired)
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"forged", forgedRaw},
		{"expired", expiredRaw},
		{"damaged", []byte(`{"network_id":`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), steward.SnapshotFile)
			if err := os.WriteFile(file, tc.raw, 0o600); err != nil {
				t.Fatal(err)
			}
			f := steward.New(steward.Config{Network: reg.network, File: file})
			if f.Snapshot() != nil || f.IsNode(a.Ed25519) {
				t.Fatal("a saved snapshot that does not verify was installed")
			}
		})
	}
}

// Without a file the follower writes nothing (the push server keeps its
// snapshot in memory only).
func TestFollowerWithoutFileWritesNothing(t *testing.T) {
	reg := startRegistry(t)
	dir := t.TempDir()
	t.Chdir(dir)
	f := steward.New(steward.Config{Network: reg.network})
	run(t, f)
	reg.publish(t, snap(1, newNode(t, 1)), reg.key)
	waitEpoch(t, f, 1)
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a follower without a file wrote %v", ents)
	}
}

var _ registryapi.Backend = (*registry)(nil)
