package clientdb

import (
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// benchBody is a typical chat message, about 100 bytes.
const benchBody = "Running ten minutes late, the train stopped outside the station again. Order for me if you get there first?"

func benchMessage(n int) Message {
	m := incoming(0, n, benchBody)
	binary.BigEndian.PutUint64(m.MessageID[:], uint64(n)+1)
	var h [32]byte
	binary.BigEndian.PutUint64(h[:], uint64(n)+1)
	m.SwarmHashes = []string{base64.RawStdEncoding.EncodeToString(h[:])}
	return m
}

// plainDB opens a SQLite file with the same pragmas and an unsealed table of
// the same shape: the baseline that shows what sealing and keyed hashes cost.
func plainDB(b *testing.B) *sql.DB {
	b.Helper()
	q := url.Values{"_pragma": {"busy_timeout(10000)", "secure_delete(1)", "journal_mode(WAL)", "synchronous(NORMAL)"}, "_txlock": {"immediate"}}
	u := url.URL{Scheme: "file", Path: filepath.Join(b.TempDir(), "plain.db"), RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	_, err = db.Exec(`CREATE TABLE messages(id INTEGER PRIMARY KEY, conv_id INTEGER, msg_id BLOB UNIQUE, sent_ms INTEGER,
			received_ms INTEGER, status INTEGER, body TEXT);
		CREATE INDEX messages_order ON messages(conv_id, sent_ms, msg_id);
		CREATE TABLE copies(hash TEXT PRIMARY KEY, message_id INTEGER)`)
	if err != nil {
		b.Fatal(err)
	}
	return db
}

func plainInsert(db *sql.DB, m Message) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRow("INSERT INTO messages(conv_id, msg_id, sent_ms, received_ms, status, body) VALUES (1, ?, ?, ?, 1, ?) RETURNING id",
		m.MessageID[:], toMS(m.SentAt), toMS(m.ReceivedAt), m.Body).Scan(&id); err != nil {
		return err
	}
	if _, err := tx.Exec("INSERT INTO copies(hash, message_id) VALUES (?, ?)", m.SwarmHashes[0], id); err != nil {
		return err
	}
	return tx.Commit()
}

// BenchmarkInsertMessage inserts one message per operation; ratio is its
// time over a plain unsealed insert of the same row measured in this run.
func BenchmarkInsertMessage(b *testing.B) {
	plain := plainDB(b)
	db, _ := openTest(b)
	mustInsertB(b, db, benchMessage(1<<40))
	start := time.Now()
	for i := range b.N {
		if err := plainInsert(plain, benchMessage(i)); err != nil {
			b.Fatal(err)
		}
	}
	base := time.Since(start)
	b.ResetTimer()
	start = time.Now()
	for i := range b.N {
		if _, _, err := db.InsertMessage(alice, benchMessage(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start))/float64(base), "ratio")
}

func mustInsertB(b *testing.B, db *DB, m Message) {
	if _, _, err := db.InsertMessage(alice, m); err != nil {
		b.Fatal(err)
	}
}

// insertMany stores n benchmark messages, a thousand per transaction, to
// build a large database quickly; the rows are the ones InsertMessage makes.
func insertMany(b *testing.B, db *DB, n int) {
	for lo := 0; lo < n; lo += 1000 {
		err := db.write(false, func(tx *sql.Tx) error {
			for i := lo; i < min(lo+1000, n); i++ {
				m := benchMessage(i)
				if _, _, err := db.insertMessage(tx, alice, &m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListMessages lists the newest 100 messages of a 1,000-message
// conversation; ratio is its time over selecting the same 100 unsealed rows
// from the plain baseline.
func BenchmarkListMessages(b *testing.B) {
	plain := plainDB(b)
	db, _ := openTest(b)
	insertMany(b, db, 1000)
	for i := range 1000 {
		if err := plainInsert(plain, benchMessage(i)); err != nil {
			b.Fatal(err)
		}
	}
	c, err := db.Conversation(alice)
	if err != nil {
		b.Fatal(err)
	}
	plainPage := func() int {
		rows, err := plain.Query(`SELECT m.id, m.msg_id, m.sent_ms, m.received_ms, m.status, m.body FROM messages m
			WHERE conv_id = 1 ORDER BY sent_ms DESC, msg_id DESC LIMIT 100`)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var m Message
			var id []byte
			var sent, recv int64
			if err := rows.Scan(&m.ID, &id, &sent, &recv, &m.Status, &m.Body); err != nil {
				b.Fatal(err)
			}
			n++
		}
		rows.Close()
		return n
	}
	start := time.Now()
	for range b.N {
		if plainPage() != 100 {
			b.Fatal("baseline page short")
		}
	}
	base := time.Since(start)
	b.ResetTimer()
	start = time.Now()
	for range b.N {
		ms, err := db.Messages(c.ID, Page{Limit: 100})
		if err != nil || len(ms) != 100 {
			b.Fatalf("page of %d, %v", len(ms), err)
		}
	}
	b.ReportMetric(float64(time.Since(start))/float64(base), "ratio")
}

// BenchmarkStorage100k builds a database of 100,000 messages and reports its
// size on disk per message (disk-B/msg, and disk/body: over the body's own
// length, the baseline), the heap held after opening it and listing a page
// (heap-KB), the time of listing the newest page (the timed operation), and
// the time of listing conversations over it (convlist/page).
func BenchmarkStorage100k(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	path := filepath.Join(dir, "hush.db")
	db, err := Open(path, testKey)
	if err != nil {
		b.Fatal(err)
	}
	insertMany(b, db, n)
	if err := db.checkpoint(); err != nil {
		b.Fatal(err)
	}
	db.Close()
	size, err := fileSize(path)
	if err != nil {
		b.Fatal(err)
	}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	db, err = Open(path, testKey)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	c, err := db.Conversation(alice)
	if err != nil || c.Messages != n {
		b.Fatalf("conversation: %+v, %v", c, err)
	}
	page, err := db.Messages(c.ID, Page{Limit: 100})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(page)

	// The conversation list computes unread counts and storage use per
	// conversation; here one conversation holds all 100,000 messages.
	start := time.Now()
	if _, err := db.Conversations(); err != nil {
		b.Fatal(err)
	}
	convList := time.Since(start)

	b.ResetTimer()
	for range b.N {
		if ms, err := db.Messages(c.ID, Page{Limit: 100}); err != nil || len(ms) != 100 {
			b.Fatalf("page: %d, %v", len(ms), err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(size)/n, "disk-B/msg")
	b.ReportMetric(float64(size)/n/float64(len(benchBody)), "disk/body")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/1024, "heap-KB")
	b.ReportMetric(float64(convList)/float64(b.Elapsed())*float64(b.N), "convlist/page")
	if testing.Verbose() {
		fmt.Printf("100k messages: %d bytes on disk, %.0f bytes per message\n", size, float64(size)/n)
	}
}
