package identity

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"
)

// checkX25519ByMultiplication is the check ParseAccountID made before it
// used a table: the key times a fixed scalar. X25519 clamps scalars to
// multiples of the cofactor 8, so a point of small order (on the curve or
// its twist) times any scalar is the identity, an all-zero output, which
// crypto/ecdh reports as an error. It is the oracle the table is tested
// against.
func checkX25519ByMultiplication(b []byte) error {
	if b[31]&0x80 != 0 || geP(b) {
		return ErrNonCanonicalKey
	}
	pub, err := ecdh.X25519().NewPublicKey(b)
	if err != nil {
		return ErrNonCanonicalKey
	}
	probe, err := ecdh.X25519().NewPrivateKey([]byte("hush/1 low-order probe scalar!!!"))
	if err != nil {
		panic(err)
	}
	if _, err := probe.ECDH(pub); err != nil {
		return ErrLowOrderKey
	}
	return nil
}

// libsodiumBlocklist is has_small_order's list in libsodium
// (src/libsodium/crypto_scalarmult/curve25519/ref10/x25519_ref10.c),
// copied independently of the table under test: the canonical small-order
// u-coordinates and the aliases p and p+1 of 0 and 1.
var libsodiumBlocklist = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
}

// edgeKeys returns the blocklist, each entry with the top bit set (which
// RFC 7748 masks, so it is another encoding of the same u), each
// entry's neighbours within ±40, every value from p-40 to 2^255-1, and
// each entry plus p where that still fits 255 bits.
func edgeKeys(t testing.TB) [][]byte {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	top := new(big.Int).Lsh(big.NewInt(1), 255)
	var out [][]byte
	add := func(v *big.Int) {
		if v.Sign() < 0 || v.Cmp(new(big.Int).Lsh(big.NewInt(1), 256)) >= 0 {
			return
		}
		out = append(out, littleEndian(v))
	}
	for _, h := range libsodiumBlocklist {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		u := bigFromLE(b)
		for d := int64(-40); d <= 40; d++ {
			v := new(big.Int).Add(u, big.NewInt(d))
			add(v)
			add(new(big.Int).Add(v, top))
			add(new(big.Int).Add(v, p))
		}
	}
	for d := int64(-40); d < 19; d++ {
		add(new(big.Int).Add(p, big.NewInt(d)))
	}
	return out
}

func littleEndian(v *big.Int) []byte {
	be := v.FillBytes(make([]byte, 32))
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		be[i], be[j] = be[j], be[i]
	}
	return be
}

func bigFromLE(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

// TestLowOrderCheckMatchesMultiplication: checkX25519 gives the same
// answer as the multiplication it replaced, on every blocklisted point and
// its other encodings and neighbours, and on random keys.
func TestLowOrderCheckMatchesMultiplication(t *testing.T) {
	keys := edgeKeys(t)
	for range 5000 {
		k := make([]byte, 32)
		rand.Read(k)
		keys = append(keys, k)
		k2 := append([]byte(nil), k...)
		k2[31] &= 0x7f
		keys = append(keys, k2)
	}
	lowOrder := map[string]bool{}
	for _, k := range keys {
		want := checkX25519ByMultiplication(k)
		if got := checkX25519(k); !errors.Is(got, want) || (want == nil) != (got == nil) {
			t.Errorf("checkX25519(%x) = %v, the multiplication says %v", k, got, want)
		}
		if errors.Is(want, ErrLowOrderKey) {
			lowOrder[hex.EncodeToString(k)] = true
		}
	}
	// The five canonical small-order values of the blocklist, nothing else.
	if len(lowOrder) != 5 {
		t.Errorf("%d keys of low order among the edge keys, want the 5 canonical ones", len(lowOrder))
	}
}

// FuzzLowOrderCheck compares checkX25519 with the multiplication on any
// 32 bytes.
func FuzzLowOrderCheck(f *testing.F) {
	for _, k := range edgeKeys(f) {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, k []byte) {
		if len(k) != 32 {
			return
		}
		want := checkX25519ByMultiplication(k)
		if got := checkX25519(k); !errors.Is(got, want) || (want == nil) != (got == nil) {
			t.Fatalf("checkX25519(%x) = %v, the multiplication says %v", k, got, want)
		}
	})
}

func BenchmarkParseAccountID(b *testing.B) {
	id := NewAccount().ID().String()
	for b.Loop() {
		if _, err := ParseAccountID(id); err != nil {
			b.Fatal(err)
		}
	}
}
