package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
)

// t0 is an arbitrary fixed instant; tests never read the clock.
var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func acct(i byte) identity.AccountID {
	var a identity.AccountID
	a[0] = identity.AccountPrefix
	a[1] = i
	a[32] = 0x42
	return a
}

func ns(n int32) *int32 { return &n }

// msg makes a message of account a in namespace n, stamped ts ms after t0,
// living 1 hour.
func msg(a identity.AccountID, n int32, hash string, ts int, size int) store.Message {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(len(hash) + i)
	}
	return store.Message{
		Account: a, Namespace: n, Hash: hash, Data: data,
		Timestamp: at(ts), Expiry: at(ts).Add(time.Hour),
	}
}

func openTest(t testing.TB, opts ...Option) *DB {
	t.Helper()
	// The fixed clock goes first so that a test's own WithClock wins.
	opts = append([]Option{WithClock(func() time.Time { return t0 })}, opts...)
	db, err := Open(filepath.Join(t.TempDir(), "store.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustPut(t testing.TB, db *DB, ms ...store.Message) {
	t.Helper()
	for _, m := range ms {
		added, err := db.Put(context.Background(), m)
		if err != nil || !added {
			t.Fatalf("Put(%s) = %v, %v; want true, nil", m.Hash, added, err)
		}
	}
}

// fatalTB is what listAll needs of a *testing.T or a *rapid.T.
type fatalTB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// listAll pages through everything of (a, n) with pages of limit messages.
func listAll(t fatalTB, db *DB, a identity.AccountID, n int32, limit int, now time.Time) []string {
	t.Helper()
	var (
		out   []string
		after store.Cursor
	)
	for range 1000 {
		msgs, more, err := db.List(context.Background(), store.Query{Account: a, Namespace: n, After: after, Limit: limit, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			out = append(out, m.Hash)
		}
		if !more {
			return out
		}
		if len(msgs) == 0 {
			t.Fatal("List reported more but returned nothing")
		}
		last := msgs[len(msgs)-1]
		after = store.Cursor{Timestamp: last.Timestamp, Hash: last.Hash}
	}
	t.Fatal("List never ended")
	return nil
}

func TestPut(t *testing.T) {
	a, b := acct(1), acct(2)
	tests := []struct {
		name    string
		before  []store.Message
		put     store.Message
		want    bool
		wantErr bool
	}{
		{name: "new", put: msg(a, 0, "h1", 0, 10), want: true},
		{name: "duplicate", before: []store.Message{msg(a, 0, "h1", 0, 10)}, put: msg(a, 0, "h1", 0, 10), want: false},
		{name: "duplicate with other expiry", before: []store.Message{msg(a, 0, "h1", 0, 10)}, put: msg(a, 0, "h1", 99, 10), want: false},
		{name: "same hash other account", before: []store.Message{msg(a, 0, "h1", 0, 10)}, put: msg(b, 0, "h1", 0, 10), want: true},
		{name: "same hash other namespace", before: []store.Message{msg(a, 0, "h1", 0, 10)}, put: msg(a, 5, "h1", 0, 10), want: false},
		{name: "empty data", put: msg(a, 0, "h1", 0, 0), want: true},
		{name: "nil data", put: store.Message{Account: a, Hash: "h", Timestamp: t0, Expiry: t0.Add(time.Hour)}, want: true},
		{name: "zero account", put: msg(identity.AccountID{}, 0, "h1", 0, 10), wantErr: true},
		{name: "empty hash", put: msg(a, 0, "", 0, 10), wantErr: true},
		{name: "zero timestamp", put: store.Message{Account: a, Hash: "h", Expiry: t0}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTest(t)
			mustPut(t, db, tt.before...)
			added, err := db.Put(context.Background(), tt.put)
			if (err != nil) != tt.wantErr || added != tt.want {
				t.Fatalf("Put = %v, %v; want %v, error %v", added, err, tt.want, tt.wantErr)
			}
			st, err := db.Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			wantN := int64(len(tt.before))
			if tt.want {
				wantN++
			}
			if st.Messages != wantN {
				t.Fatalf("Stats.Messages = %d, want %d (a refused Put must change nothing)", st.Messages, wantN)
			}
		})
	}
}

func TestPutKeepsFields(t *testing.T) {
	db := openTest(t)
	m := msg(acct(1), -10, "hash", 1234, 100)
	m.Timestamp = m.Timestamp.Add(567 * time.Microsecond) // below ms precision: dropped
	mustPut(t, db, m)
	got, _, err := db.List(context.Background(), store.Query{Account: m.Account, Namespace: -10, Now: t0})
	if err != nil || len(got) != 1 {
		t.Fatalf("List = %v, %v", got, err)
	}
	g := got[0]
	if g.Account != m.Account || g.Namespace != m.Namespace || g.Hash != m.Hash ||
		!slices.Equal(g.Data, m.Data) || !g.Timestamp.Equal(at(1234)) || !g.Expiry.Equal(m.Expiry) {
		t.Fatalf("List returned %+v, stored %+v", g, m)
	}
}

func TestListOrderAndPaging(t *testing.T) {
	a := acct(1)
	db := openTest(t)
	// Inserted out of order, with timestamp ties broken by hash.
	ms := []store.Message{
		msg(a, 0, "c", 20, 1), msg(a, 0, "a", 30, 1), msg(a, 0, "b", 10, 1),
		msg(a, 0, "z", 20, 1), msg(a, 0, "m", 20, 1), msg(a, 0, "d", 20, 1),
		msg(a, 1, "other-ns", 15, 1), msg(acct(2), 0, "other-acct", 15, 1),
	}
	mustPut(t, db, ms...)
	want := []string{"b", "c", "d", "m", "z", "a"}
	for _, limit := range []int{1, 2, 3, 5, 6, 7, 100} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			if got := listAll(t, db, a, 0, limit, t0); !slices.Equal(got, want) {
				t.Fatalf("paged list = %v, want %v", got, want)
			}
		})
	}

	cursors := []struct {
		name  string
		after store.Cursor
		want  []string
	}{
		{name: "zero cursor", want: want},
		{name: "mid tie", after: store.Cursor{Timestamp: at(20), Hash: "d"}, want: []string{"m", "z", "a"}},
		{name: "unknown hash within tie", after: store.Cursor{Timestamp: at(20), Hash: "e"}, want: []string{"m", "z", "a"}},
		{name: "timestamp only", after: store.Cursor{Timestamp: at(20)}, want: []string{"c", "d", "m", "z", "a"}},
		{name: "after last", after: store.Cursor{Timestamp: at(30), Hash: "a"}, want: nil},
		{name: "before epoch", after: store.Cursor{Timestamp: time.Unix(-5, 0)}, want: want},
	}
	for _, tt := range cursors {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := db.List(context.Background(), store.Query{Account: a, After: tt.after, Now: t0})
			if err != nil || more {
				t.Fatalf("List: more %v, err %v", more, err)
			}
			var hs []string
			for _, m := range got {
				hs = append(hs, m.Hash)
			}
			if !slices.Equal(hs, tt.want) {
				t.Fatalf("List = %v, want %v", hs, tt.want)
			}
		})
	}
}

func TestListLimits(t *testing.T) {
	a := acct(1)
	db := openTest(t, WithListDefaults(3, 250))
	mustPut(t, db, msg(a, 0, "a", 1, 100), msg(a, 0, "b", 2, 100), msg(a, 0, "c", 3, 100),
		msg(a, 0, "d", 4, 100), msg(a, 0, "e", 5, 100))
	tests := []struct {
		name     string
		limit    int
		maxBytes int
		want     int
		more     bool
	}{
		{name: "defaults", want: 2, more: true}, // 250 bytes fit two
		{name: "limit under bytes", limit: 1, maxBytes: 1000, want: 1, more: true},
		{name: "bytes under limit", limit: 10, maxBytes: 300, want: 3, more: true},
		{name: "exact fit", limit: 10, maxBytes: 500, want: 5, more: false},
		{name: "one message over bytes still returned", limit: 10, maxBytes: 1, want: 1, more: true},
		{name: "limit equals count", limit: 5, maxBytes: 10000, want: 5, more: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more, err := db.List(context.Background(), store.Query{Account: a, Limit: tt.limit, MaxBytes: tt.maxBytes, Now: t0})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want || more != tt.more {
				t.Fatalf("List = %d messages, more %v; want %d, %v", len(got), more, tt.want, tt.more)
			}
		})
	}
}

func TestExpiredNeverReturned(t *testing.T) {
	a := acct(1)
	ctx := context.Background()
	db := openTest(t)
	short := msg(a, 0, "short", 0, 10)
	short.Expiry = at(100)
	long := msg(a, 0, "long", 1, 10)
	mustPut(t, db, short, long)

	for _, tt := range []struct {
		name string
		now  time.Time
		want []string
	}{
		{name: "before expiry", now: at(99), want: []string{"short", "long"}},
		{name: "at expiry", now: at(100), want: []string{"long"}},
		{name: "after expiry", now: at(5000), want: []string{"long"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Nothing has been swept: List alone must hide expired mail.
			if got := listAll(t, db, a, 0, 10, tt.now); !slices.Equal(got, tt.want) {
				t.Fatalf("List = %v, want %v", got, tt.want)
			}
			exp, err := db.Expiries(ctx, a, []string{"short", "long", "missing"}, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(exp) != len(tt.want) {
				t.Fatalf("Expiries = %v, want keys %v", exp, tt.want)
			}
			hs, err := db.Hashes(ctx, a, nil, tt.now)
			if err != nil || len(hs) != len(tt.want) {
				t.Fatalf("Hashes = %v, %v; want %d", hs, err, len(tt.want))
			}
		})
	}

	// An expired message cannot be revived by SetExpiry.
	got, err := db.SetExpiry(ctx, a, []string{"short"}, at(1e7), store.ExpiryAny, at(100))
	if err != nil || len(got) != 0 {
		t.Fatalf("SetExpiry on expired = %v, %v; want empty", got, err)
	}

	n, err := db.Sweep(ctx, at(100))
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	if n, err := db.Sweep(ctx, at(100)); err != nil || n != 0 {
		t.Fatalf("second Sweep = %d, %v; want 0", n, err)
	}
	st, _ := db.Stats(ctx)
	if st.Messages != 1 || st.Bytes != 10 || st.Accounts != 1 {
		t.Fatalf("Stats after sweep = %+v", st)
	}
}

func TestSweepBatches(t *testing.T) {
	a := acct(1)
	ctx := context.Background()
	db := openTest(t, WithAccountQuota(1<<30, 1e6))
	var batch []store.Message
	for i := range sweepBatch*2 + 7 {
		batch = append(batch, msg(a, 0, fmt.Sprintf("h%05d", i), i, 1))
	}
	if _, err := db.PutBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	n, err := db.Sweep(ctx, at(len(batch)).Add(time.Hour))
	if err != nil || n != len(batch) {
		t.Fatalf("Sweep = %d, %v; want %d", n, err, len(batch))
	}
	st, _ := db.Stats(ctx)
	if st != (store.Stats{}) {
		t.Fatalf("Stats after sweeping everything = %+v", st)
	}
}

func TestZeroNow(t *testing.T) {
	a := acct(1)
	ctx := context.Background()
	db := openTest(t)
	mustPut(t, db, msg(a, 0, "h", 0, 1))
	calls := []struct {
		name string
		call func() error
	}{
		{"List", func() error { _, _, err := db.List(ctx, store.Query{Account: a}); return err }},
		{"Expiries", func() error { _, err := db.Expiries(ctx, a, []string{"h"}, time.Time{}); return err }},
		{"SetExpiry", func() error {
			_, err := db.SetExpiry(ctx, a, []string{"h"}, t0, store.ExpiryAny, time.Time{})
			return err
		}},
		{"SetExpiryAll", func() error { _, err := db.SetExpiryAll(ctx, a, nil, t0, store.ExpiryAny, time.Time{}); return err }},
		{"Sweep", func() error { _, err := db.Sweep(ctx, time.Time{}); return err }},
		{"Hashes", func() error { _, err := db.Hashes(ctx, a, nil, time.Time{}); return err }},
		{"Tombstones", func() error { _, err := db.Tombstones(ctx, a, time.Time{}); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, ErrNoTime) {
				t.Fatalf("err = %v, want ErrNoTime", err)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	a, b := acct(1), acct(2)
	ctx := context.Background()
	db := openTest(t)
	mustPut(t, db, msg(a, 0, "a0", 1, 5), msg(a, 3, "a3", 2, 5), msg(a, 0, "keep", 3, 5), msg(b, 0, "b0", 1, 5))

	got, err := db.Delete(ctx, a, []string{"a0", "a3", "missing", "b0"})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	if !slices.Equal(got, []string{"a0", "a3"}) {
		t.Fatalf("Delete = %v, want [a0 a3] (other account's hash untouched)", got)
	}
	if got := listAll(t, db, a, 0, 10, t0); !slices.Equal(got, []string{"keep"}) {
		t.Fatalf("after Delete, List = %v", got)
	}
	if got := listAll(t, db, b, 0, 10, t0); !slices.Equal(got, []string{"b0"}) {
		t.Fatalf("other account after Delete = %v", got)
	}
	if got, err := db.Delete(ctx, a, []string{"a0"}); err != nil || len(got) != 0 {
		t.Fatalf("second Delete = %v, %v; want nothing", got, err)
	}
	if got, err := db.Delete(ctx, acct(9), []string{"a0"}); err != nil || len(got) != 0 {
		t.Fatalf("Delete for unknown account = %v, %v", got, err)
	}
	st, _ := db.Stats(ctx)
	if st.Messages != 2 || st.Bytes != 10 || st.Accounts != 2 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestDeleteBefore(t *testing.T) {
	a := acct(1)
	seed := []store.Message{
		msg(a, 0, "n0-10", 10, 1), msg(a, 0, "n0-20", 20, 1), msg(a, 0, "n0-30", 30, 1),
		msg(a, 2, "n2-10", 10, 1), msg(a, 2, "n2-20", 20, 1),
		msg(acct(2), 0, "other", 10, 1),
	}
	tests := []struct {
		name   string
		ns     *int32
		before int
		want   []string
	}{
		// Session's delete_before removes timestamp <= before.
		{name: "one namespace", ns: ns(0), before: 19, want: []string{"n0-10"}},
		{name: "at before included", ns: ns(0), before: 30, want: []string{"n0-10", "n0-20", "n0-30"}},
		{name: "just before excluded", ns: ns(0), before: 29, want: []string{"n0-10", "n0-20"}},
		{name: "all namespaces", before: 20, want: []string{"n0-10", "n0-20", "n2-10", "n2-20"}},
		{name: "everything", before: 1000, want: []string{"n0-10", "n0-20", "n0-30", "n2-10", "n2-20"}},
		{name: "nothing", before: 9, want: nil},
		{name: "empty namespace", ns: ns(7), before: 1000, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openTest(t)
			mustPut(t, db, seed...)
			got, err := db.DeleteBefore(ctx, a, tt.ns, at(tt.before))
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("DeleteBefore = %v, want %v", got, tt.want)
			}
			left, _ := db.Hashes(ctx, a, nil, t0)
			if len(left)+len(got) != 5 {
				t.Fatalf("%d left + %d deleted != 5", len(left), len(got))
			}
			if o := listAll(t, db, acct(2), 0, 10, t0); len(o) != 1 {
				t.Fatal("DeleteBefore touched another account")
			}
		})
	}
}

func TestSetExpiry(t *testing.T) {
	a := acct(1)
	// Every message is stamped at 0 and expires at 1 hour.
	base := at(0).Add(time.Hour)
	earlier, later := base.Add(-time.Minute), base.Add(time.Minute)
	tests := []struct {
		name   string
		mode   store.ExpiryMode
		expiry time.Time
		want   time.Time
	}{
		{name: "any earlier", mode: store.ExpiryAny, expiry: earlier, want: earlier},
		{name: "any later", mode: store.ExpiryAny, expiry: later, want: later},
		{name: "shorten earlier", mode: store.ExpiryShorten, expiry: earlier, want: earlier},
		{name: "shorten later is no-op", mode: store.ExpiryShorten, expiry: later, want: base},
		{name: "extend later", mode: store.ExpiryExtend, expiry: later, want: later},
		{name: "extend earlier is no-op", mode: store.ExpiryExtend, expiry: earlier, want: base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openTest(t)
			mustPut(t, db, msg(a, 0, "x", 0, 1), msg(a, 4, "y", 0, 1), msg(a, 0, "z", 0, 1))

			got, err := db.SetExpiry(ctx, a, []string{"x", "y", "missing"}, tt.expiry, tt.mode, t0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || !got["x"].Equal(tt.want) || !got["y"].Equal(tt.want) {
				t.Fatalf("SetExpiry = %v, want x and y at %v", got, tt.want)
			}
			exp, _ := db.Expiries(ctx, a, []string{"x", "y", "z"}, t0)
			if !exp["x"].Equal(tt.want) || !exp["y"].Equal(tt.want) || !exp["z"].Equal(base) {
				t.Fatalf("Expiries after SetExpiry = %v", exp)
			}

			db2 := openTest(t)
			mustPut(t, db2, msg(a, 0, "x", 0, 1), msg(a, 4, "y", 0, 1), msg(a, 0, "z", 0, 1))
			all, err := db2.SetExpiryAll(ctx, a, ns(0), tt.expiry, tt.mode, t0)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 2 || !all["x"].Equal(tt.want) || !all["z"].Equal(tt.want) {
				t.Fatalf("SetExpiryAll(ns 0) = %v, want x and z at %v", all, tt.want)
			}
			all, err = db2.SetExpiryAll(ctx, a, nil, tt.expiry, tt.mode, t0)
			if err != nil || len(all) != 3 || !all["y"].Equal(tt.want) {
				t.Fatalf("SetExpiryAll(all) = %v, %v", all, err)
			}
		})
	}

	t.Run("shorten into the past expires", func(t *testing.T) {
		ctx := context.Background()
		db := openTest(t)
		mustPut(t, db, msg(a, 0, "x", 0, 1))
		if _, err := db.SetExpiry(ctx, a, []string{"x"}, at(5), store.ExpiryShorten, at(10)); err != nil {
			t.Fatal(err)
		}
		if got := listAll(t, db, a, 0, 10, at(10)); len(got) != 0 {
			t.Fatalf("List after shortening to the past = %v", got)
		}
	})
	t.Run("bad mode", func(t *testing.T) {
		db := openTest(t)
		if _, err := db.SetExpiry(context.Background(), a, []string{"x"}, t0, 7, t0); err == nil {
			t.Fatal("SetExpiry accepted mode 7")
		}
	})
}

func TestTombstones(t *testing.T) {
	a := acct(1)
	ctx := context.Background()
	db := openTest(t)
	m, m2 := msg(a, 0, "dead", 0, 10), msg(a, 0, "dead2", 5, 10)
	mustPut(t, db, m, m2)
	if _, err := db.Delete(ctx, a, []string{"dead"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteBefore(ctx, a, nil, at(6)); err != nil {
		t.Fatal(err)
	}
	for _, x := range []store.Message{m, m2} {
		if added, err := db.Put(ctx, x); err != nil || added {
			t.Fatalf("Put of deleted %s = %v, %v; want false, nil", x.Hash, added, err)
		}
	}
	ts, err := db.Tombstones(ctx, a, t0)
	if err != nil || len(ts) != 2 || ts[0].Hash != "dead" || !ts[0].Expiry.Equal(m.Expiry) {
		t.Fatalf("Tombstones = %+v, %v", ts, err)
	}
	if got := listAll(t, db, a, 0, 10, t0); len(got) != 0 {
		t.Fatalf("deleted message came back: %v", got)
	}

	// Once the original expiry passed, the tombstone goes and the hash may
	// be stored again.
	if _, err := db.Sweep(ctx, m.Expiry); err != nil {
		t.Fatal(err)
	}
	if ts, _ := db.Tombstones(ctx, a, t0); len(ts) != 1 || ts[0].Hash != "dead2" {
		t.Fatalf("Tombstones after sweep = %+v", ts)
	}
	if added, err := db.Put(ctx, m); err != nil || !added {
		t.Fatalf("Put after tombstone expired = %v, %v", added, err)
	}

	// A peer's tombstones delete here and block re-insertion too.
	peer := openTest(t)
	mustPut(t, peer, m, msg(a, 0, "live", 9, 1))
	gone, err := peer.ApplyTombstones(ctx, a, []store.HashInfo{{Hash: "dead", Expiry: m.Expiry}, {Hash: "never-stored", Expiry: m.Expiry}})
	if err != nil || !slices.Equal(gone, []string{"dead"}) {
		t.Fatalf("ApplyTombstones = %v, %v", gone, err)
	}
	if added, _ := peer.Put(ctx, m); added {
		t.Fatal("Put after ApplyTombstones stored the deleted message")
	}
	if got := listAll(t, peer, a, 0, 10, t0); !slices.Equal(got, []string{"live"}) {
		t.Fatalf("peer List = %v", got)
	}
}

func TestAccountDigest(t *testing.T) {
	a := acct(1)
	ctx := context.Background()
	ms := []store.Message{msg(a, 0, "q", 1, 1), msg(a, 3, "b", 2, 1), msg(a, 0, "k", 3, 1), msg(acct(2), 0, "x", 1, 1)}
	one, two := openTest(t), openTest(t)
	mustPut(t, one, ms...)
	mustPut(t, two, ms[3], ms[2], ms[1], ms[0]) // another arrival order

	d1, n1, err1 := one.AccountDigest(ctx, a, t0)
	d2, n2, err2 := two.AccountDigest(ctx, a, t0)
	if err1 != nil || err2 != nil || d1 != d2 || n1 != 3 || n2 != 3 {
		t.Fatalf("digests differ for the same messages: %x/%d %x/%d %v %v", d1, n1, d2, n2, err1, err2)
	}
	hs, _ := one.Hashes(ctx, a, nil, t0)
	if len(hs) != 3 || hs[0].Hash != "b" || hs[0].Namespace != 3 || hs[2].Hash != "q" {
		t.Fatalf("Hashes = %+v, want sorted by hash with namespaces", hs)
	}
	if hs, _ := one.Hashes(ctx, a, ns(0), t0); len(hs) != 2 {
		t.Fatalf("Hashes(ns 0) = %+v", hs)
	}

	if _, err := two.Delete(ctx, a, []string{"k"}); err != nil {
		t.Fatal(err)
	}
	d2, n2, _ = two.AccountDigest(ctx, a, t0)
	if d1 == d2 || n2 != 2 {
		t.Fatal("digest unchanged after a delete")
	}
	// Expired messages drop out of the digest before any sweep.
	empty, n, _ := one.AccountDigest(ctx, acct(7), t0)
	late, nl, _ := one.AccountDigest(ctx, a, at(10).Add(time.Hour))
	if n != 0 || nl != 0 || empty != late {
		t.Fatalf("digest of expired account = %x/%d, of empty account %x/%d", late, nl, empty, n)
	}
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if st, err := db.Stats(ctx); err != nil || st != (store.Stats{}) {
		t.Fatalf("empty Stats = %+v, %v", st, err)
	}
	mustPut(t, db, msg(acct(1), 0, "a", 0, 10), msg(acct(1), 1, "b", 0, 20), msg(acct(2), 0, "c", 0, 30))
	if st, _ := db.Stats(ctx); st != (store.Stats{Messages: 3, Bytes: 60, Accounts: 2}) {
		t.Fatalf("Stats = %+v", st)
	}
	db.Delete(ctx, acct(2), []string{"c"})
	if st, _ := db.Stats(ctx); st != (store.Stats{Messages: 2, Bytes: 30, Accounts: 1}) {
		t.Fatalf("Stats after delete = %+v", st)
	}
}

func TestPutBatch(t *testing.T) {
	a := acct(1)
	ctx := context.Background()
	db := openTest(t, WithAccountQuota(0, 1))
	mustPut(t, db, msg(a, 0, "old", 0, 1))
	res, err := db.PutBatch(ctx, []store.Message{
		msg(a, 0, "old", 0, 1),  // duplicate of a stored one
		msg(a, 0, "n1", 1, 1),   // new
		msg(a, 0, "n1", 1, 1),   // duplicate within the batch
		msg(a, 1, "own1", 2, 1), // fills the owner-only quota
		msg(a, 1, "own2", 3, 1), // owner-only namespace over quota: refused
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{false, true, false, true, false}
	for i, r := range res {
		if r.Added != want[i] {
			t.Errorf("result %d: Added %v, want %v", i, r.Added, want[i])
		}
	}
	if !errors.Is(res[4].Err, store.ErrAccountQuota) || res[0].Err != nil {
		t.Fatalf("results = %+v", res)
	}

	// An invalid message fails the whole batch before anything is written.
	if _, err := db.PutBatch(ctx, []store.Message{msg(acct(2), 0, "x", 0, 1), {}}); err == nil {
		t.Fatal("PutBatch accepted an invalid message")
	}
	if st, _ := db.Stats(ctx); st.Messages != 3 {
		t.Fatalf("Stats.Messages = %d, want 3", st.Messages)
	}
}

func TestClosed(t *testing.T) {
	a := acct(1)
	ctx := context.Background()
	db := openTest(t)
	mustPut(t, db, msg(a, 0, "h", 0, 1))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Put":           func() error { _, err := db.Put(ctx, msg(a, 0, "h2", 0, 1)); return err },
		"PutBatch":      func() error { _, err := db.PutBatch(ctx, []store.Message{msg(a, 0, "h2", 0, 1)}); return err },
		"List":          func() error { _, _, err := db.List(ctx, store.Query{Account: a, Now: t0}); return err },
		"Delete":        func() error { _, err := db.Delete(ctx, a, []string{"h"}); return err },
		"DeleteBefore":  func() error { _, err := db.DeleteBefore(ctx, a, nil, t0); return err },
		"Deleted":       func() error { _, err := db.Deleted(ctx, a, "h"); return err },
		"SetExpiry":     func() error { _, err := db.SetExpiry(ctx, a, []string{"h"}, t0, 0, t0); return err },
		"SetExpiryAll":  func() error { _, err := db.SetExpiryAll(ctx, a, nil, t0, 0, t0); return err },
		"Expiries":      func() error { _, err := db.Expiries(ctx, a, []string{"h"}, t0); return err },
		"Sweep":         func() error { _, err := db.Sweep(ctx, t0); return err },
		"Stats":         func() error { _, err := db.Stats(ctx); return err },
		"Hashes":        func() error { _, err := db.Hashes(ctx, a, nil, t0); return err },
		"AccountDigest": func() error { _, _, err := db.AccountDigest(ctx, a, t0); return err },
		"Tombstones":    func() error { _, err := db.Tombstones(ctx, a, t0); return err },
		"ApplyTombstones": func() error {
			_, err := db.ApplyTombstones(ctx, a, []store.HashInfo{{Hash: "h", Expiry: t0}})
			return err
		},
		"RunSweeper": func() error { return db.RunSweeper(ctx, time.Millisecond, func() time.Time { return t0 }) },
		"Close":      db.Close,
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, store.ErrClosed) {
				t.Fatalf("%s after Close: %v, want ErrClosed", name, err)
			}
		})
	}
}

func TestReopen(t *testing.T) {
	a := acct(1)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, msg(a, 0, "one", 1, 10), msg(a, 0, "two", 2, 10), msg(a, 0, "gone", 3, 10))
	db.Delete(ctx, a, []string{"gone"})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := listAll(t, db, a, 0, 10, t0); !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("after reopen List = %v", got)
	}
	if added, _ := db.Put(ctx, msg(a, 0, "gone", 3, 10)); added {
		t.Fatal("tombstone lost across reopen")
	}
	if st, _ := db.Stats(ctx); st != (store.Stats{Messages: 2, Bytes: 20, Accounts: 1}) {
		t.Fatalf("Stats after reopen = %+v", st)
	}
}

func TestRunSweeper(t *testing.T) {
	a := acct(1)
	db := openTest(t)
	m := msg(a, 0, "h", 0, 1)
	mustPut(t, db, m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- db.RunSweeper(ctx, time.Millisecond, func() time.Time { return m.Expiry })
	}()
	for {
		st, err := db.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Messages == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunSweeper after cancel = %v, want nil", err)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	db, err := Open(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- db.RunSweeper(ctx, time.Millisecond, func() time.Time { return t0 }) }()
	mustPut(t, db, msg(acct(1), 0, "h", 0, 10))
	listAll(t, db, acct(1), 0, 10, t0)
	cancel()
	<-done
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// database/sql's goroutines end shortly after Close, not during it.
	for range 200 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Fatalf("%d goroutines before Open, %d after Close:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
}

// TestPutDuplicate: a duplicate with a later expiry extends the stored
// one (Session's store answers "extended"), never shortens it; a
// duplicate of a deleted message stays deleted, is reported by Deleted,
// and makes the tombstone live as long as the copy it refused.
func TestPutDuplicate(t *testing.T) {
	a := acct(1)
	base := msg(a, 0, "m", 10, 5)
	later := func(d time.Duration) store.Message { m := base; m.Expiry = base.Expiry.Add(d); return m }
	tests := []struct {
		name       string
		deleted    bool
		put        store.Message
		wantExpiry time.Time // of the message, or of its tombstone when deleted
	}{
		{name: "longer ttl extends", put: later(time.Hour), wantExpiry: base.Expiry.Add(time.Hour)},
		{name: "shorter ttl keeps", put: later(-30 * time.Minute), wantExpiry: base.Expiry},
		{name: "same ttl keeps", put: base, wantExpiry: base.Expiry},
		{name: "deleted stays deleted", deleted: true, put: base, wantExpiry: base.Expiry},
		{name: "deleted, longer ttl extends the tombstone", deleted: true, put: later(time.Hour), wantExpiry: base.Expiry.Add(time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openTest(t)
			mustPut(t, db, base)
			if tt.deleted {
				if _, err := db.Delete(ctx, a, []string{"m"}); err != nil {
					t.Fatal(err)
				}
			}
			if added, err := db.Put(ctx, tt.put); added || err != nil {
				t.Fatalf("Put of a duplicate = %v, %v; want false, nil", added, err)
			}
			gone, err := db.Deleted(ctx, a, "m")
			if err != nil || gone != tt.deleted {
				t.Fatalf("Deleted = %v, %v; want %v", gone, err, tt.deleted)
			}
			if tt.deleted {
				ts, err := db.Tombstones(ctx, a, t0)
				if err != nil || len(ts) != 1 || !ts[0].Expiry.Equal(tt.wantExpiry) {
					t.Fatalf("Tombstones = %+v, %v; want expiry %v", ts, err, tt.wantExpiry)
				}
				if got := listAll(t, db, a, 0, 10, t0); len(got) != 0 {
					t.Fatalf("deleted message came back: %v", got)
				}
				return
			}
			exp, err := db.Expiries(ctx, a, []string{"m"}, t0)
			if err != nil || !exp["m"].Equal(tt.wantExpiry) {
				t.Fatalf("Expiries = %v, %v; want %v", exp, err, tt.wantExpiry)
			}
		})
	}
	t.Run("never stored is not deleted", func(t *testing.T) {
		db := openTest(t)
		if gone, err := db.Deleted(context.Background(), a, "nope"); gone || err != nil {
			t.Fatalf("Deleted = %v, %v", gone, err)
		}
	})
}

// TestPutRefusedKeepsUsage: a duplicate and a deleted message's hash,
// put again while the account has room (Put's one-statement path), are
// refused without counting against the quota; the last free place still
// takes a new message, and the next is over the quota.
func TestPutRefusedKeepsUsage(t *testing.T) {
	ctx := context.Background()
	a := acct(1)
	db := openTest(t, WithAccountQuota(1<<20, 3))
	mustPut(t, db, msg(a, 1, "kept", 0, 10), msg(a, 1, "gone", 1, 10))
	if _, err := db.Delete(ctx, a, []string{"gone"}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []store.Message{msg(a, 1, "kept", 0, 10), msg(a, 1, "gone", 1, 10), msg(a, 1, "kept", 0, 10)} {
		if added, err := db.Put(ctx, m); added || err != nil {
			t.Fatalf("Put(%s) again = %v, %v; want false, nil", m.Hash, added, err)
		}
	}
	if st, err := db.Stats(ctx); err != nil || st != (store.Stats{Messages: 1, Bytes: 10, Accounts: 1}) {
		t.Fatalf("Stats = %+v, %v", st, err)
	}
	mustPut(t, db, msg(a, 1, "new1", 2, 10), msg(a, 1, "new2", 3, 10))
	if _, err := db.Put(ctx, msg(a, 1, "new3", 4, 10)); !errors.Is(err, store.ErrAccountQuota) {
		t.Fatalf("Put over the quota = %v, want ErrAccountQuota", err)
	}
	res, err := db.PutBatch(ctx, []store.Message{msg(a, 1, "kept", 0, 10), msg(a, 1, "gone", 1, 10)})
	if err != nil || res[0].Added || res[1].Added || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("PutBatch of refused hashes on a full account = %+v, %v", res, err)
	}
}
