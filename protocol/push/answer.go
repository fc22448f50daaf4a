package push

import (
	"errors"
	"fmt"
	"time"

	"github.com/hushnet/hush/protocol/strictjson"
)

// Error codes of an [Answer], each with its HTTP status ([Status]).
const (
	CodeBadRequest  = "bad_request"  // 400: ParseRequest refused the request
	CodeForbidden   = "forbidden"    // 403: wrong notify secret or management signature
	CodeNotFound    = "not_found"    // 404: unknown sub_id
	CodeReplay      = "replay"       // 409: ts_ms not newer than the last, or off the server's clock
	CodeGone        = "gone"         // 410: the provider said the token is gone; the subscription was deleted
	CodeTooLarge    = "too_large"    // 413: more than MaxRequestSize
	CodeRateLimited = "rate_limited" // 429: see retry_after_ms
	CodeInternal    = "internal"     // 500
	CodeUnavailable = "unavailable"  // 503: the provider failed; see retry_after_ms
)

// codeStatus: numbers, not net/http's names, since a protocol package
// imports no I/O package (deps_test.go).
var codeStatus = map[string]int{
	CodeBadRequest:  400,
	CodeForbidden:   403,
	CodeNotFound:    404,
	CodeReplay:      409,
	CodeGone:        410,
	CodeTooLarge:    413,
	CodeRateLimited: 429,
	CodeInternal:    500,
	CodeUnavailable: 503,
}

// Status returns the HTTP status of an error code, 500 for one it does not
// know.
func Status(code string) int {
	if s, ok := codeStatus[code]; ok {
		return s
	}
	return 500
}

// ErrBadAnswer is returned by [ParseAnswer] for an answer that is not one.
var ErrBadAnswer = errors.New("malformed push server answer")

// Answer is the push server's answer to a [Request]: OK with the fields of
// its op, or an error.
type Answer struct {
	OK bool `json:"ok,omitempty"`
	// VAPIDPublicKey answers info: the server's RFC 8292 key, an
	// uncompressed P-256 point in unpadded base64url (what a browser takes
	// as applicationServerKey).
	VAPIDPublicKey string `json:"vapid_public_key,omitempty"`
	// ExpiryMs answers register and renew: the expiry the server keeps.
	ExpiryMs int64 `json:"expiry_ms,omitempty"`
	// Sent answers notify: whether a push went to the provider (false for
	// a repeat of a tag).
	Sent bool `json:"sent,omitempty"`

	Error        string `json:"error,omitempty"`
	Message      string `json:"message,omitempty"`
	RetryAfterMs int64  `json:"retry_after_ms,omitempty"`
}

// Marshal returns a's JSON.
func (a *Answer) Marshal() []byte { return marshal(a) }

// ErrorAnswer returns the answer for an error code.
func ErrorAnswer(code, message string, retryAfter time.Duration) *Answer {
	return &Answer{Error: code, Message: message, RetryAfterMs: retryAfter.Milliseconds()}
}

// ParseAnswer parses an answer: one strict JSON object, either ok or with a
// known error code, never both. It returns [ErrBadAnswer].
func ParseAnswer(b []byte) (*Answer, error) {
	if len(b) > MaxAnswerSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadAnswer, len(b))
	}
	var a Answer
	if err := strictjson.Decode(b, &a); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	_, known := codeStatus[a.Error]
	if a.OK == (a.Error != "") || a.Error != "" && !known || a.RetryAfterMs < 0 || a.ExpiryMs < 0 {
		return nil, fmt.Errorf("%w: neither ok nor a known error", ErrBadAnswer)
	}
	return &a, nil
}

// Err returns a's error as an *[Error], or nil for an ok answer.
func (a *Answer) Err() error {
	if a.OK {
		return nil
	}
	return &Error{Code: a.Error, Message: a.Message, RetryAfter: time.Duration(a.RetryAfterMs) * time.Millisecond}
}

// Error is a push server's refusal.
type Error struct {
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "push server: " + e.Code
	}
	return "push server: " + e.Code + ": " + e.Message
}
