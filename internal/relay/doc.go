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
// HTTP 400 (413 when too large, 429 past the source's rate, 503 past its
// requests in flight or when the relay is full, 408 for a body too slow):
// the node holds no key to answer with, and only the previous hop or the
// client can have sent it. Everything after a
// successful peel is answered with HTTP 200 and an onion response under
// this layer's keys: the destination's answer, wrapped again by every
// relay, or an authenticated failure code (onion.CodeTimeout and its
// siblings) that tells the client which hop failed. All 200 answers are
// size classes and look alike to the nodes that carry them.
//
// # Checks, in order
//
// Nothing substantial is spent on a request before it is known to be
// allowed, and every limit is per a named source (see Budgets):
//
//  1. method POST;
//  2. the source's rate ([Limits.ClientRate] or [Limits.NodeRate]; 429);
//  3. the source's requests in flight, body reading included
//     ([Limits.ClientInFlight], or a relay's fair share; 503);
//  4. the body, at most [Config.MaxFrame] bytes, read under
//     [Limits.BodyTimeout] (408 when it trickles) before anything else is
//     held for it;
//  5. a processing slot ([Config.MaxInFlight]; 503);
//  6. onion.Peel (frame syntax, version, hop counter, AEAD), or for a
//     session frame the source's session and onion.PeelSession (an
//     unknown session is answered with onion.SessionUnknown);
//  7. the replay cache, keyed by the layer's ephemeral key, or the
//     session's replay window, filled only by layers that decrypted so
//     that forged frames cannot flush it or move it;
//  8. the instruction: a relay target must be in the [Directory] (the
//     node's verified snapshot), a steward target must match an entry of
//     [Config.StewardAllow] (host, port, protocol and method exactly; the
//     path exactly, or below an entry ending in "/"); nothing else is
//     ever contacted, and no URL comes from the request alone.
//  9. for a layer with a hold, a place in the held pool, for which the
//     request gives back its processing slot and its ordinary in-flight
//     place (see Pools; onion.CodeUnavailable when full).
//
// # Budgets
//
// A node cannot read its position in a path from the frame (the hop
// counter is the sender's to set), so it tells hop 0 from later hops by
// the connection: a relay forwarding a frame presents its node
// certificate as a TLS client certificate (onionclient.Pool with
// PoolConfig.Cert), and a request whose connection proved a key that is
// a node of the current snapshot (keytls.PeerNode, ratelimit.SourceOf)
// comes from a relay. Every other request (no certificate, a key that is
// no current node, plain HTTP) comes from a client, and this node is its
// guard: hop 0, the only hop that sees the client's address.
//
// Clients are budgeted per address (per /64 for IPv6): a token bucket of
// onion requests and a cap on requests in flight. Relays are budgeted per
// node identity, with buckets [DefaultNodeRateFactor] times a client's,
// for the aggregate of the clients behind them, and in-flight caps that
// share [Config.MaxInFlight] fairly between the relays active at the
// moment (ratelimit.PoolLimits.NodeShare) while always leaving a share
// for one more. An abuser behind relay R therefore spends its own budget
// at R, then R's share at later hops, and never another relay's. A
// relay's request reaches the storage RPC with no address, so the storage
// RPC's per-address limit never charges a relay for its clients; a
// client's one-layer onion keeps its address and is limited there as a
// direct request is.
//
// HTTP/2 bounds the requests of one connection (node.MaxStreamsPerConn),
// as HTTP/1.1 does by its nature.
//
// # Pools
//
// A request holds a slot of the processing pool from the moment its body
// has arrived until it is answered, bounded by the deadlines below. A
// request whose layer asks for a hold (fast mode's long-poll; see Holds)
// moves, once peeled, out of the processing pool and out of its source's
// ordinary in-flight budget into a pool of its own ([Config.MaxHeld],
// with a per-source bound: [Limits.ClientHeld] per client address, a
// fair share of MaxHeld per relay), so that requests held open never take
// the slots or the budget short ones need. Past those bounds a held
// request is refused at once with onion.CodeUnavailable.
//
// # Holds
//
// A relay or destination layer may carry a hold (onion.Instruction.Hold,
// at most onion.MaxHold): the client asks the path to keep the request
// open that long, because the destination will hold it (a retrieve with a
// wait). Each node caps the hold at its own [Config.MaxHold] (hushd's
// max_hold) and waits its ordinary deadline plus the capped hold. A node
// whose cap is below the hold asked for times out first and answers
// onion.CodeTimeout under its own key: the client sees a clean time-out
// from that hop, never a hang. The destination holds only a top-level
// retrieve whose wait is at most the hold asked for; anything else with a
// hold is answered with a bad_field error ([HoldRefused]) without calling
// the storage RPC. Its storage RPC then runs with HopTimeout plus the
// capped hold.
//
// HTTP/2 bounds the streams of one connection (node.MaxStreamsPerConn,
// 100); when a relay holds that many to the next node, Go's HTTP/2 client
// opens another connection rather than queue (relaytest's
// TestOrdinaryRequestsWhileHeld checks it with 200), so one busy
// guard→relay link never makes ordinary requests wait behind held ones.
// A node's HTTP write time-out must cover its longest deadline, ordinary
// plus max_hold.
//
// # Deadlines
//
// A node does not know how many hops remain below it, so the deadline it
// gives the rest of the path shrinks with its position: HopTimeout plus
// HopSlack for every position that could still follow (plus the layer's
// capped hold, which the client sets alike in every layer). A node nearer the
// client therefore always waits a little longer than the node after it,
// and a time-out deep in the path comes back as that node's authenticated
// onion.CodeTimeout instead of the guard's.
//
// # Sessions
//
// A client opens a session at its guard and its middle relay with the
// first full request on a path, and sends later requests there as
// session frames, keyed from the session without public-key work
// (docs/onion.md). protocol/onion refuses sessions at hop 2 and later,
// so the last relay and the destination always see a fresh ephemeral
// key. The relay keeps sessions in memory only (a restart forgets them)
// in a cache bounded per source ([SessionLimits.PerClient] per client
// address, [SessionLimits.PerNode] per relay that opened sessions for the
// clients behind it) and in total, evicting the source's oldest, or the
// cache's oldest, to make room. Entries hold no pointers. A session is
// bound to the source that opened it and lives onion.SessionLifetime plus
// onion.SessionGrace; its replay window (onion.ReplayWindow counters)
// accepts parallel requests out of order. A session frame whose session
// is not held is answered with onion.SessionUnknown, signed with
// [Config.Signer] so that the client can tell it from a forgery; a relay
// without a signer opens no sessions (a layer asking for one is refused
// as a bad instruction, and the client falls back to full requests).
//
// # Observation
//
// [Config.Recorder] sees everything the node receives and sends for each
// request. It exists for the privacy tests (what does each node learn?);
// production nodes leave it nil.
package relay
