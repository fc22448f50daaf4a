package push

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"slices"
	"testing"

	"github.com/hushnet/hush/identity"
)

// FuzzParseRecord: what ParseRecord accepts re-encodes to the same bytes,
// and it fails only with its errors.
func FuzzParseRecord(f *testing.F) {
	r, acct := testRecord(f)
	f.Add(r.Marshal())
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := slices.Clone(data)
		for _, id := range []identity.AccountID{acct.ID(), {}} {
			got, err := ParseRecord(data, id, now)
			if !bytes.Equal(in, data) {
				t.Fatal("ParseRecord modified its input")
			}
			if err != nil {
				if !errors.Is(err, ErrBadRecord) && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrExpired) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			if !bytes.Equal(got.Marshal(), data) {
				t.Fatal("accepted record does not re-encode to its bytes")
			}
		}
	})
}

// FuzzParseRequest: what ParseRequest accepts re-encodes to the same bytes
// and parses again to the same request.
func FuzzParseRequest(f *testing.F) {
	for _, r := range testRequests() {
		f.Add(r.Marshal())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRequest(data)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !bytes.Equal(r.Marshal(), data) {
			t.Fatal("accepted request does not re-encode to its bytes")
		}
		if r.Signed() {
			if err := r.Verify(mgmtKey().Public().(ed25519.PublicKey)); err != nil && !errors.Is(err, ErrBadRequestSignature) {
				t.Fatalf("Verify: %v", err)
			}
		}
	})
}

// FuzzOpenPayload: OpenPayload fails only with ErrBadPayload, and what it
// opens seals again to a payload that opens to the same Inner.
func FuzzOpenPayload(f *testing.F) {
	key := fill(4)
	good, _ := SealPayload(key, Inner{0, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1})
	f.Add(good)
	f.Add(make([]byte, PayloadSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := OpenPayload(key, b)
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		again, err := SealPayload(key, in)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := OpenPayload(key, again); err != nil || out != in {
			t.Fatalf("reseal: %+v, %v", out, err)
		}
	})
}

// FuzzParseAnswer: ParseAnswer fails only with ErrBadAnswer.
func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(`{"ok":true}`))
	f.Add([]byte(`{"error":"gone","message":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseAnswer(b); err != nil && !errors.Is(err, ErrBadAnswer) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
