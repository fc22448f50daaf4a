package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// testNetwork starts a relaytest network of two swarms of three nodes (six
// nodes: the fewest that give two disjoint onion paths) and its network
// file.
func testNetwork(t testing.TB) (*relaytest.Network, *netfile.Network) {
	t.Helper()
	nw := relaytest.Start(t, relaytest.Options{Nodes: 6, Swarms: 2})
	reg := identity.Ed25519PublicKeyOf(nw.RegistryKey)
	seed := nw.Nodes[0].Info
	nf := &netfile.Network{
		ID:         relaytest.NetworkID,
		Registries: []netfile.Registry{{Address: "127.0.0.1:9", Ed25519: reg}},
		Seeds:      []netfile.Seed{{Address: seed.Address, Ed25519: seed.Ed25519, X25519: seed.X25519}},
		Loopback:   true,
		Limits:     netfile.DefaultLimits(),
	}
	return nw, nf
}

// TestOnionPaths exchanges messages through onion paths with snapshots
// from the network (the default transport), and checks that no storage
// RPC reached a node straight from the client.
func TestOnionPaths(t *testing.T) {
	nw, nf := testNetwork(t)
	aliceHome := newHome(t)
	alice := open(t, aliceHome, Options{Network: nf})
	bob := open(t, newHome(t), Options{Network: nf})
	if _, ok := alice.tr.(*paths.Manager); !ok {
		t.Fatalf("default transport is %T, want onion paths", alice.tr)
	}
	ctx := context.Background()
	const n = 10
	for i := range n {
		for _, p := range []struct{ from, to *Client }{{alice, bob}, {bob, alice}} {
			m, err := p.from.Send(ctx, p.to.Account(), fmt.Sprintf("%d", i))
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != "sent" {
				t.Fatalf("status %s", m.Status)
			}
		}
	}
	for _, c := range []*Client{alice, bob} {
		got, err := c.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("received %d messages, want %d", len(got), n)
		}
		for i, m := range got {
			if m.Text != fmt.Sprint(i) {
				t.Fatalf("message %d is %q", i, m.Text)
			}
		}
	}
	// Nodes listen on 127.0.0.10 and up and relay from there; the client
	// dials from 127.0.0.1. Only the first snapshot and the guard tests
	// (info, to the guards, which see the client anyway) come straight.
	for _, r := range nw.RPCs() {
		host, _, _ := net.SplitHostPort(r.Remote)
		var req rpc.Request
		json.Unmarshal(r.Body, &req)
		if host == "127.0.0.1" && req.Method != "get_snapshot" && req.Method != rpc.MethodInfo {
			t.Errorf("a %s request reached node %s straight from the client", req.Method, r.Node)
		}
	}
	// The snapshot is kept in the home for the next start.
	if _, err := os.Stat(filepath.Join(aliceHome, snapshotFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(aliceHome, PathsFile)); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotDirectory checks verification and the refusal to roll back.
func TestSnapshotDirectory(t *testing.T) {
	nw, nf := testNetwork(t)
	home := t.TempDir()
	pool := NewDirectTransport().poster
	d := newSnapshotDirectory(nf, home, pool, nil)
	acct := newAccountID(t)
	members, err := d.SwarmFor(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	want := nw.SwarmFor(acct)
	if len(members) != len(want) {
		t.Fatalf("swarm of %d members, want %d", len(members), len(want))
	}
	for i := range want {
		if members[i].Ed25519 != want[i].Ed25519 {
			t.Fatalf("member %d differs", i)
		}
	}

	t.Run("wrong registry key", func(t *testing.T) {
		bad := *nf
		bad.Registries = []netfile.Registry{{Address: "127.0.0.1:9", Ed25519: identity.Ed25519PublicKeyFromRaw32([32]byte{1})}}
		d := newSnapshotDirectory(&bad, "", pool, nil)
		if _, err := d.SwarmFor(context.Background(), acct); err == nil {
			t.Fatal("accepted a snapshot not signed by the network file's registry")
		}
	})
	t.Run("no rollback", func(t *testing.T) {
		// A home that has seen a later epoch refuses the network's.
		s := *nw.Snapshot
		s.Epoch = nw.Snapshot.Epoch + 5
		s.Signatures = nil
		if err := snapshot.Sign(&s, nw.RegistryKey); err != nil {
			t.Fatal(err)
		}
		raw, err := snapshot.Encode(&s)
		if err != nil {
			t.Fatal(err)
		}
		h := t.TempDir()
		if err := os.WriteFile(filepath.Join(h, snapshotFile), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		d := newSnapshotDirectory(nf, h, pool, nil)
		d.Invalidate() // force a fetch: the network still serves the old epoch
		if _, err := d.SwarmFor(context.Background(), acct); err != nil {
			t.Fatalf("kept snapshot unusable: %v", err)
		}
		if got := d.Current().Epoch; got != s.Epoch {
			t.Fatalf("epoch %d after a refresh, want %d kept", got, s.Epoch)
		}
	})
}

// staleDirectory answers with the wrong swarm until told it is stale, as
// a client's old snapshot would after the network reshaped its swarms.
type staleDirectory struct {
	Directory
	mu     sync.Mutex
	wrong  []snapshot.Node
	stale  bool
	wrongs int // how many SwarmFor calls got the wrong swarm
}

func (d *staleDirectory) SwarmFor(ctx context.Context, id identity.AccountID) ([]snapshot.Node, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stale {
		d.wrongs++
		return d.wrong, nil
	}
	return d.Directory.SwarmFor(ctx, id)
}

func (d *staleDirectory) Invalidate() {
	d.mu.Lock()
	d.stale = false
	d.mu.Unlock()
	d.Directory.Invalidate()
}

// TestWrongSwarm: a 421 refreshes the directory and the store or poll is
// retried on the right swarm, within the same call.
func TestWrongSwarm(t *testing.T) {
	nw, nf := testNetwork(t)
	pool := NewDirectTransport()
	mk := func(home string) (*Client, *staleDirectory) {
		sd := &staleDirectory{Directory: newSnapshotDirectory(nf, "", pool.poster, nil)}
		return open(t, home, Options{Directory: sd, Transport: pool}), sd
	}
	alice, ad := mk(newHome(t))
	bob, bd := mk(newHome(t))
	other := func(id identity.AccountID) []snapshot.Node {
		right := nw.SwarmFor(id)
		var out []snapshot.Node
		for _, n := range nw.Snapshot.Nodes {
			if n.Swarm != right[0].Swarm {
				out = append(out, n)
			}
		}
		return out
	}
	ad.wrong, ad.stale = other(bob.Account()), true
	bd.wrong, bd.stale = other(bob.Account()), true
	ctx := context.Background()
	m, err := alice.Send(ctx, bob.Account(), "through a stale view")
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != "sent" || ad.wrongs == 0 {
		t.Fatalf("status %s after %d stale lookups", m.Status, ad.wrongs)
	}
	got, err := bob.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || bd.wrongs == 0 {
		t.Fatalf("bob received %d messages after %d stale lookups", len(got), bd.wrongs)
	}
}
