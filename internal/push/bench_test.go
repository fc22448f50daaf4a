//go:build unix

package push

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"bytes"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/protocol/onion"
	pushproto "github.com/hushnet/hush/protocol/push"
)

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchServer is a server over a fresh database with subs subscriptions
// (FCM, a counting provider) and budgets that do not bind.
func benchServer(b *testing.B, subs int) (*Server, *Store, *countingProvider, [][32]byte, [][32]byte) {
	b.Helper()
	dir := b.TempDir()
	st, err := OpenStore(filepath.Join(dir, DBFile))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ids, secrets := make([][32]byte, subs), make([][32]byte, subs)
	mgmt := make([]byte, 32)
	tx, _ := st.db.Begin()
	for i := range subs {
		rand.Read(ids[i][:])
		rand.Read(secrets[i][:])
		h := pushproto.SecretHash(secrets[i])
		tok := make([]byte, 100)
		rand.Read(tok)
		// A token about as long as FCM's (some 160 characters).
		if _, err := tx.Exec(`INSERT INTO subscriptions (sub_id, secret_hash, provider, token, mgmt_key, expiry_ms, last_ts_ms) VALUES (?, ?, 'fcm', ?, ?, ?, ?)`,
			ids[i][:], h[:], b64url(tok)+b64url(tok[:20]), mgmt, time.Now().Add(time.Hour).UnixMilli(), time.Now().UnixMilli()); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	p := &countingProvider{}
	lim := DefaultLimits()
	lim.PerSubscription = ratelimit.Rate{Burst: 1 << 30, PerSecond: 1 << 30}
	srv, err := New(Config{X25519: x, Store: st, Providers: map[string]Provider{ProviderFCM: p}, Limits: lim})
	if err != nil {
		b.Fatal(err)
	}
	return srv, st, p, ids, secrets
}

// swarmMembers is how many nodes notify each message: every member of a
// swarm of the devnet's ideal size sends the same tag.
const swarmMembers = 4

// BenchmarkNotify measures notifies per second with dedupe: each message
// is notified by swarmMembers nodes with one tag; one push goes out. The
// "handle" case is the request alone; "onion" adds the server's onion
// layer (X25519 and AEAD) and HTTP, as relays reach it.
func BenchmarkNotify(b *testing.B) {
	for _, mode := range []string{"handle", "onion"} {
		b.Run(mode, func(b *testing.B) {
			srv, _, prov, ids, secrets := benchServer(b, 1000)
			payload := make([]byte, pushproto.PayloadSize)
			var hs *httptest.Server
			if mode == "onion" {
				hs = httptest.NewServer(srv)
				defer hs.Close()
			}
			xpub := srv.cfg.X25519.PublicKey()
			ctx := context.Background()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i := 0; b.Loop(); i++ {
				msg := i / swarmMembers
				s := msg % len(ids)
				var tag [32]byte
				binary.BigEndian.PutUint64(tag[:], uint64(msg))
				copy(tag[8:], ids[s][:24])
				req := &pushproto.Request{Op: pushproto.OpNotify, SubID: ids[s], NotifySecret: secrets[s], Tag: tag, Payload: payload}
				if mode == "handle" {
					if a := srv.Handle(ctx, identity.Ed25519PublicKey{}, req.Marshal()); !a.OK {
						b.Fatalf("%+v", a)
					}
					continue
				}
				f, cs, err := onion.Build(nil, onion.Destination{Node: onion.Hop{X25519: xpub}}, req.Marshal())
				if err != nil {
					b.Fatal(err)
				}
				resp, err := http.Post(hs.URL+pushproto.Target, "application/octet-stream", bytes.NewReader(f))
				if err != nil {
					b.Fatal(err)
				}
				var buf bytes.Buffer
				buf.ReadFrom(resp.Body)
				resp.Body.Close()
				if st, _, err := onion.OpenResponse(cs, buf.Bytes()); err != nil || st != 200 {
					b.Fatalf("%d %v", st, err)
				}
			}
			el, cpu := time.Since(start), cpuTime()-cpu0
			b.ReportMetric(float64(b.N)/el.Seconds(), "notifies/s")
			b.ReportMetric(float64(prov.n.Load())/el.Seconds(), "pushes/s")
			// On a shared machine the wall clock counts other programs'
			// time too; notifies per CPU-second is what one core sustains.
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "notifies/cpu-s")
		})
	}
}

// BenchmarkSubscriptionMemory reports what 100,000 subscriptions cost:
// database bytes per subscription, and heap bytes per subscription once
// each was notified (the server keeps nothing per subscription in memory
// but its rate-limit bucket, kept until it refills; SQLite's page cache
// is bounded whatever the count).
func BenchmarkSubscriptionMemory(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		_, st, _, ids, _ := benchServer(b, n)
		if _, err := st.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			b.Fatal(err)
		}
		var page, count int64
		st.db.QueryRow(`PRAGMA page_size`).Scan(&page)
		st.db.QueryRow(`PRAGMA page_count`).Scan(&count)
		// Twice: objects with finalizers go only in the second.
		runtime.GC()
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		// The server's own table of per-subscription buckets, as its
		// notify path fills it.
		perSub := ratelimit.NewKeyed[[32]byte](DefaultLimits().PerSubscription, 0)
		now := time.Now()
		for _, id := range ids {
			perSub.Allow(id, now)
		}
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		runtime.KeepAlive(ids)
		runtime.KeepAlive(perSub)
		b.ReportMetric(float64(page*count)/n, "db-bytes/sub")
		b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/n, "heap-bytes/sub")
	}
}
