package node

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/nodeapi"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/protocol/snapshot"
	"github.com/hushnet/hush/swarm"
)

// view is one verified snapshot with what lookups need precomputed. It is
// never modified after it is published.
type view struct {
	snap *snapshot.Snapshot
	raw  []byte
	ring swarm.Ring
	mine uint64 // this node's swarm, or snapshot.Unassigned
}

// snapshotMembership answers Owns and SwarmOf from the newest verified
// registry snapshot. Views are swapped whole, so a request sees one
// snapshot from start to end, and only for a higher epoch: rollback is
// refused here as well as by verification.
type snapshotMembership struct {
	self identity.Ed25519PublicKey
	cur  atomic.Pointer[view]
}

var (
	_ nodeapi.Membership = (*snapshotMembership)(nil)
	_ nodeapi.Readiness  = (*snapshotMembership)(nil)
)

// errStaleEpoch is returned by set for a snapshot not newer than the
// current one.
var errStaleEpoch = errors.New("snapshot is not newer than the current one")

// set publishes s (already verified, raw its signed bytes) if its epoch
// is above the current one.
func (m *snapshotMembership) set(s *snapshot.Snapshot, raw []byte) error {
	v := &view{snap: s, raw: raw, mine: snapshot.Unassigned}
	ids := s.SwarmIDs()
	sw := make([]swarm.ID, len(ids))
	for i, id := range ids {
		sw[i] = swarm.ID(id)
	}
	v.ring = swarm.NewRing(sw)
	if n, ok := s.Node(m.self); ok {
		v.mine = n.Swarm
	}
	for {
		old := m.cur.Load()
		if old != nil && old.snap.Epoch >= s.Epoch {
			return fmt.Errorf("%w: epoch %d, have %d", errStaleEpoch, s.Epoch, old.snap.Epoch)
		}
		if m.cur.CompareAndSwap(old, v) {
			return nil
		}
	}
}

// snapshot returns the current snapshot's bytes and epoch (nil, 0 before
// the first).
func (m *snapshotMembership) snapshot() ([]byte, uint64) {
	v := m.cur.Load()
	if v == nil {
		return nil, 0
	}
	return v.raw, v.snap.Epoch
}

func (m *snapshotMembership) current() *snapshot.Snapshot {
	if v := m.cur.Load(); v != nil {
		return v.snap
	}
	return nil
}

// Ready implements nodeapi.Readiness. The node keeps answering from its
// last snapshot through a registry outage, until that snapshot expires;
// from then on it refuses account requests rather than direct clients by
// a view that nothing vouches for any more.
func (m *snapshotMembership) Ready(now time.Time) error {
	v := m.cur.Load()
	switch {
	case v == nil:
		return errors.New("this node has no registry snapshot yet; retry shortly")
	case !now.Before(v.snap.ExpiresAt):
		return fmt.Errorf("this node's registry snapshot (epoch %d) expired at %s and no newer one has arrived; try another node",
			v.snap.Epoch, v.snap.ExpiresAt.UTC().Format(time.RFC3339))
	case v.ring.Len() == 0:
		return errors.New("the network has no swarms yet; retry shortly")
	}
	return nil
}

// Owns implements nodeapi.Membership.
func (m *snapshotMembership) Owns(id identity.AccountID) bool {
	v := m.cur.Load()
	if v == nil || v.mine == snapshot.Unassigned {
		return false
	}
	sw, ok := v.ring.Lookup(id.PubKey())
	return ok && uint64(sw) == v.mine
}

// SwarmOf implements nodeapi.Membership.
func (m *snapshotMembership) SwarmOf(id identity.AccountID) replication.Swarm {
	v := m.cur.Load()
	if v == nil {
		return replication.Swarm{}
	}
	sw, ok := v.ring.Lookup(id.PubKey())
	if !ok {
		return replication.Swarm{}
	}
	return replication.Swarm{ID: uint64(sw), Members: slices.Clone(v.snap.Members(uint64(sw)))}
}
