package snapshot

import (
	"slices"

	"github.com/hushnet/hush/identity"
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

// SwarmFor returns the swarm that holds the account with the given
// 32-byte public key, and its members. pick is the mapping rule (the
// swarm package's; passed in so this package stays independent of it):
// it gets the key and [Snapshot.SwarmIDs] and returns the chosen ID, or
// false when there is none. SwarmFor reports false if pick does, or if
// pick names an ID that is not one of the swarms.
func (s *Snapshot) SwarmFor(pubkey [32]byte, pick func(pubkey [32]byte, swarms []uint64) (uint64, bool)) (uint64, []Node, bool) {
	id, ok := pick(pubkey, s.SwarmIDs())
	if !ok || id == Unassigned {
		return 0, nil, false
	}
	m := s.Members(id)
	if m == nil {
		return 0, nil, false
	}
	return id, m, true
}
