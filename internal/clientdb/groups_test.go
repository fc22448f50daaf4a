package clientdb

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

var testGroup = identity.AccountID{0x03, 7, 7, 7}

// TestMigrateGroups: a file as schema version 5 left it, with a message,
// gains the group tables (migration 6) and keeps its data.
func TestMigrateGroups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hush.db")
	db, err := Open(path, testKey, withSchemaVersion(5))
	if err != nil {
		t.Fatal(err)
	}
	mustInsert(t, db, alice, incoming(1, 0, "from version 5"))
	if err := db.PutGroup(testGroup, []byte("x"), t0); err == nil {
		t.Fatal("the groups table exists at version 5: the test builds the wrong file")
	}
	db.Close()
	db, err = Open(path, testKey)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if m, err := db.LookupMessage(alice, mid(1)); err != nil || m.Body != "from version 5" {
		t.Fatalf("message after migration: %+v, %v", m, err)
	}
	if err := db.PutGroup(testGroup, []byte("state"), t0); err != nil {
		t.Fatalf("groups after migration: %v", err)
	}
}

func TestGroups(t *testing.T) {
	db, _ := openTest(t)
	if _, err := db.Group(testGroup); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown group: %v", err)
	}
	if _, err := db.AddGroupKey(testGroup, GroupKey{KeyID: []byte{1}, Expires: t0}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("key of an unknown group: %v", err)
	}
	for _, st := range []string{"one", "two"} {
		if err := db.PutGroup(testGroup, []byte(st), t0); err != nil {
			t.Fatal(err)
		}
	}
	g, err := db.Group(testGroup)
	if err != nil || g.ID != testGroup || string(g.State) != "two" {
		t.Fatalf("group: %+v, %v", g, err)
	}
	keys := []GroupKey{
		{KeyID: []byte("k1"), Generation: 1, Key: [32]byte{1}, Expires: t0.Add(time.Hour)},
		{KeyID: []byte("k2"), Generation: 2, Key: [32]byte{2}, Expires: t0.Add(2 * time.Hour)},
	}
	for _, k := range keys {
		if isNew, err := db.AddGroupKey(testGroup, k); err != nil || !isNew {
			t.Fatalf("add key: %v %v", isNew, err)
		}
	}
	if isNew, err := db.AddGroupKey(testGroup, keys[0]); err != nil || isNew {
		t.Fatalf("add a key twice: %v %v", isNew, err)
	}
	got, err := db.GroupKeys(testGroup)
	if err != nil || len(got) != 2 || got[0].Generation != 2 || got[1].Key != keys[0].Key || !bytes.Equal(got[1].KeyID, keys[0].KeyID) {
		t.Fatalf("keys: %+v, %v", got, err)
	}
	if n, err := db.PruneGroupKeys(t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune: %d, %v", n, err)
	}
	if got, _ := db.GroupKeys(testGroup); len(got) != 1 || got[0].Generation != 2 {
		t.Fatalf("after prune: %+v", got)
	}
	gs, err := db.Groups()
	if err != nil || len(gs) != 1 {
		t.Fatalf("groups: %+v, %v", gs, err)
	}
	if err := db.DeleteGroup(testGroup); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.GroupKeys(testGroup); len(got) != 0 {
		t.Fatalf("keys after delete: %+v", got)
	}
	if err := db.DeleteGroup(testGroup); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// TestOutboxToGroup: an outbox item for a group's swarm (an ID starting
// 03) reads back, as one for an account does.
func TestOutboxToGroup(t *testing.T) {
	db, _ := openTest(t)
	id, err := db.EnqueueOutbox(OutboxItem{To: testGroup, Namespace: 11, TTL: time.Hour, Payload: []byte("m")}, t0)
	if err != nil {
		t.Fatal(err)
	}
	items, err := db.DueOutbox(t0, 10)
	if err != nil || len(items) != 1 || items[0].ID != id || items[0].To != testGroup {
		t.Fatalf("due: %+v, %v", items, err)
	}
}
