package client

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
)

func chatTexts(t testing.TB, c *Client, peer identity.AccountID) []string {
	t.Helper()
	h, err := c.History(peer)
	if err != nil && !errors.Is(err, clientdb.ErrNotFound) {
		t.Fatal(err)
	}
	var out []string
	for _, m := range h {
		out = append(out, m.Text)
	}
	return out
}

func equalTexts(a, b []string) bool { return slices.Equal(a, b) }

// TestShareHistory: a device restored from the seed cannot read the
// history sealed before it existed; once the first device shares it, the
// new one has it in order, exactly once, without what was unsent, and a
// second share to every device lacking it sends nothing.
func TestShareHistory(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	seed := identity.NewSeed()
	a1 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd})
	if _, err := a1.Send(ctx, bob.Account(), "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Send(ctx, a1.Account(), "two"); err != nil {
		t.Fatal(err)
	}
	gone, err := a1.Send(ctx, bob.Account(), "unsent")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a1.Send(ctx, bob.Account(), "three"); err != nil {
		t.Fatal(err)
	}
	mustSync(t, a1)
	if err := a1.Unsend(ctx, bob.Account(), gone.MessageID); err != nil {
		t.Fatal(err)
	}
	want := []string{"one", "two", "three"}
	if got := chatTexts(t, a1, bob.Account()); !equalTexts(got, want) {
		t.Fatalf("first device's history %q, want %q", got, want)
	}

	a2 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	mustSync(t, a2)
	if got := chatTexts(t, a2, bob.Account()); len(got) != 0 {
		t.Fatalf("history %q before any share", got)
	}

	r, err := a1.ShareHistoryTo(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Messages != len(want) || len(r.Devices) != 1 || r.Devices[0] != a2.ThisDevice() || r.Parts != 1 {
		t.Fatalf("shared %+v, want %d messages to %v in one part", r, len(want), a2.ThisDevice())
	}
	dropped := a1.Stats().Dropped
	mustSync(t, a1)
	if a1.Stats().Dropped != dropped {
		t.Fatal("the sharing device counted its own share as dropped")
	}
	mustSync(t, a2)
	mustSync(t, a2) // a second poll brings nothing twice
	if got := chatTexts(t, a2, bob.Account()); !equalTexts(got, want) {
		t.Fatalf("shared history %q, want %q", got, want)
	}
	for _, m := range historyByText(t, a2, bob.Account()) {
		if m.Outgoing != (m.Text != "two") {
			t.Fatalf("%q arrived with the wrong direction", m.Text)
		}
	}

	if n, err := a1.ShareHistory(ctx, nil); err != nil || n != 0 {
		t.Fatalf("second share: %d messages, %v; want none, every device has it", n, err)
	}

	t.Run("deleted on the new device stays deleted", func(t *testing.T) {
		two := historyByText(t, a2, bob.Account())["two"]
		if _, err := a2.db.DeleteMessage(clientdb.LocalID(two.ID), a2.clock()); err != nil {
			t.Fatal(err)
		}
		// Named explicitly, the device is served again.
		if n, err := a1.ShareHistory(ctx, []prekey.DeviceID{a2.ThisDevice()}); err != nil || n != len(want) {
			t.Fatalf("explicit share: %d, %v", n, err)
		}
		mustSync(t, a2)
		if got, want := chatTexts(t, a2, bob.Account()), []string{"one", "three"}; !equalTexts(got, want) {
			t.Fatalf("history %q after the share, want %q", got, want)
		}
	})
	t.Run("unknown device", func(t *testing.T) {
		if _, err := a1.ShareHistory(ctx, []prekey.DeviceID{{1, 2, 3}}); !errors.Is(err, ErrUnknownDevice) {
			t.Fatalf("err %v, want ErrUnknownDevice", err)
		}
	})
}

// TestShareHistoryReactions: a history share carries the standing
// reactions of the messages it shares, the account's own and the
// contact's (with the contact's signed part, which the new device
// verifies), not those withdrawn; the new device shows them as the first
// does, and can share them on in turn.
func TestShareHistoryReactions(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	seed := identity.NewSeed()
	a1 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd})
	alice := a1.Account()
	mine, err := a1.Send(ctx, bob.Account(), "mine")
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, bob)
	theirs, err := bob.Send(ctx, alice, "theirs")
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, a1)
	for _, r := range []struct {
		c      *Client
		peer   identity.AccountID
		msg    string
		emoji  string
		remove bool
	}{
		{a1, bob.Account(), theirs.MessageID, "👍", false},
		{a1, bob.Account(), mine.MessageID, "🎉", false},
		{bob, alice, mine.MessageID, "❤️", false},
		{bob, alice, theirs.MessageID, "😮", false},
		{bob, alice, theirs.MessageID, "😮", true}, // withdrawn: not shared
	} {
		if _, err := r.c.React(ctx, r.peer, r.msg, r.emoji, r.remove); err != nil {
			t.Fatal(err)
		}
	}
	mustSync(t, a1)
	want := map[string]map[string][]string{
		"mine":   {"🎉": {alice.String()[:8]}, "❤️": {bob.Account().String()[:8]}},
		"theirs": {"👍": {alice.String()[:8]}},
	}
	reactions := func(c *Client) map[string]map[string][]string {
		out := map[string]map[string][]string{}
		for text, m := range historyByText(t, c, bob.Account()) {
			out[text] = reactionsOf(m)
		}
		return out
	}
	if got := reactions(a1); !reflect.DeepEqual(got, want) {
		t.Fatalf("the first device's reactions %v, want %v", got, want)
	}

	a2 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	mustSync(t, a2) // drops what was sealed before it existed
	dropped := a2.Stats().Dropped
	r, err := a1.ShareHistoryTo(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Messages != 2 || r.Reactions != 3 || r.Unproven != 0 {
		t.Fatalf("shared %+v, want 2 messages and 3 reactions", r)
	}
	mustSync(t, a2)
	if got := reactions(a2); !reflect.DeepEqual(got, want) {
		t.Fatalf("the new device's reactions %v, want %v", got, want)
	}
	if d := a2.Stats().Dropped - dropped; d != 0 {
		t.Fatalf("the new device dropped %d of the share", d)
	}

	// The new device shares them on, the contact's still proven.
	a3 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	mustSync(t, a3)
	mustSync(t, a2)
	if r, err := a2.ShareHistoryTo(ctx, []prekey.DeviceID{a3.ThisDevice()}); err != nil || r.Reactions != 3 {
		t.Fatalf("a2's share: %+v, %v", r, err)
	}
	mustSync(t, a3)
	if got := reactions(a3); !reflect.DeepEqual(got, want) {
		t.Fatalf("the third device's reactions %v, want %v", got, want)
	}
}

// TestBatchEntries: parts stay under the limit unless one entry alone is
// larger, keep the order, and lose nothing.
func TestBatchEntries(t *testing.T) {
	entry := func(n int) *envelope.HistoryShare_SharedMessage {
		return &envelope.HistoryShare_SharedMessage{Content: make([]byte, n)}
	}
	tests := []struct {
		name  string
		sizes []int
		parts []int // entries per part
	}{
		{"none", nil, nil},
		{"one small", []int{10}, []int{1}},
		{"fit in one", []int{100, 100, 100}, []int{3}},
		{"split", []int{400, 400, 400}, []int{2, 1}},
		{"oversized alone", []int{100, 2000, 100}, []int{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var es []*envelope.HistoryShare_SharedMessage
			for _, n := range tt.sizes {
				es = append(es, entry(n))
			}
			parts := batchEntries(es, 1000)
			if len(parts) != len(tt.parts) {
				t.Fatalf("%d parts, want %d", len(parts), len(tt.parts))
			}
			i := 0
			for p, part := range parts {
				if len(part) != tt.parts[p] {
					t.Fatalf("part %d has %d entries, want %d", p, len(part), tt.parts[p])
				}
				for _, e := range part {
					if e != es[i] {
						t.Fatalf("entry %d out of order", i)
					}
					i++
				}
			}
		})
	}
}

// TestPartTTL: a part lives 14 days unless every entry disappears sooner.
func TestPartTTL(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	at := func(d time.Duration) *envelope.HistoryShare_SharedMessage {
		e := &envelope.HistoryShare_SharedMessage{}
		if d != 0 {
			e.ExpiresAtMs = uint64(now.Add(d).UnixMilli())
		}
		return e
	}
	tests := []struct {
		name string
		part []*envelope.HistoryShare_SharedMessage
		want time.Duration
	}{
		{"no deadline", []*envelope.HistoryShare_SharedMessage{at(0)}, InboxTTL},
		{"one without", []*envelope.HistoryShare_SharedMessage{at(time.Hour), at(0)}, InboxTTL},
		{"latest deadline", []*envelope.HistoryShare_SharedMessage{at(time.Hour), at(3 * time.Hour)}, 3 * time.Hour},
		{"at least the minimum", []*envelope.HistoryShare_SharedMessage{at(time.Millisecond)}, rpc.MinTTL},
		{"at most the inbox TTL", []*envelope.HistoryShare_SharedMessage{at(30 * 24 * time.Hour)}, InboxTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := partTTL(tt.part, now); got != tt.want {
				t.Fatalf("ttl %v, want %v", got, tt.want)
			}
		})
	}
}
