package identity

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"filippo.io/edwards25519"
)

// TestAccountIDStrict: the one Ed25519 → Account ID check refuses what
// libsodium refuses (moved here from crypto/sealv2, which had its own
// copy, as did crypto/sealv1 and protocol/devicerecord).
func TestAccountIDStrict(t *testing.T) {
	alice := FromSeed(mustSeed(t, "0123456789abcdef0123456789abcdef"))
	bob := FromSeed(mustSeed(t, "fedcba9876543210fedcba9876543210"))
	// A point of order 8 (from libsodium's list of small-order encodings).
	t8, _ := hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	a, _ := new(edwards25519.Point).SetBytes(alice.Ed25519Public().Bytes())
	tp, err := new(edwards25519.Point).SetBytes(t8)
	if err != nil {
		t.Fatal(err)
	}
	torsioned := new(edwards25519.Point).Add(a, tp).Bytes()
	nonCanonical := append([]byte{0xee}, bytes.Repeat([]byte{0xff}, 30)...)
	nonCanonical = append(nonCanonical, 0x7f) // p+1, an alias of 1
	tests := []struct {
		name string
		key  []byte
		want AccountID // zero: refused
	}{
		{"alice", alice.Ed25519Public().Bytes(), alice.ID()},
		{"bob", bob.Ed25519Public().Bytes(), bob.ID()},
		{"torsion component", torsioned, AccountID{}},
		{"order 8", t8, AccountID{}},
		{"identity", append([]byte{1}, make([]byte, 31)...), AccountID{}},
		{"non-canonical", nonCanonical, AccountID{}},
		{"short", alice.Ed25519Public().Bytes()[:31], AccountID{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Ed25519PublicKeyFromBytes(tt.key)
			var id AccountID
			if err == nil {
				id, err = k.AccountID()
			}
			if tt.want.IsZero() {
				if !errors.Is(err, ErrBadEd25519Key) || !id.IsZero() {
					t.Fatalf("AccountID = %s, %v; want ErrBadEd25519Key", id, err)
				}
				return
			}
			if err != nil || id != tt.want {
				t.Fatalf("AccountID = %s, %v; want %s", id, err, tt.want)
			}
		})
	}
}

// TestAccountIDNonCanonical enumerates every non-canonical encoding that
// edwards25519 decodes (y = p+c for c < 19, either sign) and checks that
// AccountID refuses each, as libsodium's canonicity check does, and that
// it would refuse each even without that check: the canonical encoding of
// the same point is refused too (the point is of small order or outside
// the prime-order subgroup). Moved here from crypto/sealv1.
func TestAccountIDNonCanonical(t *testing.T) {
	decoded := 0
	for c := range 19 {
		for _, sign := range []byte{0, 0x80} {
			enc := make([]byte, 32)
			enc[0] = byte(0xed + c)
			for i := 1; i < 31; i++ {
				enc[i] = 0xff
			}
			enc[31] = 0x7f | sign
			p, err := new(edwards25519.Point).SetBytes(enc)
			if err != nil {
				continue
			}
			decoded++
			for _, b := range [][]byte{enc, p.Bytes()} {
				k, err := Ed25519PublicKeyFromBytes(b)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := k.AccountID(); !errors.Is(err, ErrBadEd25519Key) {
					t.Errorf("y = p+%d, sign %x, encoding %x: err = %v, want ErrBadEd25519Key", c, sign, b, err)
				}
			}
		}
	}
	if decoded == 0 {
		t.Fatal("no non-canonical encoding decoded; the test checks nothing")
	}
}

// TestEd25519PublicKeyText: lowercase hex in and out, nothing else in; a
// comparable value usable as a map key.
func TestEd25519PublicKeyText(t *testing.T) {
	k := FromSeed(mustSeed(t, "0123456789abcdef0123456789abcdef")).Ed25519Public()
	b, err := json.Marshal(map[string]Ed25519PublicKey{"k": k})
	if err != nil || string(b) != `{"k":"`+k.String()+`"}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var back map[string]Ed25519PublicKey
	if err := json.Unmarshal(b, &back); err != nil || back["k"] != k {
		t.Fatalf("Unmarshal = %v, %v", back, err)
	}
	set := map[Ed25519PublicKey]bool{k: true}
	if !set[back["k"]] || k.IsZero() || !(Ed25519PublicKey{}).IsZero() {
		t.Fatal("key is not a usable map key or IsZero is wrong")
	}
	for _, bad := range []string{strings.ToUpper(k.String()), k.String()[:62], k.String() + "00", "zz" + k.String()[2:]} {
		var got Ed25519PublicKey
		if err := got.UnmarshalText([]byte(bad)); !errors.Is(err, ErrBadEd25519Key) || !got.IsZero() {
			t.Errorf("UnmarshalText(%q) = %v, %v; want ErrBadEd25519Key", bad, got, err)
		}
	}
	if _, err := Ed25519PublicKeyFromBytes(k.Bytes()[:31]); !errors.Is(err, ErrBadEd25519Key) {
		t.Errorf("FromBytes of 31 bytes: err = %v", err)
	}
	if got := Ed25519PublicKeyFromRaw32(k.Raw32()); got != k {
		t.Errorf("Raw32 round trip = %s, want %s", got, k)
	}
}
