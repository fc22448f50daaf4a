// Package files is hush's file server, `hushd files` (DESIGN §8): it
// keeps the encrypted pieces of attachments for a few weeks and serves
// them by random ID. It is a steward server reached only as an onion
// destination: clients seal their requests to its X25519 key
// (protocol/files over protocol/onion) and the last relay of their path
// forwards them over TLS pinned to its Ed25519 key, so the server never
// sees a client's address and the relays never see a request.
//
// # Relays
//
// The server asks every connection for a client certificate
// (keytls.RequestClientCerts). With a network file (config network) it
// follows the registry's verified snapshots (internal/steward), saving the
// newest, and serves only connections whose certificate proves a node of
// the newest one; others get a plain 403 before anything is read. Its
// budgets are per relay node identity (ratelimit.Source): a token bucket
// of requests per relay and one for all together, and a fair share of the
// requests in flight. Without a network file any peer is served, budgeted
// per certificate key or else per address (tests, a private server).
//
// # Checks, in order
//
//  1. method POST on [TargetPath];
//  2. the relay is a node of the current snapshot (403);
//  3. a place among the requests in flight (503);
//  4. the body, at most one onion frame (2 MiB);
//  5. onion.Peel with the server's X25519 key (400 when it does not open);
//  6. the replay cache, keyed by the layer's ephemeral key (onion replay
//     failure);
//  7. the relay's and the total token buckets: a sealed rate_limited
//     (429) with retry_after_ms, so the client hears how long to wait;
//  8. protocol/files.ParseRequest (bad_request, or too_large for a piece
//     over the limit), then the operation.
//
// # Storage
//
// A blob is a file blobs/ab/cd/<ID in hex> in the data directory and a
// row of the SQLite table blobs (ID, size, expiry, SHA-256 of its token);
// nothing else is kept about it: no uploader, relay, upload time or
// download count. An upload is written to tmp/, synced, renamed into
// place (and its directory synced), and only then is its row inserted:
// the row is what makes a blob visible, so a crash at any point leaves
// either a complete blob or nothing a client can see. A delete or an
// expiry removes the row first, then the file. At start the store removes
// whatever is in tmp/ and every blob file without a row, and drops rows
// whose file is gone. The sweeper deletes expired blobs every
// sweep_interval; an expired blob is not served even before it is swept.
// Uploads past capacity_bytes (counting uploads in progress) are refused
// with full (507).
//
// # Privacy
//
// Logs never carry an address, a blob ID or a size (the handler logs
// operations and result codes only, and the HTTP server's own messages go
// through internal/logfilter); metrics have no per-blob or per-relay
// label. [Transparency] (`hushd files transparency`) lists every kind of
// record the data directory holds, from its live state.
//
// # Lifetime
//
// [New] loads the keys (files_ed25519.key, created on first start), the
// network file and the saved snapshot, and opens the store; [Server.Run]
// opens the listeners and stops in the order its documentation gives.
package files
