package turn

import (
	"crypto/hmac"
	"crypto/sha1" // #nosec: HMAC-SHA1 is what TURN REST credentials are (RFC 8489 long-term passwords)
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hushnet/hush/protocol/strictjson"
)

// Target is the path of the TURN server's credential endpoint, the
// onion destination relays forward to (POST, over TLS pinned to the
// server's key).
const Target = "/hush/turn/v1"

// OpCredential asks for a credential; it is the only operation.
const OpCredential = "credential"

// RandomSize is the number of random bytes in a username.
const RandomSize = 16

// Limits on what a parser accepts.
const (
	maxBody     = 4096
	maxMessage  = 512
	maxUsername = 20 + 1 + 32 // expiry digits, colon, base64url of RandomSize with room
)

// ErrMalformed is matched by every parse error of this package.
var ErrMalformed = errors.New("turn: malformed")

// ErrBadUsername: a username is not "expiry:random".
var ErrBadUsername = fmt.Errorf("%w username", ErrMalformed)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// MarshalRequest is the body of a credential request.
func MarshalRequest() []byte { return []byte(`{"op":"credential"}`) }

// ParseRequest checks a request body.
func ParseRequest(b []byte) error {
	if len(b) > maxBody {
		return malformed("request of %d bytes", len(b))
	}
	var r struct {
		Op *string `json:"op"`
	}
	if err := strictjson.Decode(b, &r); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if r.Op == nil || *r.Op != OpCredential {
		return malformed("op: want %q", OpCredential)
	}
	return nil
}

// Username builds "expiry:random" from an expiry (whole seconds) and
// RandomSize random bytes.
func Username(expires time.Time, random []byte) string {
	return strconv.FormatInt(expires.Unix(), 10) + ":" + base64.RawURLEncoding.EncodeToString(random)
}

// ParseUsername returns the expiry a username names. It checks the form
// only; [Password] (compared by the TURN exchange's message integrity)
// is what proves the server issued it.
func ParseUsername(u string) (time.Time, error) {
	if len(u) > maxUsername {
		return time.Time{}, fmt.Errorf("%w: too long", ErrBadUsername)
	}
	exp, random, ok := strings.Cut(u, ":")
	if !ok {
		return time.Time{}, fmt.Errorf("%w: no colon", ErrBadUsername)
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || secs <= 0 || strconv.FormatInt(secs, 10) != exp {
		return time.Time{}, fmt.Errorf("%w: expiry %q", ErrBadUsername, exp)
	}
	r, err := base64.RawURLEncoding.Strict().DecodeString(random)
	if err != nil || len(r) != RandomSize {
		return time.Time{}, fmt.Errorf("%w: random part", ErrBadUsername)
	}
	return time.Unix(secs, 0), nil
}

// Password is base64(HMAC-SHA1(secret, username)), the long-term password
// of a TURN REST username.
func Password(secret []byte, username string) string {
	m := hmac.New(sha1.New, secret)
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Credential is an issued credential.
type Credential struct {
	Username string
	Password string
	Expires  time.Time // whole seconds, the username's expiry
}

type wireCredential struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
	Expires  *int64  `json:"expires"`
}

// Marshal encodes c as an answer body.
func (c *Credential) Marshal() ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	exp := c.Expires.Unix()
	return json.Marshal(wireCredential{&c.Username, &c.Password, &exp})
}

func (c *Credential) check() error {
	exp, err := ParseUsername(c.Username)
	if err != nil {
		return err
	}
	if !exp.Equal(c.Expires) {
		return malformed("expires %d differs from the username's %d", c.Expires.Unix(), exp.Unix())
	}
	p, err := base64.StdEncoding.Strict().DecodeString(c.Password)
	if err != nil || len(p) != sha1.Size {
		return malformed("password: not the base64 of %d bytes", sha1.Size)
	}
	return nil
}

// ParseAnswer parses the endpoint's answer: a credential for status 200,
// else the server's *[Error] (or ErrMalformed).
func ParseAnswer(status int, b []byte) (*Credential, error) {
	if len(b) > maxBody {
		return nil, malformed("answer of %d bytes", len(b))
	}
	if status != 200 {
		return nil, parseError(status, b)
	}
	var w wireCredential
	if err := strictjson.Decode(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if w.Username == nil || w.Password == nil || w.Expires == nil {
		return nil, malformed("answer lacks username, password or expires")
	}
	c := &Credential{Username: *w.Username, Password: *w.Password, Expires: time.Unix(*w.Expires, 0)}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// Code is an error's stable code.
type Code string

// The error codes.
const (
	CodeBadRequest  Code = "bad_request"  // 400
	CodeRateLimited Code = "rate_limited" // 429: issuance budget used up
	CodeInternal    Code = "internal"     // 500
)

// Status is the HTTP status a code is sent with, 0 for an unknown code.
func (c Code) Status() int {
	// HTTP statuses by number: this package imports no I/O.
	switch c {
	case CodeBadRequest:
		return 400
	case CodeRateLimited:
		return 429
	case CodeInternal:
		return 500
	}
	return 0
}

// ErrRateLimited is matched by an *Error with CodeRateLimited.
var ErrRateLimited = errors.New("turn: rate limited")

// Error is the endpoint's refusal.
type Error struct {
	Code       Code
	Message    string
	RetryAfter time.Duration // whole milliseconds; 0 when none given
}

func (e *Error) Error() string {
	s := "turn: " + string(e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		s += " (retry after " + e.RetryAfter.String() + ")"
	}
	return s
}

// Is matches ErrRateLimited for CodeRateLimited.
func (e *Error) Is(target error) bool { return target == ErrRateLimited && e.Code == CodeRateLimited }

type wireError struct {
	Error        *string `json:"error"`
	Message      *string `json:"message,omitempty"`
	RetryAfterMs *int64  `json:"retry_after_ms,omitempty"`
}

// MarshalError encodes e with its status.
func MarshalError(e *Error) (int, []byte, error) {
	st := e.Code.Status()
	if st == 0 {
		return 0, nil, malformed("error code %q", e.Code)
	}
	code := string(e.Code)
	w := wireError{Error: &code}
	if e.Message != "" {
		m := e.Message
		if len(m) > maxMessage {
			m = strings.ToValidUTF8(m[:maxMessage], "")
		}
		w.Message = &m
	}
	if e.RetryAfter > 0 {
		ms := max(1, e.RetryAfter.Milliseconds())
		w.RetryAfterMs = &ms
	}
	b, err := json.Marshal(w)
	return st, b, err
}

func parseError(status int, b []byte) error {
	var w wireError
	if err := strictjson.Decode(b, &w); err != nil {
		return fmt.Errorf("%w: status %d: %w", ErrMalformed, status, err)
	}
	if w.Error == nil || Code(*w.Error).Status() != status {
		return malformed("status %d with error code %v", status, w.Error)
	}
	e := &Error{Code: Code(*w.Error)}
	if w.Message != nil {
		if len(*w.Message) > maxMessage {
			return malformed("message too long")
		}
		e.Message = *w.Message
	}
	if w.RetryAfterMs != nil {
		if *w.RetryAfterMs < 0 || *w.RetryAfterMs > int64(24*time.Hour/time.Millisecond) {
			return malformed("retry_after_ms %d", *w.RetryAfterMs)
		}
		e.RetryAfter = time.Duration(*w.RetryAfterMs) * time.Millisecond
	}
	return e
}
