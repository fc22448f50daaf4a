package clientdb

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

var zeroTime time.Time

func bodies(ms []Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Body)
	}
	return out
}

func TestInsertMessageIdempotent(t *testing.T) {
	tests := []struct {
		name    string
		first   Message
		second  Message
		wantNew bool
		hashes  []string // of the stored message afterwards
	}{
		{"same sender and ID", withHashes(incoming(1, 0, "a"), "h1"), withHashes(incoming(1, 0, "a"), "h1"), false, []string{"h1"}},
		{"same ID, new copy hash merged", withHashes(incoming(1, 0, "a"), "h1"), withHashes(incoming(1, 0, "a"), "h2"), false, []string{"h1", "h2"}},
		{"same swarm hash, different ID", withHashes(incoming(1, 0, "a"), "h1"), withHashes(incoming(2, 0, "b"), "h1"), false, []string{"h1"}},
		{"same ID from the other direction is another message", withHashes(incoming(1, 0, "a"), "h1"), withHashes(outgoing(1, 0, "b"), "h2"), true, []string{"h1"}},
		{"different ID", withHashes(incoming(1, 0, "a"), "h1"), withHashes(incoming(2, 0, "b"), "h2"), true, []string{"h1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTest(t)
			id1 := mustInsert(t, db, alice, tt.first)
			id2, isNew, err := db.InsertMessage(alice, tt.second)
			if err != nil || isNew != tt.wantNew {
				t.Fatalf("second insert: new=%v err=%v, want new=%v", isNew, err, tt.wantNew)
			}
			if !tt.wantNew && id2 != id1 {
				t.Fatalf("duplicate returned ID %d, want %d", id2, id1)
			}
			m, err := db.Message(id1)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(m.SwarmHashes)
			if !slices.Equal(m.SwarmHashes, tt.hashes) || m.Body != tt.first.Body {
				t.Fatalf("stored %q %q, want %q %q", m.Body, m.SwarmHashes, tt.first.Body, tt.hashes)
			}
			c, _ := db.Conversation(alice)
			if want := map[bool]int{true: 2, false: 1}[tt.wantNew]; c.Messages != want {
				t.Fatalf("conversation holds %d messages, want %d", c.Messages, want)
			}
		})
	}
}

func withHashes(m Message, h ...string) Message { m.SwarmHashes = h; return m }

func TestInsertMessageRoundTrip(t *testing.T) {
	db, _ := openTest(t)
	in := Message{
		MessageID: mid(9), Direction: Incoming, SentAt: at(10), ReceivedAt: at(12),
		Body: "héllo ✓", SwarmHashes: []string{"hashA", "hashB"},
		Disappearing: Disappearing{Mode: DisappearAfterSend, After: time.Hour},
		Attachments: []Attachment{
			{FileID: "f1", URL: "http://files/f1", Key: []byte{1, 2, 3}, Digest: []byte{4}, Size: 1234, ContentType: "image/png", FileName: "cat.png", Width: 10, Height: 20,
				Thumbnail: &Attachment{FileID: "t1", Size: 99}},
			{FileID: "f2", Size: 10},
		},
	}
	id := mustInsert(t, db, alice, in)
	got, err := db.Message(id)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := db.Conversation(alice)
	switch {
	case got.ID != id || got.Conversation != c.ID || got.MessageID != in.MessageID || got.Direction != Incoming:
		t.Fatalf("ids: %+v", got)
	case got.Sender != alice || got.Body != in.Body || got.Status != StatusReceived:
		t.Fatalf("content: %+v", got)
	case !got.SentAt.Equal(at(10)) || !got.ReceivedAt.Equal(at(12)) || !got.ExpiresAt.Equal(at(10).Add(time.Hour)):
		t.Fatalf("times: %+v", got)
	case !slices.Equal(slices.Sorted(slices.Values(got.SwarmHashes)), in.SwarmHashes) || len(got.Attachments) != 2:
		t.Fatalf("copies/attachments: %+v", got)
	}
	a := got.Attachments[0]
	if a.ID == 0 || a.FileID != "f1" || a.URL != "http://files/f1" || !slices.Equal(a.Key, []byte{1, 2, 3}) || a.Size != 1234 ||
		a.FileName != "cat.png" || a.Width != 10 || a.Thumbnail == nil || a.Thumbnail.FileID != "t1" {
		t.Fatalf("attachment: %+v", a)
	}
	if got.Attachments[1].FileID != "f2" {
		t.Fatalf("attachment order: %+v", got.Attachments)
	}
	if err := db.SetAttachmentPath(a.ID, "/home/x/att/1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Message(id); got.Attachments[0].LocalPath != "/home/x/att/1" || got.Attachments[0].FileName != "cat.png" {
		t.Fatalf("after SetAttachmentPath: %+v", got.Attachments[0])
	}
	if err := db.SetAttachmentPath(999, "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetAttachmentPath(unknown): %v", err)
	}
	byID, err := db.LookupMessage(alice, mid(9))
	if err != nil || byID.ID != id {
		t.Fatalf("LookupMessage: %+v, %v", byID, err)
	}
	if _, err := db.LookupMessage(bob, mid(9)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LookupMessage with another sender: %v", err)
	}
	if err := db.AddSwarmHashes(id, "hashB", "hashC"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Message(id); !slices.Equal(slices.Sorted(slices.Values(got.SwarmHashes)), []string{"hashA", "hashB", "hashC"}) {
		t.Fatalf("after AddSwarmHashes: %q", got.SwarmHashes)
	}
	if err := db.AddSwarmHashes(id+100, "h"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("AddSwarmHashes(unknown): %v", err)
	}
	if err := db.AddSwarmHashes(id, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("AddSwarmHashes(empty): %v", err)
	}
}

func TestInsertMessageInvalid(t *testing.T) {
	db, _ := openTest(t)
	tests := []struct {
		name string
		mod  func(m *Message)
	}{
		{"zero message ID", func(m *Message) { m.MessageID = MessageID{} }},
		{"no sent time", func(m *Message) { m.SentAt = time.Time{} }},
		{"no received time", func(m *Message) { m.ReceivedAt = time.Time{} }},
		{"bad direction", func(m *Message) { m.Direction = 7 }},
		{"outgoing without sender", func(m *Message) { m.Direction = Outgoing }},
		{"incoming marked sent", func(m *Message) { m.Status = StatusSent }},
		{"invalid UTF-8", func(m *Message) { m.Body = "\xff" }},
		{"empty swarm hash", func(m *Message) { m.SwarmHashes = []string{""} }},
		{"timer without mode", func(m *Message) { m.Disappearing = Disappearing{After: time.Hour} }},
		{"fractional seconds", func(m *Message) {
			m.Disappearing = Disappearing{Mode: DisappearAfterRead, After: 1500 * time.Millisecond}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := incoming(1, 0, "x")
			tt.mod(&m)
			if _, _, err := db.InsertMessage(alice, m); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

// TestMessageOrder checks that display order follows the signed sent time
// (never the receive time) and is total and stable among equal sent times.
func TestMessageOrder(t *testing.T) {
	db, _ := openTest(t)
	// Received in an order unrelated to sent times; three share sent time 5.
	ins := []Message{
		incoming(1, 9, "nine"),
		incoming(2, 5, "five-a"),
		outgoing(3, 5, "five-b"),
		incoming(4, 1, "one"),
		incoming(5, 5, "five-c"),
	}
	for i := range ins {
		ins[i].ReceivedAt = at(100 - i)
		mustInsert(t, db, alice, ins[i])
	}
	c, _ := db.Conversation(alice)
	all, err := db.Messages(c.ID, Page{})
	if err != nil {
		t.Fatal(err)
	}
	got := bodies(all)
	if len(got) != 5 || got[0] != "one" || got[4] != "nine" {
		t.Fatalf("order %q", got)
	}
	for i := 1; i < len(all); i++ {
		if all[i].SentAt.Before(all[i-1].SentAt) {
			t.Fatalf("not ordered by sent time: %q", got)
		}
	}
	// The same query again, and pages of one, give the same order.
	again, _ := db.Messages(c.ID, Page{})
	if !slices.Equal(bodies(again), got) {
		t.Fatalf("unstable order: %q then %q", got, bodies(again))
	}
	var paged []string
	for p := (Page{Limit: 1}); ; {
		ms, err := db.Messages(c.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			break
		}
		paged = append(bodies(ms), paged...)
		p.Before = ms[0].ID
	}
	if !slices.Equal(paged, got) {
		t.Fatalf("paging backwards gives %q, want %q", paged, got)
	}
	var forward []string
	for p := (Page{Limit: 2, After: all[0].ID}); ; {
		ms, err := db.Messages(c.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			break
		}
		forward = append(forward, bodies(ms)...)
		p.After = ms[len(ms)-1].ID
	}
	if !slices.Equal(forward, got[1:]) {
		t.Fatalf("paging forwards gives %q, want %q", forward, got[1:])
	}
	last2, _ := db.Messages(c.ID, Page{Limit: 2})
	if !slices.Equal(bodies(last2), got[3:]) {
		t.Fatalf("newest page %q, want %q", bodies(last2), got[3:])
	}
	for _, p := range []Page{{Before: 1, After: 2}, {Limit: MaxPageSize + 1}, {Limit: -1}} {
		if _, err := db.Messages(c.ID, p); !errors.Is(err, ErrInvalid) {
			t.Errorf("Messages(%+v): %v, want ErrInvalid", p, err)
		}
	}
	other, _ := db.EnsureConversation(bob, t0)
	if _, err := db.Messages(other.ID, Page{Before: all[0].ID}); !errors.Is(err, ErrNotFound) {
		t.Errorf("pivot from another conversation: %v, want ErrNotFound", err)
	}
}

func TestSetMessageStatus(t *testing.T) {
	tests := []struct {
		name    string
		msg     Message
		steps   []Status
		changed []bool
		final   Status
		wantErr error
	}{
		{"outgoing forward", outgoing(1, 0, "x"), []Status{StatusSent, StatusDelivered, StatusRead}, []bool{true, true, true}, StatusRead, nil},
		{"stale delivered after read ignored", outgoing(1, 0, "x"), []Status{StatusRead, StatusDelivered, StatusSent}, []bool{true, false, false}, StatusRead, nil},
		{"failed then queued again", outgoing(1, 0, "x"), []Status{StatusFailed, StatusQueued, StatusSent}, []bool{true, true, true}, StatusSent, nil},
		{"failed after delivered ignored", outgoing(1, 0, "x"), []Status{StatusDelivered, StatusFailed}, []bool{true, false}, StatusDelivered, nil},
		{"same status unchanged", outgoing(1, 0, "x"), []Status{StatusQueued}, []bool{false}, StatusQueued, nil},
		{"incoming read", incoming(1, 0, "x"), []Status{StatusRead, StatusReceived}, []bool{true, false}, StatusRead, nil},
		{"incoming cannot be sent", incoming(1, 0, "x"), []Status{StatusSent}, nil, StatusReceived, ErrInvalid},
		{"outgoing cannot be received", outgoing(1, 0, "x"), []Status{StatusReceived}, nil, StatusQueued, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTest(t)
			id := mustInsert(t, db, alice, tt.msg)
			for i, s := range tt.steps {
				changed, err := db.SetMessageStatus(id, s, at(50))
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("step %v: %v, want %v", s, err, tt.wantErr)
					}
					break
				}
				if err != nil || changed != tt.changed[i] {
					t.Fatalf("step %d (%v): changed=%v err=%v, want %v", i, s, changed, err, tt.changed[i])
				}
			}
			m, _ := db.Message(id)
			if m.Status != tt.final {
				t.Fatalf("final status %v, want %v", m.Status, tt.final)
			}
		})
	}
	db, _ := openTest(t)
	if _, err := db.SetMessageStatus(42, StatusSent, t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown message: %v", err)
	}
}

func TestUnreadAndMarkRead(t *testing.T) {
	db, _ := openTest(t)
	afterRead := Disappearing{Mode: DisappearAfterRead, After: time.Minute}
	m1 := incoming(1, 0, "one")
	m1.Disappearing = afterRead
	mustInsert(t, db, alice, m1)
	mustInsert(t, db, alice, incoming(2, 1, "two"))
	mustInsert(t, db, alice, outgoing(3, 2, "mine"))
	c, _ := db.Conversation(alice)
	if c.Unread != 2 {
		t.Fatalf("unread %d, want 2", c.Unread)
	}
	read, err := db.MarkRead(c.ID, at(100))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bodies(read), []string{"one", "two"}) {
		t.Fatalf("MarkRead returned %q", bodies(read))
	}
	if !read[0].ExpiresAt.Equal(at(160)) || !read[1].ExpiresAt.IsZero() || !read[0].ReadAt.Equal(at(100)) {
		t.Fatalf("deadlines: %v %v", read[0].ExpiresAt, read[1].ExpiresAt)
	}
	stored, _ := db.Message(read[0].ID)
	if !stored.ExpiresAt.Equal(at(160)) || stored.Status != StatusRead {
		t.Fatalf("stored after read: %+v", stored)
	}
	if c, _ = db.Conversation(alice); c.Unread != 0 {
		t.Fatalf("unread after MarkRead: %d", c.Unread)
	}
	if again, err := db.MarkRead(c.ID, at(200)); err != nil || len(again) != 0 {
		t.Fatalf("second MarkRead: %d messages, %v", len(again), err)
	}
}

func TestDisappearingDeadlines(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name string
		msg  Message
		want time.Time
	}{
		{"off", incoming(1, 0, "x"), time.Time{}},
		{"after send, incoming", withTimer(incoming(1, 0, "x"), DisappearAfterSend, h), at(0).Add(h)},
		{"after send, outgoing", withTimer(outgoing(1, 0, "x"), DisappearAfterSend, h), at(0).Add(h)},
		{"after read, incoming unread", withTimer(incoming(1, 0, "x"), DisappearAfterRead, h), time.Time{}},
		{"after read, outgoing starts at send", withTimer(outgoing(1, 0, "x"), DisappearAfterRead, h), at(0).Add(h)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTest(t)
			id := mustInsert(t, db, alice, tt.msg)
			m, _ := db.Message(id)
			if !m.ExpiresAt.Equal(tt.want) {
				t.Fatalf("ExpiresAt %v, want %v", m.ExpiresAt, tt.want)
			}
		})
	}
}

func withTimer(m Message, mode DisappearMode, d time.Duration) Message {
	m.Disappearing = Disappearing{Mode: mode, After: d}
	return m
}

func TestExpireDue(t *testing.T) {
	db, _ := openTest(t)
	gone := withHashes(withTimer(incoming(1, 0, "short"), DisappearAfterSend, time.Minute), "hs")
	gone.Attachments = []Attachment{{FileID: "f", LocalPath: "/att/f", Size: 5}}
	mustInsert(t, db, alice, gone)
	mustInsert(t, db, alice, withTimer(incoming(2, 0, "long"), DisappearAfterSend, time.Hour))
	mustInsert(t, db, alice, incoming(3, 0, "forever"))
	if err := db.MarkSeen(at(30), "old-hash"); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkSeen(at(3600), "new-hash"); err != nil {
		t.Fatal(err)
	}

	if next, err := db.NextExpiry(); err != nil || !next.Equal(at(0).Add(time.Minute)) {
		t.Fatalf("NextExpiry: %v, %v; want %v", next, err, at(0).Add(time.Minute))
	}
	e, err := db.ExpireDue(at(60))
	if err != nil {
		t.Fatal(err)
	}
	if e.Messages != 1 || !slices.Equal(e.SwarmHashes, []string{"hs"}) || len(e.Attachments) != 1 || e.Attachments[0].LocalPath != "/att/f" || e.Seen != 1 {
		t.Fatalf("ExpireDue: %+v", e)
	}
	if !slices.Equal(bodies(e.Gone), []string{"short"}) || e.Gone[0].MessageID != gone.MessageID {
		t.Fatalf("ExpireDue's Gone: %+v", e.Gone)
	}
	c, _ := db.Conversation(alice)
	ms, _ := db.Messages(c.ID, Page{})
	if !slices.Equal(bodies(ms), []string{"long", "forever"}) {
		t.Fatalf("left %q", bodies(ms))
	}
	if seen, _ := db.Seen("old-hash"); seen {
		t.Fatal("expired seen hash still reported")
	}
	if seen, _ := db.Seen("new-hash"); !seen {
		t.Fatal("unexpired seen hash dropped")
	}
	// The disappeared message does not come back from a later poll.
	if _, _, err := db.InsertMessage(alice, gone); !errors.Is(err, ErrDeleted) {
		t.Fatalf("re-insert of expired message: %v, want ErrDeleted", err)
	}
	// Tombstones go after their TTL, and then nothing more is due.
	e, err = db.ExpireDue(at(60).Add(DefaultTombstoneTTL))
	if err != nil || e.Tombstones != 1 || e.Messages != 1 {
		t.Fatalf("late ExpireDue: %+v, %v", e, err)
	}
	if _, err := db.ExpireDue(zeroTime); !errors.Is(err, ErrInvalid) {
		t.Fatalf("zero now: %v", err)
	}
}

func TestDeleteConversationTombstone(t *testing.T) {
	db, _ := openTest(t)
	if err := db.UpsertContact(Contact{Account: alice, Nickname: "al", Accepted: true}, t0); err != nil {
		t.Fatal(err)
	}
	in := withHashes(incoming(1, 10, "secret"), "in-hash")
	in.Attachments = []Attachment{{FileID: "f", LocalPath: "/att/1"}}
	mustInsert(t, db, alice, in)
	out := mustInsert(t, db, alice, outgoing(2, 20, "reply"))
	if err := db.AddSwarmHashes(out, "out-recipient", "out-own"); err != nil {
		t.Fatal(err)
	}
	mustInsert(t, db, bob, incoming(3, 10, "bob's"))

	d, err := db.DeleteConversation(alice, at(30))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(d.SwarmHashes)
	if d.Messages != 2 || !slices.Equal(d.SwarmHashes, []string{"in-hash", "out-own", "out-recipient"}) || len(d.Attachments) != 1 {
		t.Fatalf("Deleted: %+v", d)
	}
	if _, err := db.Conversation(alice); !errors.Is(err, ErrNotFound) {
		t.Fatalf("conversation after delete: %v", err)
	}
	if _, err := db.ContactByNickname("al"); err != nil {
		t.Fatalf("contact should stay: %v", err)
	}
	if c, err := db.Conversation(bob); err != nil || c.Messages != 1 {
		t.Fatalf("bob's conversation: %+v, %v", c, err)
	}

	tests := []struct {
		name    string
		msg     Message
		wantErr error
	}{
		{"old message from the next poll", incoming(1, 10, "secret"), ErrDeleted},
		{"another message sent before the deletion", incoming(4, 29, "late"), ErrDeleted},
		{"sent exactly at the deletion", incoming(5, 30, "edge"), ErrDeleted},
		{"new message after the deletion", incoming(6, 31, "new"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := db.InsertMessage(alice, tt.msg); !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			deleted, err := db.ConversationDeleted(alice, tt.msg.SentAt)
			if err != nil || deleted != (tt.wantErr != nil) {
				t.Fatalf("ConversationDeleted = %v, %v", deleted, err)
			}
		})
	}
	c, _ := db.Conversation(alice)
	ms, _ := db.Messages(c.ID, Page{})
	if !slices.Equal(bodies(ms), []string{"new"}) {
		t.Fatalf("recreated conversation holds %q", bodies(ms))
	}
}

func TestDeleteMessage(t *testing.T) {
	db, _ := openTest(t)
	keep := mustInsert(t, db, alice, incoming(1, 0, "keep"))
	drop := mustInsert(t, db, alice, withHashes(incoming(2, 1, "drop"), "h2"))
	d, err := db.DeleteMessage(drop, at(5))
	if err != nil || d.Messages != 1 || !slices.Equal(d.SwarmHashes, []string{"h2"}) {
		t.Fatalf("DeleteMessage: %+v, %v", d, err)
	}
	if _, err := db.DeleteMessage(drop, at(5)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteMessage: %v", err)
	}
	if del, _ := db.MessageDeleted(alice, mid(2)); !del {
		t.Fatal("MessageDeleted = false after delete")
	}
	if del, _ := db.MessageDeleted(alice, mid(1)); del {
		t.Fatal("MessageDeleted = true for a kept message")
	}
	if _, _, err := db.InsertMessage(alice, incoming(2, 1, "drop")); !errors.Is(err, ErrDeleted) {
		t.Fatalf("re-insert: %v", err)
	}
	// An unsend request that arrives before its message.
	if _, err := db.DeleteMessageByID(alice, mid(7), at(6)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.InsertMessage(alice, incoming(7, 0, "unsent")); !errors.Is(err, ErrDeleted) {
		t.Fatalf("insert after unsend: %v", err)
	}
	// The same ID from another sender is not affected.
	if _, _, err := db.InsertMessage(bob, incoming(7, 0, "bob's")); err != nil {
		t.Fatalf("other sender's message: %v", err)
	}
	if _, err := db.Message(keep); err != nil {
		t.Fatal(err)
	}
}

func TestConversations(t *testing.T) {
	db, _ := openTest(t)
	mustInsert(t, db, alice, incoming(1, 10, "a"))
	mustInsert(t, db, bob, incoming(2, 20, "b"))
	// A sender whose clock runs ahead does not jump the list: activity is
	// capped at the receive time.
	ahead := incoming(3, 1000, "from the future")
	ahead.ReceivedAt = at(15)
	mustInsert(t, db, alice, ahead)
	cs, err := db.Conversations()
	if err != nil || len(cs) != 2 || cs[0].Peer != bob || cs[1].Peer != alice {
		t.Fatalf("Conversations: %+v, %v", cs, err)
	}
	if !cs[1].LastActivity.Equal(at(15)) || cs[1].Messages != 2 || cs[1].MessageBytes <= 0 {
		t.Fatalf("alice: %+v", cs[1])
	}
	d := Disappearing{Mode: DisappearAfterRead, After: 5 * time.Minute}
	if err := db.SetDisappearing(alice, d, at(30)); err != nil {
		t.Fatal(err)
	}
	c, err := db.ConversationByID(cs[1].ID)
	if err != nil || c.Disappearing != d || c.Peer != alice {
		t.Fatalf("after SetDisappearing: %+v, %v", c, err)
	}
	if err := db.SetDisappearing(alice, Disappearing{Mode: DisappearAfterSend}, at(30)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("zero duration: %v", err)
	}
	if _, err := db.ConversationByID(999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown ID: %v", err)
	}
	carol := account(0xc0)
	if err := db.SetDisappearing(carol, d, at(40)); err != nil {
		t.Fatal(err)
	}
	if c, err := db.Conversation(carol); err != nil || c.Disappearing != d || !c.Created.Equal(at(40)) {
		t.Fatalf("created by SetDisappearing: %+v, %v", c, err)
	}
	var zero identity.AccountID
	if _, err := db.Conversation(zero); !errors.Is(err, ErrNotFound) {
		t.Fatalf("zero peer: %v", err)
	}
	if _, err := db.EnsureConversation(zero, t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("EnsureConversation(zero): %v", err)
	}
	if _, _, err := db.InsertMessage(zero, incoming(9, 0, "x")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("InsertMessage(zero peer): %v", err)
	}
}

// TestSetSigned: a message's kept signed part survives a reopen, beside
// the body, and rows without one (as every row written before it existed)
// read as having none.
func TestSetSigned(t *testing.T) {
	db, path := openTest(t)
	with := mustInsert(t, db, alice, incoming(1, 10, "signed by alice"))
	without := mustInsert(t, db, alice, incoming(2, 11, "no signature kept"))
	proof := bytes.Repeat([]byte{7}, 1234)
	if err := db.SetSigned(with, proof); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSigned(LocalID(999), proof); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetSigned of an unknown message = %v", err)
	}
	db.Close()
	db, err := Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := db.Message(with)
	if err != nil || !bytes.Equal(m.Signed, proof) || m.Body != "signed by alice" {
		t.Fatalf("message with a signed part: %q, %d bytes signed, %v", m.Body, len(m.Signed), err)
	}
	if m, err := db.Message(without); err != nil || m.Signed != nil || m.Body != "no signature kept" {
		t.Fatalf("message without: %q, %d bytes signed, %v", m.Body, len(m.Signed), err)
	}
}

// TestMessageIDsNeverReused: a local message ID (the public Message.ID)
// names one message for good. Deleting the newest message must not hand
// its ID to the next one: a daemon's client, or another process on the
// home, still holding the old ID would act on the new message (SQLite
// gives a plain rowid table's deleted highest ID out again).
func TestMessageIDsNeverReused(t *testing.T) {
	db, path := openTest(t)
	first := mustInsert(t, db, alice, incoming(1, 0, "first"))
	if _, err := db.DeleteMessage(first, t0); err != nil {
		t.Fatal(err)
	}
	second := mustInsert(t, db, alice, incoming(2, 1, "second"))
	if second == first {
		t.Fatalf("the next message got the deleted one's ID %d", first)
	}
	if _, err := db.DeleteMessage(second, t0); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err := Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	third := mustInsert(t, db, alice, incoming(3, 2, "third"))
	if third == first || third == second {
		t.Fatalf("after a reopen the next message got ID %d again", third)
	}
}

// TestMessagePreviewsAndVoice: a message's link previews and an
// attachment's voice-note fields (issue 22) come back as stored, and a
// message stored without previews (as before they existed) reads as none.
func TestMessagePreviewsAndVoice(t *testing.T) {
	db, _ := openTest(t)
	pv := []LinkPreview{{URL: "https://example.com/a", Title: "A <b>", Description: "d", ImageJPEG: []byte{0xff, 0xd8, 1}}}
	in := Message{
		MessageID: mid(31), Direction: Incoming, SentAt: at(10), ReceivedAt: at(12), Body: "see https://example.com/a",
		Previews:    pv,
		Attachments: []Attachment{{FileID: "v", Size: 10, Flags: 1, DurationMS: 1500, Waveform: []byte{0, 128, 255}}},
	}
	got, err := db.Message(mustInsert(t, db, alice, in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Previews, pv) || got.Body != in.Body {
		t.Fatalf("previews %+v, body %q", got.Previews, got.Body)
	}
	if a := got.Attachments[0]; a.Flags != 1 || a.DurationMS != 1500 || !slices.Equal(a.Waveform, []byte{0, 128, 255}) {
		t.Fatalf("voice fields %+v", a)
	}
	plain, err := db.Message(mustInsert(t, db, alice, Message{MessageID: mid(32), Direction: Incoming, SentAt: at(11), ReceivedAt: at(12), Body: "plain"}))
	if err != nil || plain.Previews != nil {
		t.Fatalf("a message without previews: %+v, %v", plain.Previews, err)
	}
	// An older row: content encoded without the previews section.
	var m Message
	old := encodeContent(&Message{Sender: alice, Body: "old"})[:identity.AccountIDSize+16+4+3+4]
	if err := decodeContent(old, &m); err != nil || m.Body != "old" || m.Previews != nil {
		t.Fatalf("older content: %+v, %v", m, err)
	}
}
