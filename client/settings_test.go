package client

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestLocalSettings: the notification content defaults to name and
// content and takes only its three values; calls are off until turned on,
// and the warning says who learns the IP address.
func TestLocalSettings(t *testing.T) {
	c := open(t, newHome(t), Options{})
	if got, err := c.NotificationContent(); err != nil || got != NotifyNameAndContent {
		t.Fatalf("default notification content: %q, %v", got, err)
	}
	for _, tt := range []struct {
		name string
		set  NotificationContent
		err  error
	}{
		{"name only", NotifyNameOnly, nil},
		{"nothing", NotifyNothing, nil},
		{"name and content", NotifyNameAndContent, nil},
		{"unknown", "everything", ErrBadNotificationContent},
		{"empty", "", ErrBadNotificationContent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := c.NotificationContent()
			err := c.SetNotificationContent(tt.set)
			if !errors.Is(err, tt.err) {
				t.Fatalf("SetNotificationContent(%q): %v, want %v", tt.set, err, tt.err)
			}
			want := tt.set
			if tt.err != nil {
				want = before
			}
			if got, err := c.NotificationContent(); err != nil || got != want {
				t.Fatalf("NotificationContent: %q, %v; want %q", got, err, want)
			}
		})
	}

	if on, err := c.Calls(); err != nil || on {
		t.Fatalf("calls by default: %v, %v; want off", on, err)
	}
	for _, on := range []bool{true, false} {
		if err := c.SetCalls(on); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Calls(); err != nil || got != on {
			t.Fatalf("Calls after SetCalls(%v): %v, %v", on, got, err)
		}
	}
	for _, word := range []string{"IP address", "relay", "direct"} {
		if !strings.Contains(CallsWarning, word) {
			t.Errorf("CallsWarning does not mention %q: %s", word, CallsWarning)
		}
	}
}

// TestMarkRead: MarkRead marks a conversation's unread messages read once,
// and the sender learns it through read receipts.
func TestMarkRead(t *testing.T) {
	nd := startStandalone(t)
	alice := open(t, newHome(t), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd})
	ctx := context.Background()
	if _, err := bob.MarkRead(ctx, alice.Account()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("MarkRead with no conversation: %v, want ErrNotFound", err)
	}
	var sent []Message
	for _, text := range []string{"one", "two"} {
		m, err := alice.Send(ctx, bob.Account(), text)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	if _, err := bob.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := bob.Accept(alice.Account()); err != nil {
		t.Fatal(err)
	}
	if err := bob.SetReceipts(true); err != nil {
		t.Fatal(err)
	}
	if n, err := bob.MarkRead(ctx, alice.Account()); err != nil || n != 2 {
		t.Fatalf("MarkRead: %d, %v; want 2", n, err)
	}
	if n, err := bob.MarkRead(ctx, alice.Account()); err != nil || n != 0 {
		t.Fatalf("MarkRead again: %d, %v; want 0", n, err)
	}
	if convs, err := bob.Conversations(); err != nil || len(convs) != 1 || convs[0].Unread != 0 {
		t.Fatalf("bob's conversations after MarkRead: %+v, %v", convs, err)
	}
	if _, err := alice.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range sent {
		if got, err := alice.Message(m.ID); err != nil || got.Status != "read" {
			t.Fatalf("alice's %q after bob's MarkRead: %q, %v; want read", m.Text, got.Status, err)
		}
	}
}
