package rpc

import "fmt"

// Code is a stable, machine-readable error code. Clients switch on it; the
// accompanying message is for people and may change.
type Code string

// Error codes. Each maps to one HTTP status ([Code.Status]); a client
// error is always a 4xx.
const (
	CodeBadJSON       Code = "bad_json"              // body is not a JSON object of the expected shape
	CodeMissingField  Code = "missing_field"         // a required parameter is absent
	CodeBadField      Code = "bad_field"             // a parameter has the wrong type or an invalid value
	CodeBadBase64     Code = "bad_base64"            // data or signature is not valid base64
	CodeBadPubkey     Code = "bad_pubkey"            // pubkey or pubkey_ed25519 is not a valid key
	CodeTooLarge      Code = "too_large"             // body, data or batch exceeds a limit
	CodeUnknownMethod Code = "unknown_method"        // no such method (or not allowed in a batch)
	CodeKeyMismatch   Code = "key_mismatch"          // pubkey_ed25519 does not convert to pubkey
	CodeBadSignature  Code = "bad_signature"         // signature does not verify
	CodeBadCredential Code = "bad_credential"        // a group member's credential is not the group's (forged, or another group's)
	CodeRevoked       Code = "revoked"               // a group member's credential is on the group's revocation list
	CodeForbidden     Code = "forbidden"             // the credential does not allow this method or namespace (admin-only, or a permission it lacks)
	CodeReplayed      Code = "replayed"              // this signature was already used
	CodeClockSkew     Code = "clock_skew"            // signed timestamp outside ±60 s of the node's clock
	CodeBadTimestamp  Code = "bad_timestamp"         // deposit timestamp in the future or already expired
	CodeBadTTL        Code = "bad_ttl"               // ttl or expiry out of the allowed range
	CodeBadNamespace  Code = "bad_namespace"         // a public namespace with no defined use: it takes no deposits
	CodeWrongSwarm    Code = "wrong_swarm"           // this node does not hold the account (421)
	CodeRateLimited   Code = "rate_limited"          // per-IP limit; see Retry-After
	CodeQuota         Code = "quota_exceeded"        // the account holds its maximum
	CodeWriterQuota   Code = "writer_quota_exceeded" // a group member's share of the group swarm's quota is full (docs/groups.md §10)
	CodeMethodNotPost Code = "method_not_allowed"
	CodeStoreFull     Code = "storage_full"   // node out of space (507)
	CodeUnavailable   Code = "unavailable"    // node shutting down (503)
	CodeHoldFull      Code = "hold_full"      // the node holds all the waiting retrieves it will; see retry_after_ms (503)
	CodeInternal      Code = "internal_error" // a node fault; the message says nothing more
)

// Status returns the HTTP status a node answers with for c. (Numbers, not
// net/http's names, keep this package free of the HTTP stack.)
func (c Code) Status() int {
	switch c {
	case CodeBadJSON, CodeMissingField, CodeBadField, CodeBadBase64, CodeBadPubkey, CodeUnknownMethod, CodeBadTTL, CodeBadNamespace:
		return 400
	case CodeTooLarge:
		return 413
	case CodeKeyMismatch, CodeBadSignature, CodeReplayed, CodeBadCredential:
		return 401
	case CodeRevoked, CodeForbidden:
		return 403
	case CodeClockSkew, CodeBadTimestamp:
		return 406 // as Session, so clients can tell skew from forgery
	case CodeWrongSwarm:
		return 421
	case CodeRateLimited:
		return 429
	case CodeQuota, CodeWriterQuota:
		return 403
	case CodeMethodNotPost:
		return 405
	case CodeStoreFull:
		return 507
	case CodeUnavailable, CodeHoldFull:
		return 503
	default:
		return 500
	}
}

// Error is an RPC failure: a stable code and a human message. It is what
// the parsers here return for bad input and what a node sends back.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf builds an *Error.
func Errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}

// ErrorBody is the JSON body of a failed request.
type ErrorBody struct {
	Error *Error `json:"error"`
	T     int64  `json:"t"` // node time, ms since the Unix epoch
	// Swarm is set with CodeWrongSwarm: the swarm that holds the account.
	Swarm *SwarmResult `json:"swarm,omitempty"`
	// RetryAfterMs is set with CodeHoldFull (and may be with
	// CodeRateLimited): how long the client waits before it asks again.
	// It travels in the body because an onion response carries no headers.
	RetryAfterMs int64 `json:"retry_after_ms,omitempty"`
}
