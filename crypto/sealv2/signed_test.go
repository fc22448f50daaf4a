package sealv2

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// TestVerifySigned: the signed part a receiver keeps (Meta.Signed) verifies
// again later, away from the keys that opened it, and proves the author;
// a change anywhere, another recipient, or a part made by the recipient
// itself in a contact's name is refused. This is what lets a history share
// carry a contact's message without letting whoever holds the recipient's
// seed put words in the contact's mouth (issue 27, item 1).
func TestVerifySigned(t *testing.T) {
	w := shared(t)
	carol := w.carol.ID()
	content := []byte("from alice, signed")
	sealed, err := Seal(w.alice, w.bob.ID(), records(w.bobDevs[:2]), now, content)
	if err != nil {
		t.Fatal(err)
	}
	_, sender, meta, err := Open(w.bob.ID(), w.bobDevs[1].keys, sealed, now)
	if err != nil {
		t.Fatal(err)
	}
	got, who, meta2, err := VerifySigned(meta.Signed, w.bob.ID())
	if err != nil || !bytes.Equal(got, content) || !who.Equal(sender) || !meta2.SignedAt.Equal(meta.SignedAt) || !slices.Equal(meta2.Devices, meta.Devices) {
		t.Fatalf("VerifySigned = %q, %s, %v", got, who.Short(), err)
	}
	// Bob's seed can sign a part in Bob's name only; addressed to Bob and
	// of class Inbox, it is refused (an Inbox message from oneself).
	own, err := Seal(w.bob, w.bob.ID(), records(w.bobDevs[:1]), now, content)
	if err == nil {
		t.Fatalf("sealed an inbox message to oneself: %d bytes", len(own))
	}
	flip := func(i int) []byte { b := slices.Clone(meta.Signed); b[i] ^= 1; return b }
	tests := []struct {
		name      string
		signed    []byte
		recipient []byte
		want      error
	}{
		{"content changed", flip(len(meta.Signed) - 70), nil, ErrBadSignature},
		{"epoch changed", flip(9), nil, ErrBadSignature},
		{"time changed", flip(10 + 72), nil, ErrBadSignature},
		{"signature changed", flip(len(meta.Signed) - 1), nil, ErrBadSignature},
		{"another recipient", meta.Signed, carol[:], ErrWrongRecipient},
		{"truncated", meta.Signed[:40], nil, ErrMalformed},
		{"version", flip(0), nil, ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.bob.ID()
			if tt.recipient != nil {
				copy(r[:], tt.recipient)
			}
			if _, _, _, err := VerifySigned(tt.signed, r); !errors.Is(err, tt.want) {
				t.Fatalf("VerifySigned = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzVerifySigned: any bytes a sharing device could send as a signed part
// either fail with one of the documented errors or verify, returning
// exactly those bytes as the signed part and content taken from them.
func FuzzVerifySigned(f *testing.F) {
	w := shared(f)
	sealed, err := Seal(w.alice, w.bob.ID(), records(w.bobDevs[:1]), now, []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	_, _, meta, err := Open(w.bob.ID(), w.bobDevs[0].keys, sealed, now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(meta.Signed)
	f.Add([]byte{Version})
	bob := w.bob.ID()
	f.Fuzz(func(t *testing.T, signed []byte) {
		content, sender, m, err := VerifySigned(signed, bob)
		if err != nil {
			for _, known := range []error{ErrMalformed, ErrVersion, ErrBadSignature, ErrWrongRecipient, ErrTimestamp} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("undocumented error %v", err)
		}
		if !bytes.Equal(m.Signed, signed) || !bytes.Contains(signed, content) {
			t.Fatalf("verified a part from %s, %d content bytes", sender.Short(), len(content))
		}
	})
}
