package relay

import (
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/onion"
)

// Observation is what one node saw of one request: everything it
// received and sent, and what it learned by peeling. Byte slices alias
// the relay's buffers and must not be modified.
type Observation struct {
	Node   identity.Ed25519PublicKey // the observing node
	Remote string                    // the peer's address as the connection shows it
	// Request is the frame as received; Response what was sent back with
	// Status.
	Request  []byte
	Status   int
	Response []byte
	// Hop and Kind come from the peeled layer (-1 and KindInvalid when it
	// did not peel).
	Hop  int
	Kind onion.Kind
	// Next is the node a relay layer named; Server the steward target.
	Next   identity.Ed25519PublicKey
	Server *onion.ServerTarget
	// Inner is the storage RPC body, when this node was the destination.
	Inner []byte
	// Session is the session the frame came under (with its Counter), or
	// the one its layer opened here (Counter 0); zero for neither.
	Session onion.SessionID
	Counter uint64
}

// Recorder receives an [Observation] after each request. It must be safe
// for concurrent use and must not block.
type Recorder interface {
	Record(Observation)
}
