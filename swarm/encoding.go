package swarm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed is returned, wrapped, by [Assignment.UnmarshalBinary] for
// bytes that are not a canonical encoding.
var ErrMalformed = errors.New("malformed swarm assignment")

// recordSize is one node in the binary encoding: key, then big-endian ID.
const recordSize = 32 + 8

// EncodedSize returns the length of the binary encoding of n assigned nodes.
func EncodedSize(n int) int { return 4 + n*recordSize }

// MarshalBinary encodes the assignment canonically, so equal assignments
// give equal bytes (and equal hashes) on every replica: a big-endian uint32
// count, then for every assigned node in ascending key order its 32-byte
// key and its 8-byte big-endian swarm ID. Nodes mapped to [Invalid] are
// left out.
func (a Assignment) MarshalBinary() ([]byte, error) {
	nodes := a.Nodes()
	b := make([]byte, 4, EncodedSize(len(nodes)))
	binary.BigEndian.PutUint32(b, uint32(len(nodes)))
	for _, k := range nodes {
		b = append(b, k[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(a[k]))
	}
	return b, nil
}

// UnmarshalBinary replaces *a with the assignment encoded in b. It accepts
// only the canonical form [Assignment.MarshalBinary] writes: keys strictly
// ascending, no [Invalid] swarm, no trailing bytes.
func (a *Assignment) UnmarshalBinary(b []byte) error {
	if len(b) < 4 {
		return fmt.Errorf("%w: %d bytes is shorter than the count", ErrMalformed, len(b))
	}
	n := binary.BigEndian.Uint32(b)
	rest := b[4:]
	if uint64(len(rest)) != uint64(n)*recordSize {
		return fmt.Errorf("%w: %d nodes need %d bytes, have %d", ErrMalformed, n, uint64(n)*recordSize, len(rest))
	}
	out := make(Assignment, n)
	var prev NodeKey
	for i := range int(n) {
		r := rest[i*recordSize:]
		k := NodeKey(r[:32])
		id := ID(binary.BigEndian.Uint64(r[32:recordSize]))
		if i > 0 && prev.Compare(k) >= 0 {
			return fmt.Errorf("%w: node %d is not in ascending key order", ErrMalformed, i)
		}
		if id == Invalid {
			return fmt.Errorf("%w: node %d has the invalid swarm id", ErrMalformed, i)
		}
		out[k] = id
		prev = k
	}
	*a = out
	return nil
}
