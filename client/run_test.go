package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// waitEvent waits (generously) for an event of c on ch (its
// subscription) that ok accepts. When it gives up it reports what it saw
// instead, how many events c dropped for ch (a full buffer), and c's
// state (clientState).
func waitEvent(t *testing.T, c *Client, ch <-chan Event, what string, ok func(Event) bool) Event {
	t.Helper()
	start := time.Now()
	deadline := time.After(2 * time.Minute)
	var seen []string
	for {
		select {
		case e, open := <-ch:
			if !open {
				t.Fatalf("subscription closed waiting for %s", what)
			}
			if ok(e) {
				return e
			}
			seen = append(seen, fmt.Sprintf("kind %d id %s %q", e.Kind, e.Message.MessageID, e.Message.Text))
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s; %d other events (last: %q); %d dropped for this subscriber; %s",
				time.Since(start).Round(time.Second), what, len(seen), seen[max(0, len(seen)-8):], droppedFor(c, ch), clientState(c))
		}
	}
}

// droppedFor is how many events c dropped for its subscription ch.
func droppedFor(c *Client, ch <-chan Event) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, sub := range c.subs {
		if (<-chan Event)(sub) == ch {
			return c.subDropped[id]
		}
	}
	return -1
}

// clientState describes what c holds, for a wait that gave up: its
// clock, the next disappearing deadline, the notification mode and
// whether Run runs, and its outbox.
func clientState(c *Client) string {
	var b strings.Builder
	fmt.Fprintf(&b, "client %s: clock %s, running %v", c.Account().String()[:10], c.clock().Format(time.RFC3339Nano), c.running.Load())
	next, err := c.db.NextExpiry()
	fmt.Fprintf(&b, "; next expiry %v (%v)", next.Format(time.RFC3339Nano), err)
	ns, err := c.Notifications()
	fmt.Fprintf(&b, "; notifications %+v (%v)", ns, err)
	items, err := c.db.Outbox()
	fmt.Fprintf(&b, "; outbox %d items (%v)", len(items), err)
	for _, it := range items {
		fmt.Fprintf(&b, " [%d attempts %d next %s: %s]", it.ID, it.Attempts, it.NextAttempt.Format(time.RFC3339), it.LastError)
	}
	return b.String()
}

// runClient runs c.Run until the returned stop is called; stop fails the
// test unless Run returns nil promptly.
func runClient(t *testing.T, c *Client) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not end after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

// TestRun: Run sends what waited in the outbox once the network is back,
// receives in fast mode and, after the mode changed under it, in slow
// mode, deletes a disappearing message at its deadline, refuses a second
// call, and ends promptly, with nil, when its context ends.
func TestRun(t *testing.T) {
	nd := startStandalone(t)
	sw := &switchable{Transport: NewDirectTransport()}
	var skew atomic.Int64 // bob's clock runs ahead by this much
	bobClock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	alice := open(t, newHome(t), Options{Standalone: nd, Transport: sw, PollInterval: 50 * time.Millisecond})
	bob := open(t, newHome(t), Options{Standalone: nd, Clock: bobClock, PollInterval: 50 * time.Millisecond})
	ctx := context.Background()
	aev, astop := alice.Subscribe(256)
	defer astop()
	bev, bstop := bob.Subscribe(256)
	defer bstop()
	received := func(text string) func(Event) bool {
		return func(e Event) bool { return e.Kind == EventReceived && e.Message.Text == text }
	}

	sw.down.Store(true)
	queued, err := alice.Queue(bob.Account(), "queued while offline")
	if err != nil {
		t.Fatal(err)
	}
	stopAlice := runClient(t, alice)
	stopBob := runClient(t, bob)
	waitFor(t, "bob's Run", bob.running.Load)
	if err := bob.Run(ctx); !errors.Is(err, errRunning) {
		t.Fatalf("a second Run: %v, want it refused", err)
	}
	sw.down.Store(false)
	waitEvent(t, alice, aev, "alice's queued message sent", func(e Event) bool { return e.Kind == EventSent && e.Message.ID == queued })
	waitEvent(t, bob, bev, "the queued message at bob's (fast mode)", received("queued while offline"))

	if err := bob.SetNotifications(NotifySlow); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, bob.Account(), "after the switch"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bob, bev, "a message at bob's in slow mode", received("after the switch"))

	if _, err := alice.SetTimer(ctx, bob.Account(), DisappearAfterSend, time.Minute); err != nil {
		t.Fatal(err)
	}
	brief, err := alice.Send(ctx, bob.Account(), "brief")
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, bob, bev, "the disappearing message at bob's", received("brief"))
	skew.Store(int64(2 * time.Minute))
	waitEvent(t, bob, bev, "the disappearing message gone at bob's", func(e Event) bool {
		return e.Kind == EventUnsent && e.Message.MessageID == brief.MessageID
	})

	stopAlice()
	stopBob()
	// A closed Client ends Run with an error rather than retrying
	// forever.
	alice.Close()
	done := make(chan error, 1)
	go func() { done <- alice.Run(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run on a closed Client returned nil")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run on a closed Client did not return")
	}
}
