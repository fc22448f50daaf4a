package clientdb

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestSeen(t *testing.T) {
	db, _ := openTest(t)
	if err := db.MarkSeen(at(100), "a", "b"); err != nil {
		t.Fatal(err)
	}
	// A later expiry for a known hash wins; an earlier one does not shorten.
	if err := db.MarkSeen(at(300), "b"); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkSeen(at(50), "b"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		expire time.Time
		seen   map[string]bool
	}{
		{"before any expiry", at(10), map[string]bool{"a": true, "b": true, "c": false}},
		{"a expired", at(100), map[string]bool{"a": false, "b": true}},
		{"b expired", at(300), map[string]bool{"a": false, "b": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := db.ExpireDue(tt.expire); err != nil {
				t.Fatal(err)
			}
			var unseenWant []string
			for _, h := range []string{"a", "b", "c"} {
				want, ok := tt.seen[h]
				if !ok {
					want = false
				}
				got, err := db.Seen(h)
				if err != nil || got != want {
					t.Fatalf("Seen(%q) = %v, %v; want %v", h, got, err, want)
				}
				if !want {
					unseenWant = append(unseenWant, h)
				}
			}
			unseen, err := db.Unseen("a", "b", "c")
			if err != nil || !slices.Equal(unseen, unseenWant) {
				t.Fatalf("Unseen = %q, %v; want %q", unseen, err, unseenWant)
			}
		})
	}
	if err := db.MarkSeen(zeroTime, "x"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("zero expiry: %v", err)
	}
}

func TestCursors(t *testing.T) {
	db, _ := openTest(t)
	c, err := db.Cursor("own/0")
	if err != nil || c != (Cursor{}) {
		t.Fatalf("new cursor: %+v, %v", c, err)
	}
	if !c.Resume(time.Hour).IsZero() {
		t.Fatal("a new cursor should resume from the beginning")
	}
	want := Cursor{Position: "ordkey-123", Time: at(500)}
	if err := db.SetCursor("own/0", want); err != nil {
		t.Fatal(err)
	}
	if err := db.SetCursor("own/2", Cursor{Position: "other"}); err != nil {
		t.Fatal(err)
	}
	c, err = db.Cursor("own/0")
	if err != nil || c.Position != want.Position || !c.Time.Equal(want.Time) {
		t.Fatalf("cursor: %+v, %v", c, err)
	}
	if got := c.Resume(2 * time.Minute); !got.Equal(at(380)) {
		t.Fatalf("Resume = %v, want the cursor time minus the lookback", got)
	}
	if c, _ := db.Cursor("own/2"); c.Position != "other" {
		t.Fatalf("second cursor: %+v", c)
	}
}

func TestSettings(t *testing.T) {
	db, _ := openTest(t)
	tests := []struct {
		name  string
		key   string
		value []byte
		err   error
	}{
		{"plain", "push.mode", []byte("slow"), nil},
		{"binary", "device.key", []byte{0, 1, 2, 255}, nil},
		{"empty value", "flag", []byte{}, nil},
		{"empty name", "", []byte("x"), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.SetSetting(tt.key, tt.value); !errors.Is(err, tt.err) {
				t.Fatalf("SetSetting: %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				return
			}
			got, err := db.Setting(tt.key)
			if err != nil || !slices.Equal(got, tt.value) {
				t.Fatalf("Setting = %v, %v", got, err)
			}
		})
	}
	if err := db.SetSetting("push.mode", []byte("fast")); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Setting("push.mode"); string(v) != "fast" {
		t.Fatalf("overwrite: %q", v)
	}
	if err := db.DeleteSetting("push.mode"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Setting("push.mode"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := db.DeleteSetting("push.mode"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestUsageAndBackup(t *testing.T) {
	db, path := openTest(t)
	big := incoming(1, 0, string(make([]byte, 4000)))
	big.Attachments = []Attachment{{FileID: "x", Size: 1 << 20}}
	mustInsert(t, db, alice, big)
	mustInsert(t, db, bob, incoming(2, 0, "small"))
	u, err := db.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Conversations) != 2 || u.Conversations[0].Peer != alice || u.Conversations[1].Peer != bob {
		t.Fatalf("per conversation: %+v", u.Conversations)
	}
	a := u.Conversations[0]
	if a.Messages != 1 || a.MessageBytes < 4000 || a.Attachments != 1 || a.AttachmentBytes != 1<<20 {
		t.Fatalf("alice: %+v", a)
	}
	if u.MessageBytes != a.MessageBytes+u.Conversations[1].MessageBytes || u.AttachmentBytes != 1<<20 {
		t.Fatalf("totals: %+v", u)
	}
	fi, _ := os.Stat(path)
	if u.FileBytes != fi.Size() || u.FileBytes == 0 || u.WALBytes == 0 {
		t.Fatalf("file sizes: %+v (file is %d)", u, fi.Size())
	}

	dest := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(dest); err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(dest); err == nil {
		t.Fatal("Backup over an existing file succeeded")
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode %v", fi.Mode().Perm())
	}
	if b, err := Open(dest, otherKey); !errors.Is(err, ErrWrongKey) {
		if b != nil {
			b.Close()
		}
		t.Fatalf("backup with wrong key: %v", err)
	}
	b, err := Open(dest, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c, _ := b.Conversation(alice)
	ms, err := b.Messages(c.ID, Page{})
	if err != nil || len(ms) != 1 || ms[0].Body != big.Body {
		t.Fatalf("backup content: %d messages, %v", len(ms), err)
	}
}

// TestUpdateSetting: an update reads and writes in one transaction, so
// concurrent load-modify-saves (the client's queues of pending remote
// deletions, filled by the expiry loop and user actions and drained by
// the duties) lose none of each other's changes; nil deletes, an error
// changes nothing.
func TestUpdateSetting(t *testing.T) {
	db, _ := openTest(t)
	const workers, each = 4, 25
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				errs <- db.UpdateSetting("queue", func(old []byte) ([]byte, error) {
					return append(slices.Clone(old), byte(w*each+i)), nil
				})
			}
		}()
	}
	for range workers * each {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Setting("queue")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if len(slices.Compact(got)) != workers*each {
		t.Fatalf("%d distinct entries after %d concurrent appends, want all", len(got), workers*each)
	}

	boom := errors.New("boom")
	if err := db.UpdateSetting("queue", func([]byte) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("failing update: %v, want boom", err)
	}
	if v, err := db.Setting("queue"); err != nil || len(v) != workers*each {
		t.Fatalf("after a failing update: %d bytes, %v; want it unchanged", len(v), err)
	}
	if err := db.UpdateSetting("queue", func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Setting("queue"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after a nil update: %v, want ErrNotFound", err)
	}
	if err := db.UpdateSetting("", func(b []byte) ([]byte, error) { return b, nil }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty name: %v, want ErrInvalid", err)
	}
}
