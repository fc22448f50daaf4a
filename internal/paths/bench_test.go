package paths_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/onion"
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

// BenchmarkSessions measures a warm store through a 3-relay path with
// onion sessions at the guard and middle relay (docs/onion.md) against
// the same path with full requests only (before sessions) and against
// the store sent straight to the destination, interleaved in one run
// over real TLS on loopback. Both managers load the same paths from one
// state file. It reports the p50 of each and their ratios (the goal of
// issue 24 is session-p50/direct-p50 ≤ 2.0), and the layers of a warm
// request that took public-key work, counted from what the nodes
// received (each costs three X25519 operations: the client's key
// generation and exchange, the node's exchange).
func BenchmarkSessions(b *testing.B) {
	f := newFixture(b, relaytest.Options{Nodes: 8})
	acct := identity.NewAccount().ID()
	ctx := context.Background()
	if _, _, err := f.m.Do(ctx, f.nw.SwarmFor(acct)[0], storeBody(b, acct, []byte("warm"))); err != nil {
		b.Fatal(err)
	}
	f.m.Flush()
	full := f.manager(b, func(o *paths.Options) { o.NoSessions = true })
	hopsOf := func(ps []paths.PathInfo) (out [][]paths.HopInfo) {
		for _, p := range ps {
			out = append(out, p.Hops)
		}
		return out
	}
	if fmt.Sprint(hopsOf(full.Paths())) != fmt.Sprint(hopsOf(f.m.Paths())) {
		b.Fatal("the managers have different paths")
	}
	var dest snapshot.Node
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
	i := 0
	store := func(do func([]byte) (int, []byte, error)) time.Duration {
		i++
		t0 := time.Now()
		if s, _, err := do(storeBody(b, acct, fmt.Appendf(nil, "m%d", i))); err != nil || s != http.StatusOK {
			b.Fatal(s, err)
		}
		return time.Since(t0)
	}
	viaSessions := func(body []byte) (int, []byte, error) { return f.m.Do(ctx, dest, body) }
	viaFull := func(body []byte) (int, []byte, error) { return full.Do(ctx, dest, body) }
	viaDirect := func(body []byte) (int, []byte, error) { return relaytest.Direct(ctx, direct, dest, body) }
	// Open both paths' sessions (each path's first request does).
	for range 8 {
		store(viaSessions)
		store(viaFull)
	}
	f.nw.Observations()
	var directT, fullT, sessT []time.Duration
	var pkLayers, warm int
	for b.Loop() {
		directT = append(directT, store(viaDirect))
		fullT = append(fullT, store(viaFull))
		f.nw.Observations()
		sessT = append(sessT, store(viaSessions))
		obs := f.nw.Observations()
		for _, o := range obs {
			if o.Hop >= 0 && o.Session == (onion.SessionID{}) {
				pkLayers++
			}
		}
		warm++
		f.nw.RPCs()
	}
	p50 := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds())
	}
	dp, fp, sp := p50(directT), p50(fullT), p50(sessT)
	b.ReportMetric(dp, "direct-p50-µs")
	b.ReportMetric(fp, "full-p50-µs")
	b.ReportMetric(sp, "session-p50-µs")
	b.ReportMetric(fp/dp, "full/direct")
	b.ReportMetric(sp/dp, "session/direct")
	b.ReportMetric(sp/fp, "session/full")
	b.ReportMetric(float64(pkLayers)/float64(warm), "x25519-layers/warm")
}
