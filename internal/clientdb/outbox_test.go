package clientdb

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestOutboxBackoff(t *testing.T) {
	db, _ := openTest(t, WithOutboxBackoff(10*time.Second, 80*time.Second, time.Hour))
	mustInsert(t, db, alice, outgoing(1, 0, "hi"))
	msg, _ := db.LookupMessage(me, mid(1))
	id, err := db.EnqueueOutbox(OutboxItem{Message: msg.ID, To: alice, Namespace: 0, TTL: 14 * 24 * time.Hour, Payload: []byte("sealed envelope")}, t0)
	if err != nil {
		t.Fatal(err)
	}
	// Each failure doubles the wait: 10, 20, 40, 80, then capped at 80 s.
	now := t0
	for i, wait := range []time.Duration{10, 20, 40, 80, 80} {
		due, err := db.DueOutbox(now, 0)
		if err != nil || len(due) != 1 || due[0].ID != id || due[0].Attempts != i {
			t.Fatalf("attempt %d: due %+v, %v", i, due, err)
		}
		out, err := db.OutboxResult(id, errors.New("node unreachable"), now)
		if err != nil || out != OutboxRetry {
			t.Fatalf("attempt %d: %v, %v", i, out, err)
		}
		next := now.Add(wait * time.Second)
		if due, _ := db.DueOutbox(next.Add(-time.Millisecond), 0); len(due) != 0 {
			t.Fatalf("attempt %d: due %v before its backoff of %v", i, due, wait)
		}
		now = next
	}
	items, _ := db.Outbox()
	if len(items) != 1 || items[0].LastError != "node unreachable" || items[0].Attempts != 5 ||
		string(items[0].Payload) != "sealed envelope" || items[0].To != alice || items[0].TTL != 14*24*time.Hour {
		t.Fatalf("item: %+v", items)
	}
	// Past the give-up age the next failure drops it and fails the message.
	out, err := db.OutboxResult(id, errors.New("still down"), t0.Add(time.Hour))
	if err != nil || out != OutboxGaveUp {
		t.Fatalf("give up: %v, %v", out, err)
	}
	if m, _ := db.Message(msg.ID); m.Status != StatusFailed {
		t.Fatalf("message status %v, want failed", m.Status)
	}
	if items, _ := db.Outbox(); len(items) != 0 {
		t.Fatalf("outbox after give-up: %+v", items)
	}
	if _, err := db.OutboxResult(id, nil, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("result for a removed item: %v", err)
	}
}

func TestOutbox(t *testing.T) {
	tests := []struct {
		name    string
		item    OutboxItem
		wantErr error
	}{
		{"plain", OutboxItem{To: alice, Payload: []byte("p")}, nil},
		{"scheduled later", OutboxItem{To: alice, NextAttempt: at(100)}, nil},
		{"no recipient", OutboxItem{Payload: []byte("p")}, ErrInvalid},
		{"unknown message", OutboxItem{To: alice, Message: 77}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTest(t)
			id, err := db.EnqueueOutbox(tt.item, t0)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("EnqueueOutbox: %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			want := tt.item.NextAttempt
			if want.IsZero() {
				want = t0
			}
			if due, _ := db.DueOutbox(want.Add(-time.Millisecond), 0); len(due) != 0 {
				t.Fatalf("due early: %+v", due)
			}
			due, _ := db.DueOutbox(want, 0)
			if len(due) != 1 || due[0].ID != id || !due[0].Created.Equal(t0) || !slices.Equal(due[0].Payload, tt.item.Payload) {
				t.Fatalf("due: %+v", due)
			}
			if out, err := db.OutboxResult(id, nil, want); err != nil || out != OutboxDone {
				t.Fatalf("success: %v, %v", out, err)
			}
			if due, _ := db.DueOutbox(want.Add(time.Hour), 0); len(due) != 0 {
				t.Fatalf("still queued after success: %+v", due)
			}
		})
	}
}

func TestOutboxOrderLimitAndRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hush.db")
	db, err := Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	for i, next := range []int{30, 10, 20, 10} {
		if _, err := db.EnqueueOutbox(OutboxItem{To: alice, Namespace: i, NextAttempt: at(next)}, t0); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	// The queue survives a restart.
	db, err = Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	due, err := db.DueOutbox(at(20), 2)
	if err != nil || len(due) != 2 || due[0].Namespace != 1 || due[1].Namespace != 3 {
		t.Fatalf("first two due: %+v, %v", due, err)
	}
	all, _ := db.DueOutbox(at(30), 0)
	var ns []int
	for _, it := range all {
		ns = append(ns, it.Namespace)
	}
	if !slices.Equal(ns, []int{1, 3, 2, 0}) {
		t.Fatalf("due order %v", ns)
	}
}

func TestOutboxDroppedWithMessage(t *testing.T) {
	db, _ := openTest(t)
	id := mustInsert(t, db, alice, outgoing(1, 0, "hi"))
	if _, err := db.EnqueueOutbox(OutboxItem{Message: id, To: alice}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteMessage(id, at(1)); err != nil {
		t.Fatal(err)
	}
	if items, _ := db.Outbox(); len(items) != 0 {
		t.Fatalf("outbox keeps an item of a deleted message: %+v", items)
	}
}

// TestOutboxIDsNeverReused: an item's ID names that item for good. Two
// processes flush one home's outbox: when one finishes an item while the
// other still sends it, and a new message is queued meanwhile, the slow
// process's result must not land on the new item (it did: SQLite gave
// the new row the deleted one's ID, and the new message was dropped
// unsent).
func TestOutboxIDsNeverReused(t *testing.T) {
	db, path := openTest(t)
	item := OutboxItem{To: alice, Namespace: 0, TTL: time.Hour, Payload: []byte("first")}
	first, err := db.EnqueueOutbox(item, t0)
	if err != nil {
		t.Fatal(err)
	}
	// One process sends the first item and removes it.
	if out, err := db.OutboxResult(first, nil, t0); err != nil || out != OutboxDone {
		t.Fatalf("first result: %v, %v", out, err)
	}
	item.Payload = []byte("second")
	second, err := db.EnqueueOutbox(item, t0)
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Fatalf("the second item got the removed first item's ID %d", first)
	}
	// The other process, done with its copy of the first item, reports it.
	if _, err := db.OutboxResult(first, nil, t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a second result for the removed item: %v, want ErrNotFound", err)
	}
	items, err := db.Outbox()
	if err != nil || len(items) != 1 || string(items[0].Payload) != "second" {
		t.Fatalf("outbox %+v, %v; want the second item still queued", items, err)
	}
	// The IDs stay unique across a reopen as well.
	if out, err := db.OutboxResult(second, nil, t0); err != nil || out != OutboxDone {
		t.Fatalf("second result: %v, %v", out, err)
	}
	db.Close()
	db, err = Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	third, err := db.EnqueueOutbox(item, t0)
	if err != nil {
		t.Fatal(err)
	}
	if third == first || third == second {
		t.Fatalf("after a reopen the new item got ID %d again", third)
	}
}

// TestOutboxSealedCopy: the bytes an item was sealed to are kept with it,
// replaced only by the next SetOutboxSealed, across failed attempts (which
// rewrite the sealed column) and a reopen. TestAtRest checks that they
// are sealed at rest like the payload.
func TestOutboxSealedCopy(t *testing.T) {
	db, path := openTest(t, WithOutboxBackoff(time.Second, time.Second, time.Hour))
	id, err := db.EnqueueOutbox(OutboxItem{To: alice, TTL: time.Hour, Payload: []byte("unsealed content")}, t0)
	if err != nil {
		t.Fatal(err)
	}
	it, err := db.OutboxItemByID(id)
	if err != nil || it.Sealed != nil || !it.SealedAt.IsZero() {
		t.Fatalf("a new item: %+v, %v; want no sealed copy", it, err)
	}
	if err := db.SetOutboxSealed(id, []byte("sealed-copy-frotz"), t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OutboxResult(id, errors.New("answer lost"), t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	check := func(db *DB, sealed string, at time.Time) {
		t.Helper()
		it, err := db.OutboxItemByID(id)
		if err != nil || string(it.Sealed) != sealed || !it.SealedAt.Equal(at) || string(it.Payload) != "unsealed content" ||
			it.Attempts != 1 || it.LastError != "answer lost" {
			t.Fatalf("item %+v, %v; want sealed copy %q of %v, one attempt", it, err, sealed, at)
		}
	}
	check(db, "sealed-copy-frotz", t0.Add(time.Second))
	// A later seal replaces it; schedule and attempts stay.
	if err := db.SetOutboxSealed(id, []byte("sealed-copy-xyzzy"), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	check(db, "sealed-copy-xyzzy", t0.Add(time.Hour))
	due, err := db.DueOutbox(t0.Add(3*time.Second), 0)
	if err != nil || len(due) != 1 || string(due[0].Sealed) != "sealed-copy-xyzzy" {
		t.Fatalf("due %+v, %v", due, err)
	}
	db.Close()
	db, err = Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check(db, "sealed-copy-xyzzy", t0.Add(time.Hour))

	for _, tc := range []struct {
		name   string
		id     int64
		sealed []byte
		at     time.Time
		want   error
	}{
		{"unknown item", id + 1, []byte("x"), t0, ErrNotFound},
		{"empty bytes", id, nil, t0, ErrInvalid},
		{"zero time", id, []byte("x"), time.Time{}, ErrInvalid},
	} {
		if err := db.SetOutboxSealed(tc.id, tc.sealed, tc.at); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := db.OutboxItemByID(id + 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown item: %v, want ErrNotFound", err)
	}
	if _, err := db.OutboxResult(id, nil, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OutboxItemByID(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("a sent item: %v, want ErrNotFound", err)
	}
}
