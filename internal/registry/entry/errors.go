package entry

import "errors"

// Errors the registry reports. The state machine, the host that accepts a
// request and the HTTP client all wrap exactly one of these, so callers
// tell the cases apart with errors.Is; [Code] and [FromCode] carry them
// across HTTP.
var (
	// ErrMalformed: a command or record is not well formed.
	ErrMalformed = errors.New("malformed registry request")
	// ErrBadSignature: a signature does not verify for the key it names.
	ErrBadSignature = errors.New("signature does not verify")
	// ErrNotAdmitted: a node registered without a steward's admission of
	// its key (and the registry does not admit nodes openly).
	ErrNotAdmitted = errors.New("node key not admitted by a steward")
	// ErrUnknownSteward: an admission is signed by a key that is not one
	// of the registry's stewards.
	ErrUnknownSteward = errors.New("admission not signed by a steward")
	// ErrUnknownNode: a vote or query names a node that is not registered.
	ErrUnknownNode = errors.New("unknown node key")
	// ErrUnknownHost: a vote, signature or membership change is signed
	// by a key that is not a registry host.
	ErrUnknownHost = errors.New("not a registry host")
	// ErrStale: a timestamp or epoch is not newer than the one already
	// applied, or too far from the registry's clock: a replay or a wrong
	// clock.
	ErrStale = errors.New("stale or replayed registry request")
	// ErrConflict: the request clashes with registry state (another node
	// holds the address or X25519 key; a host already exists; a genesis
	// into a registry that has one).
	ErrConflict = errors.New("conflicts with registry state")
	// ErrUnreachable: the node does not answer at its advertised address
	// with the key it claims.
	ErrUnreachable = errors.New("node does not answer at its address with its key")
	// ErrUnavailable: the registry cannot take writes now (no leader, or
	// shutting down); the request may be retried.
	ErrUnavailable = errors.New("registry unavailable")
	// ErrForbidden: the request may not come from outside the registry's
	// own log (a genesis or tick command sent to the API).
	ErrForbidden = errors.New("command not accepted from outside the log")
)

var codes = []struct {
	code string
	err  error
}{
	{"malformed", ErrMalformed},
	{"bad_signature", ErrBadSignature},
	{"not_admitted", ErrNotAdmitted},
	{"unknown_steward", ErrUnknownSteward},
	{"unknown_node", ErrUnknownNode},
	{"unknown_host", ErrUnknownHost},
	{"stale", ErrStale},
	{"conflict", ErrConflict},
	{"unreachable", ErrUnreachable},
	{"unavailable", ErrUnavailable},
	{"forbidden", ErrForbidden},
}

// Code returns the stable code of the registry error err wraps, or
// "internal" for any other error.
func Code(err error) string {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "internal"
}

// FromCode returns the error for a code from [Code], or nil for an
// unknown code (including "internal").
func FromCode(code string) error {
	for _, c := range codes {
		if c.code == code {
			return c.err
		}
	}
	return nil
}
