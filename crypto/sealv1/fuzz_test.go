package sealv1

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzRecipient is the account FuzzOpen opens with; the seed corpus in
// testdata/fuzz/FuzzOpen holds real messages sealed to it.
const fuzzRecipient = libsessionSeed2

// FuzzOpen feeds arbitrary bytes to Open. Whatever it accepts must be
// consistent (sender ID derived from the sender key, plaintext length) and
// repeatable; whatever it refuses must be refused with one of its errors.
func FuzzOpen(f *testing.F) {
	to := account(f, fuzzRecipient)
	f.Add(make([]byte, Overhead))
	f.Add(sealDeterministic(f, account(f, libsessionSeed1), to.ID(), []byte("seed")))
	f.Fuzz(func(t *testing.T, sealed []byte) {
		in := bytes.Clone(sealed)
		m, pk, id, err := Open(to, sealed)
		if !bytes.Equal(in, sealed) {
			t.Fatal("Open modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrTooShort) && !errors.Is(err, ErrDecrypt) &&
				!errors.Is(err, ErrBadSenderKey) && !errors.Is(err, ErrBadSignature) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(m) != len(sealed)-Overhead {
			t.Fatalf("plaintext is %d bytes from %d sealed", len(m), len(sealed))
		}
		want, err := pk.AccountID()
		if err != nil || !want.Equal(id) {
			t.Fatalf("sender ID %s does not belong to sender key %s (%v)", id, pk, err)
		}
		m2, pk2, id2, err := Open(to, sealed)
		if err != nil || !bytes.Equal(m, m2) || !pk.Equal(pk2) || id != id2 {
			t.Fatal("second Open differs")
		}
	})
}
