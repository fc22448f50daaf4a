package files

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// FuzzParseRequest: ParseRequest never panics, refuses with ErrMalformed
// only, and what it accepts encodes back to the same request.
func FuzzParseRequest(f *testing.F) {
	for _, r := range []Request{
		{Op: OpUpload, TTL: time.Hour, Body: []byte("piece")},
		{Op: OpDownload, ID: id, Offset: 5, Length: 100},
		{Op: OpInfo, ID: id},
		{Op: OpExtend, ID: id, TTL: time.Minute, Token: tokRaw},
		{Op: OpDelete, ID: id, Token: tokRaw},
	} {
		b, err := r.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(msg(`{"op":"info","id":null}`, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		again, err := r.Marshal()
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", b, err)
		}
		r2, err := ParseRequest(again)
		if err != nil || r2.Op != r.Op || r2.ID != r.ID || r2.Offset != r.Offset || r2.Length != r.Length ||
			r2.TTL != r.TTL || !bytes.Equal(r2.Token, r.Token) || !bytes.Equal(r2.Body, r.Body) {
			t.Fatalf("round trip of %q changed it: %+v, %+v, %v", b, r, r2, err)
		}
	})
}

// FuzzParseResponse: ParseResponse never panics, returns either an answer,
// an *Error or ErrMalformed, and what it accepts encodes back the same.
func FuzzParseResponse(f *testing.F) {
	ops := []Op{OpUpload, OpDownload, OpInfo, OpExtend, OpDelete}
	exp := time.UnixMilli(1_800_000_000_000)
	for i, r := range []Response{
		{ID: id, Expires: exp, Token: tokRaw},
		{Size: 3, Expires: exp, Data: []byte("abc")},
		{Size: 3, Expires: exp},
		{Expires: exp},
		{},
	} {
		b, err := MarshalResponse(ops[i], &r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), 200, b)
	}
	_, b, _ := MarshalError(&Error{Code: CodeRateLimited, Message: "x", RetryAfter: time.Second})
	f.Add(uint8(1), 429, b)
	f.Fuzz(func(t *testing.T, opIndex uint8, status int, b []byte) {
		op := ops[int(opIndex)%len(ops)]
		r, err := ParseResponse(op, status, b)
		var e *Error
		switch {
		case errors.As(err, &e):
			if status == 200 || e.Code.Status() != status {
				t.Fatalf("error %v for status %d", e, status)
			}
			st, again, err := MarshalError(e)
			if err != nil || st != status {
				t.Fatalf("cannot encode %v back: %v", e, err)
			}
			if _, err := ParseResponse(op, st, again); !errors.As(err, &e) {
				t.Fatalf("re-encoded error does not parse: %v", err)
			}
			return
		case err != nil:
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		again, err := MarshalResponse(op, r)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", b, err)
		}
		r2, err := ParseResponse(op, 200, again)
		if err != nil || r2.ID != r.ID || !r2.Expires.Equal(r.Expires) || !bytes.Equal(r2.Token, r.Token) || r2.Size != r.Size || !bytes.Equal(r2.Data, r.Data) {
			t.Fatalf("round trip of %q changed it: %+v, %+v, %v", b, r, r2, err)
		}
	})
}
