package devicerecord

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/hushnet/hush/crypto/prekey"
)

// FuzzParse feeds arbitrary bytes to Parse and Verify. What Parse accepts
// must re-encode to the same bytes (one encoding per record), satisfy the
// coverage rule, and be refused or accepted by Verify only with its errors.
// The seed corpus in testdata/fuzz/FuzzParse holds real records.
func FuzzParse(f *testing.F) {
	f.Add([]byte{Version})
	f.Add(make([]byte, headerSize+prekeySize+128))
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := slices.Clone(raw)
		r, err := Parse(raw)
		if !bytes.Equal(in, raw) {
			t.Fatal("Parse modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if _, err := r.Bundle().For(prekey.EpochOf(r.CreatedAt)); err != nil && prekey.EpochOf(r.CreatedAt) <= r.Prekeys[len(r.Prekeys)-1].Epoch {
			t.Fatalf("parsed record has no prekey at its creation: %v", err)
		}
		// Re-encode without signing: everything but the signatures must match.
		var enc []byte
		enc = append(enc, Version, byte(r.Class))
		enc = append(enc, r.Account.Bytes()...)
		enc = append(enc, r.DeviceID[:]...)
		enc = append(enc, r.DeviceKey.Bytes()...)
		enc = appendUint64(enc, uint64(r.CreatedAt.Unix()))
		enc = appendUint64(enc, uint64(r.ExpiresAt.Unix()))
		enc = append(enc, byte(len(r.Prekeys)))
		for _, p := range r.Prekeys {
			enc = appendUint64(enc, p.Epoch)
			enc = append(enc, p.Key.Bytes()...)
		}
		if !bytes.Equal(enc, raw[:len(raw)-128]) {
			t.Fatal("parsed record does not re-encode to its bytes")
		}
		id, err := r.AccountID()
		if err != nil {
			t.Fatalf("parsed account key has no Account ID: %v", err)
		}
		_, err = Verify(raw, id, r.CreatedAt)
		if err != nil && !errors.Is(err, ErrBadSignature) && !errors.Is(err, prekey.ErrNoPrekey) {
			t.Fatalf("Verify of a parsed record: %v", err)
		}
	})
}

func appendUint64(b []byte, v uint64) []byte {
	for i := 7; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}
