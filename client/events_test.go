package client

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/paths"
)

// TestEventsOfConversation: a first message from a stranger raises
// EventRequest; delivery and read receipts raise EventStatus at the
// sender; an unsent message raises EventUnsent on both sides, and a
// disappearing one when its timer deletes it.
func TestEventsOfConversation(t *testing.T) {
	nd := startStandalone(t)
	var skew atomic.Int64 // bob's clock runs ahead by this much
	bobClock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	alice := open(t, newHome(t), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd, Clock: bobClock})
	ctx := context.Background()
	if err := bob.SetReceipts(true); err != nil {
		t.Fatal(err)
	}
	aev, astop := alice.Subscribe(64)
	defer astop()
	bev, bstop := bob.Subscribe(64)
	defer bstop()
	poll := func(c *Client) {
		t.Helper()
		if _, err := c.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}

	first, err := alice.Send(ctx, bob.Account(), "first")
	if err != nil {
		t.Fatal(err)
	}
	poll(bob)
	es := drain(bev)
	if got := ofKind(es, EventRequest); len(got) != 1 || got[0].Message.MessageID != first.MessageID || !got[0].Message.Request || !got[0].Message.Peer.Equal(alice.Account()) {
		t.Fatalf("bob's EventRequest: %+v", got)
	}
	if got := ofKind(es, EventReceived); len(got) != 1 {
		t.Fatalf("bob's EventReceived: %+v", got)
	}

	// Accepted and read: alice sees "read" for the first message.
	if err := bob.Accept(alice.Account()); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.TakeUnread(); err != nil {
		t.Fatal(err)
	}
	if err := bob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	drain(aev)
	poll(alice)
	if got := ofKind(drain(aev), EventStatus); len(got) != 1 || got[0].Message.MessageID != first.MessageID || got[0].Message.Status != "read" {
		t.Fatalf("alice's EventStatus after bob read: %+v", got)
	}

	// A second message: delivered, and no new request.
	second, err := alice.Send(ctx, bob.Account(), "second")
	if err != nil {
		t.Fatal(err)
	}
	poll(bob)
	if got := ofKind(drain(bev), EventRequest); len(got) != 0 {
		t.Fatalf("a known contact's message raised EventRequest: %+v", got)
	}
	poll(alice)
	if got := ofKind(drain(aev), EventStatus); len(got) != 1 || got[0].Message.MessageID != second.MessageID || got[0].Message.Status != "delivered" {
		t.Fatalf("alice's EventStatus after bob's poll: %+v", got)
	}

	// Unsent: both sides hear of it.
	if err := alice.Unsend(ctx, bob.Account(), second.MessageID); err != nil {
		t.Fatal(err)
	}
	if got := ofKind(drain(aev), EventUnsent); len(got) != 1 || got[0].Message.MessageID != second.MessageID || got[0].Message.ID != second.ID {
		t.Fatalf("alice's EventUnsent: %+v", got)
	}
	bobsSecond := findMessage(t, bob, alice, second.MessageID)
	poll(bob)
	if got := ofKind(drain(bev), EventUnsent); len(got) != 1 || got[0].Message.MessageID != second.MessageID ||
		got[0].Message.ID != bobsSecond.ID || !got[0].Message.Peer.Equal(alice.Account()) {
		t.Fatalf("bob's EventUnsent: %+v", got)
	}

	// Disappeared: bob's copy goes when its timer runs out.
	if _, err := alice.SetTimer(ctx, bob.Account(), DisappearAfterSend, time.Minute); err != nil {
		t.Fatal(err)
	}
	brief, err := alice.Send(ctx, bob.Account(), "brief")
	if err != nil {
		t.Fatal(err)
	}
	poll(bob)
	bobsBrief := findMessage(t, bob, alice, brief.MessageID)
	drain(bev)
	skew.Store(int64(2 * time.Minute))
	if _, err := bob.Requests(); err != nil { // runs the local expiry
		t.Fatal(err)
	}
	if got := ofKind(drain(bev), EventUnsent); len(got) != 1 || got[0].Message.ID != bobsBrief.ID || got[0].Message.MessageID != brief.MessageID {
		t.Fatalf("bob's EventUnsent for a disappeared message: %+v", got)
	}
}

// findMessage returns c's copy of the message with hex ID mid in its
// conversation with peer.
func findMessage(t *testing.T, c, peer *Client, mid string) Message {
	t.Helper()
	h, err := c.History(peer.Account())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range h {
		if m.MessageID == mid {
			return m
		}
	}
	t.Fatalf("message %s not in history", mid)
	return Message{}
}

// TestEventPaths: the onion paths dropping a failed guard and building
// anew raise EventPaths.
func TestEventPaths(t *testing.T) {
	nw, nf := testNetwork(t)
	alice := open(t, newHome(t), Options{Network: nf})
	m := alice.tr.(*paths.Manager)
	ctx := context.Background()
	if _, err := alice.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	ev, stop := alice.Subscribe(64)
	defer stop()
	// The guard to stop is of a path that some member of alice's swarm is
	// not in: requests to that member may take the broken path, whose
	// failures then count (a path holding the destination is never used).
	members, err := alice.dir.SwarmFor(ctx, alice.Account())
	if err != nil {
		t.Fatal(err)
	}
	var guard identity.Ed25519PublicKey
	found := false
	for _, p := range m.Paths() {
		for _, n := range members {
			if !slices.ContainsFunc(p.Hops, func(h paths.HopInfo) bool { return h.Ed25519 == n.Ed25519 }) {
				guard, found = p.Hops[0].Ed25519, true
			}
		}
	}
	if !found {
		t.Skip("both paths hold all of alice's swarm")
	}
	nw.Node(guard).Stop()
	for i := 0; ; i++ {
		if i == 40 {
			t.Fatalf("no EventPaths after %d polls with a guard down", i)
		}
		alice.Poll(ctx) // may fail while the paths heal
		if len(ofKind(drain(ev), EventPaths)) > 0 {
			break
		}
	}
}
