package nodeapi

import (
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/protocol/rpc"
)

// The benchmarks measure the handler against a baseline in the same run
// and report the ratio, as DESIGN.md §11 asks; absolute times depend on
// the disk and are not asserted anywhere. Each iteration times the handler
// and the baseline back to back, so background noise hits both.

// bareDB is the baseline: one plain SQLite table holding the same rows,
// with the store's durability settings (WAL, synchronous=FULL) and
// nothing else: no accounts table, triggers, quotas or tombstones.
func bareDB(b *testing.B) *sql.DB {
	dsn := "file:" + filepath.Join(b.TempDir(), "bare.db") + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE m (account BLOB, namespace INTEGER, hash TEXT, timestamp INTEGER, expiry INTEGER, data BLOB,
		PRIMARY KEY (account, hash)) WITHOUT ROWID;
		CREATE INDEX m_list ON m (account, namespace, timestamp, hash)`); err != nil {
		b.Fatal(err)
	}
	return db
}

const benchDataSize = 1024

func benchData(i int) []byte {
	d := make([]byte, benchDataSize)
	rand.Read(d)
	copy(d, fmt.Sprint(i))
	return d
}

// BenchmarkStore: an unauthenticated store into namespace 0 through the
// handler, against a bare single-row INSERT (its own commit, like each
// store) and, for the group-commit estimate, a bare INSERT batched 16 rows
// per transaction.
func BenchmarkStore(b *testing.B) {
	f := newFixture(b)
	bare := bareDB(b)
	acct := identity.NewAccount()
	now := f.clock().UnixMilli()
	bodies := make([][]byte, b.N)
	datas := make([][]byte, b.N)
	for i := range b.N {
		datas[i] = benchData(i)
		bodies[i] = reqBody(rpc.MethodStore, json.RawMessage(fmt.Sprintf(`{"pubkey":%q,"data":%q,"ttl":3600000,"timestamp":%d}`,
			acct.ID(), base64.StdEncoding.EncodeToString(datas[i]), now)))
	}
	insert := `INSERT OR IGNORE INTO m VALUES (?, 0, ?, ?, ?, ?)`
	var tHandler, tBare, tBatch time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if status, body := f.post(bodies[i]); status != 200 {
			b.Fatalf("store: %d %s", status, body)
		}
		t1 := time.Now()
		if _, err := bare.Exec(insert, idBytes(acct), rpc.MessageHash(acct.ID(), 0, datas[i]), now, now+3600000, datas[i]); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		tHandler += t1.Sub(t0)
		tBare += t2.Sub(t1)
	}
	// Group commit: the same rows again under other keys, 16 per commit.
	other := identity.NewAccount()
	for i := 0; i < b.N; i += 16 {
		t0 := time.Now()
		tx, err := bare.Begin()
		if err != nil {
			b.Fatal(err)
		}
		for j := i; j < min(i+16, b.N); j++ {
			if _, err := tx.Exec(insert, idBytes(other), rpc.MessageHash(other.ID(), 0, datas[j]), now, now+3600000, datas[j]); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		tBatch += time.Since(t0)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(tHandler.Nanoseconds())/n, "handler-ns/store")
	b.ReportMetric(float64(tBare.Nanoseconds())/n, "bare-ns/insert")
	b.ReportMetric(float64(tBatch.Nanoseconds())/n, "bare16-ns/insert")
	b.ReportMetric(float64(tHandler)/float64(tBare), "x-bare-insert")
	b.ReportMetric(float64(tHandler)/float64(tBatch), "x-bare16-insert")
}

// BenchmarkRetrieve: an authenticated retrieve of 10 messages of 1 KiB
// through the handler, against one Ed25519 verify plus a bare SELECT of
// the same rows.
func BenchmarkRetrieve(b *testing.B) {
	f := newFixture(b)
	bare := bareDB(b)
	acct := identity.NewAccount()
	for i := range 10 {
		d := benchData(i)
		f.storeMsg(b, acct, 1, string(d), time.Hour)
		ts := f.clock().UnixMilli()
		if _, err := bare.Exec(`INSERT INTO m VALUES (?, 1, ?, ?, ?, ?)`, idBytes(acct), rpc.MessageHash(acct.ID(), 1, d), ts, ts+3600000, d); err != nil {
			b.Fatal(err)
		}
	}
	// Each retrieve needs its own signature (the replay cache refuses
	// repeats), signed at the time the handler's clock will show.
	bodies := make([][]byte, b.N)
	sigMsgs := make([][]byte, b.N)
	sigs := make([][]byte, b.N)
	base := f.clock()
	for i := range b.N {
		now := base.Add(time.Duration(i) * time.Millisecond)
		p, err := nodeclient.SignDraft(acct, testNet, rpc.MethodRetrieve, json.RawMessage(`{"namespace":1}`), now)
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = reqBody(rpc.MethodRetrieve, p)
		sigMsgs[i] = rpc.SigRetrieve(testNet, 1, now)
		sigs[i] = acct.Sign(sigMsgs[i])
	}
	pub := ed25519.PublicKey(acct.Ed25519Public().Bytes())
	var tHandler, tBase time.Duration
	b.ResetTimer()
	for i := range b.N {
		f.mu.Lock()
		f.now = base.Add(time.Duration(i) * time.Millisecond)
		f.mu.Unlock()
		t0 := time.Now()
		status, body := f.post(bodies[i])
		t1 := time.Now()
		if status != 200 {
			b.Fatalf("retrieve: %d %s", status, body)
		}
		if !ed25519.Verify(pub, sigMsgs[i], sigs[i]) {
			b.Fatal("verify")
		}
		rows, err := bare.Query(`SELECT hash, timestamp, expiry, data FROM m WHERE account = ? AND namespace = 1 AND expiry > ?
			ORDER BY timestamp, hash LIMIT 256`, idBytes(acct), f.now.UnixMilli())
		if err != nil {
			b.Fatal(err)
		}
		k := 0
		for rows.Next() {
			var h string
			var ts, exp int64
			var d []byte
			rows.Scan(&h, &ts, &exp, &d)
			k++
		}
		rows.Close()
		t2 := time.Now()
		if k != 10 {
			b.Fatalf("bare select: %d rows", k)
		}
		tHandler += t1.Sub(t0)
		tBase += t2.Sub(t1)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(tHandler.Nanoseconds())/n, "handler-ns/retrieve")
	b.ReportMetric(float64(tBase.Nanoseconds())/n, "verify+select-ns")
	b.ReportMetric(float64(tHandler)/float64(tBase), "x-verify+select")
}

// BenchmarkVerify is one Ed25519 verification, for reference.
func BenchmarkVerify(b *testing.B) {
	acct := identity.NewAccount()
	msg := rpc.SigRetrieve(testNet, 1, time.Now())
	sig := acct.Sign(msg)
	pub := ed25519.PublicKey(acct.Ed25519Public().Bytes())
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("verify")
		}
	}
}

func idBytes(a *identity.Account) []byte { id := a.ID(); return id[:] }
