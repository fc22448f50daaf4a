package client

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestDeleteAccountData(t *testing.T) {
	nd := startStandalone(t)
	sw := &switchable{Transport: NewDirectTransport()}
	alice := open(t, newHome(t), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd, Transport: sw})
	ctx := context.Background()
	for _, text := range []string{"one", "two"} {
		if _, err := alice.Send(ctx, bob.Account(), text); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Send(ctx, alice.Account(), text); err != nil {
			t.Fatal(err)
		}
	}
	held := func(c *Client) (in, sync int) {
		t.Helper()
		for ns, n := range map[int32]*int{NamespaceInbox: &in, NamespaceSync: &sync} {
			msgs, err := c.retrieve(ctx, standaloneNode(t, c), ns, time.Time{}, "")
			if err != nil {
				t.Fatal(err)
			}
			*n = len(msgs)
		}
		return in, sync
	}
	if in, sync := held(bob); in != 2 || sync != 2 {
		t.Fatalf("bob's swarm holds %d inbox and %d sync copies, want 2 and 2", in, sync)
	}

	sw.down.Store(true)
	if err := bob.DeleteAccountData(ctx); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("offline: %v, want ErrUnreachable", err)
	}
	sw.down.Store(false)
	if err := bob.DeleteAccountData(ctx); err != nil {
		t.Fatal(err)
	}
	if in, sync := held(bob); in != 0 || sync != 0 {
		t.Fatalf("after deleting, bob's swarm holds %d inbox and %d sync copies", in, sync)
	}
	// Only bob's account: alice's copies stay.
	if in, sync := held(alice); in != 2 || sync != 2 {
		t.Fatalf("alice's swarm holds %d inbox and %d sync copies, want 2 and 2", in, sync)
	}
}

// TestDeleteAccountDataDevnet empties every member of a replicating
// swarm, and only for the account that asked.
func TestDeleteAccountDataDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole network")
	}
	d := startDevnet(t)
	alice := open(t, newHome(t), Options{Network: d.Network(), Direct: true})
	bob := open(t, newHome(t), Options{Network: d.Network(), Direct: true})
	ctx := context.Background()
	for _, text := range []string{"one", "two"} {
		if _, err := alice.Send(ctx, bob.Account(), text); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Send(ctx, alice.Account(), text); err != nil {
			t.Fatal(err)
		}
	}
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
				t.Fatalf("%d outbox items left: %s", len(ob), ob[0].LastError)
			}
		}
	}
	// held counts, on every member of c's swarm, what it holds for c.
	held := func(c *Client) []int {
		t.Helper()
		members, err := c.dir.SwarmFor(ctx, c.Account())
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for _, n := range members {
			total := 0
			for _, ns := range []int32{NamespaceInbox, NamespaceSync} {
				msgs, err := c.retrieve(ctx, n, ns, time.Time{}, "")
				if err != nil {
					t.Fatal(err)
				}
				total += len(msgs)
			}
			out = append(out, total)
		}
		return out
	}
	// Let replication settle first, so no forward can land after the
	// deletion: every member holds bob's 2 inbox and 2 sync copies.
	for attempt := 0; ; attempt++ {
		counts := held(bob)
		if !slices.ContainsFunc(counts, func(n int) bool { return n != 4 }) {
			break
		}
		if attempt == 100 {
			t.Fatalf("replication did not settle: %v", counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := bob.DeleteAccountData(ctx); err != nil {
		t.Fatal(err)
	}
	if counts := held(bob); slices.ContainsFunc(counts, func(n int) bool { return n != 0 }) {
		t.Fatalf("after deleting, bob's swarm members hold %v", counts)
	}
	if counts := held(alice); slices.ContainsFunc(counts, func(n int) bool { return n == 0 }) {
		t.Fatalf("alice's swarm members hold %v; bob's deletion reached them", counts)
	}
}
