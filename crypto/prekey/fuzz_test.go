package prekey

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// FuzzParseDeviceKeys: the stored private keys come from the client's own
// database, but a corrupted one must be refused, never crash, and what is
// accepted must marshal back to the same bytes.
func FuzzParseDeviceKeys(f *testing.F) {
	f.Add([]byte{keysVersion, byte(Inbox), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseDeviceKeys(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		out, err := k.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		// Epochs may arrive in any order; the canonical form sorts them, so
		// it is the input exactly when the input was sorted.
		k2, err := ParseDeviceKeys(out)
		if err != nil || len(out) != len(b) || !slices.Equal(k.Epochs(), k2.Epochs()) {
			t.Fatalf("re-marshaled %x from %x (%v)", out, b, err)
		}
		if sortedEpochs(b) && !bytes.Equal(out, b) {
			t.Fatalf("sorted set re-marshaled differently")
		}
	})
}

func sortedEpochs(b []byte) bool {
	var prev uint64
	for i, p := 0, b[20:]; len(p) > 0; i, p = i+1, p[40:] {
		e := uint64(0)
		for _, c := range p[:8] {
			e = e<<8 | uint64(c)
		}
		if i > 0 && e <= prev {
			return false
		}
		prev = e
	}
	return true
}
