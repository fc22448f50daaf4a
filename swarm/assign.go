package swarm

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Update returns the assignment that follows current once the active nodes
// are exactly active: nodes missing from active have left, and active nodes
// without a swarm in current (absent, or mapped to [Invalid]) are placed.
// It mirrors oxen-core calc_swarm_changes step by step; see the package
// documentation for the few deliberate differences.
//
// active is a set: its order and any duplicates do not matter. All random
// choices are drawn from seed. After Update every active node is in exactly
// one swarm (oxen creates the first swarm for the first node, however
// small), and, whenever there are two swarms or more, none is below
// p.MinSize. Update returns an error wrapping [ErrInvalidParams] for bad p.
//
// Pass the previous result as current. A node that left is then absent
// from it, so when it comes back it is placed afresh, as oxen-core puts a
// decommissioned node back to UNASSIGNED_SWARM_ID (service_node_list.cpp).
// Each newcomer costs a sort of the swarm sizes, and each new swarm a pass
// over the nodes, so place newcomers as they arrive rather than thousands at
// once (2,000 at once from nothing takes about a third of a second here).
func Update(current Assignment, active []NodeKey, seed [32]byte, p Params) (Assignment, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	keys := slices.Clone(active)
	slices.SortFunc(keys, NodeKey.Compare)
	keys = slices.Compact(keys)

	// Oxen rebuilds its swarm map from the pubkey-sorted node list before
	// every run, so each swarm's vector starts in ascending key order.
	c := &calc{p: p, rng: newDraws(seed)}
	var unassigned []NodeKey
	byID := make(map[ID]*slot)
	for _, k := range keys {
		id, ok := current[k]
		if !ok || id == Invalid {
			unassigned = append(unassigned, k)
			continue
		}
		s := byID[id]
		if s == nil {
			s = &slot{id: id}
			byID[id] = s
			c.swarms = append(c.swarms, s)
		}
		s.nodes = append(s.nodes, k)
	}
	slices.SortFunc(c.swarms, func(a, b *slot) int { return cmp.Compare(a.id, b.id) })

	if err := c.run(unassigned); err != nil {
		return nil, err
	}
	next := make(Assignment, len(keys))
	for _, s := range c.swarms {
		for _, k := range s.nodes {
			next[k] = s.id
		}
	}
	return next, nil
}

// slot is one swarm during a run. The order of nodes matters: random picks
// index into it, so it follows oxen's vector (erase keeps order, new
// members go to the end).
type slot struct {
	id    ID
	nodes []NodeKey
}

func (s *slot) remove(k NodeKey) {
	s.nodes = slices.DeleteFunc(s.nodes, func(n NodeKey) bool { return n == k })
}

// calc is one run of the assignment, over swarms kept in ascending ID
// order like oxen's std::map<swarm_id_t, ...>.
type calc struct {
	p      Params
	rng    *draws
	swarms []*slot
}

// run mirrors calc_swarm_changes.
func (c *calc) run(unassigned []NodeKey) error {
	if len(c.swarms) == 0 && len(unassigned) == 0 {
		return nil
	}
	// 0. There is always one swarm, so the first node has somewhere to go.
	if len(c.swarms) == 0 {
		c.insert(&slot{id: newSwarmID(nil)})
	}
	// 1. Place newcomers in the smallest quarter of swarms.
	if err := c.assign(unassigned, fillLowerPercentile); err != nil {
		return err
	}
	// 2. Robin Hood: starving swarms take nodes from the largest quarter.
	c.robinHood()
	// 3. Split off new swarms while the excess allows.
	if err := c.createFromExcess(); err != nil {
		return err
	}
	// 4. Dissolve swarms that are still starving into the smallest swarms.
	// Oxen checks for a second swarm once, before the loop, and would throw
	// if the loop emptied the map; checking on every pass keeps the last one.
	for len(c.swarms) > 1 {
		i := slices.IndexFunc(c.swarms, func(s *slot) bool { return len(s.nodes) < c.p.MinSize })
		if i < 0 {
			break
		}
		orphans := c.swarms[i].nodes
		c.swarms = slices.Delete(c.swarms, i, i+1)
		if err := c.assign(orphans, redistributionLowerPercentile); err != nil {
			return err
		}
	}
	return nil
}

// sized is a swarm with its size when the list was sorted; oxen's
// swarm_size, whose size does not follow later changes.
type sized struct {
	s    *slot
	size int
}

// bySize mirrors calc_swarm_sizes, but stable: equal sizes stay in
// ascending ID order where std::sort would leave them unspecified.
func (c *calc) bySize() []sized {
	out := make([]sized, len(c.swarms))
	for i, s := range c.swarms {
		out[i] = sized{s: s, size: len(s.nodes)}
	}
	slices.SortStableFunc(out, func(a, b sized) int { return cmp.Compare(a.size, b.size) })
	return out
}

// assign mirrors assign_snodes: each node goes to a random swarm among
// those no larger than the given percentile of sizes, and a new swarm may
// be split off after every single placement.
func (c *calc) assign(nodes []NodeKey, percentile int) error {
	for _, k := range nodes {
		sizes := c.bySize()
		pi := percentile * (len(sizes) - 1) / 100
		limit := sizes[pi].size
		upper := len(sizes) - 1
		for i := pi; i < len(sizes); i++ {
			if sizes[i].size > limit {
				upper = i - 1
				break
			}
		}
		target := sizes[c.rng.below(upper+1)].s
		target.nodes = append(target.nodes, k)
		if err := c.createFromExcess(); err != nil {
			return err
		}
	}
	return nil
}

// robinHood mirrors step 2 of calc_swarm_changes. It works from one sorted
// snapshot of sizes, as oxen does: the donor threshold does not move while
// nodes are being stolen.
func (c *calc) robinHood() {
	sizes := c.bySize()
	for _, poor := range sizes {
		if poor.size >= c.p.MinSize {
			return // sorted: every remaining swarm is healthy
		}
		for {
			pi := stealingUpperPercentile * (len(sizes) - 1) / 100
			// Donors are strictly above the percentile size, and never at or
			// below the minimum; oxen's size_t wraps an empty swarm's -1 to
			// the maximum, which leaves no donors at all.
			limit := math.MaxInt
			if sizes[pi].size > 0 {
				limit = max(c.p.MinSize, sizes[pi].size-1)
			}
			pool, excess := c.excessPool(limit)
			if excess < c.p.MinSize-len(poor.s.nodes) {
				// Sorted by size: a smaller excess cannot save the next one either.
				return
			}
			donor := pool[c.rng.below(len(pool))]
			donor.s.remove(donor.key)
			poor.s.nodes = append(poor.s.nodes, donor.key)
			if len(poor.s.nodes) >= c.p.MinSize {
				break
			}
		}
	}
}

// pooled is a node that may be taken from its swarm (oxen excess_pool_snode).
type pooled struct {
	key NodeKey
	s   *slot
}

// excessPool mirrors get_excess_pool: every node of every swarm larger than
// threshold, so a swarm's chance of losing a node grows with its size, and
// the excess those swarms hold above the minimum.
func (c *calc) excessPool(threshold int) (pool []pooled, excess int) {
	if threshold < c.p.MinSize {
		return nil, 0
	}
	for _, s := range c.swarms {
		if len(s.nodes) > threshold {
			excess += len(s.nodes) - c.p.MinSize
			for _, k := range s.nodes {
				pool = append(pool, pooled{key: k, s: s})
			}
		}
	}
	return pool, excess
}

// excess mirrors calc_excess: nodes above the excess base, summed over swarms.
func (c *calc) excess() int {
	n := 0
	for _, s := range c.swarms {
		n += max(len(s.nodes)-c.p.excessBase(), 0)
	}
	return n
}

// threshold mirrors calc_threshold: enough excess for a whole new swarm
// while every existing swarm keeps its margin above the minimum.
func (c *calc) threshold() int {
	return c.p.newSwarmSize() + len(c.swarms)*c.p.idealMargin()
}

// createFromExcess mirrors create_new_swarm_from_excess.
func (c *calc) createFromExcess() error {
	if slices.ContainsFunc(c.swarms, func(s *slot) bool { return len(s.nodes) < c.p.MinSize }) {
		return nil // starving swarms need the excess first
	}
	for c.excess() >= c.threshold() {
		fresh := make([]NodeKey, 0, c.p.newSwarmSize())
		for len(fresh) < c.p.newSwarmSize() {
			pool, _ := c.excessPool(c.p.excessBase())
			if len(pool) == 0 {
				// Unreachable: the threshold is at least one swarm's worth of excess.
				return errors.New("swarm: no excess nodes to create a swarm from")
			}
			n := pool[c.rng.below(len(pool))]
			n.s.remove(n.key)
			fresh = append(fresh, n.key)
		}
		id := newSwarmID(c.ids())
		if !c.insert(&slot{id: id, nodes: fresh}) {
			// Unreachable below 2^63 swarms: the widest gap is split in half.
			return fmt.Errorf("swarm: new swarm id %d is already in use", uint64(id))
		}
	}
	return nil
}

func (c *calc) ids() []ID {
	ids := make([]ID, len(c.swarms))
	for i, s := range c.swarms {
		ids[i] = s.id
	}
	return ids
}

// insert adds s in ID order and reports false if its ID is taken.
func (c *calc) insert(s *slot) bool {
	i, found := slices.BinarySearchFunc(c.swarms, s.id, func(e *slot, id ID) int { return cmp.Compare(e.id, id) })
	if found {
		return false
	}
	c.swarms = slices.Insert(c.swarms, i, s)
	return true
}

// newSwarmID mirrors get_new_swarm_id: the midpoint of the widest gap
// between neighbouring swarm IDs (ascending in ids), the first such gap on
// a tie, where the gap that wraps from the last ID to the first counts MaxID
// and 0 as one apart and wins only when strictly wider. The first swarm is 0.
func newSwarmID(ids []ID) ID {
	if len(ids) == 0 {
		return 0
	}
	var widest uint64
	best := 0
	for i := 0; i+1 < len(ids); i++ {
		if d := uint64(ids[i+1] - ids[i]); d > widest {
			widest, best = d, i
		}
	}
	last := len(ids) - 1
	if d := uint64(MaxID-ids[last]) + uint64(ids[0]) + 1; d > widest {
		widest, best = d, last
	}
	half := widest / 2
	room := uint64(MaxID - ids[best])
	if half > room {
		return ID(half - room - 1) // wrapped past MaxID, which is next to 0
	}
	return ids[best] + ID(half)
}
