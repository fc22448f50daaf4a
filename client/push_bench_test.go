package client

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/push/pushtest"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// BenchmarkPushLatency is issue 16's push latency benchmark on an
// in-process devnet with its push server and a Web Push receiver: each
// iteration alternates one onion RPC (the push server's info op through
// alice's onion path) with one message alice sends bob, timed from the
// start of alice's first store RPC that is accepted until the receiver
// has decrypted the push (the store's answer waits for the members'
// confirmations, and the push often arrives before it: the time counts
// the store's own onion RPC, an upper bound). Reported: rpc-ms,
// store-rpc-ms (that store RPC), push-ms, push/rpc (goal ≤ 2) and
// push/store. The nodes' push_notify_interval is 100ms, so that
// back-to-back messages measure delivery, not coalescing.
func BenchmarkPushLatency(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ca := pushtest.NewCA(b)
	web := pushtest.StartWebPush(b, ca)
	roots := filepath.Join(b.TempDir(), "ca.pem")
	if err := os.WriteFile(roots, ca.PEM, 0o600); err != nil {
		b.Fatal(err)
	}
	d, err := devnet.Up(ctx, devnet.Options{
		Dir: b.TempDir(), Nodes: 6,
		EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond, UnreachableAfter: time.Hour,
		Push: func(c *config.Push) { c.TestExtraRoots = roots },
		Node: func(_ int, c *config.Node) { c.PushNotifyInterval = config.Duration(100 * time.Millisecond) },
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Stop() })
	o := Options{Network: d.Network()}
	alice, bob := open(b, newHome(b), o), open(b, newHome(b), o)
	bob.AddContact(alice.Account(), "alice")
	alice.AddContact(bob.Account(), "bob")
	sub := web.Subscribe(b)
	for deadline := time.Now().Add(2 * time.Minute); ; {
		err := bob.SubscribePush(ctx, PushTarget{WebPush: &WebPushTarget{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("subscribe: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	server := [32]byte(*d.Network().Services.Push.X25519)
	info := &push.Request{Op: "info"}
	// Warm the paths up: the first call builds them.
	if _, err := alice.pushCall(ctx, server, info); err != nil {
		b.Fatal(err)
	}
	// The time alice's first store of each message is accepted, and
	// the time each push arrives.
	tr := &storeClock{HoldTransport: alice.tr.(HoldTransport), pushTransport: alice.tr.(pushTransport)}
	alice.tr = tr
	arrived := make(chan time.Time, 16)
	go func() {
		for {
			select {
			case <-web.Pushes:
				arrived <- time.Now()
			case <-ctx.Done():
				return
			}
		}
	}()
	var rpcTime, pushTime, storeTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := alice.pushCall(ctx, server, info); err != nil {
			b.Fatal(err)
		}
		rpcTime += time.Since(start)

		tr.reset()
		if _, err := alice.Send(ctx, bob.Account(), "wake up"); err != nil {
			b.Fatal(err)
		}
		var at time.Time
		select {
		case at = <-arrived:
		case r := <-web.Refused:
			b.Fatalf("refused: %s", r)
		case <-ctx.Done():
			b.Fatal("no push")
		}
		accepted, took := tr.first()
		// From the store's start: its answer waits for the members'
		// confirmations, and the push often arrives before it.
		pushTime += at.Sub(accepted.Add(-took))
		storeTime += took
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(rpcTime.Microseconds())/1e3/n, "rpc-ms")
	b.ReportMetric(float64(storeTime.Microseconds())/1e3/n, "store-rpc-ms")
	b.ReportMetric(float64(pushTime.Microseconds())/1e3/n, "push-ms")
	b.ReportMetric(float64(pushTime)/float64(rpcTime), "push/rpc")
	b.ReportMetric(float64(pushTime)/float64(storeTime), "push/store")
}

// storeClock notes when the first store since reset was accepted and how
// long that onion RPC took.
type storeClock struct {
	HoldTransport
	pushTransport
	mu       sync.Mutex
	accepted time.Time
	took     time.Duration
}

func (s *storeClock) Do(ctx context.Context, node snapshot.Node, body []byte) (int, []byte, error) {
	start := time.Now()
	status, resp, err := s.HoldTransport.Do(ctx, node, body)
	if err == nil && status == http.StatusOK && bytes.Contains(body, []byte(`"method":"`+rpc.MethodStore+`"`)) {
		s.mu.Lock()
		if s.accepted.IsZero() {
			s.accepted, s.took = time.Now(), time.Since(start)
		}
		s.mu.Unlock()
	}
	return status, resp, err
}

func (s *storeClock) reset() {
	s.mu.Lock()
	s.accepted, s.took = time.Time{}, 0
	s.mu.Unlock()
}

func (s *storeClock) first() (time.Time, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted, s.took
}
