// Package nodeapi is a service node's client-facing HTTP API: the storage
// RPC at POST /storage_rpc/v1 (see protocol/rpc for the wire format) and
// GET /healthz, and the node's registry snapshot to clients
// ([MethodGetSnapshot]). [New] returns an http.Handler; it never listens, so the
// wiring root (internal/node) decides on TLS, time-outs and shutdown.
//
// # Request path
//
// Each request is rate-limited per client IP (one token before the body is
// read; a batch or sequence then one more per further sub-request),
// size-limited, decoded by protocol/rpc (strictly: protocol/strictjson),
// then handled in a fixed order: swarm membership (421 with
// the right swarm), time rules (clock skew reported as such), signature,
// replay cache, and only then the store. A check that fails changes
// nothing. Every answer carries the node time "t".
//
// # Paging order
//
// retrieve lists messages in the (deposit timestamp, hash) order that
// internal/store defines, the same on every member of a swarm that holds
// the same messages; the cursor is the last message's timestamp and hash
// (after_timestamp, after_hash), so a client may switch nodes mid-stream.
// Messages repaired late can land behind a cursor; clients re-read a
// lookback window and dedupe by hash.
//
// # Held retrieves
//
// A retrieve of its own (not in a batch) with wait > 0 that finds nothing
// after its cursor is held until a message lands in its account and
// namespace on this node, by any path ([Config.Arrivals]), or until its
// wait ends; it then answers as an ordinary retrieve. Held retrieves are
// bounded per node and per account ([Config.MaxHeld],
// [Config.MaxHeldPerAccount]); past a bound the answer is hold_full with
// retry_after_ms. See hold.go.
//
// # Push subscription records
//
// Namespace 4 holds push subscription records (protocol/push), which
// nodes act on: a client's store there must parse as a valid, unexpired
// record signed by the account (else bad_field, 400), and an account
// holds at most push.MaxRecordsPerAccount live ones (else quota_exceeded,
// 403). Every message a client's store adds is reported to
// [Config.Deposits] for push notifications, without waiting. See
// pushrecords.go.
//
// # Group swarms
//
// For a group ID (03…) the group key may do everything; a member's
// request is checked for the permission its method and namespace need
// (pure, before any signature), then its credential and signature, then
// the group's revocation lists, whose union is cached per group and
// dropped when a list lands by any path. Only the admin stores outside the
// message and push record namespaces, and a store into the revocation
// namespace must be a list the group key signed. A member deletes only
// the push subscription records its own key signed (pushrecords.go
// memberDeletable). Refusals: bad_signature, bad_credential
// (401), revoked, forbidden (403). See groups.go and docs/groups.md.
//
// # Privacy
//
// Logs carry no IP address, Account ID or message size unless
// [Config.LogPrivate] is set, and metrics carry no per-account or per-IP
// labels.
package nodeapi
