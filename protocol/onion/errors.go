package onion

import (
	"errors"
	"fmt"
)

// Errors returned by [DecodeFrame], [Build], [Peel], the [Responder] methods
// and [OpenResponse]. They are wrapped with detail; test with errors.Is.
var (
	// ErrMalformedFrame: the bytes are not a well-formed frame (truncated,
	// a length prefix past the end, JSON that is not one strict object,
	// trailing bytes other than space padding, or a length that is not a
	// size class where one is required).
	ErrMalformedFrame = errors.New("onion: malformed frame")

	// ErrOversize: a frame, payload or response is larger than the largest
	// entry of [SizeClasses] allows.
	ErrOversize = errors.New("onion: too large")

	// ErrUnknownVersion: a frame names a version other than [Version].
	ErrUnknownVersion = errors.New("onion: unknown version")

	// ErrUndecryptable: the layer's ciphertext does not open under the key
	// derived from this node's X25519 key and the frame's ephemeral key.
	ErrUndecryptable = errors.New("onion: layer does not decrypt")

	// ErrLowOrderKey: an X25519 public key (ephemeral or a hop's) yields the
	// all-zero shared secret, i.e. it is a low-order point.
	ErrLowOrderKey = errors.New("onion: low-order x25519 key")

	// ErrTooManyLayers: a path would have more than [MaxLayers] layers.
	ErrTooManyLayers = errors.New("onion: too many layers")

	// ErrBadInstruction: a decrypted layer (or an argument to [Build]) does
	// not carry a valid instruction. [Peel] still returns a usable Layer
	// with it so the node can answer under the layer key.
	ErrBadInstruction = errors.New("onion: bad instruction")

	// ErrResponseUndecryptable: no layer key of the path opens the response.
	ErrResponseUndecryptable = errors.New("onion: response does not decrypt")
)

// Relay failures a node reports back to the client with [Responder.Fail].
// [OpenResponse] returns them as a *[RelayError] that unwraps to one of these.
var (
	ErrNextNodeNotFound  = errors.New("onion: next node not found")
	ErrTimeout           = errors.New("onion: next hop timed out")
	ErrDestinationFailed = errors.New("onion: next hop or server failed")
	ErrTargetNotAllowed  = errors.New("onion: server target not allowed")
	ErrReplay            = errors.New("onion: replayed layer")
	ErrUnavailable       = errors.New("onion: node unavailable")
	// ErrSessionUnknown: a node does not hold the session a session
	// frame named (docs/onion.md); the client opens a new one.
	ErrSessionUnknown = errors.New("onion: session unknown at the node")
)

// ErrorCode names a relay failure on the wire (the "error" member of a
// response frame). The set is closed for [Version] 1.
type ErrorCode string

// Error codes of version 1, with the HTTP-like status each carries.
const (
	CodeNextNodeNotFound  ErrorCode = "next_node_not_found" // 502
	CodeTimeout           ErrorCode = "timeout"             // 504
	CodeDestinationFailed ErrorCode = "destination_failed"  // 502
	CodeTargetNotAllowed  ErrorCode = "target_not_allowed"  // 403
	CodeBadInstruction    ErrorCode = "bad_instruction"     // 400
	CodeReplay            ErrorCode = "replay"              // 409
	CodeUnavailable       ErrorCode = "unavailable"         // 503
	// CodeSessionUnknown is never sealed: a node without the session has
	// no key, and signs it instead ([SessionUnknown]).
	CodeSessionUnknown ErrorCode = "session_unknown" // 410
)

var codeInfo = map[ErrorCode]struct {
	status int
	err    error
}{
	CodeNextNodeNotFound:  {502, ErrNextNodeNotFound},
	CodeTimeout:           {504, ErrTimeout},
	CodeDestinationFailed: {502, ErrDestinationFailed},
	CodeTargetNotAllowed:  {403, ErrTargetNotAllowed},
	CodeBadInstruction:    {400, ErrBadInstruction},
	CodeReplay:            {409, ErrReplay},
	CodeUnavailable:       {503, ErrUnavailable},
	CodeSessionUnknown:    {410, ErrSessionUnknown},
}

// Status is the HTTP-like status code sent with c, or 0 for an unknown code.
func (c ErrorCode) Status() int { return codeInfo[c].status }

// RelayError is a failure reported by one node of the path. Hop is the
// index of the layer whose key authenticated the report (0 = the guard,
// len(hops) = the destination or steward server), so a node can only ever
// report its own failure: it holds no other layer's key.
type RelayError struct {
	Hop    int
	Code   ErrorCode
	Status int
}

func (e *RelayError) Error() string {
	return fmt.Sprintf("onion: hop %d failed: %s (status %d)", e.Hop, e.Code, e.Status)
}

// Unwrap returns the sentinel for e.Code, e.g. [ErrTimeout].
func (e *RelayError) Unwrap() error { return codeInfo[e.Code].err }
