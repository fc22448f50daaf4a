package replication

import (
	"slices"
	"sync"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/snapshot"
	"github.com/hushnet/hush/swarm"
)

// SnapshotMembership answers [Membership] (and nodeapi.Membership) from
// verified registry snapshots: the current one, and the [PastSnapshots]
// before it for hand-offs. The caller verifies snapshots
// (snapshot.Verify) before passing them to [SnapshotMembership.Update].
type SnapshotMembership struct {
	self identity.Ed25519PublicKey

	mu   sync.RWMutex // guards cur and past
	cur  *view
	past []*view // newest first, at most PastSnapshots
}

// PastSnapshots is how many snapshots before the current one a node that
// left an account's swarm may still hand that account to its members
// (and, if the registry dropped it, still be let in to do so): 32 epochs,
// half an hour at the default epoch interval. One was not enough: a node
// hands off when it sees the change, and a member that had already seen
// two more epochs refused it as a stranger, so the account stayed behind
// on the node that left (a stray) and later failed its decommission.
const PastSnapshots = 32

var _ Membership = (*SnapshotMembership)(nil)

// Swarm is a swarm and its members, as the storage RPC reports it to
// clients (get_swarm, and the answer to a request for an account stored
// elsewhere).
type Swarm struct {
	ID      uint64
	Members []snapshot.Node
}

// view is one snapshot with its ring built once.
type view struct {
	snap *snapshot.Snapshot
	ring swarm.Ring
}

func newView(s *snapshot.Snapshot) *view {
	ids := s.SwarmIDs()
	sw := make([]swarm.ID, len(ids))
	for i, id := range ids {
		sw[i] = swarm.ID(id)
	}
	return &view{snap: s, ring: swarm.NewRing(sw)}
}

// swarmOf returns acct's swarm ID and members in v.
func (v *view) swarmOf(acct identity.AccountID) (uint64, []snapshot.Node) {
	if v == nil {
		return 0, nil
	}
	id, ok := v.ring.Lookup(acct.PubKey())
	if !ok {
		return 0, nil
	}
	return uint64(id), v.snap.Members(uint64(id))
}

func (v *view) node(k identity.Ed25519PublicKey) (snapshot.Node, bool) {
	if v == nil {
		return snapshot.Node{}, false
	}
	return v.snap.Node(k)
}

func (v *view) isMember(k identity.Ed25519PublicKey, acct identity.AccountID) bool {
	_, ms := v.swarmOf(acct)
	for _, m := range ms {
		if m.Ed25519.Equal(k) {
			return true
		}
	}
	return false
}

// NewSnapshotMembership returns the membership of the node with key self
// in the verified snapshot s; with s nil the node stores nothing until
// the first Update.
func NewSnapshotMembership(self identity.Ed25519PublicKey, s *snapshot.Snapshot) *SnapshotMembership {
	m := &SnapshotMembership{}
	if s != nil {
		m.cur = newView(s)
	}
	m.self = self
	return m
}

// Update makes s current and keeps the previous snapshot for hand-offs.
// It ignores a snapshot whose epoch is not newer (epochs only go up).
func (m *SnapshotMembership) Update(s *snapshot.Snapshot) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s == nil || (m.cur != nil && s.Epoch <= m.cur.snap.Epoch) {
		return false
	}
	if m.cur != nil {
		// A new slice, never an insert in place: views hands the old
		// one to readers that use it after the lock is released.
		past := make([]*view, 0, min(len(m.past)+1, PastSnapshots))
		past = append(past, m.cur)
		m.past = append(past, m.past[:min(len(m.past), PastSnapshots-1)]...)
	}
	m.cur = newView(s)
	return true
}

// Snapshot returns the current snapshot, nil before the first.
func (m *SnapshotMembership) Snapshot() *snapshot.Snapshot {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.cur == nil {
		return nil
	}
	return m.cur.snap
}

func (m *SnapshotMembership) views() (cur *view, past []*view) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.cur, m.past
}

// Members implements [Membership].
func (m *SnapshotMembership) Members(acct identity.AccountID) []snapshot.Node {
	cur, _ := m.views()
	_, ns := cur.swarmOf(acct)
	return ns
}

// Owns implements [Membership] and nodeapi.Membership.
func (m *SnapshotMembership) Owns(acct identity.AccountID) bool {
	cur, _ := m.views()
	return cur.isMember(m.self, acct)
}

// IsMember implements [Membership].
func (m *SnapshotMembership) IsMember(k identity.Ed25519PublicKey, acct identity.AccountID) bool {
	cur, _ := m.views()
	return cur.isMember(k, acct)
}

// WasMember implements [Membership]: k was a member of acct's swarm in
// one of the [PastSnapshots] before the current one.
func (m *SnapshotMembership) WasMember(k identity.Ed25519PublicKey, acct identity.AccountID) bool {
	_, past := m.views()
	return slices.ContainsFunc(past, func(v *view) bool { return v.isMember(k, acct) })
}

// Known implements [Membership]: k is in the current snapshot or one of
// the [PastSnapshots] before it.
func (m *SnapshotMembership) Known(k identity.Ed25519PublicKey) bool {
	cur, past := m.views()
	if _, ok := cur.node(k); ok {
		return true
	}
	return slices.ContainsFunc(past, func(v *view) bool { _, ok := v.node(k); return ok })
}

// Peers implements [Membership].
func (m *SnapshotMembership) Peers() []snapshot.Node {
	cur, _ := m.views()
	me, ok := cur.node(m.self)
	if !ok || me.Swarm == snapshot.Unassigned {
		return nil
	}
	var out []snapshot.Node
	for _, n := range cur.snap.Members(me.Swarm) {
		if n.Ed25519 != m.self {
			out = append(out, n)
		}
	}
	return out
}

// SwarmOf returns the swarm that stores acct (nodeapi.Membership).
func (m *SnapshotMembership) SwarmOf(acct identity.AccountID) Swarm {
	cur, _ := m.views()
	id, ns := cur.swarmOf(acct)
	return Swarm{ID: id, Members: slices.Clone(ns)}
}
