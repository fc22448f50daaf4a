package clientdb

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/schema"
)

var (
	testKey  = [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	otherKey = [32]byte{31: 1}
	t0       = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
)

func openTest(t testing.TB, opts ...Option) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hush.db")
	db, err := Open(path, testKey, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// account returns a valid Account ID derived from a seed filled with b.
func account(b byte) identity.AccountID {
	var s identity.Seed
	for i := range s {
		s[i] = b
	}
	return identity.FromSeed(s).ID()
}

func mid(b byte) MessageID {
	var m MessageID
	for i := range m {
		m[i] = b
	}
	return m
}

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

var (
	me    = account(0xee)
	alice = account(0xa1)
	bob   = account(0xb0)
)

func incoming(id byte, sent int, body string) Message {
	return Message{MessageID: mid(id), Direction: Incoming, SentAt: at(sent), ReceivedAt: at(sent + 1), Body: body}
}

func outgoing(id byte, sent int, body string) Message {
	return Message{MessageID: mid(id), Direction: Outgoing, Sender: me, SentAt: at(sent), ReceivedAt: at(sent), Body: body}
}

func mustInsert(t *testing.T, db *DB, peer identity.AccountID, m Message) LocalID {
	t.Helper()
	id, isNew, err := db.InsertMessage(peer, m)
	if err != nil || !isNew {
		t.Fatalf("InsertMessage(%x) = %d, %v, %v", m.MessageID[:2], id, isNew, err)
	}
	return id
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestOpenWrongKey(t *testing.T) {
	db, path := openTest(t)
	mustInsert(t, db, alice, incoming(1, 0, "hello"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := fileHash(t, path)
	for _, name := range []string{"wrong key", "wrong key again"} {
		t.Run(name, func(t *testing.T) {
			if db, err := Open(path, otherKey); !errors.Is(err, ErrWrongKey) {
				if db != nil {
					db.Close()
				}
				t.Fatalf("Open with wrong key: %v, want ErrWrongKey", err)
			}
			if fileHash(t, path) != before {
				t.Fatal("a failed Open changed the file")
			}
		})
	}
	db, err := Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.Conversation(alice)
	if err != nil || c.Messages != 1 {
		t.Fatalf("after wrong-key attempts: %+v, %v", c, err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign.db")
	c, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec("CREATE TABLE t(x)"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte("this is not a database at all, not even close, but long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(dir, "newer.db")
	db, err := Open(newer, testKey)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	c, _ = sql.Open("sqlite", newer)
	if _, err := c.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	c.Close()

	tests := []struct {
		name string
		path string
		want error
	}{
		{"foreign schema", foreign, schema.ErrForeignDatabase},
		{"newer schema", newer, schema.ErrNewerSchema},
		{"not sqlite", garbage, nil},
		{"missing directory", filepath.Join(dir, "no", "such", "dir.db"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(tt.path, testKey)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFileMode(t *testing.T) {
	_, path := openTest(t)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group/other access", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

func TestReopenMigrationNoop(t *testing.T) {
	db, path := openTest(t)
	mustInsert(t, db, alice, incoming(1, 0, "kept"))
	db.Close()
	before := fileHash(t, path)
	for i := range 3 {
		db, err := Open(path, testKey)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if fileHash(t, path) != before {
		t.Fatal("reopening an up-to-date database changed the file")
	}
	var v int
	c, _ := sql.Open("sqlite", path)
	defer c.Close()
	if err := c.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != len(mustMigrations(t)) {
		t.Fatalf("user_version %d (%v), want %d", v, err, len(mustMigrations(t)))
	}
}

func mustMigrations(t *testing.T) []schema.Migration {
	ms, err := schema.Migrations(migrationFiles, "sql/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestMigrateFromOlder builds a file as the binary with only the first
// migration left it, with data in it, and checks that a full Open migrates
// it, keeps the data, and can use the new tables.
func TestMigrateFromOlder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hush.db")
	db, err := Open(path, testKey, withSchemaVersion(1))
	if err != nil {
		t.Fatal(err)
	}
	mustInsert(t, db, alice, incoming(1, 0, "from version 1"))
	if _, err := db.UpsertDevice(Device{Account: alice, ID: DeviceID{1}, PublicKey: []byte{1}}, t0); err == nil {
		t.Fatal("the devices table exists at version 1: the test builds the wrong file")
	}
	db.Close()
	db, err = Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if m, err := db.LookupMessage(alice, mid(1)); err != nil || m.Body != "from version 1" {
		t.Fatalf("message after migration: %+v, %v", m, err)
	}
	if _, err := db.UpsertDevice(Device{Account: alice, ID: DeviceID{1}, PublicKey: []byte{1}}, t0); err != nil {
		t.Fatalf("devices after migration: %v", err)
	}
}

func TestClosed(t *testing.T) {
	db, _ := openTest(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if _, err := db.Conversations(); !errors.Is(err, ErrClosed) {
		t.Errorf("Conversations after Close: %v", err)
	}
	if _, _, err := db.InsertMessage(alice, incoming(1, 0, "x")); !errors.Is(err, ErrClosed) {
		t.Errorf("InsertMessage after Close: %v", err)
	}
}

// TestSealedValuesBoundToRows swaps sealed values between rows and columns
// behind the API's back; each must then fail to open with ErrCorrupt.
func TestSealedValuesBoundToRows(t *testing.T) {
	tests := []struct {
		name string
		swap string
		read func(db *DB) error
	}{
		{"message bodies between rows",
			`UPDATE messages SET sealed = (SELECT sealed FROM messages WHERE id = 2) WHERE id = 1`,
			func(db *DB) error { _, err := db.Message(1); return err }},
		{"contact account between contacts",
			`UPDATE contacts SET account_sealed = (SELECT account_sealed FROM contacts ORDER BY account_key DESC LIMIT 1)
				WHERE account_key = (SELECT account_key FROM contacts ORDER BY account_key LIMIT 1)`,
			func(db *DB) error { _, err := db.Contacts(); return err }},
		{"nickname into display name",
			`UPDATE contacts SET display_sealed = nickname_sealed`,
			func(db *DB) error { _, err := db.Contacts(); return err }},
		{"conversation peers",
			`UPDATE conversations SET peer_sealed = (SELECT peer_sealed FROM conversations WHERE id = 2) WHERE id = 1`,
			func(db *DB) error { _, err := db.Conversations(); return err }},
		{"flipped ciphertext bit",
			`UPDATE messages SET sealed = CAST(substr(sealed, 1, 30) ||
				CASE WHEN substr(sealed, 31, 1) = x'00' THEN x'01' ELSE x'00' END || substr(sealed, 32) AS BLOB) WHERE id = 1`,
			func(db *DB) error { _, err := db.Message(1); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, path := openTest(t)
			for _, c := range []Contact{{Account: alice, Nickname: "al", DisplayName: "Alice"}, {Account: bob, Nickname: "bo", DisplayName: "Bob"}} {
				if err := db.UpsertContact(c, t0); err != nil {
					t.Fatal(err)
				}
			}
			mustInsert(t, db, alice, incoming(1, 0, "first"))
			mustInsert(t, db, bob, incoming(2, 0, "second"))
			if err := tt.read(db); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			raw, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if res, err := raw.Exec(tt.swap); err != nil {
				t.Fatal(err)
			} else if n, _ := res.RowsAffected(); n == 0 {
				t.Fatal("tampering changed nothing")
			}
			if err := tt.read(db); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("after tampering: %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestWrongKeyAfterCrash opens, with a wrong key, a copy of a database taken
// while it was open (as a crash leaves it: committed frames still in the
// WAL). Neither the main file nor the WAL may change.
func TestWrongKeyAfterCrash(t *testing.T) {
	db, path := openTest(t)
	for i := range 20 {
		mustInsert(t, db, alice, incoming(byte(i+1), i, "in the WAL"))
	}
	crashed := filepath.Join(t.TempDir(), "hush.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crashed+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if fi, _ := os.Stat(crashed + "-wal"); fi.Size() == 0 {
		t.Fatal("the copied WAL is empty: the test would not test anything")
	}
	mainBefore, walBefore := fileHash(t, crashed), fileHash(t, crashed+"-wal")
	if db, err := Open(crashed, otherKey); !errors.Is(err, ErrWrongKey) {
		if db != nil {
			db.Close()
		}
		t.Fatalf("Open with wrong key: %v", err)
	}
	if fileHash(t, crashed) != mainBefore || fileHash(t, crashed+"-wal") != walBefore {
		t.Fatal("a wrong-key Open changed the files of a crashed database")
	}
	// With the right key, every committed message is there.
	db2, err := Open(crashed, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if c, err := db2.Conversation(alice); err != nil || c.Messages != 20 {
		t.Fatalf("recovered: %+v, %v", c, err)
	}
}

// TestCheckpointAfterDeletion checks the WAL is emptied after a deletion
// (and only then): the at-rest guarantee for deleted rows depends on it.
func TestCheckpointAfterDeletion(t *testing.T) {
	db, path := openTest(t)
	walSize := func() int64 {
		n, err := fileSize(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	id := mustInsert(t, db, alice, incoming(1, 0, "to delete"))
	mustInsert(t, db, alice, incoming(2, 0, "to keep"))
	tests := []struct {
		name      string
		op        func() error
		wantEmpty bool
	}{
		{"insert leaves frames", func() error { _, _, err := db.InsertMessage(alice, incoming(3, 0, "x")); return err }, false},
		{"expiry with nothing due keeps them", func() error { _, err := db.ExpireDue(at(1)); return err }, false},
		{"deletion truncates", func() error { _, err := db.DeleteMessage(id, at(2)); return err }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); err != nil {
				t.Fatal(err)
			}
			if got := walSize(); (got == 0) != tt.wantEmpty {
				t.Fatalf("WAL has %d bytes, want empty=%v", got, tt.wantEmpty)
			}
		})
	}
}

// TestMigrateOutboxKeepsItems: migration 3 rebuilds the outbox so its IDs
// are never reused; the items queued before it survive it whole, and the
// next item gets an ID past all of them.
func TestMigrateOutboxKeepsItems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hush.db")
	db, err := Open(path, testKey, withSchemaVersion(2))
	if err != nil {
		t.Fatal(err)
	}
	mustInsert(t, db, alice, outgoing(1, 0, "queued before"))
	msg, _ := db.LookupMessage(me, mid(1))
	item := OutboxItem{Message: msg.ID, To: alice, Namespace: 0, TTL: time.Hour, Payload: []byte("sealed")}
	var ids []int64
	for range 3 {
		id, err := db.EnqueueOutbox(item, t0)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := db.OutboxResult(ids[1], errors.New("down"), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OutboxResult(ids[2], nil, t0); err != nil {
		t.Fatal(err)
	}
	before, err := db.Outbox()
	if err != nil || len(before) != 2 {
		t.Fatalf("outbox before: %+v, %v", before, err)
	}
	db.Close()
	db, err = Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	after, err := db.Outbox()
	if err != nil || !reflect.DeepEqual(after, before) {
		t.Fatalf("outbox after migration:\n%+v, %v\nwant\n%+v", after, err, before)
	}
	// Deleting the message still drops its items (the foreign key survived).
	next, err := db.EnqueueOutbox(item, t0)
	if err != nil {
		t.Fatal(err)
	}
	if next <= ids[0] || next <= ids[1] {
		t.Fatalf("new item ID %d, want past %v", next, ids)
	}
	if _, err := db.DeleteMessage(msg.ID, t0); err != nil {
		t.Fatal(err)
	}
	if items, _ := db.Outbox(); len(items) != 0 {
		t.Fatalf("outbox after deleting its message: %+v", items)
	}
}

// TestMigrateMessageIDMarks: migration 4 starts the message ID mark at
// the highest ID of the file, so a message deleted after it never lends
// its ID, and the messages from before it keep theirs.
func TestMigrateMessageIDMarks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hush.db")
	db, err := Open(path, testKey, withSchemaVersion(3))
	if err != nil {
		t.Fatal(err)
	}
	mustInsert(t, db, alice, incoming(1, 0, "one"))
	last := mustInsert(t, db, alice, incoming(2, 1, "two"))
	db.Close()
	db, err = Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if m, err := db.Message(last); err != nil || m.Body != "two" {
		t.Fatalf("message %d after the migration: %+v, %v", last, m, err)
	}
	if _, err := db.DeleteMessage(last, t0); err != nil {
		t.Fatal(err)
	}
	if next := mustInsert(t, db, alice, incoming(3, 2, "three")); next <= last {
		t.Fatalf("the next message got ID %d, want past %d", next, last)
	}
}

// TestCheckpointFailureKeepsDeletion: a deletion that committed reports
// success, with what it deleted, even when the WAL scrub after it fails
// (the rows are gone; a caller told otherwise would skip what follows
// a deletion, such as the client's "unsent" event for a disappeared
// message, and the next ExpireDue finds nothing to report). The scrub
// is owed, and the next deleting call does it even when it deletes
// nothing.
func TestCheckpointFailureKeepsDeletion(t *testing.T) {
	db, path := openTest(t)
	m := withTimer(outgoing(1, 0, "brief"), DisappearAfterSend, time.Minute)
	mustInsert(t, db, alice, m)
	var calls int
	db.checkpointHook = func() error {
		calls++
		return errors.New("injected checkpoint failure")
	}
	e, err := db.ExpireDue(at(120))
	if err != nil || len(e.Gone) != 1 || e.Messages != 1 {
		t.Fatalf("ExpireDue with a failing scrub: %d gone, %d deleted, %v; want the message, nil", len(e.Gone), e.Messages, err)
	}
	if calls != 1 {
		t.Fatalf("checkpoint tried %d times, want 1", calls)
	}
	db.checkpointHook = nil
	if _, err := db.ExpireDue(at(121)); err != nil {
		t.Fatal(err)
	}
	if n, err := fileSize(path + "-wal"); err != nil || n != 0 {
		t.Fatalf("WAL has %d bytes (%v) after the owed scrub, want 0", n, err)
	}
}
