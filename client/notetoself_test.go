package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

// TestNoteToSelfTimer: changing the note to self's disappearing timer
// queues nothing for the account's public inbox (a note to self goes
// only to the sync namespace), and the account's other device still gets
// the setting, through the config sync. A call to oneself is refused with
// a clear error.
func TestNoteToSelfTimer(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	seed := identity.NewSeed()
	sw := &switchable{Transport: NewDirectTransport()}
	a1 := open(t, homeFromSeed(t, seed), Options{Standalone: nd, Transport: sw})
	a2 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	self := a1.Account()
	mustSync(t, a1)
	mustSync(t, a2)

	// Offline, so what the change queues stays in the outbox to be seen.
	sw.down.Store(true)
	if _, err := a1.SetTimer(ctx, self, DisappearAfterSend, time.Hour); err != nil {
		t.Fatal(err)
	}
	ob, err := a1.db.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range ob {
		if it.Namespace == int(NamespaceInbox) {
			t.Fatalf("a timer change of the note to self queued a deposit to the public inbox of %s", it.To.Short())
		}
	}
	sw.down.Store(false)
	mustSync(t, a1)
	for deadline := time.Now().Add(time.Minute); ; {
		mustSync(t, a2)
		tm, err := a2.Timer(self)
		if err != nil {
			t.Fatal(err)
		}
		if tm.Mode == DisappearAfterSend && tm.After == time.Hour {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other device's note-to-self timer: %+v", tm)
		}
		mustSync(t, a1)
	}
	// Nothing came through the inbox either, to be dropped or taken for a
	// timer change by the account's own devices.
	if d := a2.Stats().Dropped; d != 0 {
		t.Fatalf("a2 dropped %d", d)
	}

	if err := a1.SetCallMode(CallsRelay); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.StartCall(ctx, self); !errors.Is(err, ErrBadAccountID) {
		t.Fatalf("a call to oneself: %v, want ErrBadAccountID", err)
	}
}
