package clientdb

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestMessagePagingProperty: for any set of messages (many sharing sent
// times, inserted in any order), the newest-first pages joined together are
// the whole conversation, each message exactly once, in non-decreasing sent
// time, and the same as paging forwards.
func TestMessagePagingProperty(t *testing.T) {
	db, _ := openTest(t)
	round := 0
	rapid.Check(t, func(rt *rapid.T) {
		round++
		peer := account(byte(round%250 + 1))
		if _, err := db.DeleteConversation(peer, at(-1_000_000)); err != nil {
			rt.Fatal(err)
		}
		n := rapid.IntRange(0, 40).Draw(rt, "n")
		limit := rapid.IntRange(1, 7).Draw(rt, "limit")
		for i := range n {
			m := incoming(0, rapid.IntRange(0, 5).Draw(rt, "sent"), "")
			m.MessageID = MessageID{byte(round), byte(round >> 8), byte(i), 1}
			m.Direction = Direction(rapid.IntRange(0, 1).Draw(rt, "dir"))
			if m.Direction == Outgoing {
				m.Sender = me
			}
			if _, _, err := db.InsertMessage(peer, m); err != nil {
				rt.Fatal(err)
			}
		}
		if n == 0 {
			return
		}
		c, err := db.Conversation(peer)
		if err != nil {
			rt.Fatal(err)
		}
		all, err := db.Messages(c.ID, Page{Limit: MaxPageSize})
		if err != nil || len(all) != n {
			rt.Fatalf("all: %d of %d, %v", len(all), n, err)
		}
		var back []LocalID
		for p := (Page{Limit: limit}); ; {
			ms, err := db.Messages(c.ID, p)
			if err != nil {
				rt.Fatal(err)
			}
			if len(ms) == 0 {
				break
			}
			if len(ms) > limit {
				rt.Fatalf("page of %d over limit %d", len(ms), limit)
			}
			ids := make([]LocalID, len(ms))
			for i, m := range ms {
				ids[i] = m.ID
			}
			back = append(ids, back...)
			p.Before = ms[0].ID
		}
		fwd := []LocalID{all[0].ID}
		for p := (Page{Limit: limit, After: all[0].ID}); ; {
			ms, err := db.Messages(c.ID, p)
			if err != nil {
				rt.Fatal(err)
			}
			if len(ms) == 0 {
				break
			}
			for _, m := range ms {
				fwd = append(fwd, m.ID)
			}
			p.After = ms[len(ms)-1].ID
		}
		want := make([]LocalID, n)
		for i, m := range all {
			want[i] = m.ID
			if i > 0 && m.SentAt.Before(all[i-1].SentAt) {
				rt.Fatalf("order breaks sent time at %d", i)
			}
		}
		if !slices.Equal(back, want) || !slices.Equal(fwd, want) {
			rt.Fatalf("backwards %v, forwards %v, want %v", back, fwd, want)
		}
	})
}
