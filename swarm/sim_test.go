//go:build sim

package swarm_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/swarm"
	"github.com/hushnet/hush/swarm/swarmtest"
)

// TestScaleSimulation grows a 2,000-node network one registration at a
// time, then applies 100 random single-node joins and departures, one
// Update each, and reports how many nodes change swarm per event and what
// an event costs. Run with: go test -tags sim -run ScaleSimulation -v ./swarm
func TestScaleSimulation(t *testing.T) {
	const (
		nodes  = 2000
		events = 100
	)
	p := swarm.DefaultParams()
	a, active, err := swarmtest.Network("sim", nodes, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("grown: %d nodes in %d swarms, sizes %s, encoding %d bytes",
		len(a), len(a.IDs()), sizeRange(a), swarm.EncodedSize(len(a)))

	r := rand.New(rand.NewPCG(2026, 11))
	next := nodes
	var moved []int
	var spent time.Duration
	joins, leaves, created, dissolved := 0, 0, 0, 0
	for i := range events {
		if r.IntN(2) == 0 {
			active = append(active, swarmtest.Key("sim", next))
			next++
			joins++
		} else {
			j := r.IntN(len(active))
			active = slices.Delete(active, j, j+1)
			leaves++
		}
		start := time.Now()
		b, err := swarm.Update(a, active, swarmtest.Seed("sim-event", i), p)
		spent += time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		before, after := swarmSet(a), swarmSet(b)
		for id := range after {
			if !before[id] {
				created++
			}
		}
		for id := range before {
			if !after[id] {
				dissolved++
			}
		}
		moved = append(moved, swarm.Reassigned(swarm.Diff(a, b)))
		checkSettled(t, b, active, p)
		a = b
	}

	total, most := 0, 0
	for _, m := range moved {
		total += m
		most = max(most, m)
	}
	mean := float64(total) / float64(len(moved))
	t.Logf("events: %d joins, %d departures; swarms created %d, dissolved %d", joins, leaves, created, dissolved)
	t.Logf("nodes changing swarm per event (joiner/leaver not counted): mean %.2f, max %d", mean, most)
	t.Logf("after churn: %d nodes in %d swarms, sizes %s", len(a), len(a.IDs()), sizeRange(a))

	// Cost, as ratios against baselines measured now: an Update with no
	// change (rebuilding the run from the map, the floor of any event) and
	// encoding the assignment once (what a snapshot at least costs).
	perEvent := spent / events
	noop := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			if _, err := swarm.Update(a, active, swarmtest.Seed("noop", 0), p); err != nil {
				b.Fatal(err)
			}
		}
	})
	encode := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			if _, err := a.MarshalBinary(); err != nil {
				b.Fatal(err)
			}
		}
	})
	t.Logf("time per event: %.2f× a no-change Update, %.2f× encoding the assignment (absolute on this machine: %v, %v, %v)",
		float64(perEvent)/float64(noop.NsPerOp()), float64(perEvent)/float64(encode.NsPerOp()),
		perEvent, time.Duration(noop.NsPerOp()), time.Duration(encode.NsPerOp()))

	// A churn event must disturb a handful of nodes, never reshuffle the
	// network: oxen moves at most one swarm's worth (a split or a dissolve).
	if most > 2*p.IdealSize {
		t.Errorf("an event moved %d nodes; more than two swarms' worth", most)
	}
}

func swarmSet(a swarm.Assignment) map[swarm.ID]bool {
	s := map[swarm.ID]bool{}
	for _, id := range a.IDs() {
		s[id] = true
	}
	return s
}

func sizeRange(a swarm.Assignment) string {
	lo, hi := -1, 0
	hist := map[int]int{}
	for _, m := range a.Swarms() {
		n := len(m)
		hist[n]++
		if lo < 0 || n < lo {
			lo = n
		}
		hi = max(hi, n)
	}
	out := ""
	for n := lo; n <= hi; n++ {
		if hist[n] > 0 {
			out += fmt.Sprintf(" %d:%d", n, hist[n])
		}
	}
	return "[size:count" + out + "]"
}

func checkSettled(t *testing.T, a swarm.Assignment, active []swarm.NodeKey, p swarm.Params) {
	t.Helper()
	if len(a) != len(active) {
		t.Fatalf("%d assigned, %d active", len(a), len(active))
	}
	for id, m := range a.Swarms() {
		if len(m) < p.MinSize {
			t.Fatalf("swarm %d has %d nodes", id, len(m))
		}
	}
}

// TestScaleBurst takes the same 2,000-node network through five bursts of
// 40 simultaneous departures (2% of the network each, as when a hosting
// provider fails), one Update per burst, and reports the churn.
func TestScaleBurst(t *testing.T) {
	p := swarm.DefaultParams()
	a, active, err := swarmtest.Network("sim", 2000, p)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(2026, 12))
	for burst := range 5 {
		for range 40 {
			j := r.IntN(len(active))
			active = slices.Delete(active, j, j+1)
		}
		b, err := swarm.Update(a, active, swarmtest.Seed("sim-burst", burst), p)
		if err != nil {
			t.Fatal(err)
		}
		checkSettled(t, b, active, p)
		before, after := swarmSet(a), swarmSet(b)
		dissolved := 0
		for id := range before {
			if !after[id] {
				dissolved++
			}
		}
		t.Logf("burst %d: %d nodes changed swarm, %d swarms dissolved, sizes %s",
			burst, swarm.Reassigned(swarm.Diff(a, b)), dissolved, sizeRange(b))
		a = b
	}
}
