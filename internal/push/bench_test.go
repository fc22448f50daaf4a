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
	"sync"
	"sync/atomic"
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
// is notified by swarmMembers nodes with one tag; one push goes out (to a
// counting provider: the providers' own time is theirs). The "handle"
// case is the request alone, one at a time; "onion" is the server as
// relays reach it: onion frames (built before the clock starts, as the
// nodes build them) posted over HTTP by onionPosters at once, the server
// peeling its layer (X25519, AEAD), answering and sealing the answer.
// notifies/cpu-s divides by the process's CPU time (the posters' HTTP
// included), which a shared machine's other programs do not inflate.
func BenchmarkNotify(b *testing.B) {
	for _, mode := range []string{"handle", "onion"} {
		b.Run(mode, func(b *testing.B) {
			srv, _, prov, ids, secrets := benchServer(b, 1000)
			payload := make([]byte, pushproto.PayloadSize)
			req := func(i int) *pushproto.Request {
				msg := i / swarmMembers
				s := msg % len(ids)
				var tag [32]byte
				binary.BigEndian.PutUint64(tag[:], uint64(msg))
				copy(tag[8:], ids[s][:24])
				return &pushproto.Request{Op: pushproto.OpNotify, SubID: ids[s], NotifySecret: secrets[s], Tag: tag, Payload: payload}
			}
			ctx := context.Background()
			if mode == "handle" {
				b.ResetTimer()
				start, cpu0 := time.Now(), cpuTime()
				for i := 0; b.Loop(); i++ {
					if a := srv.Handle(ctx, identity.Ed25519PublicKey{}, req(i).Marshal()); !a.OK {
						b.Fatalf("%+v", a)
					}
				}
				report(b, b.N, prov.n.Load(), time.Since(start), cpuTime()-cpu0)
				return
			}
			hs := httptest.NewServer(srv)
			defer hs.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: onionPosters}}
			defer client.CloseIdleConnections()
			xpub := srv.cfg.X25519.PublicKey()
			frames := make([][]byte, b.N)
			states := make([]*onion.ClientState, b.N)
			for i := range b.N {
				f, cs, err := onion.Build(nil, onion.Destination{Node: onion.Hop{X25519: xpub}}, req(i).Marshal())
				if err != nil {
					b.Fatal(err)
				}
				frames[i], states[i] = f, cs
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for range onionPosters {
				wg.Go(func() {
					for {
						i := int(next.Add(1) - 1)
						if i >= b.N {
							return
						}
						resp, err := client.Post(hs.URL+pushproto.Target, "application/octet-stream", bytes.NewReader(frames[i]))
						if err != nil {
							b.Error(err)
							return
						}
						var buf bytes.Buffer
						buf.ReadFrom(resp.Body)
						resp.Body.Close()
						if st, _, err := onion.OpenResponse(states[i], buf.Bytes()); err != nil || st != 200 {
							b.Errorf("%d %v", st, err)
							return
						}
					}
				})
			}
			wg.Wait()
			report(b, b.N, prov.n.Load(), time.Since(start), cpuTime()-cpu0)
		})
	}
}

// onionPosters is how many relays post to the server at once.
const onionPosters = 8

func report(b *testing.B, notifies int, pushes int64, el, cpu time.Duration) {
	b.ReportMetric(float64(notifies)/el.Seconds(), "notifies/s")
	b.ReportMetric(float64(pushes)/el.Seconds(), "pushes/s")
	// On a shared machine the wall clock counts other programs' time
	// too; notifies per CPU-second is what the process sustains on one
	// core.
	b.ReportMetric(float64(notifies)/cpu.Seconds(), "notifies/cpu-s")
}

// BenchmarkSubscriptionMemory reports what 100,000 subscriptions cost:
// database bytes per subscription, and the server's heap bytes per
// subscription once each was notified through Handle (once: a swarm's
// repeats add nothing): its rate-limit bucket, kept until it refills, and
// the store's bounded memory of recent subscriptions and tags. SQLite's
// page cache is bounded whatever the count.
func BenchmarkSubscriptionMemory(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		srv, st, prov, ids, secrets := benchServer(b, n)
		// The default budget: a bucket that refills at once (benchServer's)
		// would not be kept at all.
		srv.perSub = ratelimit.NewKeyed[[32]byte](DefaultLimits().PerSubscription, 0)
		if _, err := st.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			b.Fatal(err)
		}
		var page, count int64
		st.db.QueryRow(`PRAGMA page_size`).Scan(&page)
		st.db.QueryRow(`PRAGMA page_count`).Scan(&count)
		payload := make([]byte, pushproto.PayloadSize)
		ctx := context.Background()
		// Twice: objects with finalizers go only in the second.
		runtime.GC()
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for i, id := range ids {
			var tag [32]byte
			binary.BigEndian.PutUint64(tag[:], uint64(i))
			req := (&pushproto.Request{Op: pushproto.OpNotify, SubID: id, NotifySecret: secrets[i], Tag: tag, Payload: payload}).Marshal()
			if a := srv.Handle(ctx, identity.Ed25519PublicKey{}, req); !a.OK {
				b.Fatalf("%+v", a)
			}
		}
		if prov.n.Load() != n {
			b.Fatalf("%d pushes for %d subscriptions", prov.n.Load(), n)
		}
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		runtime.KeepAlive(ids)
		runtime.KeepAlive(srv)
		b.ReportMetric(float64(page*count)/n, "db-bytes/sub")
		b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/n, "heap-bytes/sub")
	}
}
