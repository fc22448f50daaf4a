package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/protocol/rpc"
)

// startDevnet runs a whole network in-process: a registry host and eight
// replicating nodes (two swarms of four), with fast registry timers.
func startDevnet(t testing.TB) *devnet.Devnet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	d, err := devnet.Up(ctx, devnet.Options{
		// Six minutes to form, as the CLI scripts give it: the two-minute
		// default was passed under -race on a loaded machine.
		Timeout: 6 * time.Minute,
		Dir:     t.TempDir(), Nodes: 8,
		EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond,
		// No test here is about the registry dropping nodes; a short
		// unreachable time let a node starved of CPU on a loaded machine be
		// voted out mid-test, moving swarms under the test (421s).
		UnreachableAfter: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	return d
}

// TestDevnet exchanges messages on a devnet, where snapshots come from
// the network, nodes replicate, and a single store comes back with the
// swarm's signed confirmations: directly, and through onion paths once
// the devnet's nodes relay.
func TestDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole network")
	}
	d := startDevnet(t)
	for _, tc := range []struct {
		name   string
		direct bool
	}{{"direct", true}, {"onion paths", false}} {
		t.Run(tc.name, func(t *testing.T) {
			exchangeOn(t, d, tc.direct)
		})
	}
}

func exchangeOn(t *testing.T, d *devnet.Devnet, direct bool) {
	alice := open(t, newHome(t), Options{Network: d.Network(), Direct: direct})
	bob := open(t, newHome(t), Options{Network: d.Network(), Direct: direct})
	ctx := context.Background()

	// One store, verified confirmations from at least two members. The
	// devnet may still be reshaping swarms: a 421 refreshes the snapshot.
	var (
		members []snapshotNode
		res     *rpc.StoreResult
		err     error
		data    = []byte("confirm me")
	)
	for attempt := 0; attempt < 5; attempt++ {
		if members, err = alice.dir.SwarmFor(ctx, bob.Account()); err != nil {
			t.Fatal(err)
		}
		// An hour: on a busy machine the sends below take minutes, and an
		// expired deposit is never fetched (so never dropped).
		res, err = alice.storeOnce(ctx, members[0], bob.Account(), NamespaceInbox, time.Hour, data)
		var ne *NodeError
		if !errors.As(err, &ne) || ne.Code != rpc.CodeWrongSwarm {
			break
		}
	}
	if err != nil && !direct && strings.Contains(err.Error(), "HTTP 404") {
		// TODO(relay): remove once internal/node serves /onion_req/v2.
		t.Skip("the devnet's nodes do not relay onion requests yet")
	}
	if err != nil {
		t.Fatal(err)
	}
	confirmed := map[snapshotKey]bool{}
	alice.countConfirmations(confirmed, members, members[0], bob.Account(), res.Hash, res)
	if len(confirmed) < 2 {
		t.Fatalf("one store gave %d verified confirmations, want at least 2 (reply: %+v)", len(confirmed), res.Swarm)
	}

	const n = 20
	for i := range n {
		for _, p := range []struct{ from, to *Client }{{alice, bob}, {bob, alice}} {
			if _, err := p.from.Send(ctx, p.to.Account(), fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Under load (the race detector, eight nodes and a registry on a few
	// cores) a path may time out; the outbox then holds the message and a
	// later flush sends it. All must be sent in the end.
	for _, c := range []*Client{alice, bob} {
		for attempt := 0; ; attempt++ {
			c.FlushOutbox(ctx)
			ob, err := c.db.Outbox()
			if err != nil {
				t.Fatal(err)
			}
			if len(ob) == 0 {
				break
			}
			if attempt == 20 {
				t.Fatalf("%d outbox items left after %d flushes; last error: %s", len(ob), attempt, ob[0].LastError)
			}
		}
		h, err := c.History(map[*Client]*Client{alice: bob, bob: alice}[c].Account())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range h {
			if m.Outgoing && m.Status != "sent" {
				t.Fatalf("%q is %s", m.Text, m.Status)
			}
		}
	}
	// A store is acknowledged once two members confirm it; a poll asks two
	// members, which on a busy machine may not have the forward yet, so
	// poll until everything is in (anti-entropy repairs the rest).
	for _, c := range []*Client{alice, bob} {
		var got []Message
		for deadline := time.Now().Add(2 * time.Minute); len(got) < n; {
			more, err := c.Poll(ctx)
			if err != nil {
				t.Logf("poll: %v", err)
			}
			got = append(got, more...)
			if time.Now().After(deadline) {
				t.Fatalf("received %d messages, want %d", len(got), n)
			}
		}
		if len(got) != n {
			t.Fatalf("received %d messages, want %d", len(got), n)
		}
		slices.SortFunc(got, func(a, b Message) int { return a.SentAt.Compare(b.SentAt) })
		for i, m := range got {
			if m.Text != fmt.Sprint(i) {
				t.Fatalf("message %d is %q", i, m.Text)
			}
		}
	}
	// Bob also gets the undecodable "confirm me" deposit: dropped, once.
	for deadline := time.Now().Add(time.Minute); bob.Stats().Dropped == 0 && time.Now().Before(deadline); {
		if _, err := bob.Poll(ctx); err != nil {
			t.Logf("poll: %v", err)
		}
	}
	if d := bob.Stats().Dropped; d != 1 {
		t.Fatalf("bob dropped %d messages, want 1", d)
	}
}
