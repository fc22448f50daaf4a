package swarm

import (
	"maps"
	"slices"
)

// Assignment maps each node to its swarm. A node that is absent, or mapped
// to [Invalid], has no swarm.
type Assignment map[NodeKey]ID

// Swarms returns the members of every swarm, each list in ascending key
// order. Nodes mapped to [Invalid] are left out.
func (a Assignment) Swarms() map[ID][]NodeKey {
	out := make(map[ID][]NodeKey)
	for k, id := range a {
		if id != Invalid {
			out[id] = append(out[id], k)
		}
	}
	for _, nodes := range out {
		slices.SortFunc(nodes, NodeKey.Compare)
	}
	return out
}

// Members returns the nodes of swarm id in ascending key order.
func (a Assignment) Members(id ID) []NodeKey {
	if id == Invalid {
		return nil
	}
	var out []NodeKey
	for k, s := range a {
		if s == id {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, NodeKey.Compare)
	return out
}

// IDs returns the swarms that have at least one member, ascending.
func (a Assignment) IDs() []ID {
	seen := make(map[ID]struct{})
	for _, id := range a {
		if id != Invalid {
			seen[id] = struct{}{}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// Ring returns the ring of the assignment's swarms, for account lookups.
func (a Assignment) Ring() Ring { return Ring{ids: a.IDs()} }

// Nodes returns the assigned nodes in ascending key order.
func (a Assignment) Nodes() []NodeKey {
	out := make([]NodeKey, 0, len(a))
	for k, id := range a {
		if id != Invalid {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, NodeKey.Compare)
	return out
}

// Equal reports whether a and b put the same nodes in the same swarms.
func (a Assignment) Equal(b Assignment) bool {
	return len(Diff(a, b)) == 0
}

// Move is one node's change of swarm between two assignments. From is
// [Invalid] for a node that joined, To is [Invalid] for one that left.
type Move struct {
	Node     NodeKey
	From, To ID
}

// Diff lists every node whose swarm differs between before and after, in
// ascending key order: what replication must act on (data to hand over,
// peers to bootstrap).
func Diff(before, after Assignment) []Move {
	swarmOf := func(a Assignment, k NodeKey) ID {
		if id, ok := a[k]; ok {
			return id
		}
		return Invalid
	}
	var moves []Move
	for k := range before {
		if from, to := swarmOf(before, k), swarmOf(after, k); from != to {
			moves = append(moves, Move{Node: k, From: from, To: to})
		}
	}
	for k, to := range after {
		if _, ok := before[k]; !ok && to != Invalid {
			moves = append(moves, Move{Node: k, From: Invalid, To: to})
		}
	}
	slices.SortFunc(moves, func(x, y Move) int { return x.Node.Compare(y.Node) })
	return moves
}

// SwarmChanges lists the swarms that exist only after (created: their
// members must be bootstrapped with the accounts now mapped to them) and
// only before (dissolved: their members hand their data on), ascending.
func SwarmChanges(before, after Assignment) (created, dissolved []ID) {
	b, a := before.IDs(), after.IDs()
	for _, id := range a {
		if _, found := slices.BinarySearch(b, id); !found {
			created = append(created, id)
		}
	}
	for _, id := range b {
		if _, found := slices.BinarySearch(a, id); !found {
			dissolved = append(dissolved, id)
		}
	}
	return created, dissolved
}

// Reassigned counts the moves in which a node went from one swarm to
// another, leaving out joins and departures: the churn an event causes.
func Reassigned(moves []Move) int {
	n := 0
	for _, m := range moves {
		if m.From != Invalid && m.To != Invalid {
			n++
		}
	}
	return n
}
