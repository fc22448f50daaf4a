package group

import (
	"fmt"

	"github.com/hushnet/hush/identity"
)

// WriterSize is the size of the writer prefix of an object stored in the
// messages namespace.
const WriterSize = 32

// WithWriter returns what a writer stores in a group's messages namespace
// (docs/groups.md §7): its request key (a member's key, or the group key
// for an admin) followed by the message. The node that takes the store
// checks the prefix against the key that signed the request, and every
// node counts the object against that key's share of the group's quota,
// so one member cannot fill the swarm for the others. The prefix shows a
// node nothing it does not see already (the key of each request).
func WithWriter(writer identity.Ed25519PublicKey, message []byte) []byte {
	out := make([]byte, 0, WriterSize+len(message))
	raw := writer.Raw32()
	out = append(out, raw[:]...)
	return append(out, message...)
}

// SplitWriter returns the writer key and the message of an object from a
// group's messages namespace, or ErrMalformed for one too short to hold
// both.
func SplitWriter(stored []byte) (identity.Ed25519PublicKey, []byte, error) {
	if len(stored) <= WriterSize {
		return identity.Ed25519PublicKey{}, nil, fmt.Errorf("%w: stored message: %d bytes, no room for the writer and a message", ErrMalformed, len(stored))
	}
	return identity.Ed25519PublicKeyFromRaw32([WriterSize]byte(stored[:WriterSize])), stored[WriterSize:], nil
}
