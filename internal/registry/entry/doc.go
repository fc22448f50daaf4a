// Package entry defines what the network registry's Raft log holds: the
// commands its state machine applies, and the signed records inside them
// (a steward's admission of a node key, a node's descriptor, a registry
// host's liveness vote, a node's deregistration, a host membership change,
// a host's signature over an epoch's snapshot). It also holds the errors the registry reports and
// their stable codes, shared by the state machine, the HTTP API and its
// client. The package does no I/O.
//
// # Signatures
//
// Every record is signed over a canonical binary message, never over its
// JSON, for the reason protocol/snapshot gives: JSON has no canonical
// form. Each message starts with its own domain label ("hush/1 registry
// descriptor", "hush/1 registry admission", ...) followed by the
// length-prefixed network ID, so a signature made for one purpose or one
// network is never valid for another. Integers are big-endian, variable
// fields carry a one-byte length (addresses and versions are bounded by
// protocol/snapshot's limits), keys are raw 32 bytes.
//
// # Commands
//
// A [Command] travels as strict JSON: one "type" and exactly the one
// payload field that type names; unknown fields, a second payload or a
// missing one are [ErrMalformed]. Decoding checks syntax only. Whether a
// command is acceptable (a known steward, an admitted node, a fresh
// timestamp) depends on registry state and is decided by the state
// machine, which re-verifies every signature on every replica.
//
// Genesis and tick commands carry no signature: the state machine takes
// them only from its own log, where only the leader puts them (genesis
// only into an empty registry). The HTTP API refuses them.
package entry
