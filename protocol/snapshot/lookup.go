package snapshot

import (
	"slices"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/swarm"
)

// Node returns the node with Ed25519 key k. It assumes canonical order
// (see [Snapshot]).
func (s *Snapshot) Node(k identity.Ed25519PublicKey) (Node, bool) {
	i, ok := slices.BinarySearchFunc(s.Nodes, k, func(n Node, k identity.Ed25519PublicKey) int { return n.Ed25519.Compare(k) })
	if !ok {
		return Node{}, false
	}
	return s.Nodes[i], true
}

// Members returns the nodes of swarm id in ascending key order, or nil
// if there is no such swarm. Members(Unassigned) returns the nodes in
// no swarm.
func (s *Snapshot) Members(id uint64) []Node {
	var m []Node
	for _, n := range s.Nodes {
		if n.Swarm == id {
			m = append(m, n)
		}
	}
	return m
}

// SwarmIDs returns the IDs of all swarms with at least one member, in
// ascending order (the ring order Account ID → swarm mapping uses).
func (s *Snapshot) SwarmIDs() []uint64 {
	ids := make([]uint64, 0, len(s.Nodes)/4)
	for _, n := range s.Nodes {
		if n.Swarm != Unassigned {
			ids = append(ids, n.Swarm)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// SwarmOf returns the swarm that holds the account id and its members in
// ascending key order, by the swarm package's rule (session-storage-server
// get_swarm_by_pk: the nearest swarm ID on the ring); false when the
// snapshot has no swarms. A caller that looks up many accounts in one
// snapshot can build a [swarm.Ring] from [Snapshot.SwarmIDs] once instead.
func (s *Snapshot) SwarmOf(id identity.AccountID) (uint64, []Node, bool) {
	ids := s.SwarmIDs()
	sw := make([]swarm.ID, len(ids))
	for i, x := range ids {
		sw[i] = swarm.ID(x)
	}
	got, ok := swarm.ForKey(id.PubKey(), sw)
	if !ok {
		return 0, nil, false
	}
	return uint64(got), s.Members(uint64(got)), true
}
