package files

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hushnet/hush/protocol/strictjson"
)

// Target is the file server's one onion endpoint (method POST).
const Target = "/hush/files/v1"

// MaxPiece is the largest piece an upload carries and a download returns
// (see "Sizes" in the package doc): 2 MiB less 4 KiB, which leaves a
// request through 14 relays more than 700 bytes for its header.
const MaxPiece = 2<<20 - 4<<10

// MaxHeader bounds a request's or answer's JSON header.
const MaxHeader = 4 << 10

// MaxTTL bounds ttl_ms on the wire; a server grants at most its own
// maximum, below this.
const MaxTTL = 365 * 24 * time.Hour

// maxOffset bounds a download's offset: no blob is larger than a piece,
// but the format leaves room rather than tie offsets to MaxPiece.
const maxOffset = 1 << 40

// IDSize and TokenSize are the raw sizes of an ID and a token.
const (
	IDSize    = 32
	TokenSize = 32
)

// ErrMalformed is matched by every error [ParseRequest] and
// [ParseResponse] return for bytes that break the format.
var ErrMalformed = errors.New("files: malformed message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Op is an operation.
type Op string

// The operations.
const (
	OpUpload   Op = "upload"
	OpDownload Op = "download"
	OpInfo     Op = "info"
	OpExtend   Op = "extend"
	OpDelete   Op = "delete"
)

// requestFields lists, per operation, the header members it takes; those
// marked required must be there. "op" is always required.
var requestFields = map[Op]struct{ allowed, required []string }{
	OpUpload:   {[]string{"op", "ttl_ms"}, []string{"op"}},
	OpDownload: {[]string{"op", "id", "offset", "length"}, []string{"op", "id", "length"}},
	OpInfo:     {[]string{"op", "id"}, []string{"op", "id"}},
	OpExtend:   {[]string{"op", "id", "ttl_ms", "token"}, []string{"op", "id", "ttl_ms", "token"}},
	OpDelete:   {[]string{"op", "id", "token"}, []string{"op", "id", "token"}},
}

// Request is one operation. Which fields count depends on Op:
//
//	upload    TTL (0: the server's default), Body (the piece)
//	download  ID, Offset, Length (1 to MaxPiece)
//	info      ID
//	extend    ID, TTL, Token
//	delete    ID, Token
type Request struct {
	Op     Op
	ID     string
	Offset int64
	Length int64
	TTL    time.Duration // whole milliseconds on the wire
	Token  []byte
	Body   []byte
}

type wireRequest struct {
	Op     *string `json:"op"`
	ID     *string `json:"id,omitempty"`
	Offset *int64  `json:"offset,omitempty"`
	Length *int64  `json:"length,omitempty"`
	TTLms  *int64  `json:"ttl_ms,omitempty"`
	Token  *string `json:"token,omitempty"`
}

// Marshal checks r and encodes it. It fails with ErrMalformed for what
// ParseRequest would refuse.
func (r *Request) Marshal() ([]byte, error) {
	f, ok := requestFields[r.Op]
	if !ok {
		return nil, malformed("op %q", r.Op)
	}
	op := string(r.Op)
	w := wireRequest{Op: &op}
	uses := func(k string) bool { return slices.Contains(f.allowed, k) }
	if uses("id") {
		w.ID = &r.ID
	}
	if uses("offset") && r.Offset != 0 {
		w.Offset = &r.Offset
	}
	if uses("length") {
		w.Length = &r.Length
	}
	if uses("ttl_ms") && (r.TTL != 0 || slices.Contains(f.required, "ttl_ms")) {
		ms := r.TTL.Milliseconds()
		if time.Duration(ms)*time.Millisecond != r.TTL {
			return nil, malformed("ttl %v is not whole milliseconds", r.TTL)
		}
		w.TTLms = &ms
	}
	if uses("token") {
		t := base64.RawURLEncoding.EncodeToString(r.Token)
		w.Token = &t
	}
	if r.Op != OpUpload && len(r.Body) > 0 {
		return nil, malformed("%s carries no body", r.Op)
	}
	hdr, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	out := frame(hdr, r.Body)
	// One check for both directions: what Marshal writes, Parse reads.
	if _, err := ParseRequest(out); err != nil {
		return nil, err
	}
	return out, nil
}

// frame is [len(hdr)][hdr][body].
func frame(hdr, body []byte) []byte {
	out := make([]byte, 0, 4+len(hdr)+len(body))
	out = binary.BigEndian.AppendUint32(out, uint32(len(hdr)))
	return append(append(out, hdr...), body...)
}

// unframe splits b into its header's keys, the header, and the bytes
// after it, checking the header's JSON strictly into v.
func unframe(b []byte, v any) (keys []string, body []byte, err error) {
	if len(b) < 4 {
		return nil, nil, malformed("%d bytes, no header length", len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if n > MaxHeader || uint64(n) > uint64(len(b)-4) {
		return nil, nil, malformed("header length %d", n)
	}
	hdr, body := b[4:4+n], b[4+n:]
	if keys, err = strictjson.Keys(hdr); err != nil {
		return nil, nil, malformed("header: %v", err)
	}
	if err := strictjson.Decode(hdr, v); err != nil {
		return nil, nil, malformed("header: %v", err)
	}
	return keys, body, nil
}

// checkKeys requires keys to be among allowed, each set (no null), and
// every required one present.
func checkKeys(keys, allowed, required []string, set func(string) bool, what string) error {
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return malformed("%s takes no %q", what, k)
		}
		if !set(k) {
			return malformed("%s: %q is null", what, k)
		}
	}
	for _, k := range required {
		if !slices.Contains(keys, k) {
			return malformed("%s needs %q", what, k)
		}
	}
	return nil
}

// ParseRequest reads a request as the server receives it. Every error
// matches ErrMalformed; an upload over MaxPiece also matches ErrTooLarge.
func ParseRequest(b []byte) (*Request, error) {
	var w wireRequest
	keys, body, err := unframe(b, &w)
	if err != nil {
		return nil, err
	}
	if w.Op == nil {
		return nil, malformed("no op")
	}
	r := &Request{Op: Op(*w.Op)}
	f, ok := requestFields[r.Op]
	if !ok {
		return nil, malformed("op %q", *w.Op)
	}
	set := func(k string) bool {
		switch k {
		case "op":
			return w.Op != nil
		case "id":
			return w.ID != nil
		case "offset":
			return w.Offset != nil
		case "length":
			return w.Length != nil
		case "ttl_ms":
			return w.TTLms != nil
		case "token":
			return w.Token != nil
		}
		return false
	}
	if err := checkKeys(keys, f.allowed, f.required, set, string(r.Op)); err != nil {
		return nil, err
	}
	if w.ID != nil {
		if err := checkID(*w.ID); err != nil {
			return nil, err
		}
		r.ID = *w.ID
	}
	if w.Offset != nil {
		if *w.Offset < 0 || *w.Offset > maxOffset {
			return nil, malformed("offset %d", *w.Offset)
		}
		r.Offset = *w.Offset
	}
	if w.Length != nil {
		if *w.Length < 1 || *w.Length > MaxPiece {
			return nil, malformed("length %d outside 1..%d", *w.Length, MaxPiece)
		}
		r.Length = *w.Length
	}
	if w.TTLms != nil {
		if *w.TTLms < 1 || *w.TTLms > MaxTTL.Milliseconds() {
			return nil, malformed("ttl_ms %d outside 1..%d", *w.TTLms, MaxTTL.Milliseconds())
		}
		r.TTL = time.Duration(*w.TTLms) * time.Millisecond
	}
	if w.Token != nil {
		if r.Token, err = decode32("token", *w.Token); err != nil {
			return nil, err
		}
	}
	switch {
	case r.Op == OpUpload && len(body) > MaxPiece:
		return nil, fmt.Errorf("%w: %w: upload of %d bytes, at most %d", ErrMalformed, ErrTooLarge, len(body), MaxPiece)
	case r.Op == OpUpload && len(body) == 0:
		return nil, malformed("empty upload")
	case r.Op != OpUpload && len(body) > 0:
		return nil, malformed("%s carries no body", r.Op)
	}
	if len(body) > 0 {
		r.Body = body
	}
	return r, nil
}

// checkID accepts exactly the encoding of IDSize bytes.
func checkID(s string) error {
	_, err := decode32("id", s)
	return err
}

// decode32 decodes unpadded base64url of exactly 32 bytes, refusing any
// other spelling of them (padding, non-zero trailing bits).
func decode32(what, s string) ([]byte, error) {
	if len(s) != base64.RawURLEncoding.EncodedLen(32) {
		return nil, malformed("%s is not 32 bytes of unpadded base64url", what)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, malformed("%s is not 32 bytes of unpadded base64url", what)
	}
	return b, nil
}

// EncodeID spells a raw ID (or token) as the wire does.
func EncodeID(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }

// ValidID reports whether s is an ID as the wire spells it.
func ValidID(s string) bool { return checkID(s) == nil }

// Response is a successful answer. Which fields count depends on the
// operation it answers:
//
//	upload    ID, Expires, Token
//	download  Size, Expires, Data
//	info      Size, Expires
//	extend    Expires
//	delete    nothing
type Response struct {
	ID      string
	Expires time.Time // whole milliseconds on the wire
	Token   []byte
	Size    int64
	Data    []byte
}

type wireResponse struct {
	ID        *string `json:"id,omitempty"`
	ExpiresMs *int64  `json:"expires_ms,omitempty"`
	Token     *string `json:"token,omitempty"`
	Size      *int64  `json:"size,omitempty"`
}

var responseFields = map[Op][]string{
	OpUpload:   {"id", "expires_ms", "token"},
	OpDownload: {"size", "expires_ms"},
	OpInfo:     {"size", "expires_ms"},
	OpExtend:   {"expires_ms"},
	OpDelete:   {},
}

// MarshalResponse encodes r as the answer to op (status 200).
func MarshalResponse(op Op, r *Response) ([]byte, error) {
	fields, ok := responseFields[op]
	if !ok {
		return nil, malformed("op %q", op)
	}
	var w wireResponse
	for _, k := range fields {
		switch k {
		case "id":
			w.ID = &r.ID
		case "expires_ms":
			ms := r.Expires.UnixMilli()
			w.ExpiresMs = &ms
		case "token":
			t := base64.RawURLEncoding.EncodeToString(r.Token)
			w.Token = &t
		case "size":
			w.Size = &r.Size
		}
	}
	if op != OpDownload && len(r.Data) > 0 {
		return nil, malformed("a %s answer carries no bytes", op)
	}
	hdr, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	out := frame(hdr, r.Data)
	if _, err := ParseResponse(op, 200, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ParseResponse reads the answer to op with its status. A status other
// than 200 returns its *Error (which matches ErrX of its code); bytes that
// break the format return an error matching ErrMalformed.
func ParseResponse(op Op, status int, b []byte) (*Response, error) {
	fields, ok := responseFields[op]
	if !ok {
		return nil, malformed("op %q", op)
	}
	if status != 200 {
		return nil, parseError(status, b)
	}
	var w wireResponse
	keys, body, err := unframe(b, &w)
	if err != nil {
		return nil, err
	}
	set := func(k string) bool {
		switch k {
		case "id":
			return w.ID != nil
		case "expires_ms":
			return w.ExpiresMs != nil
		case "token":
			return w.Token != nil
		case "size":
			return w.Size != nil
		}
		return false
	}
	if err := checkKeys(keys, fields, fields, set, string(op)+" answer"); err != nil {
		return nil, err
	}
	r := &Response{}
	if w.ID != nil {
		if err := checkID(*w.ID); err != nil {
			return nil, err
		}
		r.ID = *w.ID
	}
	if w.ExpiresMs != nil {
		if *w.ExpiresMs < 0 {
			return nil, malformed("expires_ms %d", *w.ExpiresMs)
		}
		r.Expires = time.UnixMilli(*w.ExpiresMs).UTC()
	}
	if w.Token != nil {
		if r.Token, err = decode32("token", *w.Token); err != nil {
			return nil, err
		}
	}
	if w.Size != nil {
		if *w.Size < 0 || *w.Size > maxOffset {
			return nil, malformed("size %d", *w.Size)
		}
		r.Size = *w.Size
	}
	switch {
	case op != OpDownload && len(body) > 0:
		return nil, malformed("a %s answer carries no bytes", op)
	case len(body) > MaxPiece || int64(len(body)) > r.Size:
		return nil, malformed("download answer of %d bytes for a blob of %d", len(body), r.Size)
	}
	if len(body) > 0 {
		r.Data = body
	}
	return r, nil
}

// Code is an error code.
type Code string

// The error codes and their statuses ([Code.Status]).
const (
	CodeNotFound    Code = "not_found"    // 404: unknown or expired
	CodeTooLarge    Code = "too_large"    // 413
	CodeFull        Code = "full"         // 507: the server's capacity is used up
	CodeRateLimited Code = "rate_limited" // 429: see RetryAfter
	CodeBadRequest  Code = "bad_request"  // 400
	CodeForbidden   Code = "forbidden"    // 403: wrong token
	CodeInternal    Code = "internal"     // 500
)

var codeStatus = map[Code]int{
	CodeNotFound: 404, CodeTooLarge: 413, CodeFull: 507, CodeRateLimited: 429,
	CodeBadRequest: 400, CodeForbidden: 403, CodeInternal: 500,
}

// Status is c's HTTP status, 0 for an unknown code.
func (c Code) Status() int { return codeStatus[c] }

// Errors an *Error matches by its code, with errors.Is.
var (
	ErrNotFound    = errors.New("files: not found or expired")
	ErrTooLarge    = errors.New("files: too large")
	ErrFull        = errors.New("files: server full")
	ErrRateLimited = errors.New("files: rate limited")
	ErrBadRequest  = errors.New("files: bad request")
	ErrForbidden   = errors.New("files: forbidden")
	ErrInternal    = errors.New("files: server error")
)

var codeErr = map[Code]error{
	CodeNotFound: ErrNotFound, CodeTooLarge: ErrTooLarge, CodeFull: ErrFull, CodeRateLimited: ErrRateLimited,
	CodeBadRequest: ErrBadRequest, CodeForbidden: ErrForbidden, CodeInternal: ErrInternal,
}

// Error is an error answer.
type Error struct {
	Code       Code
	Message    string        // for people; may be empty
	RetryAfter time.Duration // whole milliseconds; 0 when the server gave none
}

func (e *Error) Error() string {
	s := "files: " + string(e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		s += " (retry after " + e.RetryAfter.String() + ")"
	}
	return s
}

// Is matches the ErrX of e's code.
func (e *Error) Is(target error) bool { return codeErr[e.Code] == target }

type wireError struct {
	Error        *string `json:"error"`
	Message      *string `json:"message,omitempty"`
	RetryAfterMs *int64  `json:"retry_after_ms,omitempty"`
}

// maxMessage bounds an error's message.
const maxMessage = 512

// MarshalError encodes e and returns it with its status.
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
			// A cut rune would come out as U+FFFD, longer than the bytes
			// it replaces: drop it instead.
			m = strings.ToValidUTF8(m[:maxMessage], "")
		}
		w.Message = &m
	}
	if e.RetryAfter > 0 {
		ms := max(1, e.RetryAfter.Milliseconds())
		w.RetryAfterMs = &ms
	}
	hdr, err := json.Marshal(w)
	if err != nil {
		return 0, nil, err
	}
	return st, frame(hdr, nil), nil
}

func parseError(status int, b []byte) error {
	var w wireError
	keys, body, err := unframe(b, &w)
	if err != nil {
		return fmt.Errorf("status %d: %w", status, err)
	}
	set := func(k string) bool {
		switch k {
		case "error":
			return w.Error != nil
		case "message":
			return w.Message != nil
		case "retry_after_ms":
			return w.RetryAfterMs != nil
		}
		return false
	}
	if err := checkKeys(keys, []string{"error", "message", "retry_after_ms"}, []string{"error"}, set, "error answer"); err != nil {
		return err
	}
	e := &Error{Code: Code(*w.Error)}
	if st := e.Code.Status(); st == 0 || st != status {
		return malformed("error %q with status %d", *w.Error, status)
	}
	if w.Message != nil {
		if len(*w.Message) > maxMessage {
			return malformed("message of %d bytes", len(*w.Message))
		}
		e.Message = *w.Message
	}
	if w.RetryAfterMs != nil {
		if *w.RetryAfterMs < 0 || *w.RetryAfterMs > MaxTTL.Milliseconds() {
			return malformed("retry_after_ms %d", *w.RetryAfterMs)
		}
		e.RetryAfter = time.Duration(*w.RetryAfterMs) * time.Millisecond
	}
	if len(body) > 0 {
		return malformed("an error answer carries no bytes")
	}
	return e
}
