// Package envelope defines hush's message wire format: the Envelope stored in
// a recipient's swarm and the Content sealed inside it, their encodings, and
// the padding applied to Content before sealing.
//
// # Layers
//
// A sender builds a Content (one body: a chat message, a receipt, a call
// signal, ...), encodes it with MarshalContent, pads it with Pad, and hands
// the result to the sealing code (crypto/...), which signs and encrypts it.
// The sealed bytes go into an Envelope, encoded with MarshalEnvelope and
// stored in the swarm. A receiver reverses the steps with UnmarshalEnvelope,
// the opener for Envelope.Type, Unpad and UnmarshalContent.
//
// The Envelope is unauthenticated and carries no sender: only a type, a
// coarse timestamp and the sealed bytes. Everything that must be trusted (who
// sent it, when, which message it is) is inside the Content, which the seal
// signs. The schema, its reasons and its departures from Session's
// (oxen-io/session-desktop protos/SignalService.proto) are documented in
// envelope.proto; the Go types in envelope.pb.go are generated from it.
//
// # Validation
//
// The Unmarshal functions treat their input as hostile: they bound its size,
// reject bytes that are not a valid protobuf encoding, keep unknown fields
// (so a message from a newer client can be stored and forwarded intact) and
// check every field whose shape this package knows (ID lengths, enum values,
// required fields). The Marshal functions run the same checks, so a client
// cannot send what its peers would refuse. Each failure wraps one of the
// exported Err values, which callers test with errors.Is.
//
// # Padding
//
// Pad hides the exact length of a Content from anyone who sees its sealed
// size. See Pad for the rule.
//
// This package does no I/O, reads no clock and does not log.
package envelope
