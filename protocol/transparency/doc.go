// Package transparency is the one format in which every hush server says
// what it holds (DESIGN §10): the record kinds of its live state with
// their counts, fields and retention, and what its logs carry at the
// current level. A steward server (registry, push, files, TURN) also
// signs it, with a report period and the steward's own statement of the
// requests for data it received and answered, and serves it as an onion
// destination, so that `hush network transparency` can fetch every
// steward's report through onion paths and check each against the
// network file. A node prints its own export (`hushd node transparency`)
// and signs nothing: nodes are many and their keys come from snapshots,
// not from the network file. The package does no I/O and reads no clock.
//
// # Report
//
//	{"format": 1, "server": "files", "as_of_ms": 1764979200000,
//	 "records": [{"kind": "table", "name": "blobs", "description": "...",
//	              "count": 3, "fields": ["id", "size", ...],
//	              "retention": "until the blob expires (3 weeks by default)"},
//	             {"kind": "files", "name": "blobs/ab/cd/<id>", "count": 3,
//	              "bytes": 123456, ...}],
//	 "logs": {"level": "info", "private": false,
//	          "streams": [{"name": "stderr", "description": "...",
//	                       "fields": ["time", "level", "msg", "op", ...],
//	                       "retention": "..."}]}}
//
// server is one of [Servers]. A record's kind says where it lives: a
// "table" of the server's SQLite database (its columns as fields), a kind
// of "files" in its data directory (fields say what a file holds),
// "state" kept by the server in another store (the registry's replicated
// log and its Raft snapshots), or "memory" held only while the server
// runs (a replay cache, TURN allocations). Every record states its
// retention in words. bytes is optional (files only). The logs section
// names the level the server runs at and whether debug_log_private is on
// (which lets addresses and Account IDs into logs), and each stream the
// server writes (its log, its metrics) with what an entry carries at that
// level.
//
// Names are what the live state shows (a table's name, a file pattern), so
// a kind the code does not describe still appears: the exports list every
// table of the database and every file of the data directory, and put a
// file they cannot place in a kind named "other".
//
// # Signed report
//
// A steward server's report is the JSON object
//
//	{"statement": {...}, "signature": "<128 hex>"}
//
// whose statement is
//
//	{"format": 1, "network_id": "devnet", "server": "push",
//	 "pubkey_ed25519": "<64 hex>", "issued_ms": n,
//	 "period": {"start": "2026-10-01", "end": "2026-12-31"},
//	 "requests": "free text written by the steward",
//	 "report": {...}}
//
// and whose signature is the server's Ed25519 signature over
// "hush/1" ‖ u8 len(network ID) ‖ network ID ‖ "transparency_report" ‖
// the statement's bytes exactly as they appear in the document (no
// re-encoding, so signer and verifier never disagree on a canonical
// form). The key is the one the network file lists for that server: a
// registry host's, or services.push's, services.files's, services.turn's.
// period is the steward's: the span its requests text covers (both dates
// empty when the steward wrote none). issued_ms is when the server signed.
//
// # Fetching
//
// A client asks through an onion path, as a server destination at POST
// [Target], with the body {"op": "report"} ([Request]); the answer's
// status is 200 and its body the signed report, or another status with a
// short text. The TURN server is not an onion destination today; the
// format leaves room for it (server "turn", a key in services.turn) and
// the calls issue (TURN) adds its endpoint.
//
// # Strictness
//
// Parsing uses protocol/strictjson: unknown, repeated or wrongly typed
// keys are refused, as are unknown servers, record kinds and log levels,
// negative counts, text that is not valid UTF-8, and documents over
// [MaxSize]. Errors wrap [ErrInvalid] and name the field; a bad signature
// is [ErrSignature].
package transparency
