package files

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

// id and tok are fixed 32-byte values in wire spelling.
var (
	idRaw  = bytes.Repeat([]byte{0xab}, 32)
	tokRaw = bytes.Repeat([]byte{0x01}, 32)
	id     = EncodeID(idRaw)
	tok    = EncodeID(tokRaw)
)

// msg frames a header and body as the wire does.
func msg(hdr string, body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(hdr))), append([]byte(hdr), body...)...)
}

// TestRequestVectors: each request encodes to exactly these bytes and
// parses back to itself.
func TestRequestVectors(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		hdr  string
		body []byte
	}{
		{"upload", Request{Op: OpUpload, TTL: 21 * 24 * time.Hour, Body: []byte("piece")}, `{"op":"upload","ttl_ms":1814400000}`, []byte("piece")},
		{"upload default ttl", Request{Op: OpUpload, Body: []byte{0}}, `{"op":"upload"}`, []byte{0}},
		{"download", Request{Op: OpDownload, ID: id, Offset: 1024, Length: MaxPiece}, `{"op":"download","id":"` + id + `","offset":1024,"length":2093056}`, nil},
		{"download from 0", Request{Op: OpDownload, ID: id, Length: 1}, `{"op":"download","id":"` + id + `","length":1}`, nil},
		{"info", Request{Op: OpInfo, ID: id}, `{"op":"info","id":"` + id + `"}`, nil},
		{"extend", Request{Op: OpExtend, ID: id, TTL: time.Hour, Token: tokRaw}, `{"op":"extend","id":"` + id + `","ttl_ms":3600000,"token":"` + tok + `"}`, nil},
		{"delete", Request{Op: OpDelete, ID: id, Token: tokRaw}, `{"op":"delete","id":"` + id + `","token":"` + tok + `"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.req.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if want := msg(tt.hdr, tt.body); !bytes.Equal(b, want) {
				t.Fatalf("Marshal = %q, want %q", b, want)
			}
			got, err := ParseRequest(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Op != tt.req.Op || got.ID != tt.req.ID || got.Offset != tt.req.Offset || got.Length != tt.req.Length ||
				got.TTL != tt.req.TTL || !bytes.Equal(got.Token, tt.req.Token) || !bytes.Equal(got.Body, tt.req.Body) {
				t.Fatalf("ParseRequest = %+v, want %+v", got, tt.req)
			}
		})
	}
}

func TestParseRequestRejects(t *testing.T) {
	long := strings.Repeat(" ", MaxHeader)
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short length", []byte{0, 0}},
		{"length past end", msg(`{"op":"info"}`, nil)[:10]},
		{"header too long", msg(`{"op":"upload"`+long+`}`, []byte("x"))},
		{"not json", msg(`op=info`, nil)},
		{"no op", msg(`{"id":"`+id+`"}`, nil)},
		{"unknown op", msg(`{"op":"list"}`, nil)},
		{"op case", msg(`{"op":"Info","id":"`+id+`"}`, nil)},
		{"key case", msg(`{"op":"info","ID":"`+id+`"}`, nil)},
		{"unknown field", msg(`{"op":"info","id":"`+id+`","x":1}`, nil)},
		{"field of another op", msg(`{"op":"info","id":"`+id+`","token":"`+tok+`"}`, nil)},
		{"duplicate key", msg(`{"op":"info","id":"`+id+`","id":"`+id+`"}`, nil)},
		{"null id", msg(`{"op":"info","id":null}`, nil)},
		{"missing id", msg(`{"op":"info"}`, nil)},
		{"short id", msg(`{"op":"info","id":"`+id[:42]+`"}`, nil)},
		{"padded id", msg(`{"op":"info","id":"`+id+`="}`, nil)},
		{"std base64 id", msg(`{"op":"info","id":"`+strings.ReplaceAll(EncodeID(bytes.Repeat([]byte{0xfb}, 32)), "-", "+")+`"}`, nil)},
		{"id trailing bits", msg(`{"op":"info","id":"`+id[:42]+`v"}`, nil)},
		{"download no length", msg(`{"op":"download","id":"`+id+`"}`, nil)},
		{"download length 0", msg(`{"op":"download","id":"`+id+`","length":0}`, nil)},
		{"download length over", msg(`{"op":"download","id":"`+id+`","length":2093057}`, nil)},
		{"download negative offset", msg(`{"op":"download","id":"`+id+`","offset":-1,"length":1}`, nil)},
		{"download fractional", msg(`{"op":"download","id":"`+id+`","length":1.5}`, nil)},
		{"download string length", msg(`{"op":"download","id":"`+id+`","length":"1"}`, nil)},
		{"download with body", msg(`{"op":"download","id":"`+id+`","length":1}`, []byte("x"))},
		{"upload empty", msg(`{"op":"upload"}`, nil)},
		{"upload too large", msg(`{"op":"upload"}`, make([]byte, MaxPiece+1))},
		{"upload ttl 0", msg(`{"op":"upload","ttl_ms":0}`, []byte("x"))},
		{"upload ttl huge", msg(`{"op":"upload","ttl_ms":31536000001}`, []byte("x"))},
		{"upload with id", msg(`{"op":"upload","id":"`+id+`"}`, []byte("x"))},
		{"extend no token", msg(`{"op":"extend","id":"`+id+`","ttl_ms":1}`, nil)},
		{"extend no ttl", msg(`{"op":"extend","id":"`+id+`","token":"`+tok+`"}`, nil)},
		{"delete short token", msg(`{"op":"delete","id":"`+id+`","token":"AAAA"}`, nil)},
		{"trailing json", msg(`{"op":"info","id":"`+id+`"} {}`, nil)},
		{"array", msg(`["op"]`, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := ParseRequest(tt.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseRequest = %+v, %v; want ErrMalformed", r, err)
			}
		})
	}
}

func TestParseRequestTooLarge(t *testing.T) {
	if _, err := ParseRequest(msg(`{"op":"upload"}`, make([]byte, MaxPiece+1))); !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("upload over MaxPiece: %v, want ErrTooLarge and ErrMalformed", err)
	}
}

func TestMarshalRequestRejects(t *testing.T) {
	tests := []struct {
		name string
		req  Request
	}{
		{"unknown op", Request{Op: "list"}},
		{"upload empty", Request{Op: OpUpload}},
		{"info bad id", Request{Op: OpInfo, ID: "x"}},
		{"info with body", Request{Op: OpInfo, ID: id, Body: []byte("x")}},
		{"extend sub-ms ttl", Request{Op: OpExtend, ID: id, Token: tokRaw, TTL: time.Microsecond}},
		{"delete short token", Request{Op: OpDelete, ID: id, Token: []byte{1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.req.Marshal(); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Marshal: %v, want ErrMalformed", err)
			}
		})
	}
}

func TestResponseVectors(t *testing.T) {
	exp := time.UnixMilli(1_800_000_000_123).UTC()
	tests := []struct {
		name string
		op   Op
		resp Response
		hdr  string
		body []byte
	}{
		{"upload", OpUpload, Response{ID: id, Expires: exp, Token: tokRaw}, `{"id":"` + id + `","expires_ms":1800000000123,"token":"` + tok + `"}`, nil},
		{"download", OpDownload, Response{Size: 10, Expires: exp, Data: []byte("abc")}, `{"expires_ms":1800000000123,"size":10}`, []byte("abc")},
		{"info", OpInfo, Response{Size: 10, Expires: exp}, `{"expires_ms":1800000000123,"size":10}`, nil},
		{"extend", OpExtend, Response{Expires: exp}, `{"expires_ms":1800000000123}`, nil},
		{"delete", OpDelete, Response{}, `{}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := MarshalResponse(tt.op, &tt.resp)
			if err != nil {
				t.Fatal(err)
			}
			if want := msg(tt.hdr, tt.body); !bytes.Equal(b, want) {
				t.Fatalf("MarshalResponse = %q, want %q", b, want)
			}
			got, err := ParseResponse(tt.op, 200, b)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tt.resp.ID || !got.Expires.Equal(tt.resp.Expires) || !bytes.Equal(got.Token, tt.resp.Token) ||
				got.Size != tt.resp.Size || !bytes.Equal(got.Data, tt.resp.Data) {
				t.Fatalf("ParseResponse = %+v, want %+v", got, tt.resp)
			}
		})
	}
}

func TestParseResponseRejects(t *testing.T) {
	tests := []struct {
		name   string
		op     Op
		status int
		b      []byte
	}{
		{"upload no token", OpUpload, 200, msg(`{"id":"`+id+`","expires_ms":1}`, nil)},
		{"upload extra", OpUpload, 200, msg(`{"id":"`+id+`","expires_ms":1,"token":"`+tok+`","size":1}`, nil)},
		{"upload with bytes", OpUpload, 200, msg(`{"id":"`+id+`","expires_ms":1,"token":"`+tok+`"}`, []byte("x"))},
		{"download more than size", OpDownload, 200, msg(`{"expires_ms":1,"size":1}`, []byte("xx"))},
		{"download negative size", OpDownload, 200, msg(`{"expires_ms":1,"size":-1}`, nil)},
		{"info negative expiry", OpInfo, 200, msg(`{"expires_ms":-1,"size":1}`, nil)},
		{"delete with field", OpDelete, 200, msg(`{"size":1}`, nil)},
		{"unknown op", "list", 200, msg(`{}`, nil)},
		{"error unknown code", OpInfo, 404, msg(`{"error":"gone"}`, nil)},
		{"error code and status differ", OpInfo, 500, msg(`{"error":"not_found"}`, nil)},
		{"error no code", OpInfo, 404, msg(`{"message":"x"}`, nil)},
		{"error with bytes", OpInfo, 404, msg(`{"error":"not_found"}`, []byte("x"))},
		{"error not json", OpInfo, 502, []byte("bad gateway")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := ParseResponse(tt.op, tt.status, tt.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseResponse = %+v, %v; want ErrMalformed", r, err)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		e      Error
		status int
		hdr    string
		is     error
	}{
		{"not found", Error{Code: CodeNotFound}, 404, `{"error":"not_found"}`, ErrNotFound},
		{"rate limited", Error{Code: CodeRateLimited, Message: "slow down", RetryAfter: 1500 * time.Millisecond}, 429,
			`{"error":"rate_limited","message":"slow down","retry_after_ms":1500}`, ErrRateLimited},
		{"too large", Error{Code: CodeTooLarge}, 413, `{"error":"too_large"}`, ErrTooLarge},
		{"full", Error{Code: CodeFull}, 507, `{"error":"full"}`, ErrFull},
		{"forbidden", Error{Code: CodeForbidden}, 403, `{"error":"forbidden"}`, ErrForbidden},
		{"bad request", Error{Code: CodeBadRequest}, 400, `{"error":"bad_request"}`, ErrBadRequest},
		{"internal", Error{Code: CodeInternal}, 500, `{"error":"internal"}`, ErrInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, b, err := MarshalError(&tt.e)
			if err != nil || st != tt.status || !bytes.Equal(b, msg(tt.hdr, nil)) {
				t.Fatalf("MarshalError = %d %q %v", st, b, err)
			}
			_, err = ParseResponse(OpDownload, st, b)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tt.is) || *e != tt.e {
				t.Fatalf("ParseResponse error = %#v, want %#v", err, tt.e)
			}
		})
	}
	if _, _, err := MarshalError(&Error{Code: "gone"}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown code: %v", err)
	}
	// A long message is cut on a rune boundary and still parses.
	st, b, err := MarshalError(&Error{Code: CodeBadRequest, Message: strings.Repeat("é", 400)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseResponse(OpInfo, st, b); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("long message: %v", err)
	}
}
