// Package files is the wire format of hush's file server (`hushd files`,
// DESIGN §8): what a client sends through an onion path to the server and
// what comes back. It does no I/O and reads no clock; internal/files
// serves it and internal/filesclient speaks it.
//
// # Endpoint
//
// Every operation goes to one steward endpoint, POST [Target], so the
// last relay of a path, which sees the target in its layer, learns
// nothing of what the client does. The request is the body of the
// server's onion layer (protocol/onion, a server destination) and the
// answer the body of its sealed response, whose status is the
// operation's HTTP status.
//
// # Framing
//
// A request and an answer are each
//
//	[uint32 big-endian N][N bytes JSON header][bytes]
//
// with N at most [MaxHeader]. The header of a request is one object
//
//	{"op": "upload"|"download"|"info"|"extend"|"delete",
//	 "id": ID, "offset": n, "length": n, "ttl_ms": n, "token": TOKEN}
//
// carrying exactly the members its operation uses (see [Request]); any
// other member, a repeated one, a null or a wrong type is refused, as
// with every JSON hush accepts (protocol/strictjson). Only an upload has
// bytes after the header: the piece, 1 to [MaxPiece] bytes.
//
// IDs are 32 random bytes and tokens 32 random bytes, both in unpadded
// base64url (43 characters). An ID names a blob and is never derived from
// its content, so equal uploads get unrelated IDs. A token is an upload's
// delete and extend capability; the server keeps only its SHA-256.
//
// An answer's header depends on the operation ([Response]): an upload
// answers {"id", "expires_ms", "token"}; a download {"size",
// "expires_ms"} and the requested bytes after the header; info {"size",
// "expires_ms"}; extend {"expires_ms"}; delete {}. Any status but 200
// carries an error header {"error": code, "message", "retry_after_ms"}
// ([Error]) whose code fixes the status: not_found 404 (unknown or
// expired: the client shows "attachment expired"), too_large 413, full
// 507, rate_limited 429, bad_request 400, forbidden 403 (wrong token),
// internal 500.
//
// # Sizes
//
// [MaxPiece] is the largest piece an upload carries and a download
// returns: the request, sealed through the longest path the onion format
// allows (14 relays and the server's layer) to a server with the longest
// host name a target may have, fits onion's largest size class (2 MiB),
// and so does the download answer sealed by the server
// (TestMaxPieceFitsOnion builds both with protocol/onion).
package files
