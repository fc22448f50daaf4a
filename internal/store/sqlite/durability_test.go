package sqlite

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/schema"
	"github.com/hushnet/hush/internal/store"
)

func TestConcurrent(t *testing.T) {
	const writers, readers, perWriter = 8, 8, 40
	ctx := context.Background()
	db := openTest(t, WithReaders(4))
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := range writers {
		wg.Go(func() {
			a := acct(byte(w % 3)) // writers share accounts
			for i := range perWriter {
				m := msg(a, 0, fmt.Sprintf("w%d-%03d", w, i), i, 64)
				if added, err := db.Put(ctx, m); err != nil || !added {
					errs <- fmt.Errorf("Put %s: %v, %v", m.Hash, added, err)
					return
				}
				if i%10 == 0 {
					if _, err := db.Delete(ctx, a, []string{m.Hash}); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	for r := range readers {
		wg.Go(func() {
			for range perWriter {
				msgs, _, err := db.List(ctx, store.Query{Account: acct(byte(r % 3)), Now: t0, Limit: 50})
				if err != nil {
					errs <- err
					return
				}
				for i := 1; i < len(msgs); i++ {
					p, c := msgs[i-1], msgs[i]
					if c.Timestamp.Before(p.Timestamp) || (c.Timestamp.Equal(p.Timestamp) && c.Hash <= p.Hash) {
						errs <- fmt.Errorf("List out of order: %s then %s", p.Hash, c.Hash)
						return
					}
				}
				if _, err := db.Stats(ctx); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := int64(writers * (perWriter - perWriter/10))
	if st, _ := db.Stats(ctx); st.Messages != want {
		t.Fatalf("Stats.Messages = %d, want %d", st.Messages, want)
	}
}

// Close waits for calls in flight; calls racing with it either finish or
// return ErrClosed.
func TestCloseRacesCalls(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				_, err := db.Put(ctx, msg(acct(1), 0, fmt.Sprintf("g%d-%d", g, i), i, 10))
				if errors.Is(err, store.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

func schemaDump(t *testing.T, path string) string {
	t.Helper()
	c, err := sql.Open("sqlite", schema.FileURI(path, url.Values{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var v int
	c.QueryRow("PRAGMA user_version").Scan(&v)
	rows, err := c.Query("SELECT type, name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "user_version %d\n", v)
	for rows.Next() {
		var typ, name, s string
		rows.Scan(&typ, &name, &s)
		fmt.Fprintf(&b, "%s %s %s\n", typ, name, s)
	}
	return b.String()
}

func TestMigration(t *testing.T) {
	ctx := context.Background()
	a := acct(1)
	path := filepath.Join(t.TempDir(), "store.db")

	// A file as a binary that knew only the first migration left it.
	v1 := &DB{cfg: config{targetVersion: 1, logger: slog.New(slog.DiscardHandler)}}
	if _, err := v1.migrate(schema.FileURI(path, url.Values{"_pragma": {"journal_mode(WAL)"}})); err != nil {
		t.Fatal(err)
	}
	c, err := sql.Open("sqlite", schema.FileURI(path, url.Values{}))
	if err != nil {
		t.Fatal(err)
	}
	m := msg(a, 0, "old", 1, 10)
	if _, err := c.Exec(`INSERT INTO accounts (id, account) VALUES (1, ?)`, a[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(`
		INSERT INTO messages (account_id, namespace, hash, timestamp, expiry, size, data)
		VALUES (1, 0, 'old', ?, ?, 10, ?)`, ms(m.Timestamp), ms(m.Expiry), m.Data); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if v1 := schemaDump(t, path); !strings.HasPrefix(v1, "user_version 1\n") || strings.Contains(v1, "tombstones") {
		t.Fatalf("version 1 schema:\n%s", v1)
	}

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, db, a, 0, 10, t0); len(got) != 1 || got[0] != "old" {
		t.Fatalf("message lost in migration: %v", got)
	}
	if _, err := db.Delete(ctx, a, []string{"old"}); err != nil {
		t.Fatal(err)
	}
	if added, err := db.Put(ctx, msg(a, 0, "old", 1, 10)); added || err != nil {
		t.Fatalf("Put after delete on migrated file = %v, %v", added, err)
	}
	db.Close()
	all, err := schema.Migrations(migrationFiles, "sql/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	v2 := schemaDump(t, path)
	if !strings.HasPrefix(v2, fmt.Sprintf("user_version %d\n", len(all))) {
		t.Fatalf("migrated schema:\n%s", v2)
	}

	// Opening a current file changes nothing.
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if again := schemaDump(t, path); again != v2 {
		t.Fatalf("reopen changed the schema:\n%s\nwas\n%s", again, v2)
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup string
		want  error
	}{
		{name: "newer schema", setup: fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = 99", applicationID), want: schema.ErrNewerSchema},
		{name: "other application", setup: "PRAGMA application_id = 7; CREATE TABLE t (x)", want: schema.ErrForeignDatabase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "store.db")
			c, err := sql.Open("sqlite", schema.FileURI(path, url.Values{}))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Exec(tt.setup); err != nil {
				t.Fatal(err)
			}
			c.Close()
			before := schemaDump(t, path)
			if db, err := Open(path); !errors.Is(err, tt.want) {
				if db != nil {
					db.Close()
				}
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
			if after := schemaDump(t, path); after != before {
				t.Fatalf("refused Open changed the file:\n%s", after)
			}
		})
	}
}

// List must page off messages_list without sorting, or a large inbox makes
// every retrieve a sort of the whole namespace.
func TestListQueryPlan(t *testing.T) {
	db := openTest(t)
	rows, err := db.r.Query(`EXPLAIN QUERY PLAN
		SELECT hash, timestamp, expiry, data FROM messages
		WHERE account_id = (SELECT id FROM accounts WHERE account = ?)
		  AND namespace = ? AND (timestamp, hash) > (?, ?) AND expiry > ?
		ORDER BY timestamp, hash LIMIT ?`, make([]byte, 33), 0, 0, "", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		rows.Scan(&id, &parent, &notused, &detail)
		plan.WriteString(detail + "\n")
	}
	p := plan.String()
	if !strings.Contains(p, "USING INDEX messages_list (account_id=? AND namespace=? AND (timestamp,hash)>(?,?))") ||
		strings.Contains(p, "TEMP B-TREE") {
		t.Fatalf("List plan does not range over messages_list:\n%s", p)
	}
}

const crashEnv = "HUSH_STORE_CRASH_DB"

// TestCrashChild is the child of TestCrash: it stores messages forever and
// prints each hash once Put returned, until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestCrash")
	}
	db, err := Open(path, WithClock(func() time.Time { return t0 }))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		m := msg(acct(byte(i%7)), int32(i%3), fmt.Sprintf("crash%07d", i), i, 200+i%1000)
		if added, err := db.Put(context.Background(), m); err != nil || !added {
			t.Fatalf("Put: %v %v", added, err)
		}
		fmt.Fprintf(os.Stdout, "ACK %d %s\n", i, m.Hash)
	}
}

// TestCrash kills -9 a process in the middle of a stream of Puts and checks
// that every Put it acknowledged is in the file.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := filepath.Join(t.TempDir(), "store.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type ack struct {
		i    int
		hash string
	}
	var acks []ack
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		var a ack
		if _, err := fmt.Sscanf(sc.Text(), "ACK %d %s", &a.i, &a.hash); err != nil {
			continue // the test framework's own output
		}
		acks = append(acks, a)
		if len(acks) == 150 && !killed {
			// SIGKILL: no deferred Close, no final checkpoint.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("child exited after %d acknowledgements", len(acks))
	}
	t.Logf("%d acknowledged before kill -9", len(acks))

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, a := range acks {
		exp, err := db.Expiries(context.Background(), acct(byte(a.i%7)), []string{a.hash}, t0)
		if err != nil || len(exp) != 1 {
			t.Fatalf("acknowledged %s lost after kill -9 (%v)", a.hash, err)
		}
	}
	var res string
	if err := db.r.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check = %q, %v", res, err)
	}
}

// TestMigrationUsage: version 3 fills the per-bucket usage from the
// messages a version 2 file holds, so quotas hold at once after upgrade.
func TestMigrationUsage(t *testing.T) {
	ctx := context.Background()
	a := acct(1)
	path := filepath.Join(t.TempDir(), "store.db")
	v2 := &DB{cfg: config{targetVersion: 2, logger: slog.New(slog.DiscardHandler)}}
	if _, err := v2.migrate(schema.FileURI(path, url.Values{"_pragma": {"journal_mode(WAL)"}})); err != nil {
		t.Fatal(err)
	}
	c, err := sql.Open("sqlite", schema.FileURI(path, url.Values{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(`INSERT INTO accounts (id, account) VALUES (1, ?)`, a[:]); err != nil {
		t.Fatal(err)
	}
	for i, m := range []store.Message{msg(a, 0, "p0", 1, 10), msg(a, 0, "p1", 2, 10), msg(a, 1, "o1", 3, 5), msg(a, 3, "o3", 4, 5), msg(a, -10, "n", 5, 7)} {
		if _, err := c.Exec(`
			INSERT INTO messages (account_id, namespace, hash, timestamp, expiry, size, data)
			VALUES (1, ?, ?, ?, ?, ?, ?)`, m.Namespace, m.Hash, ms(m.Timestamp), ms(m.Expiry), len(m.Data), m.Data); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	c.Close()

	db, err := Open(path, WithAccountQuota(0, 2), WithPublicQuota(0, 2), WithClock(func() time.Time { return t0 }))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := map[int64][2]int64{}
	rows, err := db.r.QueryContext(ctx, `SELECT bucket, messages, bytes FROM usage WHERE account_id = 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b, n, sz int64
		rows.Scan(&b, &n, &sz)
		got[b] = [2]int64{n, sz}
	}
	rows.Close()
	want := map[int64][2]int64{0: {2, 20}, ownerBucket: {2, 10}, -10: {1, 7}}
	if !maps.Equal(got, want) {
		t.Fatalf("usage after migration = %v, want %v", got, want)
	}
	if _, err := db.Put(ctx, msg(a, 8, "o8", 6, 1)); !errors.Is(err, store.ErrAccountQuota) {
		t.Fatalf("owner-only Put over the migrated quota = %v", err)
	}
	if added, err := db.Put(ctx, msg(a, 0, "p2", 7, 1)); !added || err != nil {
		t.Fatalf("public Put (evicting) = %v, %v", added, err)
	}
	if got := listAll(t, db, a, 0, 10, t0); !slices.Equal(got, []string{"p1", "p2"}) {
		t.Fatalf("namespace 0 = %v", got)
	}
}
