package client

import (
	"context"
	"errors"
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
			msgs, err := c.retrieve(ctx, nd.node(t, c), ns, time.Time{}, "")
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
