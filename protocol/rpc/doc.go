// Package rpc is the wire format of a service node's storage RPC
// (POST /storage_rpc/v1): request and response types, strict decoding of
// untrusted request bodies into checked values, the typed requests a
// client builds and signs, the canonical strings it signs, the message
// hash, and the stable error codes a node answers with. It does no I/O
// and reads no clock: callers pass the time in.
//
// The methods and their semantics follow session-storage-server
// (oxenss/rpc/client_rpc_endpoints.h, oxenss/rpc/request_handler.cpp), with
// the differences listed below.
//
// # Methods
//
// Request bodies are {"method": M, "params": {...}}, decoded by
// protocol/strictjson: unknown keys, a key twice, keys that match only
// case-insensitively and anything after the object are refused, and
// errors name keys as they appear on the wire. Keys and Account IDs are lowercase hex, signatures and data
// standard base64, times integer ms since the Unix epoch. Signed requests
// carry pubkey (05 Account ID), pubkey_ed25519 and signature; a group's
// (03 group ID) carry pubkey and signature, and from a member subaccount
// and subaccount_sig (see group.go). A group swarm has only the group
// namespaces (protocol/group.Namespaces).
//
//	store         pubkey, namespace?, data, ttl, timestamp; for a namespace not
//	              divisible by 10 also pubkey_ed25519, sig_timestamp?, signature
//	              → {hash, already, deleted?, t}
//	retrieve      namespace?, timestamp, after_timestamp?+after_hash?, max_count?,
//	              max_size? → {messages: [{hash, timestamp, expiration, data}], more, t};
//	              unsigned (pubkey only) for the public-read [NamespaceKeys]
//	delete        messages: [hash…], timestamp → {deleted, t}
//	delete_all    namespace? (integer or "all"), timestamp → {deleted, t}
//	delete_before namespace?, before, timestamp → {deleted, t}
//	expire        messages, expiry, shorten? | extend?, timestamp → {updated: {hash: ms}, expiry, t}
//	expire_all    namespace?, expiry (only shortens), timestamp → {updated, expiry, t}
//	get_expiries  messages, timestamp → {expiries: {hash: ms}, t}
//	get_swarm     pubkey → {swarm_id, members: [{pubkey_ed25519, pubkey_x25519, address}], t}
//	info          (none) → {version, network_id, pubkey_ed25519, pubkey_x25519, t}
//	batch, sequence  requests: [{method, params}…] (≤ 20) → {results: [{code, body}], t}
//
// # Building requests
//
// Each checked request type ([Store], [Retrieve], [Delete], …, and
// [GetSwarm], [Info], [Batch]) is also the request a client builds: an
// [Outgoing] with Params, Stamp (the signed request time, which the
// caller reads from its clock) and Sign. Parsing what a builder encodes
// gives back what was built; round-trip fuzz targets hold both sides to
// that. [ParseDraft] turns params a person wrote (`hush tool rpc`) into
// such a request, filling in the account and the times left out.
//
// Errors are {"error": {"code", "message"}, "t"} with the HTTP status of
// [Code.Status]; a wrong_swarm error also carries "swarm".
//
// # Signatures
//
// Every signed string starts with a domain prefix, "hush/1" ‖ u8 len ‖
// network ID, and continues with Session's method string (see [SigStore]
// and its siblings). The length byte makes the prefix unambiguous: without
// it, network "x" signing "retrieve…" and a network whose ID begins with
// "xretrieve" could share strings. The prefix keeps a signature made for one
// hush network (or for Session, where users may restore the same recovery
// phrase) from being replayed to another.
//
// Lists of message hashes are concatenated without separators, as in
// Session; this is unambiguous because every hash is checked to be exactly
// [HashLen] characters of unpadded base64.
//
// delete, delete_before, expire and expire_all use hush's own strings
// instead (see [SigDelete] and its siblings): Session signs no request
// time for them, so a captured request stays valid for ever and the
// replay cache, which lives ±[SigTolerance], cannot cover it. Here each
// carries a "timestamp" parameter, the request time, checked like every
// signed time (within ±60 s of the node's clock, else clock_skew), and
// signed as "method:" ‖ timestamp ‖ ":" ‖ fields separated by ":" — for
// example "expire:1764000000500:shorten:1764000000000:" ‖ hash…. A replay
// inside the window meets the replay cache; after it, the clock check.
//
// # Differences from Session
//
//   - retrieve pages in the swarm-wide (timestamp, hash) order of
//     internal/store: a client passes after_timestamp and after_hash (the
//     last message it saw) instead of Session's per-node last_hash, so the
//     same cursor works on every member of the swarm.
//   - store takes ttl only (no absolute expiry) and always needs
//     pubkey_ed25519 with a signature for namespaces not divisible by 10.
//   - subaccounts exist only for group swarms (03 IDs, docs/groups.md):
//     a member presents subaccount (its credential's token) and
//     subaccount_sig (the group key's signature of it, labelled and bound
//     to the group ID) and signs with the member key; revocations are a
//     signed list stored in the group swarm, not revoke_subaccount. There
//     is no ifelse.
//   - errors are JSON objects {"error": {"code", "message"}, "t"} with a
//     stable [Code], instead of plain-text bodies.
//   - delete, delete_before, expire and expire_all sign a request time in
//     hush's own string format (above), so a replay is refused at any time.
//   - of the public namespaces (divisible by 10) only those in
//     [DepositNamespaces] take stores (the DM inbox 0 today); Session
//     accepts any. Others answer bad_namespace.
//   - no expiry change (expire, expire_all, or a duplicate store) takes a
//     message past its deposit timestamp plus its namespace's longest TTL
//     (14 days public, 30 owner-only). Session caps at now plus the TTL;
//     hush's bound follows from the deposit, so a message never outlives
//     the forward-secrecy window of the key it was sealed to.
//   - delete_before removes messages stamped at or before "before", as
//     Session does; delete_all removes those at or before its signed
//     timestamp (Session: all), so a replay cannot reach newer mail.
//   - a duplicate store with a later expiry extends the stored one, as in
//     Session; a store of a message its owner deleted is not stored again
//     and answers deleted:true (Session stores it again).
//   - each sub-request of batch and sequence costs one token of the
//     client's rate limit (the node's rule, not the wire format's).
package rpc
