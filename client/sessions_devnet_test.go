package client

import (
	"context"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/paths"
)

// TestSessionsDevnet is issue 24's end-to-end test: two clients exchange
// messages through onion paths on a devnet, and the nodes' metrics show
// that the paths opened sessions and carried warm requests through them
// (no public-key work at the guard and the middle relay). Then one of
// alice's guards restarts, forgetting its sessions: it answers her next
// warm request with session_unknown, her client opens new sessions on
// the same path, and every message still arrives once.
func TestSessionsDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole network")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	const nodes = 6
	metrics := freeAddrs(t, nodes)
	d, err := devnet.Up(ctx, devnet.Options{
		// Six minutes to form, as the CLI scripts give it: the two-minute
		// default was passed under -race on a loaded machine.
		Timeout: 6 * time.Minute,
		Dir:     t.TempDir(), Nodes: nodes,
		EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond,
		// The restart below is about sessions, not about the registry.
		UnreachableAfter: time.Hour,
		Node:             func(i int, c *config.Node) { c.Metrics = metrics[i] },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	total := func(name string) (sum float64) {
		for i := range nodes {
			sum += scrape(t, metrics[i], name, "")
		}
		return sum
	}

	alice := open(t, newHome(t), Options{Network: d.Network()})
	bob := open(t, newHome(t), Options{Network: d.Network()})
	exchange(ctx, t, alice, bob, 0, 8)
	opened, warm := total("hush_onion_sessions_opened_total"), total("hush_onion_session_requests_total")
	t.Logf("after 16 messages: %v sessions opened, %v warm session frames, %v session_unknown", opened, warm, total("hush_onion_session_unknown_total"))
	// Each client has two paths, each opening two sessions with its first
	// request and using them for the rest.
	if opened < 2 || warm < 2*opened {
		t.Fatalf("%v sessions opened and %v warm session frames: the paths did not use sessions", opened, warm)
	}

	m, ok := alice.tr.(*paths.Manager)
	if !ok {
		t.Fatalf("alice's transport is %T", alice.tr)
	}
	ps := m.Paths()
	if len(ps) == 0 {
		t.Fatal("alice has no paths")
	}
	g := -1
	for _, n := range d.Nodes() {
		if n.Ed25519 == ps[0].Hops[0].Ed25519 {
			g = n.Index
		}
	}
	if scrape(t, metrics[g], "hush_onion_sessions", "") == 0 {
		t.Fatal("alice's guard holds no session")
	}
	if err := d.StopNode(g); err != nil {
		t.Fatal(err)
	}
	if err := d.Restart(g); err != nil {
		t.Fatal(err)
	}
	exchange(ctx, t, alice, bob, 8, 8)
	// The restarted node counts from zero: session_unknown came from it,
	// and the path opened its sessions there again.
	if u, o := scrape(t, metrics[g], "hush_onion_session_unknown_total", ""), scrape(t, metrics[g], "hush_onion_sessions_opened_total", ""); u < 1 || o < 1 {
		t.Fatalf("restarted guard: %v session_unknown answers, %v sessions opened; want both", u, o)
	}
	if got := m.Paths(); len(got) == 0 || got[0].Hops[0].Ed25519 != ps[0].Hops[0].Ed25519 {
		t.Error("alice dropped the restarted guard: session_unknown was charged as a failure")
	}
}
