package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/store"
)

func TestQuota(t *testing.T) {
	a := acct(1)
	// Each case starts with the account holding old0..old2 (10 bytes each,
	// stamped 10, 20, 30) in namespace n, under a quota of 3 messages.
	tests := []struct {
		name    string
		n       int32 // namespace of the seed messages
		policy  FloodPolicy
		put     store.Message
		wantErr error
		want    []string // namespace n afterwards
	}{
		{name: "public evicts oldest", n: 0, policy: EvictOldest, put: msg(a, 0, "new", 40, 10),
			want: []string{"old1", "old2", "new"}},
		{name: "public evicts older than new only", n: 0, policy: EvictOldest, put: msg(a, 0, "mid", 15, 10),
			want: []string{"mid", "old1", "old2"}},
		{name: "public refuses message older than all", n: 0, policy: EvictOldest, put: msg(a, 0, "ancient", 5, 10),
			wantErr: store.ErrAccountQuota, want: []string{"old0", "old1", "old2"}},
		{name: "negative public namespace evicts", n: -10, policy: EvictOldest, put: msg(a, -10, "new", 40, 10),
			want: []string{"old1", "old2", "new"}},
		{name: "public refuse policy", n: 0, policy: Refuse, put: msg(a, 0, "new", 40, 10),
			wantErr: store.ErrAccountQuota, want: []string{"old0", "old1", "old2"}},
		{name: "owner-only never evicted", n: 3, policy: EvictOldest, put: msg(a, 3, "new", 40, 10),
			wantErr: store.ErrAccountQuota, want: []string{"old0", "old1", "old2"}},
		{name: "public put evicts nothing of a full owner-only quota", n: 3, policy: EvictOldest, put: msg(a, 0, "new", 40, 10),
			want: []string{"old0", "old1", "old2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openTest(t, WithAccountQuota(1000, 3), WithPublicQuota(1000, 3), WithFloodPolicy(tt.policy))
			mustPut(t, db, msg(a, tt.n, "old0", 10, 10), msg(a, tt.n, "old1", 20, 10), msg(a, tt.n, "old2", 30, 10))
			added, err := db.Put(ctx, tt.put)
			if !errors.Is(err, tt.wantErr) || added != (tt.wantErr == nil) {
				t.Fatalf("Put = %v, %v; want error %v", added, err, tt.wantErr)
			}
			if got := listAll(t, db, a, tt.n, 10, t0); !slices.Equal(got, tt.want) {
				t.Fatalf("namespace %d holds %v, want %v", tt.n, got, tt.want)
			}
			st, _ := db.Stats(ctx)
			if want := int64(len(tt.want)) + int64(btoi(tt.put.Namespace != tt.n && added)); st.Messages != want {
				t.Fatalf("account holds %d messages, want %d", st.Messages, want)
			}
		})
	}
}

func TestQuotaBytes(t *testing.T) {
	a := acct(1)
	ctx := context.Background()
	db := openTest(t, WithPublicQuota(100, 1000))
	mustPut(t, db, msg(a, 0, "a", 1, 40), msg(a, 0, "b", 2, 40), msg(a, 0, "c", 3, 10))

	// 90 held + 50 new needs 40 freed: evicting "a" alone frees exactly 40.
	mustPut(t, db, msg(a, 0, "d", 4, 50))
	if got := listAll(t, db, a, 0, 10, t0); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Fatalf("after byte eviction = %v", got)
	}
	if db.Evicted() != 1 {
		t.Fatalf("Evicted() = %d, want 1", db.Evicted())
	}
	if _, err := db.Put(ctx, msg(a, 0, "huge", 9, 101)); !errors.Is(err, store.ErrAccountQuota) {
		t.Fatalf("Put larger than the quota = %v", err)
	}
	if st, _ := db.Stats(ctx); st.Bytes != 100 {
		t.Fatalf("Stats.Bytes = %d, want 100", st.Bytes)
	}
}

// An over-quota account's expired but unswept messages make room before
// anything live is evicted or refused.
func TestQuotaFreesExpired(t *testing.T) {
	a := acct(1)
	now := at(0)
	db := openTest(t, WithAccountQuota(0, 2), WithFloodPolicy(Refuse), WithClock(func() time.Time { return now }))
	dying := msg(a, 5, "dying", 0, 1)
	dying.Expiry = at(100)
	mustPut(t, db, dying, msg(a, 5, "live", 1, 1))
	if _, err := db.Put(context.Background(), msg(a, 5, "new", 2, 1)); !errors.Is(err, store.ErrAccountQuota) {
		t.Fatalf("Put over quota = %v", err)
	}
	now = at(100)
	mustPut(t, db, msg(a, 5, "new", 2, 1))
	if got := listAll(t, db, a, 5, 10, now); !slices.Equal(got, []string{"live", "new"}) {
		t.Fatalf("namespace holds %v", got)
	}
}

// A flood into one public inbox stays within that account's quota: the
// node keeps serving the victim's newest mail and every other account.
func TestFlood(t *testing.T) {
	victim, bystander := acct(1), acct(2)
	const quota, spam = 20, 200
	for _, policy := range []FloodPolicy{EvictOldest, Refuse} {
		t.Run(fmt.Sprintf("policy=%d", policy), func(t *testing.T) {
			ctx := context.Background()
			db := openTest(t, WithPublicQuota(1<<20, quota), WithFloodPolicy(policy))
			mustPut(t, db, msg(victim, 0, "real-early", 0, 100), msg(victim, 3, "config", 0, 100), msg(bystander, 0, "mail", 0, 100))
			refused := 0
			for i := range spam {
				_, err := db.Put(ctx, msg(victim, 0, fmt.Sprintf("spam%04d", i), 1+i, 100))
				switch {
				case errors.Is(err, store.ErrAccountQuota):
					refused++
				case err != nil:
					t.Fatal(err)
				}
			}
			real := msg(victim, 0, "real-late", 5000, 100)
			added, err := db.Put(ctx, real)

			inbox := listAll(t, db, victim, 0, 1000, t0)
			if len(inbox) != quota { // the owner's config takes no slot of it
				t.Fatalf("inbox holds %d messages, want %d", len(inbox), quota)
			}
			if got := listAll(t, db, victim, 3, 10, t0); len(got) != 1 {
				t.Fatal("flood evicted the owner's own namespace")
			}
			if got := listAll(t, db, bystander, 0, 10, t0); len(got) != 1 {
				t.Fatal("flood touched another account")
			}
			switch policy {
			case EvictOldest:
				if err != nil || !added || inbox[len(inbox)-1] != "real-late" || slices.Contains(inbox, "real-early") {
					t.Fatalf("evict: late mail %v, %v; inbox ends %v", added, err, inbox[len(inbox)-3:])
				}
				if refused != 0 {
					t.Fatalf("evict policy refused %d", refused)
				}
			case Refuse:
				if !errors.Is(err, store.ErrAccountQuota) || inbox[0] != "real-early" {
					t.Fatalf("refuse: late mail %v, %v; inbox starts %v", added, err, inbox[:3])
				}
				// The inbox filled up with real-early and quota-1 spam.
				if refused != spam-(quota-1) {
					t.Fatalf("refused %d", refused)
				}
			}
		})
	}
}

// fillUntilFull puts 8 KiB messages until Put fails and returns the hashes
// acknowledged before that and the error.
func fillUntilFull(t *testing.T, db *DB, limit int) ([]string, error) {
	t.Helper()
	var acked []string
	for i := range limit {
		// Many accounts, so the account quota is not what stops it.
		m := msg(acct(byte(i%200)), 0, fmt.Sprintf("h%06d", i), i, 8<<10)
		added, err := db.Put(context.Background(), m)
		if err != nil {
			return acked, err
		}
		if !added {
			t.Fatalf("Put(%s) not added", m.Hash)
		}
		acked = append(acked, m.Hash)
	}
	t.Fatalf("store did not fill up after %d messages", limit)
	return nil, nil
}

// checkUsable asserts that every acknowledged message is there, the file
// passes integrity_check, and deletes and sweeps still work.
func checkUsable(t *testing.T, db *DB, acked []string) {
	t.Helper()
	ctx := context.Background()
	st, err := db.Stats(ctx)
	if err != nil || st.Messages != int64(len(acked)) {
		t.Fatalf("Stats = %+v, %v; want %d messages", st, err, len(acked))
	}
	for i, h := range acked {
		exp, err := db.Expiries(ctx, acct(byte(i%200)), []string{h}, t0)
		if err != nil || len(exp) != 1 {
			t.Fatalf("acknowledged %s missing: %v %v", h, exp, err)
		}
	}
	var res string
	if err := db.r.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check = %q, %v", res, err)
	}
}

func TestTotalCap(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, WithMaxTotalBytes(1<<20))
	acked, err := fillUntilFull(t, db, 10_000)
	if !errors.Is(err, store.ErrStoreFull) {
		t.Fatalf("Put at the cap = %v, want ErrStoreFull", err)
	}
	if len(acked) < 50 {
		t.Fatalf("only %d messages of 8 KiB fit in 1 MiB", len(acked))
	}
	// A batch at the cap fails whole.
	if _, err := db.PutBatch(ctx, []store.Message{msg(acct(250), 0, "b1", 0, 10), msg(acct(250), 0, "b2", 0, 8<<10)}); !errors.Is(err, store.ErrStoreFull) {
		t.Fatalf("PutBatch at the cap = %v", err)
	}
	checkUsable(t, db, acked)

	// Deleting frees pages that the next Put reuses.
	gone, err := db.Delete(ctx, acct(0), []string{acked[0]})
	if err != nil || len(gone) != 1 {
		t.Fatalf("Delete at the cap = %v, %v", gone, err)
	}
	if n, err := db.Sweep(ctx, at(len(acked)/2).Add(time.Hour)); err != nil || n == 0 {
		t.Fatalf("Sweep at the cap = %d, %v", n, err)
	}
	mustPut(t, db, msg(acct(1), 0, "after", 1e6, 8<<10))
}

// TestDiskFull fills a real 1 MiB tmpfs. It needs root (mount) and skips
// elsewhere; TestTotalCap covers the same error path through max_page_count.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })

	// Ballast to free later, showing that the store recovers once the disk
	// has room again.
	ballast := filepath.Join(dir, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 256<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "store.db")
	db, err := Open(path, WithMaxTotalBytes(-1), WithClock(func() time.Time { return t0 }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // before the umount, even if the test fails
	acked, err := fillUntilFull(t, db, 10_000)
	if !errors.Is(err, store.ErrStoreFull) {
		t.Fatalf("Put on a full disk = %v, want ErrStoreFull", err)
	}
	t.Logf("%d messages acknowledged before: %v", len(acked), err)
	checkUsable(t, db, acked)
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	more := msg(acct(byte(len(acked)%200)), 0, "after-ballast", 1e6, 8<<10)
	mustPut(t, db, more)
	acked = append(acked, more.Hash)
	checkUsable(t, db, acked)
	if err := db.Close(); err != nil {
		t.Logf("Close on a full disk: %v", err) // the final checkpoint may not fit
	}

	db2, err := Open(path, WithMaxTotalBytes(-1))
	if err != nil {
		t.Fatalf("reopen after disk full: %v", err)
	}
	t.Cleanup(func() { db2.Close() })
	db = db2
	checkUsable(t, db, acked)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestQuotaBuckets: each public namespace has a quota of its own, and all
// owner-only namespaces share one that no deposit by a stranger counts
// against, so a flood can never leave the owner without room (issue: a
// flood of namespace 10 made every owner write fail quota_exceeded).
func TestQuotaBuckets(t *testing.T) {
	a := acct(1)
	type put struct {
		ns      int32
		wantErr error
	}
	tests := []struct {
		name string
		seed []store.Message // stored first, must fit
		puts []put
	}{
		{name: "public flood leaves the owner room",
			seed: []store.Message{msg(a, 0, "s0", 1, 1), msg(a, 0, "s1", 2, 1), msg(a, 0, "s2", 3, 1)},
			puts: []put{{0, nil}, {0, nil}, {1, nil}, {2, nil}, {3, nil}}},
		{name: "full owner quota does not block deposits",
			seed: []store.Message{msg(a, 1, "o1", 1, 1), msg(a, 2, "o2", 2, 1), msg(a, 8, "o8", 3, 1)},
			puts: []put{{0, nil}, {10, nil}, {7, store.ErrAccountQuota}}},
		{name: "owner-only namespaces share one quota",
			seed: []store.Message{msg(a, 1, "o1", 1, 1), msg(a, 3, "o3", 2, 1)},
			puts: []put{{7, nil}, {8, store.ErrAccountQuota}, {2, store.ErrAccountQuota}}},
		{name: "each public namespace its own quota",
			seed: []store.Message{msg(a, 0, "s0", 1, 1), msg(a, 0, "s1", 2, 1), msg(a, 0, "s2", 3, 1)},
			puts: []put{{10, nil}, {10, nil}, {10, nil}, {-10, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openTest(t, WithAccountQuota(1000, 3), WithPublicQuota(1000, 3))
			mustPut(t, db, tt.seed...)
			owner := map[string]bool{}
			for _, m := range tt.seed {
				if !isPublic(m.Namespace) {
					owner[m.Hash] = true
				}
			}
			for i, p := range tt.puts {
				m := msg(a, p.ns, fmt.Sprintf("p%d", i), 100+i, 1)
				added, err := db.Put(ctx, m)
				if !errors.Is(err, p.wantErr) || added != (p.wantErr == nil) {
					t.Fatalf("put %d into %d = %v, %v; want %v", i, p.ns, added, err, p.wantErr)
				}
				if added && !isPublic(p.ns) {
					owner[m.Hash] = true
				}
			}
			// Nothing the owner wrote was evicted.
			for _, n := range []int32{1, 2, 3, 7, 8} {
				for _, h := range listAll(t, db, a, n, 10, t0) {
					delete(owner, h)
				}
			}
			if len(owner) != 0 {
				t.Fatalf("owner messages lost: %v", owner)
			}
		})
	}
}

// TestExpiryCapped: no expiry change, by expire or by a duplicate store,
// takes a message past its deposit timestamp plus the longest TTL its
// namespace allows (14 days public, 30 days owner-only by default): the
// forward-secrecy window of DESIGN.md §6 counts on that bound.
func TestExpiryCapped(t *testing.T) {
	a := acct(1)
	const day = 24 * time.Hour
	tests := []struct {
		name string
		ns   int32
		ask  time.Duration // after the deposit timestamp
		dup  bool          // by a duplicate store instead of SetExpiry
		want time.Duration
	}{
		{name: "public extend capped", ns: 0, ask: 20 * day, want: 14 * day},
		{name: "public within", ns: 0, ask: 13 * day, want: 13 * day},
		{name: "owner-only extend capped", ns: 1, ask: 40 * day, want: 30 * day},
		{name: "owner-only within", ns: 1, ask: 20 * day, want: 20 * day},
		{name: "public duplicate capped", ns: 0, ask: 20 * day, dup: true, want: 14 * day},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openTest(t)
			m := msg(a, tt.ns, "m", 0, 1)
			mustPut(t, db, m)
			if tt.dup {
				d := m
				d.Expiry = m.Timestamp.Add(tt.ask)
				if _, err := db.Put(ctx, d); err != nil {
					t.Fatal(err)
				}
			} else {
				got, err := db.SetExpiry(ctx, a, []string{"m"}, m.Timestamp.Add(tt.ask), store.ExpiryExtend, t0)
				if err != nil || !got["m"].Equal(m.Timestamp.Add(tt.want)) {
					t.Fatalf("SetExpiry = %v, %v; want %v", got, err, m.Timestamp.Add(tt.want))
				}
			}
			exp, err := db.Expiries(ctx, a, []string{"m"}, t0)
			if err != nil || !exp["m"].Equal(m.Timestamp.Add(tt.want)) {
				t.Fatalf("expiry %v, %v; want %v", exp["m"], err, m.Timestamp.Add(tt.want))
			}
			limit := 30 * day
			if tt.ns%10 == 0 {
				limit = 14 * day
			}
			all, err := db.SetExpiryAll(ctx, a, nil, m.Timestamp.Add(60*day), store.ExpiryExtend, t0)
			if err != nil || !all["m"].Equal(m.Timestamp.Add(limit)) {
				t.Fatalf("SetExpiryAll = %v, %v; want %v", all, err, m.Timestamp.Add(limit))
			}
		})
	}
}
