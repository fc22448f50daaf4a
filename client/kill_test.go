package client

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/devnet"
)

// TestExchangeSurvivesKill is the messaging issue's end-to-end test on real
// hushd processes: two accounts exchange 100 messages each way through
// onion paths, and every message arrives exactly once, in order of the
// signed send time, with the right sender; then one member of each
// account's swarm is killed with SIGKILL and 100 more each way arrive the
// same way (stores still gather two confirmations, paths through the dead
// nodes are rebuilt, polls move to live members).
func TestExchangeSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hushd processes")
	}
	// Generous: on a busy machine 400 sends through onion paths under
	// -race take minutes; the test waits on messages, not on the clock.
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	d := startHushdDevnet(ctx, t)

	alice := open(t, newHome(t), Options{Network: d.Network()})
	bob := open(t, newHome(t), Options{Network: d.Network()})
	exchange(ctx, t, alice, bob, 0, 100)

	killed := map[int]bool{}
	for _, members := range swarmIndexes(ctx, t, d, alice, bob) {
		i := members[0]
		if killed[i] {
			continue // both accounts in one swarm: one dead member is the test
		}
		if err := d.Kill(i); err != nil {
			t.Fatal(err)
		}
		killed[i] = true
	}
	exchange(ctx, t, alice, bob, 100, 100)
}

// startHushdDevnet builds hushd (without -race) and runs a devnet of six
// hushd processes. Members that die stay in their swarms: the tests using
// it are about clients living with dead nodes, not about the registry.
func startHushdDevnet(ctx context.Context, t *testing.T) *devnet.Devnet {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hushd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hushnet/hush/cmd/hushd").CombinedOutput(); err != nil {
		t.Fatalf("build hushd: %v\n%s", err, out)
	}
	d, err := devnet.Up(ctx, devnet.Options{
		// Six minutes to form, as the CLI scripts give it: the two-minute
		// default was passed under -race on a loaded machine.
		Timeout: 6 * time.Minute,
		Dir:     t.TempDir(), Nodes: 6, Processes: true, HushdPath: bin,
		EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond,
		UnreachableAfter: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	return d
}

// swarmIndexes returns the devnet indexes of each client's swarm members
// (at least three), in the snapshot's order.
func swarmIndexes(ctx context.Context, t *testing.T, d *devnet.Devnet, cs ...*Client) [][]int {
	t.Helper()
	_, snap, err := devnet.FetchSnapshot(ctx, d.Network())
	if err != nil {
		t.Fatal(err)
	}
	index := map[identity.Ed25519PublicKey]int{}
	for _, n := range d.Nodes() {
		index[n.Ed25519] = n.Index
	}
	out := make([][]int, len(cs))
	for k, c := range cs {
		_, members, ok := snap.SwarmOf(c.Account())
		if !ok || len(members) < 3 {
			t.Fatalf("swarm of %s: %d members", c.Account().Short(), len(members))
		}
		for _, m := range members {
			out[k] = append(out[k], index[m.Ed25519])
		}
	}
	return out
}

// exchange sends n messages each way, numbered from first, and checks that
// each side then holds exactly the messages 0…first+n-1 of the other, once
// each, in send order.
func exchange(ctx context.Context, t *testing.T, alice, bob *Client, first, n int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		for _, p := range []struct {
			from, to *Client
			tag      string
		}{{alice, bob, "a"}, {bob, alice, "b"}} {
			if _, err := p.from.Send(ctx, p.to.Account(), fmt.Sprintf("%s%03d", p.tag, i)); err != nil {
				t.Fatalf("send %s%d: %v", p.tag, i, err)
			}
		}
	}
	for _, p := range []struct {
		c, peer *Client
		tag     string
	}{{alice, bob, "b"}, {bob, alice, "a"}} {
		deadline := time.Now().Add(5 * time.Minute)
		for {
			if _, err := p.c.FlushOutbox(ctx); err != nil {
				t.Logf("flush: %v", err)
			}
			if _, err := p.c.Poll(ctx); err != nil {
				t.Logf("poll: %v", err)
			}
			hist, err := p.c.History(p.peer.Account())
			if err != nil {
				t.Fatal(err)
			}
			var in []Message
			for _, m := range hist {
				if !m.Outgoing {
					in = append(in, m)
				}
			}
			if len(in) >= first+n {
				if len(in) != first+n {
					t.Fatalf("%d incoming messages, want %d", len(in), first+n)
				}
				for i, m := range in {
					if want := fmt.Sprintf("%s%03d", p.tag, i); m.Text != want || !m.Sender.Equal(p.peer.Account()) {
						t.Fatalf("message %d is %q from %s, want %q from %s", i, m.Text, m.Sender.Short(), want, p.peer.Account().Short())
					}
					if i > 0 && m.SentAt.Before(in[i-1].SentAt) {
						t.Fatalf("message %d is out of signed-time order", i)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d messages arrived", len(in), first+n)
			}
		}
	}
}
