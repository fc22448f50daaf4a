// Package rpc is the wire format of a service node's storage RPC
// (POST /storage_rpc/v1): request and response types, strict decoding of
// untrusted request bodies into checked values, the canonical strings a
// client signs, the message hash, and the stable error codes a node answers
// with. It does no I/O and reads no clock: callers pass the time in.
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
// carry pubkey (05 Account ID), pubkey_ed25519 and signature.
//
//	store         pubkey, namespace?, data, ttl, timestamp; for a namespace not
//	              divisible by 10 also pubkey_ed25519, sig_timestamp?, signature
//	              → {hash, already, t}
//	retrieve      namespace?, timestamp, after_timestamp?+after_hash?, max_count?,
//	              max_size? → {messages: [{hash, timestamp, expiration, data}], more, t};
//	              unsigned (pubkey only) for the public-read [NamespaceKeys]
//	delete        messages: [hash…] → {deleted, t}
//	delete_all    namespace? (integer or "all"), timestamp → {deleted, t}
//	delete_before namespace?, before → {deleted, t}
//	expire        messages, expiry, shorten? | extend? → {updated: {hash: ms}, expiry, t}
//	expire_all    namespace?, expiry (only shortens) → {updated, expiry, t}
//	get_expiries  messages, timestamp → {expiries: {hash: ms}, t}
//	get_swarm     pubkey → {swarm_id, members: [{pubkey_ed25519, pubkey_x25519, address}], t}
//	info          (none) → {version, network_id, pubkey_ed25519, pubkey_x25519, t}
//	batch, sequence  requests: [{method, params}…] (≤ 20) → {results: [{code, body}], t}
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
// # Differences from Session
//
//   - retrieve pages in the swarm-wide (timestamp, hash) order of
//     internal/store: a client passes after_timestamp and after_hash (the
//     last message it saw) instead of Session's per-node last_hash, so the
//     same cursor works on every member of the swarm.
//   - store takes ttl only (no absolute expiry) and always needs
//     pubkey_ed25519 with a signature for namespaces not divisible by 10.
//   - there are no subaccounts, no ifelse, no revoke_subaccount.
//   - errors are JSON objects {"error": {"code", "message"}, "t"} with a
//     stable [Code], instead of plain-text bodies.
//
// Signatures over expire, expire_all and delete_before carry no request
// timestamp (as in Session), so the node's replay cache cannot cover their
// whole validity: a replayed expire sets the same expiry on the same hashes
// again; a replayed delete_before removes only messages deposited before its
// signed time. A replayed expire_all can reach messages deposited after it
// was signed, until its signed expiry passes; clients should prefer expire
// with explicit hashes.
package rpc
