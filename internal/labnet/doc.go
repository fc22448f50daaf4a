// Package labnet lets the network lab (internal/lab) give each link a
// latency, a jitter and a loss rate without hiding anyone's address.
//
// The servers open their listeners with [Listen]. In a normal build it
// is net.Listen and nothing else. Built with the `lab` tag, and with
// $HUSH_LAB_LINKS naming a links file (JSON, see [Config]), every
// accepted connection is wrapped: bytes read from the peer reach the
// server one one-way delay after they arrived, and bytes the server
// writes leave one one-way delay after it wrote them, so a request and
// its answer cost one round trip of the link between the two addresses.
// The peer's address stays the real one (no proxy), so per-IP limits,
// per-relay identities and the client's /24 path rule see what they
// would see on a real network.
//
// A lab-built process reads the links file again when it changes
// (looking every 250 ms), and every chunk looks its link up, so a test
// can move a running network from one profile to another, open
// connections included.
//
// Only the accepting side is slowed: every connection between lab
// processes ends at exactly one hushd listener, so each link's delay
// is counted once. Clients (`hush`) open no listeners and need no hook.
//
// Loss on TCP cannot drop bytes (the stream would break, where the
// kernel would retransmit), so a lost segment shows up as what TCP
// makes of it: the chunk and everything behind it stall for a
// retransmission time-out (at least 200 ms, Linux's minimum RTO, or
// twice the link's round trip). Datagrams ([ListenPacket]) are dropped.
// Jitter never reorders a stream: each chunk leaves no earlier than the
// one before it.
package labnet
