package swarm

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// failer is what the invariant checks need from *testing.T and *rapid.T.
type failer interface {
	Helper()
	Fatalf(format string, args ...any)
}

// checkUpdate runs Update and checks everything that must hold of its
// result, whatever the history: exact membership, sizes, oxen's
// post-condition, determinism under reordering, and that a second run
// changes nothing.
func checkUpdate(t failer, before Assignment, active []NodeKey, seed [32]byte, p Params) Assignment {
	t.Helper()
	after, err := Update(before, active, seed, p)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}

	// Every active node is in exactly one swarm, and nothing else is.
	want := slices.Clone(active)
	slices.SortFunc(want, NodeKey.Compare)
	want = slices.Compact(want)
	if got := after.Nodes(); !slices.Equal(got, want) || len(after) != len(want) {
		t.Fatalf("assigned %d nodes, want exactly the %d active ones", len(after), len(want))
	}

	swarms := after.Swarms()
	excess := 0
	for id, m := range swarms {
		if id == Invalid {
			t.Fatalf("node in the invalid swarm")
		}
		if len(swarms) > 1 && len(m) < p.MinSize {
			t.Fatalf("swarm %d has %d nodes, below the minimum %d", id, len(m), p.MinSize)
		}
		excess += max(len(m)-p.MinSize, 0)
	}
	// Oxen's settling condition: not enough excess left for another swarm.
	if threshold := p.IdealSize + len(swarms)*(p.IdealSize-p.MinSize); excess >= threshold {
		t.Fatalf("excess %d reaches the new-swarm threshold %d", excess, threshold)
	}

	// The same inputs in another order, with duplicates, give the same bytes.
	shuffled := slices.Clone(active)
	if len(active) > 0 {
		shuffled = append(shuffled, active[len(active)/2])
	}
	r := rand.New(rand.NewPCG(uint64(len(active)), 1))
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	again, err := Update(before, shuffled, seed, p)
	if err != nil {
		t.Fatalf("Update (shuffled): %v", err)
	}
	b1, _ := after.MarshalBinary()
	b2, _ := again.MarshalBinary()
	if !bytes.Equal(b1, b2) {
		t.Fatalf("shuffled input gave a different assignment")
	}

	// A settled assignment is a fixed point, whatever the seed.
	other := seed
	other[0] ^= 0xff
	settled, err := Update(after, active, other, p)
	if err != nil {
		t.Fatalf("Update (settled): %v", err)
	}
	if d := Diff(after, settled); len(d) != 0 {
		t.Fatalf("a second update moved %d nodes: %v", len(d), d[0])
	}
	return after
}

var paramsGen = rapid.SampledFrom([]Params{DefaultParams(), DevnetParams(), {MinSize: 3, IdealSize: 3}, {MinSize: 4, IdealSize: 6}})

func seedGen() *rapid.Generator[[32]byte] {
	return rapid.Custom(func(t *rapid.T) [32]byte {
		var s [32]byte
		binary.BigEndian.PutUint64(s[:], rapid.Uint64().Draw(t, "seed"))
		return s
	})
}

// Random histories of joins and departures, several per update as when
// the registry batches an epoch; the invariants hold after every update.
func TestUpdateProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := paramsGen.Draw(t, "params")
		var a Assignment
		var active []NodeKey
		next := 0
		steps := rapid.IntRange(1, 40).Draw(t, "steps")
		for range steps {
			joins := rapid.IntRange(0, 3*p.IdealSize).Draw(t, "joins")
			for range joins {
				active = append(active, testKey(next))
				next++
			}
			if len(active) > 0 {
				leaves := rapid.IntRange(0, min(len(active), 2*p.IdealSize)).Draw(t, "leaves")
				for range leaves {
					i := rapid.IntRange(0, len(active)-1).Draw(t, "leaver")
					active = slices.Delete(active, i, i+1)
				}
			}
			a = checkUpdate(t, a, active, seedGen().Draw(t, "seed"), p)
		}
	})
}

// A joining node's fate does not depend on its key: with the same network
// and seed, any other key would land in the same swarm, and every other
// node would end up in the same place too. Only the seed, which the
// registrant cannot grind, decides.
func TestJoinIgnoresKeyBits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := paramsGen.Draw(t, "params")
		var a Assignment
		var active []NodeKey
		for i := range rapid.IntRange(1, 12*p.IdealSize).Draw(t, "nodes") {
			active = append(active, testKey(i))
			var err error
			if a, err = Update(a, active, testSeed(i), p); err != nil {
				t.Fatalf("Update: %v", err)
			}
		}
		k1 := NodeKey(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "key1"))
		k2 := NodeKey(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "key2"))
		if k1 == k2 || slices.Contains(active, k1) || slices.Contains(active, k2) {
			t.Skip("keys collide")
		}
		seed := seedGen().Draw(t, "seed")
		r1, err := Update(a, append(slices.Clone(active), k1), seed, p)
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		r2, err := Update(a, append(slices.Clone(active), k2), seed, p)
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if r1[k1] != r2[k2] {
			t.Fatalf("key %v went to %d, key %v to %d", k1, r1[k1], k2, r2[k2])
		}
		r1[k2] = r1[k1]
		delete(r1, k1)
		if d := Diff(r1, r2); len(d) != 0 {
			t.Fatalf("the joiner's key changed other placements: %v", d)
		}
	})
}

// Over many seeds one fixed key reaches every swarm it may join (the
// smallest quarter) and no other.
func TestJoinSpreadsOverSeeds(t *testing.T) {
	tests := []struct {
		name  string
		p     Params
		nodes int
	}{
		{"oxen sizes, 200 nodes", DefaultParams(), 200},
		{"devnet sizes, 60 nodes", DevnetParams(), 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Assignment
			var active []NodeKey
			for i := range tt.nodes {
				active = append(active, testKey(i))
				var err error
				if a, err = Update(a, active, testSeed(i), tt.p); err != nil {
					t.Fatal(err)
				}
			}
			// The swarms a newcomer may join: sizes sorted, the 25th
			// percentile size, and every swarm at or below it.
			sizes := a.Swarms()
			sorted := slices.Sorted(func(yield func(int) bool) {
				for _, m := range sizes {
					if !yield(len(m)) {
						return
					}
				}
			})
			limit := sorted[fillLowerPercentile*(len(sorted)-1)/100]
			allowed := map[ID]bool{}
			for id, m := range sizes {
				if len(m) <= limit {
					allowed[id] = true
				}
			}
			if len(allowed) < 2 {
				t.Fatalf("test network has only %d candidate swarms", len(allowed))
			}

			joiner := NodeKey{0xaa, 0xbb}
			reached := map[ID]int{}
			for s := range 40 * len(allowed) {
				r, err := Update(a, append(slices.Clone(active), joiner), testSeed(1_000_000+s), tt.p)
				if err != nil {
					t.Fatal(err)
				}
				if len(r.IDs()) != len(sizes) {
					continue // the join split off a new swarm; the choice was still the seed's
				}
				dest := r[joiner]
				if !allowed[dest] {
					t.Fatalf("seed %d sent the joiner to swarm %d, outside the smallest quarter", s, dest)
				}
				reached[dest]++
			}
			if len(reached) != len(allowed) {
				t.Errorf("one key reached %d of %d candidate swarms over %d seeds", len(reached), len(allowed), 40*len(allowed))
			}
		})
	}
}
