package paths_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/snapshot"
)

// BenchmarkPathVsDirect measures a store through a 3-relay path against
// the same store sent straight to the destination node, interleaved in
// one run over real TLS on loopback. The goal (issue "Onion routing") is
// a ratio of at most 4.5. Loopback has no propagation delay, so the ratio
// here is CPU and connection handling; on a real network the extra round
// trips dominate.
func BenchmarkPathVsDirect(b *testing.B) {
	f := newFixture(b, relaytest.Options{Nodes: 8})
	acct := identity.NewAccount().ID()
	ctx := context.Background()
	// A destination outside both paths, so every request takes 4 hops.
	var dest snapshot.Node
	if _, _, err := f.m.Do(ctx, f.nw.SwarmFor(acct)[0], storeBody(b, acct, []byte("warm"))); err != nil {
		b.Fatal(err)
	}
	inPath := map[identity.Ed25519PublicKey]bool{}
	for _, p := range f.m.Paths() {
		for _, h := range p.Hops {
			inPath[h.Ed25519] = true
		}
	}
	for _, n := range f.nw.Snapshot.Nodes {
		if !inPath[n.Ed25519] {
			dest = n
		}
	}
	direct := f.nw.ClientPool()
	if _, _, err := relaytest.Direct(ctx, direct, dest, storeBody(b, acct, []byte("warm"))); err != nil {
		b.Fatal(err)
	}
	var pathT, directT time.Duration
	i := 0
	for b.Loop() {
		i++
		t0 := time.Now()
		if s, _, err := relaytest.Direct(ctx, direct, dest, storeBody(b, acct, fmt.Appendf(nil, "d%d", i))); err != nil || s != http.StatusOK {
			b.Fatal(s, err)
		}
		t1 := time.Now()
		if s, _, err := f.m.Do(ctx, dest, storeBody(b, acct, fmt.Appendf(nil, "p%d", i))); err != nil || s != http.StatusOK {
			b.Fatal(s, err)
		}
		pathT += time.Since(t1)
		directT += t1.Sub(t0)
		f.nw.Observations()
		f.nw.RPCs()
	}
	b.ReportMetric(float64(directT.Microseconds())/float64(b.N), "direct-µs")
	b.ReportMetric(float64(pathT.Microseconds())/float64(b.N), "path-µs")
	b.ReportMetric(float64(pathT)/float64(directT), "path/direct")
}
