package relaytest_test

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/snapshot"
)

// heldCost holds n retrieves through a path of relays relays (all in this
// process, with the client and the destination) and returns the growth
// of goroutines and of in-use heap and stacks while they are held, per request.
func heldCost(b *testing.B, relays, n int) (goroutines, mem float64) {
	hd := relaytest.NewHolder(relays)
	nw := relaytest.Start(b, relaytest.Options{Nodes: max(4, relays+1), Wrap: hd.Wrap, Limits: relay.Limits{ClientHeld: 2 * n}})
	var path []snapshot.Node
	for i := range relays {
		path = append(path, nw.Nodes[i].Info)
	}
	dest := nw.Nodes[relays].Info
	acct := identity.NewAccount()
	pool := nw.ClientPool()
	// Warm the connections so that the growth measured is the requests'.
	if st, _, err := onionclient.Send(context.Background(), pool, path, dest, []byte(`{"method":"info","params":{}}`)); err != nil || st != http.StatusOK {
		b.Fatal(st, err)
	}
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = relaytest.WaitRetrieve(b, acct, 25*time.Second)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	g0, h0 := runtime.NumGoroutine(), ms.HeapInuse+ms.StackInuse

	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			onionclient.SendHold(context.Background(), pool, path, dest, bodies[i], 30*time.Second)
		})
		if (i+1)%20 == 0 {
			for hd.Entered.Load() < int64(i+1) {
				time.Sleep(time.Millisecond)
			}
		}
	}
	for hd.Entered.Load() < int64(n) {
		time.Sleep(time.Millisecond)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	g1, h1 := runtime.NumGoroutine(), ms.HeapInuse+ms.StackInuse
	hd.Release()
	wg.Wait()
	return float64(g1-g0) / float64(n), (float64(h1) - float64(h0)) / float64(n)
}

// BenchmarkHeldRequests measures what a held request costs a relay: the
// cost of 200 held through three relays less that through one, halved.
// Run with -benchtime=1x; it reports goroutines and bytes (heap and stacks) per held
// request per relay, and the whole process's (client, relays,
// destination) for one relay.
func BenchmarkHeldRequests(b *testing.B) {
	const n = 200
	var g1, h1, g3, h3 float64
	for range b.N {
		g1, h1 = heldCost(b, 1, n)
		g3, h3 = heldCost(b, 3, n)
	}
	b.ReportMetric((g3-g1)/2, "goroutines/held/relay")
	b.ReportMetric((h3-h1)/2, "memB/held/relay")
	b.ReportMetric(g1, "goroutines/held/1-relay-path")
	b.ReportMetric(h1, "memB/held/1-relay-path")
}
