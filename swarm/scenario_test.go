package swarm

import (
	"fmt"
	"slices"
	"testing"
)

// These scenarios port oxen-core tests/unit_tests/service_nodes_swarm.cpp,
// with the same expectations, through the public Update.

// network tracks the active set the way the registry will.
type network struct {
	t      *testing.T
	p      Params
	a      Assignment
	active []NodeKey
	next   int // next fresh key
	seed   int
}

func newNetwork(t *testing.T, p Params) *network {
	return &network{t: t, p: p, next: 1}
}

// register adds n fresh nodes in one update (one oxen block).
func (n *network) register(count int) []NodeKey {
	var fresh []NodeKey
	for range count {
		fresh = append(fresh, testKey(n.next))
		n.next++
	}
	n.active = append(n.active, fresh...)
	n.update()
	return fresh
}

// drop removes nodes from the active set without updating.
func (n *network) drop(keys ...NodeKey) {
	n.active = slices.DeleteFunc(n.active, func(k NodeKey) bool { return slices.Contains(keys, k) })
}

func (n *network) update() {
	n.t.Helper()
	a, err := Update(n.a, n.active, testSeed(n.seed), n.p)
	if err != nil {
		n.t.Fatal(err)
	}
	n.seed++
	n.a = a
}

// last returns the largest-key member of swarm id, oxen's pop_back.
func (n *network) last(id ID) NodeKey {
	m := n.a.Members(id)
	return m[len(m)-1]
}

// validateNoDereg is oxen's validateSwarmsNoDereg: while nodes only join,
// the number of swarms is a step function of the number of nodes (one more
// per IdealSize nodes) and every swarm keeps at least the minimum, so the
// excess is the margin of every swarm plus the remainder.
func validateNoDereg(t *testing.T, a Assignment, p Params, nodes int) {
	t.Helper()
	swarms := a.Swarms()
	want := 1 + max(nodes-p.IdealSize, 0)/p.IdealSize
	if len(swarms) != want {
		t.Fatalf("%d nodes: %d swarms, want %d", nodes, len(swarms), want)
	}
	if nodes < p.IdealSize {
		return
	}
	excess := 0
	for _, m := range swarms {
		excess += max(len(m)-p.MinSize, 0)
	}
	if wantExcess := want*(p.IdealSize-p.MinSize) + nodes%p.IdealSize; excess != wantExcess {
		t.Fatalf("%d nodes: excess %d, want %d", nodes, excess, wantExcess)
	}
}

func TestRegisterOneByOne(t *testing.T) {
	for _, p := range []Params{DefaultParams(), DevnetParams()} {
		t.Run(fmt.Sprintf("min%d-ideal%d", p.MinSize, p.IdealSize), func(t *testing.T) {
			n := newNetwork(t, p)
			for i := 1; i <= 40*p.IdealSize; i++ {
				n.register(1)
				validateNoDereg(t, n.a, p, i)
			}
		})
	}
}

func TestRegisterInBulk(t *testing.T) {
	for _, p := range []Params{DefaultParams(), DevnetParams()} {
		t.Run(fmt.Sprintf("min%d-ideal%d", p.MinSize, p.IdealSize), func(t *testing.T) {
			n := newNetwork(t, p)
			total := 0
			for _, batch := range []int{1, 3, 19, 4, 8, 13, 1, 22, 1, 7, 2, 1, 11, 18, 6, 10} {
				n.register(batch)
				total += batch
				validateNoDereg(t, n.a, p, total)
			}
		})
	}
}

// swarm_above_min_size_unaffects_other_swarms: shrinking a swarm down to
// the minimum touches no other swarm.
func TestShrinkToMinimumIsLocal(t *testing.T) {
	p := DefaultParams()
	n := newNetwork(t, p)
	n.register(10 * p.IdealSize)
	ids := n.a.IDs()
	for _, victim := range ids[:2] {
		for len(n.a.Members(victim)) > p.MinSize {
			before := n.a
			n.drop(n.last(victim))
			n.update()
			for _, m := range Diff(before, n.a) {
				if m.To != Invalid {
					t.Fatalf("shrinking swarm %d moved %v", victim, m)
				}
			}
			if got := len(n.a.IDs()); got != len(ids) {
				t.Fatalf("%d swarms, want %d", got, len(ids))
			}
		}
	}
}

// register_snode_fills_low_swarms: two starving swarms are refilled by
// three registrations arriving in the same update.
func TestRegistrationsFillStarvingSwarms(t *testing.T) {
	p := DefaultParams()
	n := newNetwork(t, p)
	n.register(10 * p.IdealSize)
	ids := n.a.IDs()
	first, second := ids[0], ids[1]
	for len(n.a.Members(first)) > p.MinSize {
		n.drop(n.last(first), n.last(second))
		n.update()
	}
	n.drop(n.last(first), n.last(second))
	n.register(3)
	for _, id := range []ID{first, second} {
		if got := len(n.a.Members(id)); got < p.MinSize {
			t.Errorf("swarm %d has %d nodes, want at least %d", id, got, p.MinSize)
		}
	}
}

// stealing_from_rich_swarms: a swarm one node short takes exactly one node
// from exactly one other swarm, which stays at or above the minimum.
func TestStealFromRichSwarm(t *testing.T) {
	p := DefaultParams()
	n := newNetwork(t, p)
	n.register(10 * p.IdealSize)
	before := n.a.Swarms()
	victim := n.a.IDs()[0]
	for len(n.a.Members(victim)) >= p.MinSize {
		n.drop(n.last(victim))
		n.a = without(n.a, n.active)
	}
	n.update()
	after := n.a.Swarms()
	if got := len(after[victim]); got < p.MinSize {
		t.Fatalf("victim has %d nodes, want at least %d", got, p.MinSize)
	}
	affected := 0
	for id, m := range after {
		if id == victim || len(m) >= len(before[id]) {
			continue
		}
		affected++
		if len(m) != len(before[id])-1 || len(m) < p.MinSize {
			t.Errorf("swarm %d went from %d to %d nodes", id, len(before[id]), len(m))
		}
	}
	if affected != 1 {
		t.Errorf("%d swarms gave nodes, want 1", affected)
	}
}

// decommission: with every swarm at the minimum, a swarm that loses one
// more node cannot be saved and is dissolved into the others.
func TestDissolveStarvingSwarm(t *testing.T) {
	p := DefaultParams()
	n := newNetwork(t, p)
	n.register(10 * p.IdealSize)
	ids := n.a.IDs()
	for _, id := range ids {
		for len(n.a.Members(id)) > p.MinSize {
			n.drop(n.last(id))
			n.a = without(n.a, n.active)
		}
	}
	victim := ids[0]
	orphans := n.a.Members(victim)[:p.MinSize-1]
	n.drop(n.last(victim))
	n.update()
	if got := len(n.a.IDs()); got != len(ids)-1 {
		t.Fatalf("%d swarms, want %d", got, len(ids)-1)
	}
	for _, k := range orphans {
		if id := n.a[k]; id == victim || id == Invalid {
			t.Errorf("orphan %v left in swarm %d", k, id)
		}
	}
}

// without drops nodes that are not active, as oxen's tests pop nodes from
// the map between runs, so several departures reach one update.
func without(a Assignment, active []NodeKey) Assignment {
	out := make(Assignment, len(a))
	for _, k := range active {
		if id, ok := a[k]; ok {
			out[k] = id
		}
	}
	return out
}

// Too few nodes for two swarms: oxen would dissolve its last swarm and
// throw; hush keeps one undersized swarm holding everyone.
func TestLastSwarmIsKept(t *testing.T) {
	p := DefaultParams()
	a := Assignment{testKey(1): 0, testKey(2): 0, testKey(3): 1 << 62}
	got, err := Update(a, []NodeKey{testKey(1), testKey(2), testKey(3)}, testSeed(1), p)
	if err != nil {
		t.Fatal(err)
	}
	if ids := got.IDs(); len(ids) != 1 || len(got) != 3 {
		t.Fatalf("got %v, want all three nodes in one swarm", got)
	}
}

func TestEmptyNetwork(t *testing.T) {
	got, err := Update(Assignment{testKey(1): 5}, nil, testSeed(1), DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("got %v, want empty", got)
	}
	got, err = Update(nil, []NodeKey{testKey(1)}, testSeed(1), DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := got[testKey(1)]; !ok || id != 0 {
		t.Fatalf("first node in swarm %d (%v), want swarm 0", id, ok)
	}
}
