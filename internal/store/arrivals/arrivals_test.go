package arrivals_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/internal/store/arrivals"
	"github.com/hushnet/hush/internal/store/sqlite"
)

func signalled(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestHub(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a, b := identity.NewAccount().ID(), identity.NewAccount().ID()
	now := time.Now()
	msg := func(acct identity.AccountID, ns int32, data string) store.Message {
		return store.Message{Account: acct, Namespace: ns, Hash: "h" + data + acct.String()[:8], Data: []byte(data), Timestamp: now, Expiry: now.Add(time.Hour)}
	}
	hub := arrivals.New()
	ctx := context.Background()
	tests := []struct {
		name  string
		put   func() error
		watch identity.AccountID
		ns    int32
		want  bool
	}{
		{"store put wakes its pair", func() error { _, err := hub.Store(db).Put(ctx, msg(a, 0, "1")); return err }, a, 0, true},
		{"replica batch wakes its pair", func() error {
			_, err := hub.Replica(sqlite.NewGroupCommit(db)).PutBatch(ctx, []store.Message{msg(b, 1, "2"), msg(a, 5, "3")})
			return err
		}, a, 5, true},
		{"other namespace sleeps", func() error { _, err := hub.Store(db).Put(ctx, msg(a, 1, "4")); return err }, a, 0, false},
		{"other account sleeps", func() error { _, err := hub.Store(db).Put(ctx, msg(b, 0, "5")); return err }, a, 0, false},
		{"duplicate sleeps", func() error { _, err := hub.Store(db).Put(ctx, msg(a, 0, "1")); return err }, a, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch, stop := hub.Watch(tc.watch, tc.ns)
			ch2, stop2 := hub.Watch(tc.watch, tc.ns) // a second waiter of the pair
			if err := tc.put(); err != nil {
				t.Fatal(err)
			}
			if got := signalled(ch); got != tc.want || signalled(ch2) != tc.want {
				t.Fatalf("signalled %v, want %v", got, tc.want)
			}
			stop()
			stop2()
			stop2() // idempotent
			if n := hub.Waiting(); n != 0 {
				t.Fatalf("%d pairs still registered after stop", n)
			}
		})
	}
}
