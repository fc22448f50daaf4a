package swarm

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
)

// ID names a swarm: a point on the uint64 ring that accounts map onto.
type ID uint64

const (
	// Invalid is never a swarm: it marks a node without one. Oxen reserves
	// the same value (UNASSIGNED_SWARM_ID in oxen-core
	// src/cryptonote_core/service_node_rules.h, INVALID_SWARM_ID in
	// session-storage-server oxenss/snode/swarm.h).
	Invalid ID = math.MaxUint64
	// MaxID is the largest ID a swarm can have (oxen-core service_node_swarm.h MAX_ID).
	MaxID ID = Invalid - 1
)

// NodeKey is a service node's Ed25519 public key, its identity in the
// registry. Keys order by their bytes.
type NodeKey [32]byte

// Compare orders keys by their bytes, as oxen orders its node list (memcmp).
func (k NodeKey) Compare(o NodeKey) int {
	for i := range k {
		if k[i] != o[i] {
			if k[i] < o[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// String returns the key in lowercase hex.
func (k NodeKey) String() string { return hex.EncodeToString(k[:]) }

// KeyPosition places an account on the swarm ring: the 32 key bytes after
// the 0x05 prefix read as four big-endian uint64 and XORed together
// (session-storage-server oxenss/snode/swarm.cpp pubkey_to_swarm_space).
// Every uint64 is a possible position, Invalid included.
func KeyPosition(pubkey [32]byte) uint64 {
	var pos uint64
	for i := 0; i < 32; i += 8 {
		pos ^= binary.BigEndian.Uint64(pubkey[i:])
	}
	return pos
}

// Ring answers which swarm holds an account. Build one with [NewRing] and
// reuse it for many lookups; the zero Ring has no swarms.
type Ring struct {
	ids []ID // ascending, unique, never Invalid
}

// NewRing returns the ring of the given swarms, in any order. Duplicates
// are ignored, and so is Invalid, which is not a swarm.
func NewRing(swarms []ID) Ring {
	ids := slices.Clone(swarms)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if n := len(ids); n > 0 && ids[n-1] == Invalid {
		ids = ids[:n-1]
	}
	return Ring{ids: ids}
}

// IDs returns the ring's swarms in ascending order.
func (r Ring) IDs() []ID { return slices.Clone(r.ids) }

// Len returns the number of swarms on the ring.
func (r Ring) Len() int { return len(r.ids) }

// Lookup returns the swarm of the account whose key (without the 0x05
// prefix) is pubkey, and false when the ring is empty.
func (r Ring) Lookup(pubkey [32]byte) (ID, bool) {
	return r.LookupPosition(KeyPosition(pubkey))
}

// LookupPosition returns the swarm nearest to pos going either way around
// the 2^64 ring, preferring the left (lower, or before wrap-around)
// neighbour on a tie, as session-storage-server get_swarm_by_pk does.
func (r Ring) LookupPosition(pos uint64) (ID, bool) {
	n := len(r.ids)
	if n == 0 {
		return Invalid, false
	}
	// The right neighbour is the first swarm at or after pos; past the last
	// swarm it wraps to the first, and the left neighbour is the one before.
	right, _ := slices.BinarySearch(r.ids, ID(pos))
	if right == n {
		right = 0
	}
	left := (right + n - 1) % n
	// Unsigned subtraction measures the distance around the ring, so the
	// wrap-around needs no special case (with one swarm both sides agree).
	dRight := uint64(r.ids[right]) - pos
	dLeft := pos - uint64(r.ids[left])
	if dRight < dLeft {
		return r.ids[right], true
	}
	return r.ids[left], true
}

// ForKey returns the swarm, among swarms given in any order, that holds the
// account whose key (without the 0x05 prefix) is pubkey; false when there
// are no swarms. Build a [Ring] instead when looking up many keys.
func ForKey(pubkey [32]byte, swarms []ID) (ID, bool) {
	return NewRing(swarms).Lookup(pubkey)
}
