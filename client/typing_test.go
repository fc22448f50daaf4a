package client

import (
	"context"
	"errors"
	"testing"
	"time"
)

// drain returns the events waiting in ch without blocking.
func drain(ch <-chan Event) []Event {
	var out []Event
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, e)
		default:
			return out
		}
	}
}

func ofKind(es []Event, k EventKind) []Event {
	var out []Event
	for _, e := range es {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// TestTyping: typing started and stopped reach an accepted contact as
// EventTyping and leave nothing in history or the outbox; nothing goes to
// a request or a blocked contact, a stranger's typing raises nothing, and
// with the network down the error is returned and nothing is queued.
func TestTyping(t *testing.T) {
	nd := startStandalone(t)
	sw := &switchable{Transport: NewDirectTransport()}
	alice := open(t, newHome(t), Options{Standalone: nd, Transport: sw})
	bob := open(t, newHome(t), Options{Standalone: nd})
	carol := open(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	// Typing follows the receipts setting, off by default (its own
	// check is at the end).
	for _, c := range []*Client{alice, bob, carol} {
		if err := c.SetReceipts(true); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := alice.Send(ctx, bob.Account(), "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	bev, bstop := bob.Subscribe(16)
	defer bstop()

	// alice is a request at bob's: bob's typing does not go to her.
	if err := bob.SendTyping(ctx, alice.Account(), true); err != nil {
		t.Fatal(err)
	}
	aev, astop := alice.Subscribe(16)
	defer astop()
	if _, err := alice.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ofKind(drain(aev), EventTyping); len(got) != 0 {
		t.Fatalf("bob's typing reached alice before bob accepted her: %+v", got)
	}

	if err := bob.Accept(alice.Account()); err != nil {
		t.Fatal(err)
	}
	for _, typing := range []bool{true, false} {
		if err := alice.SendTyping(ctx, bob.Account(), typing); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		got := ofKind(drain(bev), EventTyping)
		if len(got) != 1 || !got[0].Typing.Peer.Equal(alice.Account()) || got[0].Typing.Typing != typing {
			t.Fatalf("bob's EventTyping after alice's typing=%v: %+v", typing, got)
		}
	}
	// Receipts off: alice's typing is not sent (nothing at bob's), and
	// with bob's off, what alice sends is not shown.
	for _, off := range []*Client{alice, bob} {
		if err := off.SetReceipts(false); err != nil {
			t.Fatal(err)
		}
		if err := alice.SendTyping(ctx, bob.Account(), true); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if got := ofKind(drain(bev), EventTyping); len(got) != 0 {
			t.Fatalf("typing with receipts off at %v raised %+v", off == alice, got)
		}
		if err := off.SetReceipts(true); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*Client{alice, bob} {
		h, err := c.History(map[*Client]*Client{alice: bob, bob: alice}[c].Account())
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 1 {
			t.Fatalf("%d messages in history after typing, want the one message: %+v", len(h), h)
		}
		if due, err := c.db.DueOutbox(time.Now().Add(24*time.Hour), 10); err != nil || len(due) != 0 {
			t.Fatalf("outbox after typing: %d items (%v)", len(due), err)
		}
	}

	// A stranger's typing raises nothing at bob's.
	if _, err := carol.Send(ctx, bob.Account(), "hi, stranger here"); err != nil {
		t.Fatal(err)
	}
	if err := carol.SendTyping(ctx, bob.Account(), true); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ofKind(drain(bev), EventTyping); len(got) != 0 {
		t.Fatalf("a stranger's typing raised %+v", got)
	}

	// Blocked: bob's typing does not go to alice, nor hers come through.
	if err := bob.Block(alice.Account()); err != nil {
		t.Fatal(err)
	}
	if err := bob.SendTyping(ctx, alice.Account(), true); err != nil {
		t.Fatal(err)
	}
	if err := alice.SendTyping(ctx, bob.Account(), true); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ofKind(drain(aev), EventTyping); len(got) != 0 {
		t.Fatalf("bob's typing reached alice after he blocked her: %+v", got)
	}
	if got := ofKind(drain(bev), EventTyping); len(got) != 0 {
		t.Fatalf("a blocked contact's typing raised %+v", got)
	}

	// Offline: the error comes back and nothing waits in the outbox.
	sw.down.Store(true)
	if err := alice.SendTyping(ctx, bob.Account(), false); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("SendTyping with the network down: %v, want ErrUnreachable", err)
	}
	if due, err := alice.db.DueOutbox(time.Now().Add(24*time.Hour), 10); err != nil || len(due) != 0 {
		t.Fatalf("outbox after an offline typing: %d items (%v)", len(due), err)
	}
}
