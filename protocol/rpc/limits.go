package rpc

import "time"

// Limits and tolerances, from session-storage-server
// (oxenss/rpc/request_handler.h, client_rpc_endpoints.h) unless noted.
const (
	// MaxDataSize is the largest message data, in decoded bytes.
	MaxDataSize = 76_800
	// MinTTL and MaxTTLPublic bound a deposit's time to live in a public
	// namespace (divisible by 10); owner-only namespaces may live up to
	// MaxTTLPrivate.
	MinTTL        = 10 * time.Second
	MaxTTLPublic  = 14 * 24 * time.Hour
	MaxTTLPrivate = 30 * 24 * time.Hour
	// SigTolerance is how far a signed timestamp may be from the node's clock.
	SigTolerance = 60 * time.Second
	// StoreTolerance is how far in the future a deposit timestamp may be.
	StoreTolerance = 10 * time.Second
	// RetrieveMaxSize caps the data bytes of one retrieve response. Session
	// allows 7,800,000 raw bytes; hush counts the base64 growth (4/3) so the
	// response itself stays under DESIGN.md's ~7.8 MB.
	RetrieveMaxSize = 5_850_000
	// RetrieveMaxCount caps the messages of one retrieve response (hush's
	// own limit: many tiny messages would otherwise cost a row each).
	RetrieveMaxCount = 5_000
	// MaxWait is the longest a retrieve may ask to be held (fast mode):
	// under the 30 s idle time-outs common on home routers and carrier
	// NATs, so a held connection is not cut while it waits.
	MaxWait = 25 * time.Second
	// MaxBatch is the most sub-requests a batch or sequence may hold.
	MaxBatch = 20
	// MaxHashes is the most message hashes one delete, expire or
	// get_expiries may name (hush's limit; the body limit bounds it anyway).
	MaxHashes = 1_000
	// MaxKnown is the most hashes a retrieve's known list may name: a
	// poll's lookback window of a busy conversation, at 43 bytes each
	// (hush's limit).
	MaxKnown = 1_000
	// MaxBodySize is the largest request body a node reads: a batch of
	// MaxBatch stores at full size, base64-encoded, with room for JSON.
	MaxBodySize = MaxBatch*(MaxDataSize*4/3+1024) + 4096
)

// maxTimestampMs is the year 3000 in ms: larger values are refused before
// they can overflow time arithmetic.
const maxTimestampMs = 32_503_680_000_000
