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
	n, err := db.DropAccount(ctx, a)
	if err != nil || n != 2 {
		t.Fatalf("DropAccount = %d, %v; want 2", n, err)
	}
	if ts, _ := db.Tombstones(ctx, a, now); len(ts) != 0 {
		t.Errorf("DropAccount left tombstones %v", ts)
	}
	// Without tombstones the account can come back.
	if added, err := db.Put(ctx, store.Message{Account: a, Hash: h1, Data: []byte("one"), Timestamp: now, Expiry: now.Add(time.Hour)}); err != nil || !added {
		t.Errorf("Put after DropAccount = %v, %v; want added", added, err)
	}
	if n, err := db.DropAccount(ctx, identity.NewAccount().ID()); err != nil || n != 0 {
		t.Errorf("DropAccount of an unknown account = %d, %v", n, err)
	}
}
