// Package relay is a service node's onion relay: the handler for POST
// /onion_req/v2 (DESIGN.md §4 "Onion relay"). It peels this node's layer
// of a request with protocol/onion and then, as the layer says, forwards
// the rest to the next node, answers it as a storage RPC (this node is the
// destination), or forwards it to a steward server on the node's
// allow-list. [New] returns the handler; it never listens, so the node's
// wiring root (internal/node) mounts it next to the storage RPC.
//
// # Answers
//
// A frame this node cannot open (wrong size, bad JSON, unknown version,
// low-order or wrong ephemeral key, hop counter at the limit) gets a plain
// HTTP 400 (413 when too large, 503 when the relay is full): the node holds no key to answer with, and
// only the previous hop or the client can have sent it. Everything after a
// successful peel is answered with HTTP 200 and an onion response under
// this layer's keys: the destination's answer, wrapped again by every
// relay, or an authenticated failure code (onion.CodeTimeout and its
// siblings) that tells the client which hop failed. All 200 answers are
// size classes and look alike to the nodes that carry them.
//
// # Checks, in order
//
//  1. method POST, a free slot ([Config.MaxInFlight]) and a body no
//     larger than [Config.MaxFrame];
//  2. onion.Peel (frame syntax, version, hop counter, AEAD);
//  3. the replay cache, keyed by the layer's ephemeral key, filled only by
//     layers that decrypted so that forged frames cannot flush it;
//  4. the instruction: a relay target must be in the [Directory] (the
//     node's verified snapshot), a steward target must match an entry of
//     [Config.StewardAllow] (host, port, protocol and method exactly; the
//     path exactly, or below an entry ending in "/"); nothing else is
//     ever contacted, and no URL comes from the request alone.
//
// # Deadlines
//
// A node does not know how many hops remain below it, so the deadline it
// gives the rest of the path shrinks with its position: HopTimeout plus
// HopSlack for every position that could still follow. A node nearer the
// client therefore always waits a little longer than the node after it,
// and a time-out deep in the path comes back as that node's authenticated
// onion.CodeTimeout instead of the guard's.
//
// # Observation
//
// [Config.Recorder] sees everything the node receives and sends for each
// request. It exists for the privacy tests (what does each node learn?);
// production nodes leave it nil.
package relay
