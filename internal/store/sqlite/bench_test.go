package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/schema"
	"github.com/hushnet/hush/internal/store"
)

// The benchmarks compare the store with a bare table on a file with the same
// pragmas: one prepared INSERT per transaction, and one prepared SELECT of a
// page over the index List uses. The difference is what the store adds:
// account rows, duplicate, tombstone and quota checks, counter triggers and
// two more indexes. Each benchmark times both in the same loop and reports
// store-ns/op, bare-ns/op and x-bare (their ratio); ns/op covers both.

const benchDataSize = 2 << 10 // a typical padded Session message

func openBare(b *testing.B, synchronous string) *sql.DB {
	b.Helper()
	q := url.Values{"_pragma": {
		fmt.Sprintf("busy_timeout(%d)", DefaultBusyTimeout.Milliseconds()),
		"foreign_keys(1)", "journal_mode(WAL)", "synchronous(" + synchronous + ")",
	}, "_txlock": {"immediate"}}
	c, err := sql.Open("sqlite", schema.FileURI(filepath.Join(b.TempDir(), "bare.db"), q))
	if err != nil {
		b.Fatal(err)
	}
	c.SetMaxOpenConns(1)
	b.Cleanup(func() { c.Close() })
	if _, err := c.Exec(`
		CREATE TABLE bare (account BLOB, namespace INTEGER, hash TEXT, timestamp INTEGER, expiry INTEGER, data BLOB);
		CREATE INDEX bare_list ON bare (account, namespace, timestamp, hash)`); err != nil {
		b.Fatal(err)
	}
	return c
}

func benchMsg(i int) store.Message {
	return msg(acct(byte(i%100)), 0, fmt.Sprintf("bench%09d", i), i, benchDataSize)
}

// pair runs storeOp and bareOp alternately b.N times and reports both,
// in wall time and in this process's CPU time (store-cpu-ns/op,
// bare-cpu-ns/op, cpu-x-bare): the fsync is off the CPU, and on a busy
// machine the wall time is mostly waiting for a core, so the CPU time is
// what shows the store's own work.
func pair(b *testing.B, perOp int, storeOp, bareOp func(i int)) {
	var ds, db, cs, cb time.Duration
	i := 0
	for b.Loop() {
		t, c := time.Now(), cpuTime()
		storeOp(i)
		ds += time.Since(t)
		cs += cpuTime() - c
		t, c = time.Now(), cpuTime()
		bareOp(i)
		db += time.Since(t)
		cb += cpuTime() - c
		i++
	}
	n := float64(i * perOp)
	b.ReportMetric(float64(ds.Nanoseconds())/n, "store-ns/op")
	b.ReportMetric(float64(db.Nanoseconds())/n, "bare-ns/op")
	b.ReportMetric(float64(ds)/math.Max(float64(db), 1), "x-bare")
	b.ReportMetric(float64(cs.Nanoseconds())/n, "store-cpu-ns/op")
	b.ReportMetric(float64(cb.Nanoseconds())/n, "bare-cpu-ns/op")
	b.ReportMetric(float64(cs)/math.Max(float64(cb), 1), "cpu-x-bare")
}

func bareInsert(b *testing.B, ins *sql.Stmt, m store.Message) {
	if _, err := ins.Exec(m.Account[:], m.Namespace, m.Hash, ms(m.Timestamp), ms(m.Expiry), m.Data); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPut: one message per transaction, as the store RPC does.
func BenchmarkPut(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("sync="+sync, func(b *testing.B) {
			db := openTest(b, withSynchronous(sync), WithAccountQuota(1<<40, 1<<40))
			bare := openBare(b, sync)
			ins, err := bare.Prepare(`INSERT INTO bare VALUES (?, ?, ?, ?, ?, ?)`)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			pair(b, 1, func(i int) {
				if _, err := db.Put(ctx, benchMsg(i)); err != nil {
					b.Fatal(err)
				}
			}, func(i int) { bareInsert(b, ins, benchMsg(i)) })
		})
	}
}

// BenchmarkBareInsert is the baseline alone.
func BenchmarkBareInsert(b *testing.B) {
	bare := openBare(b, "FULL")
	ins, err := bare.Prepare(`INSERT INTO bare VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		bareInsert(b, ins, benchMsg(i))
		i++
	}
}

// BenchmarkPutBatch measures group commit: n messages per transaction,
// reported per message against one bare INSERT per transaction.
func BenchmarkPutBatch(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			db := openTest(b, WithAccountQuota(1<<40, 1<<40))
			bare := openBare(b, "FULL")
			ins, err := bare.Prepare(`INSERT INTO bare VALUES (?, ?, ?, ?, ?, ?)`)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			batch := make([]store.Message, n)
			pair(b, n, func(i int) {
				for j := range batch {
					batch[j] = benchMsg(i*n + j)
				}
				if _, err := db.PutBatch(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}, func(i int) {
				for j := range n {
					bareInsert(b, ins, benchMsg(i*n+j))
				}
			})
		})
	}
}

const listSeed, listPage = 2000, 50

// seedList fills one account's namespace 0 with listSeed messages (and
// others' with as many) in both the store and a bare table.
func seedList(b *testing.B) (*DB, *sql.DB) {
	db := openTest(b, WithAccountQuota(1<<40, 1<<40))
	bare := openBare(b, "FULL")
	var batch []store.Message
	tx, err := bare.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := range 2 * listSeed {
		m := msg(acct(byte(i%2)), 0, fmt.Sprintf("list%09d", i), i/2, benchDataSize)
		batch = append(batch, m)
		if _, err := tx.Exec(`INSERT INTO bare VALUES (?, ?, ?, ?, ?, ?)`,
			m.Account[:], m.Namespace, m.Hash, ms(m.Timestamp), ms(m.Expiry), m.Data); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := db.PutBatch(context.Background(), batch); err != nil {
		b.Fatal(err)
	}
	return db, bare
}

// listCursor is the i-th page's starting point, spread over the inbox.
func listCursor(i int) int { return (i * 7919) % (listSeed - listPage) }

// BenchmarkList: a page of 50 from a 2,000-message inbox, at a cursor.
func BenchmarkList(b *testing.B) {
	db, bare := seedList(b)
	sel := bareSelect(b, bare)
	a := acct(0)
	ctx := context.Background()
	pair(b, 1, func(i int) {
		c := listCursor(i)
		msgs, _, err := db.List(ctx, store.Query{
			Account: a, Limit: listPage, Now: t0,
			After: store.Cursor{Timestamp: at(c), Hash: fmt.Sprintf("list%09d", 2*c)},
		})
		if err != nil || len(msgs) != listPage {
			b.Fatalf("List = %d, %v", len(msgs), err)
		}
	}, func(i int) { runBareSelect(b, sel, i) })
}

func bareSelect(b *testing.B, bare *sql.DB) *sql.Stmt {
	sel, err := bare.Prepare(`
		SELECT hash, timestamp, expiry, data FROM bare
		WHERE account = ? AND namespace = 0 AND (timestamp, hash) > (?, ?)
		ORDER BY timestamp, hash LIMIT ?`)
	if err != nil {
		b.Fatal(err)
	}
	return sel
}

func runBareSelect(b *testing.B, sel *sql.Stmt, i int) {
	c := listCursor(i)
	a := acct(0)
	rows, err := sel.Query(a[:], ms(at(c)), fmt.Sprintf("list%09d", 2*c), listPage)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var m store.Message
		var ts, exp int64
		if err := rows.Scan(&m.Hash, &ts, &exp, &m.Data); err != nil {
			b.Fatal(err)
		}
		n++
	}
	rows.Close()
	if n != listPage {
		b.Fatalf("bare select returned %d", n)
	}
}

// BenchmarkBareSelect is the List baseline alone.
func BenchmarkBareSelect(b *testing.B) {
	_, bare := seedList(b)
	sel := bareSelect(b, bare)
	i := 0
	for b.Loop() {
		runBareSelect(b, sel, i)
		i++
	}
}
