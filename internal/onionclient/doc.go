// Package onionclient carries onion requests over HTTPS: a [Pool] of
// connections to service nodes, each pinned to the node's Ed25519 key, and
// [Send], which builds one request with protocol/onion, posts it to the
// first hop and opens the response. The client's path manager
// (internal/paths) and the node's relay (internal/relay, for node-to-node
// hops) both use the Pool, so there is one pinning implementation for
// onion traffic, built on internal/keytls.
//
// # Connections
//
// A Pool keeps one HTTP transport per node key, never per address: a pool
// keyed by address would hand a connection verified for one key to a
// request meant for another node that took over the address. Transports
// keep connections alive and speak HTTP/2 when the node offers it, so a
// relay reuses one connection per neighbour. Requests have no time-out
// but their context's, so a held request ([SendHold], fast mode's
// long-poll) shares the connection with ordinary ones; when a node's
// HTTP/2 stream limit is reached, Go's client dials another connection
// rather than queue (internal/relay/relaytest checks it with 200 held).
//
// # Errors
//
// [Send] reports every failure as a *[HopError] naming the position that
// failed (0 = the first hop, len(path) = the destination), so a caller can
// charge the right node. A node that reports that it could not reach the
// next one (timeout, next node not found, destination failed) charges the
// next position, not itself; [HopError.Reporter] keeps who said so.
package onionclient
