package clientdb

import (
	"bytes"
	"database/sql"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// reaction is a reaction by who to the message (author, id) at sec.
func reaction(author, who byte, target byte, emoji string, remove bool, sec int, rid byte) Reaction {
	return Reaction{Target: mid(target), TargetAuthor: account(author), Reactor: account(who), Emoji: emoji,
		Removed: remove, SentAt: at(sec), ID: mid(rid)}
}

// TestReactionsConverge: whatever order a set of reactions arrives in,
// every database keeps the same ones: per (message, reactor, emoji) the
// latest by signed time, then by reaction ID; a removal counts as one.
func TestReactionsConverge(t *testing.T) {
	const a, b, c = 0xa1, 0xb0, 0xc3 // alice (the target's author), bob, carol
	rs := []Reaction{
		reaction(a, b, 1, "👍", false, 10, 0x10),
		reaction(a, b, 1, "👍", true, 12, 0x11),  // bob takes it back...
		reaction(a, b, 1, "👍", false, 11, 0x12), // ...and an older add arriving late changes nothing
		reaction(a, c, 1, "👍", false, 10, 0x20),
		reaction(a, c, 1, "🎉", false, 20, 0x21), // carol's two devices at the same millisecond:
		reaction(a, c, 1, "🎉", true, 20, 0x22),  // the greater ID (the removal) wins
		reaction(a, a, 1, "❤️", true, 30, 0x30),
		reaction(a, a, 1, "❤️", false, 30, 0x2f), // the lesser ID loses to the removal
		reaction(a, a, 1, "😮", false, 31, 0x31),
	}
	want := map[string][]byte{"👍": {c}, "😮": {a}}
	var first []Reaction
	for round := range 12 {
		db, _ := openTest(t)
		mustInsert(t, db, alice, incoming(1, 1, "react to me"))
		order := rand.Perm(len(rs))
		if round == 0 {
			for i := range order {
				order[i] = i
			}
		}
		for _, i := range order {
			if _, err := db.PutReaction(alice, rs[i], at(100)); err != nil {
				t.Fatal(err)
			}
		}
		m, err := db.LookupMessage(alice, mid(1))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]byte{}
		for _, r := range m.Reactions {
			got[r.Emoji] = append(got[r.Emoji], map[string]byte{account(a).String(): a, account(b).String(): b, account(c).String(): c}[r.Reactor.String()])
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("order %v: reactions %v, want %v", order, got, want)
		}
		if round == 0 {
			first = m.Reactions
		} else if !reflect.DeepEqual(m.Reactions, first) {
			t.Fatalf("order %v: %+v, the first order gave %+v", order, m.Reactions, first)
		}
	}
}

// TestReactionsGoWithMessage: a reaction is refused for a message deleted
// here or held in another chat, goes with its message (delete, timer,
// chat delete), and one whose message never comes goes after the
// tombstone time.
func TestReactionsGoWithMessage(t *testing.T) {
	db, path := openTest(t, WithTombstoneTTL(time.Hour))
	count := func() int {
		var n int
		if err := db.read(func(r *sql.DB) error { return r.QueryRow("SELECT count(*) FROM reactions").Scan(&n) }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	m := incoming(1, 1, "short-lived")
	m.Disappearing = Disappearing{Mode: DisappearAfterSend, After: time.Minute}
	mustInsert(t, db, alice, m)
	mustInsert(t, db, alice, incoming(2, 2, "kept"))
	mustInsert(t, db, bob, incoming(3, 3, "bob's"))
	for _, r := range []Reaction{
		reaction(0xa1, 0xee, 1, "👍", false, 10, 0x10),
		reaction(0xa1, 0xee, 2, "👍", false, 10, 0x11),
		reaction(0xa1, 0xee, 9, "👍", false, 10, 0x12), // its message is not here (yet)
	} {
		if changed, err := db.PutReaction(alice, r, at(10)); err != nil || !changed {
			t.Fatalf("PutReaction: %v, %v", changed, err)
		}
	}
	if changed, err := db.PutReaction(alice, reaction(0xa1, 0xee, 2, "👍", false, 10, 0x11), at(10)); err != nil || changed {
		t.Fatalf("the same reaction again: changed %v, %v", changed, err)
	}
	if _, err := db.PutReaction(alice, reaction(0xb0, 0xee, 3, "👍", false, 10, 0x13), at(10)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a reaction in alice's chat to bob's message: %v, want ErrInvalid", err)
	}
	if _, err := db.PutReaction(me, reaction(0xa1, 0xee, 1, "👍", false, 10, 0x14), at(10)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a reaction in a chat not here: %v, want ErrNotFound", err)
	}
	if _, err := db.PutReaction(alice, reaction(0xa1, 0xee, 1, "two words", false, 10, 0x15), at(10)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("an emoji with a space: %v, want ErrInvalid", err)
	}
	if n := count(); n != 3 {
		t.Fatalf("%d reaction rows, want 3", n)
	}

	// The timer takes message 1 and its reaction; a late one is refused.
	if _, err := db.ExpireDue(at(120)); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d reaction rows after the timer, want 2", n)
	}
	if _, err := db.PutReaction(alice, reaction(0xa1, 0xa1, 1, "🎉", false, 11, 0x16), at(130)); !errors.Is(err, ErrDeleted) {
		t.Fatalf("a reaction to a disappeared message: %v, want ErrDeleted", err)
	}
	// Delete takes message 2's.
	id2, _ := db.LookupMessage(alice, mid(2))
	if _, err := db.DeleteMessage(id2.ID, at(140)); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d reaction rows after a delete, want 1 (the orphan)", n)
	}
	// The orphan goes after the tombstone time.
	if _, err := db.ExpireDue(at(10 + 3600)); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d reaction rows after the tombstone time, want 0", n)
	}

	// A quote survives a reopen, pointing at its original while it is
	// here; nothing of it or of reactions is readable on disk.
	orig := mustInsert(t, db, bob, incoming(4, 4, "the quoted one"))
	reply := incoming(5, 5, "a reply")
	reply.Quote = &Quote{MessageID: mid(4), Author: bob, SentAt: at(4), Text: "quote-excerpt-xyzzy"}
	mustInsert(t, db, bob, reply)
	if _, err := db.PutReaction(bob, reaction(0xb0, 0xee, 4, "emoji-plugh", false, 10, 0x17), at(10)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(filepath.Dir(path), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, s := range []string{"quote-excerpt-xyzzy", "emoji-plugh"} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%q in the clear in %s", s, p)
			}
		}
		return nil
	})
	db2, err := Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	got, err := db2.LookupMessage(bob, mid(5))
	if err != nil {
		t.Fatal(err)
	}
	if q := got.Quote; q == nil || q.Local != orig || q.Text != "quote-excerpt-xyzzy" || q.Author != bob || !q.SentAt.Equal(at(4)) {
		t.Fatalf("quote after reopen: %+v", got.Quote)
	}
	if _, err := db2.DeleteMessage(orig, at(200)); err != nil {
		t.Fatal(err)
	}
	if got, _ := db2.LookupMessage(bob, mid(5)); got.Quote == nil || got.Quote.Local != 0 {
		t.Fatalf("quote of a deleted message: %+v", got.Quote)
	}
}

// TestReactionEncoding: a reaction's sealed part keeps every field, a
// signed part included, whatever the emoji's length; a part written
// before signed parts were kept (zero padding only) reads as none; a
// signed part's length that runs past the end is refused.
func TestReactionEncoding(t *testing.T) {
	long := strings.Repeat("👍", MaxEmojiSize/4)
	for _, tc := range []struct {
		name   string
		emoji  string
		signed []byte
	}{
		{"short, unsigned", "👍", nil},
		{"long, unsigned", long, nil},
		{"short, signed", "👍", bytes.Repeat([]byte{7}, 300)},
		{"long, signed", long, bytes.Repeat([]byte{9}, 700)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := reaction(1, 2, 3, tc.emoji, false, 10, 4)
			r.Signed = tc.signed
			b := encodeReaction(&r)
			if len(b) < 128 {
				t.Fatalf("%d bytes, want at least 128", len(b))
			}
			got, err := decodeReaction(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, r) {
				t.Fatalf("decoded %+v, want %+v", got, r)
			}
		})
	}
	r := reaction(1, 2, 3, "👍", false, 10, 4)
	r.Signed = []byte("signed part")
	b := encodeReaction(&r)
	old := encodeReaction(&Reaction{Target: r.Target, TargetAuthor: r.TargetAuthor, Reactor: r.Reactor, Emoji: r.Emoji, SentAt: r.SentAt, ID: r.ID})
	if got, err := decodeReaction(old); err != nil || got.Signed != nil {
		t.Fatalf("an unsigned part reads as %+v, %v", got, err)
	}
	i := bytes.Index(b, r.Signed)
	b[i-1] = 0xff // the length's low byte
	if _, err := decodeReaction(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a signed part's length past the end: %v, want ErrCorrupt", err)
	}
}
