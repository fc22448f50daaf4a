package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/rpc"
)

func TestReplicaMethods(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1_800_000_000_000).UTC()
	db, err := Open(filepath.Join(t.TempDir(), "m.db"), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, b := identity.NewAccount().ID(), identity.NewAccount().ID()
	put := func(acct identity.AccountID, data string, ttl time.Duration) string {
		h := rpc.MessageHash(acct, 0, []byte(data))
		if _, err := db.Put(ctx, store.Message{Account: acct, Hash: h, Data: []byte(data), Timestamp: now, Expiry: now.Add(ttl)}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	h1 := put(a, "one", time.Hour)
	h2 := put(a, "two", time.Minute)
	hb := put(b, "bee", time.Hour)
	if _, err := db.Delete(ctx, b, []string{hb}); err != nil {
		t.Fatal(err)
	}

	accts, err := db.Accounts(ctx)
	if err != nil || len(accts) != 2 {
		t.Fatalf("Accounts = %v, %v; want both (b holds only a tombstone)", accts, err)
	}
	msgs, err := db.Messages(ctx, a, []string{h2, "missing", h1}, now.Add(2*time.Minute))
	if err != nil || len(msgs) != 1 || msgs[0].Hash != h1 || string(msgs[0].Data) != "one" {
		t.Fatalf("Messages = %+v, %v; want only h1 (h2 expired)", msgs, err)
	}
	// A hand-off read h1 (h2 had expired); then h3 arrived and a deletion
	// of b's hb was learnt. The drop takes h1 and the expired h2 and leaves
	// h3 for the next hand-off.
	h3 := put(a, "three", time.Hour)
	n, err := db.DropHandedOff(ctx, a, []string{h1}, nil, now.Add(2*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("DropHandedOff = %d, %v; want 2 (h1 and the expired h2)", n, err)
	}
	if left, _ := db.Hashes(ctx, a, nil, now); len(left) != 1 || left[0].Hash != h3 {
		t.Fatalf("after the drop a holds %v; want h3 alone, which came after the hand-off read", left)
	}
	if accts, _ := db.Accounts(ctx); len(accts) != 2 {
		t.Errorf("Accounts = %v; a still holds h3", accts)
	}
	if n, err := db.DropHandedOff(ctx, a, []string{h3}, nil, now); err != nil || n != 1 {
		t.Fatalf("second DropHandedOff = %d, %v; want 1", n, err)
	}
	// Without tombstones the account can come back.
	if added, err := db.Put(ctx, store.Message{Account: a, Hash: h1, Data: []byte("one"), Timestamp: now, Expiry: now.Add(time.Hour)}); err != nil || !added {
		t.Errorf("Put after DropHandedOff = %v, %v; want added", added, err)
	}
	// b: a tombstone not named stays, and so does b; named, both go.
	if n, err := db.DropHandedOff(ctx, b, nil, []string{"other"}, now); err != nil || n != 0 {
		t.Fatalf("DropHandedOff of b naming another tombstone = %d, %v", n, err)
	}
	if ts, _ := db.Tombstones(ctx, b, now); len(ts) != 1 {
		t.Fatalf("b's tombstones %v; want hb's kept", ts)
	}
	if _, err := db.DropHandedOff(ctx, b, nil, []string{hb}, now); err != nil {
		t.Fatal(err)
	}
	if ts, _ := db.Tombstones(ctx, b, now); len(ts) != 0 {
		t.Errorf("DropHandedOff left tombstones %v", ts)
	}
	if accts, _ := db.Accounts(ctx); len(accts) != 1 || accts[0] != a {
		t.Errorf("Accounts = %v; want a alone (b holds nothing)", accts)
	}
	if n, err := db.DropHandedOff(ctx, identity.NewAccount().ID(), []string{h1}, nil, now); err != nil || n != 0 {
		t.Errorf("DropHandedOff of an unknown account = %d, %v", n, err)
	}
}
