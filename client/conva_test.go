package client

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
)

// findText returns the message of h with text, failing the test without.
func findText(t *testing.T, h []Message, text string) Message {
	t.Helper()
	for _, m := range h {
		if m.Text == text {
			return m
		}
	}
	t.Fatalf("no message %q among %d", text, len(h))
	return Message{}
}

func history(t *testing.T, c *Client, peer identity.AccountID) []Message {
	t.Helper()
	h, err := c.History(peer)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// reactionsOf is a message's reactions in a comparable form.
func reactionsOf(m Message) map[string][]string {
	out := map[string][]string{}
	for _, r := range m.Reactions {
		if r.Count != len(r.By) {
			panic(fmt.Sprintf("reaction %s: count %d, %d reactors", r.Emoji, r.Count, len(r.By)))
		}
		for _, a := range r.By {
			out[r.Emoji] = append(out[r.Emoji], a.String()[:8])
		}
	}
	return out
}

// TestRepliesAndReactions: a reply carries its quote to the other side and
// to the sender's other device, points at the original where it is held
// and shows the excerpt marked not available where it is gone; reactions
// count one per emoji per person, reach every device, converge when two
// devices of one account react at once, and go with their message.
func TestRepliesAndReactions(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	seed := identity.NewSeed()
	a1 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	a2 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd})
	alice := a1.Account()
	long := "the original message, " + strings.Repeat("long enough to be cut ", 10)
	orig, err := a1.Send(ctx, bob.Account(), long)
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, bob)
	mustSync(t, a2)

	// bob replies; alice's both devices show the quote, pointing at the
	// original each holds.
	if _, err := bob.SendWith(ctx, alice, "a reply", SendOptions{ReplyTo: "00ff"}); !errors.Is(err, clientdb.ErrInvalid) {
		t.Fatalf("reply to a malformed ID: %v", err)
	}
	if _, err := bob.SendWith(ctx, alice, "a reply", SendOptions{ReplyTo: strings.Repeat("ab", 16)}); !errors.Is(err, ErrNotInChat) {
		t.Fatalf("reply to an unknown message: %v, want ErrNotInChat", err)
	}
	sent, err := bob.SendWith(ctx, alice, "a reply", SendOptions{ReplyTo: orig.MessageID})
	if err != nil {
		t.Fatal(err)
	}
	if q := sent.Quote; q == nil || !q.Available || q.MessageID != orig.MessageID || !q.Author.Equal(alice) {
		t.Fatalf("bob's own reply: quote %+v", sent.Quote)
	}
	if n := len([]rune(sent.Quote.Text)); n > QuoteSnippet+1 || n < QuoteSnippet-5 || !strings.HasSuffix(sent.Quote.Text, "…") {
		t.Fatalf("quote excerpt %q (%d characters), want about %d and a mark", sent.Quote.Text, n, QuoteSnippet)
	}
	mustSync(t, a1)
	mustSync(t, a2)
	for i, a := range []*Client{a1, a2} {
		h := history(t, a, bob.Account())
		o, r := findText(t, h, long), findText(t, h, "a reply")
		if q := r.Quote; q == nil || !q.Available || q.LocalID != o.ID || q.Text != sent.Quote.Text {
			t.Fatalf("device %d: reply's quote %+v, want the original (local %d)", i+1, r.Quote, o.ID)
		}
	}

	// A reply to a message alice deleted (on a1 only): the excerpt stays,
	// marked not available; a2 still holds the original.
	if err := a1.DeleteMessage(ctx, findText(t, history(t, a1, bob.Account()), long).ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.SendWith(ctx, alice, "another reply", SendOptions{ReplyTo: orig.MessageID}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, a1)
	mustSync(t, a2)
	for i, a := range []*Client{a1, a2} {
		r := findText(t, history(t, a, bob.Account()), "another reply")
		if q := r.Quote; q == nil || q.Available != (i == 1) || q.Text != sent.Quote.Text {
			t.Fatalf("device %d: quote of a deleted original %+v", i+1, r.Quote)
		}
	}

	// Reactions: bob's message gets reactions from bob, and from alice's
	// two devices at once.
	target, err := bob.Send(ctx, alice, "react to me")
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, a1)
	mustSync(t, a2)
	for range 2 { // the same emoji twice is one reaction
		if _, err := bob.React(ctx, alice, target.MessageID, "👍", false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bob.React(ctx, alice, target.MessageID, "bad emoji", false); !errors.Is(err, ErrBadEmoji) {
		t.Fatalf("an emoji with a space: %v, want ErrBadEmoji", err)
	}
	var wg sync.WaitGroup
	for _, step := range []struct {
		c      *Client
		emoji  string
		remove bool
	}{{a1, "👍", false}, {a2, "👍", false}, {a1, "🎉", false}, {a2, "🎉", true}, {a2, "❤️", false}} {
		wg.Go(func() {
			if _, err := step.c.React(ctx, bob.Account(), target.MessageID, step.emoji, step.remove); err != nil {
				t.Error(err)
			}
		})
		if step.c == a2 {
			wg.Wait() // each device's own reactions in order; the devices race
		}
	}
	wg.Wait()
	for range 2 {
		for _, c := range []*Client{a1, a2, bob} {
			mustSync(t, c)
		}
	}
	var want map[string][]string
	for i, c := range []*Client{bob, a1, a2} {
		m := findText(t, history(t, c, map[*Client]identity.AccountID{bob: alice, a1: bob.Account(), a2: bob.Account()}[c]), "react to me")
		got := reactionsOf(m)
		if len(got["👍"]) != 2 || len(got["❤️"]) != 1 {
			t.Fatalf("device %d: reactions %v, want 👍 by bob and alice, ❤️ by alice", i, got)
		}
		if i == 0 {
			want = got
		} else if !reflect.DeepEqual(got, want) {
			t.Fatalf("device %d: reactions %v, bob's %v: not converged", i, got, want)
		}
	}
	// The two devices raced on 🎉 (one put it, one took it away): whatever
	// won, everyone agrees (checked above). A removal then clears it.
	if _, err := a1.React(ctx, bob.Account(), target.MessageID, "🎉", true); err != nil {
		t.Fatal(err)
	}
	mustSync(t, bob)
	if got := reactionsOf(findText(t, history(t, bob, alice), "react to me")); len(got["🎉"]) != 0 {
		t.Fatalf("🎉 after alice removed it: %v", got)
	}

	// Unsend takes the reactions with the message: one that arrives
	// after is dropped, and nothing shows.
	if err := bob.Unsend(ctx, alice, target.MessageID); err != nil {
		t.Fatal(err)
	}
	mustSync(t, a1)
	for _, m := range history(t, a1, bob.Account()) {
		if m.Text == "react to me" {
			t.Fatal("unsent message still here")
		}
	}
	if _, err := a1.React(ctx, bob.Account(), target.MessageID, "👍", false); !errors.Is(err, ErrNotInChat) {
		t.Fatalf("reacting to an unsent message: %v", err)
	}
}

// TestSearch10k: a search over 10,000 messages in three chats finds
// exactly the ones holding the text, in any case, newest first, in one
// chat or all; a deleted message drops out; and no file of the home holds
// a searched text in the clear afterwards.
func TestSearch10k(t *testing.T) {
	nd := startStandalone(t)
	home := newHome(t)
	c := open(t, home, Options{Standalone: nd})
	peers := make([]identity.AccountID, 3)
	for i := range peers {
		peers[i] = identity.NewAccount().ID()
	}
	const n = 10000
	start := time.Now().Add(-time.Duration(n) * time.Second)
	want := map[identity.AccountID]int{}
	batch := map[identity.AccountID][]clientdb.Message{}
	for i := range n {
		body := fmt.Sprintf("message %d about nothing much", i)
		if i%97 == 0 {
			body = fmt.Sprintf("message %d holds the Needle-Word-%d here", i, i)
			want[peers[i%3]]++
		}
		var mid clientdb.MessageID
		copy(mid[:], fmt.Sprintf("%016d", i))
		batch[peers[i%3]] = append(batch[peers[i%3]], clientdb.Message{MessageID: mid, Direction: clientdb.Incoming, Sender: peers[i%3],
			SentAt: start.Add(time.Duration(i) * time.Second), ReceivedAt: time.Now(), Body: body})
	}
	// Local IDs follow insertion order, which need not be the time order.
	for p, ms := range batch {
		if err := c.db.InsertMessages(p, ms); err != nil {
			t.Fatal(err)
		}
	}
	total := want[peers[0]] + want[peers[1]] + want[peers[2]]
	got, err := c.Search("needle-WORD", SearchOptions{Limit: MaxSearchLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != total {
		t.Fatalf("%d results, want %d", len(got), total)
	}
	for i, m := range got {
		if !strings.Contains(m.Text, "Needle-Word-") || i > 0 && m.SentAt.After(got[i-1].SentAt) {
			t.Fatalf("result %d: %q at %v, not a match or out of order", i, m.Text, m.SentAt)
		}
	}
	if got[0].Text != fmt.Sprintf("message %d holds the Needle-Word-%d here", (n-1)/97*97, (n-1)/97*97) {
		t.Fatalf("newest result %q", got[0].Text)
	}
	one, err := c.Search("Needle-Word", SearchOptions{Chat: peers[1], Limit: MaxSearchLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != want[peers[1]] {
		t.Fatalf("%d results in one chat, want %d", len(one), want[peers[1]])
	}
	for _, m := range one {
		if !m.Peer.Equal(peers[1]) {
			t.Fatalf("result from another chat: %+v", m)
		}
	}
	exact, err := c.Search("needle-word-970 ", SearchOptions{})
	if err != nil || len(exact) != 1 || !strings.Contains(exact[0].Text, "Needle-Word-970 ") {
		t.Fatalf("one exact result: %+v, %v", exact, err)
	}
	if err := c.DeleteMessage(context.Background(), exact[0].ID); err != nil {
		t.Fatal(err)
	}
	if again, err := c.Search("needle-word-970 ", SearchOptions{}); err != nil || len(again) != 0 {
		t.Fatalf("a deleted message still found: %+v, %v", again, err)
	}
	if _, err := c.Search("  ", SearchOptions{}); !errors.Is(err, ErrEmptyQuery) {
		t.Fatalf("blank search: %v", err)
	}
	c.Close()
	scanHome(t, home, map[string][]byte{
		"a searched text": []byte("Needle-Word-"), "its folded form": []byte("needle-word-"),
		"a message text": []byte("about nothing much"),
	})
}

// BenchmarkSearchIndex measures the in-memory index over 100,000
// messages: "build" is a search on a freshly opened Client, which opens
// every message (what each `hush search` costs, and a daemon's first
// search after unlock), with the index's heap size; "query" a search with
// the index built (a daemon's later searches). Run with
// -bench SearchIndex -benchtime 1x; filling the database takes minutes.
func BenchmarkSearchIndex(b *testing.B) {
	nd := startStandalone(b)
	home := newHome(b)
	c := open(b, home, Options{Standalone: nd})
	peers := make([]identity.AccountID, 20)
	for i := range peers {
		peers[i] = identity.NewAccount().ID()
	}
	const n = 100000
	start := time.Now().Add(-n * time.Second)
	for i := 0; i < n; i += 1000 {
		p := peers[(i/1000)%len(peers)]
		var ms []clientdb.Message
		for j := i; j < i+1000; j++ {
			var mid clientdb.MessageID
			copy(mid[:], fmt.Sprintf("%016d", j))
			body := fmt.Sprintf("message %d: a line of ordinary chat text about the day, number %d", j, j*7)
			ms = append(ms, clientdb.Message{MessageID: mid, Direction: clientdb.Incoming,
				Sender: p, SentAt: start.Add(time.Duration(j) * time.Second), ReceivedAt: time.Now(), Body: body})
		}
		if err := c.db.InsertMessages(p, ms); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	b.Run("build", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			c := open(b, home, Options{Standalone: nd})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.StartTimer()
			if _, err := c.Search("number 7", SearchOptions{}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "index-MiB")
			c.Close()
		}
	})
	c = open(b, home, Options{Standalone: nd})
	if _, err := c.Search("warm", SearchOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Run("query", func(b *testing.B) {
		for range b.N {
			if _, err := c.Search("about the day, number 699993", SearchOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
