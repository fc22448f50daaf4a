package paths

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/protocol/snapshot"
)

func TestNetwork(t *testing.T) {
	tests := []struct {
		name, a, b string
		same       bool
	}{
		{"same /24", "10.1.2.3:443", "10.1.2.200:443", true},
		{"neighbouring /24", "10.1.2.3:443", "10.1.3.3:443", false},
		{"mapped IPv4", "[::ffff:10.1.2.3]:443", "10.1.2.9:443", true},
		{"same IPv6 /48", "[2001:db8:1::1]:443", "[2001:db8:1:ff::2]:443", true},
		{"other IPv6 /48", "[2001:db8:1::1]:443", "[2001:db8:2::1]:443", false},
		{"same name", "node.example:443", "node.example:8443", true},
		{"other names", "a.example:443", "b.example:443", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := network(tc.a) == network(tc.b); got != tc.same {
				t.Fatalf("network(%s)=%s network(%s)=%s", tc.a, network(tc.a), tc.b, network(tc.b))
			}
		})
	}
}

// infoPoster answers info for every node except the dead ones.
type infoPoster struct {
	mu    sync.Mutex
	dead  map[identity.Ed25519PublicKey]bool
	tests int
}

func (p *infoPoster) Post(_ context.Context, k identity.Ed25519PublicKey, _, path string, _ []byte, _ int) (int, []byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tests++
	if p.dead[k] || path != "/storage_rpc/v1" {
		return 0, nil, errors.New("connection refused")
	}
	return http.StatusOK, fmt.Appendf(nil, `{"pubkey_ed25519":%q}`, k.String()), nil
}

func fakeSnapshot(addrs ...string) *snapshot.Snapshot {
	s := &snapshot.Snapshot{Epoch: 1}
	for i, a := range addrs {
		seed := sha256.Sum256([]byte{byte(i)})
		var n snapshot.Node
		n.Ed25519 = identity.Ed25519PublicKeyOf(ed25519.NewKeyFromSeed(seed[:]))
		n.X25519[0] = byte(i + 1)
		n.Address = a
		s.Nodes = append(s.Nodes, n)
	}
	// Lookups assume the canonical order Verify returns.
	slices.SortFunc(s.Nodes, func(a, b snapshot.Node) int { return a.Ed25519.Compare(b.Ed25519) })
	return s
}

func TestEnsureRespectsNetworks(t *testing.T) {
	spread := []string{"10.0.1.1:1", "10.0.2.1:1", "10.0.3.1:1", "10.0.4.1:1", "10.0.5.1:1", "10.0.6.1:1"}
	crowded := []string{"10.0.1.1:1", "10.0.1.2:1", "10.0.1.3:1", "10.0.1.4:1", "10.0.2.1:1", "10.0.2.2:1"}
	tests := []struct {
		name     string
		addrs    []string
		loopback bool
		dead     int // how many nodes fail the guard test (the first ones)
		wantErr  error
	}{
		{"six networks", spread, false, 0, nil},
		{"two networks", crowded, false, 0, ErrNotEnoughNodes},
		{"two networks, loopback", crowded, true, 0, nil},
		{"dead candidates skipped", spread, false, 2, nil},
		{"too many dead", spread, false, 5, ErrNotEnoughNodes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fakeSnapshot(tc.addrs...)
			p := &infoPoster{dead: map[identity.Ed25519PublicKey]bool{}}
			for _, n := range s.Nodes[:tc.dead] {
				p.dead[n.Ed25519] = true
			}
			m, err := New(Options{Snapshot: func() *snapshot.Snapshot { return s }, Transport: p, Loopback: tc.loopback})
			if err != nil {
				t.Fatal(err)
			}
			err = m.ensure(context.Background())
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ensure: %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			for _, pi := range m.Paths() {
				nets := map[string]bool{}
				for i, h := range pi.Hops {
					if p.dead[h.Ed25519] && i == 0 {
						t.Errorf("dead node %s chosen as guard", h.Address)
					}
					if nets[network(h.Address)] && !tc.loopback {
						t.Errorf("two relays in %s", network(h.Address))
					}
					nets[network(h.Address)] = true
				}
			}
		})
	}
}

func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		ok      bool
	}{
		{"missing", "", true},
		{"not json", "{", false},
		{"unknown version", `{"version":9}`, false},
		{"empty", `{"version":1}`, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, fmt.Sprint(i))
			if tc.content != "" {
				os.WriteFile(file, []byte(tc.content), 0o600)
			}
			_, err := New(Options{Snapshot: func() *snapshot.Snapshot { return nil }, Transport: &infoPoster{}, StateFile: file})
			if (err == nil) != tc.ok {
				t.Fatalf("New: %v", err)
			}
		})
	}
	m, _ := New(Options{Snapshot: func() *snapshot.Snapshot { return nil }, Transport: &infoPoster{}})
	if _, _, err := m.Do(context.Background(), snapshot.Node{}, nil); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("Do without a snapshot: %v", err)
	}
}

func TestNewSnapshotDropsLeftNodes(t *testing.T) {
	s := fakeSnapshot("10.0.1.1:1", "10.0.2.1:1", "10.0.3.1:1", "10.0.4.1:1", "10.0.5.1:1", "10.0.6.1:1", "10.0.7.1:1")
	cur := s
	p := &infoPoster{}
	m, _ := New(Options{Snapshot: func() *snapshot.Snapshot { return cur }, Transport: p})
	if err := m.ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	gone := m.Paths()[0].Hops[0].Ed25519
	next := &snapshot.Snapshot{Epoch: 2}
	for _, n := range s.Nodes {
		if n.Ed25519 != gone {
			next.Nodes = append(next.Nodes, n)
		}
	}
	cur = next
	if err := m.ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, pi := range m.Paths() {
		for _, h := range pi.Hops {
			if h.Ed25519 == gone {
				t.Fatalf("node that left the snapshot still in a path")
			}
		}
	}
	if len(m.Paths()) != Guards {
		t.Fatalf("%d paths after the snapshot changed", len(m.Paths()))
	}
}

// TestNewSnapshotKeepsSessions: a new epoch with the same relays keeps
// each path's onion sessions (they would otherwise cost a full request
// per path and epoch); a path rebuilt around a node that left starts new
// ones.
func TestNewSnapshotKeepsSessions(t *testing.T) {
	s := fakeSnapshot("10.0.1.1:1", "10.0.2.1:1", "10.0.3.1:1", "10.0.4.1:1", "10.0.5.1:1", "10.0.6.1:1", "10.0.7.1:1")
	cur := s
	m, _ := New(Options{Snapshot: func() *snapshot.Snapshot { return cur }, Transport: &infoPoster{}})
	ctx := context.Background()
	if err := m.ensure(ctx); err != nil {
		t.Fatal(err)
	}
	sess := map[identity.Ed25519PublicKey]*onionclient.Sessions{}
	for _, p := range m.paths {
		sess[p.nodes[0].Ed25519] = m.sessions(p)
	}
	cur = &snapshot.Snapshot{Epoch: 2, Nodes: s.Nodes}
	if err := m.ensure(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.paths {
		if p.sess == nil || p.sess != sess[p.nodes[0].Ed25519] {
			t.Fatal("a new epoch with the same relays dropped a path's sessions")
		}
	}
	// Paths are disjoint here: only the first path holds gone.
	gone, rebuilt := m.paths[0].nodes[1].Ed25519, m.paths[0].nodes[0].Ed25519
	next := &snapshot.Snapshot{Epoch: 3}
	for _, n := range s.Nodes {
		if n.Ed25519 != gone {
			next.Nodes = append(next.Nodes, n)
		}
	}
	cur = next
	if err := m.ensure(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.paths {
		switch g := p.nodes[0].Ed25519; {
		case slices.ContainsFunc(p.nodes, func(n snapshot.Node) bool { return n.Ed25519 == gone }):
			t.Fatal("a node that left is still on a path")
		case g == rebuilt && p.sess != nil:
			t.Fatal("the rebuilt path kept the old path's sessions")
		case g != rebuilt && p.sess != sess[g]:
			t.Fatal("the untouched path lost its sessions")
		}
	}
}

// TestRestoredPathsGetKeys checks that paths read back from the state
// file, which holds no X25519 keys, take them from the snapshot before
// use, whatever its epoch.
func TestRestoredPathsGetKeys(t *testing.T) {
	s := fakeSnapshot("10.0.1.1:1", "10.0.2.1:1", "10.0.3.1:1", "10.0.4.1:1", "10.0.5.1:1", "10.0.6.1:1")
	s.Epoch = 0
	file := filepath.Join(t.TempDir(), "paths.json")
	opts := Options{Snapshot: func() *snapshot.Snapshot { return s }, Transport: &infoPoster{}, StateFile: file}
	m, _ := New(opts)
	if err := m.ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := &infoPoster{}
	opts.Transport = p
	m2, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p.tests != 0 {
		t.Errorf("restored guards were tested again (%d requests)", p.tests)
	}
	for _, q := range m2.paths {
		for _, n := range q.nodes {
			if n.X25519 == (snapshot.X25519Key{}) {
				t.Fatalf("restored path node %s has no X25519 key", n.Address)
			}
		}
	}
}

// TestAvoidedRelaysLastResort: relays avoided for failing are passed over
// while other nodes can fill a path, and taken when none can: on a small
// network (a devnet on a loaded machine, whose few nodes all time out now
// and then) refusing them would leave the client with no path, that is
// unreachable, until the next snapshot.
func TestAvoidedRelaysLastResort(t *testing.T) {
	s := fakeSnapshot("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:5")
	m, err := New(Options{Snapshot: func() *snapshot.Snapshot { return s }, Transport: &infoPoster{}, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	var relays []identity.Ed25519PublicKey // the nodes that are no guard
	for _, n := range s.Nodes {
		if !slices.Contains(m.guards, n.Ed25519) {
			relays = append(relays, n.Ed25519)
		}
	}
	// avoid marks nodes as failing relays, drops the paths and builds
	// them again within the same epoch (a new one clears the marks).
	avoid := func(ks ...identity.Ed25519PublicKey) error {
		m.mu.Lock()
		for _, k := range ks {
			m.avoid[k] = true
		}
		m.paths = nil
		m.mu.Unlock()
		return m.ensure(context.Background())
	}
	if err := avoid(relays[0]); err != nil {
		t.Fatalf("one of three relays avoided: %v", err)
	}
	for _, p := range m.Paths() {
		for _, h := range p.Hops {
			if h.Ed25519 == relays[0] {
				t.Fatalf("a path through the avoided relay while two others were free: %v", p)
			}
		}
	}
	if err := avoid(relays[1]); err != nil {
		t.Fatalf("two of three relays avoided: %v", err)
	}
	if ps := m.Paths(); len(ps) != Guards {
		t.Fatalf("%d paths, want %d", len(ps), Guards)
	}
}
