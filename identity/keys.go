package identity

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"

	"filippo.io/edwards25519"
)

// SeedSize is the size of an account seed in bytes.
const SeedSize = 16

// Seed is the secret from which every key of an account is derived. It is
// what the recovery phrase encodes.
type Seed [SeedSize]byte

// NewSeed returns a fresh random seed.
func NewSeed() Seed {
	var s Seed
	rand.Read(s[:]) // never returns an error (crypto/rand documents this)
	return s
}

// Equal reports whether two seeds are equal, in constant time.
func (s Seed) Equal(o Seed) bool { return subtle.ConstantTimeCompare(s[:], o[:]) == 1 }

// Account is an account's full key set. It holds secrets: never log it.
type Account struct {
	seed   Seed
	signer ed25519.PrivateKey
	x      *ecdh.PrivateKey
	id     AccountID
}

// NewAccount creates an account from a fresh random seed.
func NewAccount() *Account { return FromSeed(NewSeed()) }

// FromSeed derives an account's keys from its seed.
func FromSeed(s Seed) *Account {
	var edSeed [ed25519.SeedSize]byte
	copy(edSeed[:], s[:]) // the other 16 bytes stay zero, as in Session
	signer := ed25519.NewKeyFromSeed(edSeed[:])

	// libsodium's crypto_sign_ed25519_sk_to_curve25519: the X25519 scalar is
	// the first half of SHA-512(seed); crypto/ecdh clamps it.
	h := sha512.Sum512(edSeed[:])
	x, err := ecdh.X25519().NewPrivateKey(h[:32])
	if err != nil {
		panic("identity: 32-byte X25519 key rejected: " + err.Error()) // cannot happen
	}
	id, err := Ed25519PublicKeyOf(signer).AccountID()
	if err != nil {
		panic("identity: own Ed25519 key has no Montgomery form: " + err.Error()) // cannot happen
	}
	return &Account{seed: s, signer: signer, x: x, id: id}
}

// Seed returns the account's seed.
func (a *Account) Seed() Seed { return a.seed }

// ID returns the account's Account ID.
func (a *Account) ID() AccountID { return a.id }

// SigningKey returns the account's Ed25519 private key.
func (a *Account) SigningKey() ed25519.PrivateKey { return a.signer }

// Ed25519Public returns the account's Ed25519 public key.
func (a *Account) Ed25519Public() Ed25519PublicKey { return Ed25519PublicKeyOf(a.signer) }

// X25519 returns the account's X25519 private key.
func (a *Account) X25519() *ecdh.PrivateKey { return a.x }

// Sign signs msg with the account's Ed25519 key.
func (a *Account) Sign(msg []byte) []byte { return ed25519.Sign(a.signer, msg) }

// Ed25519PublicKeySize is the size of an Ed25519 public key.
const Ed25519PublicKeySize = ed25519.PublicKeySize

// Ed25519PublicKey is an Ed25519 public key: an account's, a device's, a
// node's, a steward's or a registry host's signing identity. It is a
// fixed-size value, comparable with == and usable as a map key (the shape
// of tailscale's key.NodePublic); the zero value is no key. In JSON and
// text it is 64 lowercase hex characters.
type Ed25519PublicKey struct {
	k [Ed25519PublicKeySize]byte
}

// ErrBadEd25519Key is returned by [ParseEd25519PublicKey],
// [Ed25519PublicKeyFromBytes], [Ed25519PublicKey.UnmarshalText] and
// [Ed25519PublicKey.AccountID] for a key that is malformed or not a valid
// Ed25519 point.
var ErrBadEd25519Key = errors.New("not a valid Ed25519 public key")

// Ed25519PublicKeyFromBytes returns the key held in 32 raw bytes. It checks
// only the length, not that the bytes are a curve point.
func Ed25519PublicKeyFromBytes(b []byte) (Ed25519PublicKey, error) {
	var k Ed25519PublicKey
	if len(b) != Ed25519PublicKeySize {
		return k, fmt.Errorf("%w: want %d bytes, got %d", ErrBadEd25519Key, Ed25519PublicKeySize, len(b))
	}
	copy(k.k[:], b)
	return k, nil
}

// Ed25519PublicKeyFromRaw32 returns the key with the 32 bytes raw.
func Ed25519PublicKeyFromRaw32(raw [Ed25519PublicKeySize]byte) Ed25519PublicKey {
	return Ed25519PublicKey{k: raw}
}

// Ed25519PublicKeyOf returns the public key of priv.
func Ed25519PublicKeyOf(priv ed25519.PrivateKey) Ed25519PublicKey {
	var k Ed25519PublicKey
	copy(k.k[:], priv.Public().(ed25519.PublicKey))
	return k
}

// ParseEd25519PublicKey parses 64 hex characters (either case) as an
// Ed25519 public key and checks that it decodes to a curve point.
func ParseEd25519PublicKey(s string) (Ed25519PublicKey, error) {
	var k Ed25519PublicKey
	if len(s) != 2*Ed25519PublicKeySize {
		return k, fmt.Errorf("%w: want %d hex characters, got %d", ErrBadEd25519Key, 2*Ed25519PublicKeySize, len(s))
	}
	if _, err := hex.Decode(k.k[:], []byte(s)); err != nil {
		return Ed25519PublicKey{}, fmt.Errorf("%w: not hex", ErrBadEd25519Key)
	}
	if _, err := new(edwards25519.Point).SetBytes(k.k[:]); err != nil {
		return Ed25519PublicKey{}, fmt.Errorf("%w: not a curve point", ErrBadEd25519Key)
	}
	return k, nil
}

// String returns the key as lowercase hex.
func (k Ed25519PublicKey) String() string { return hex.EncodeToString(k.k[:]) }

// Bytes returns a copy of the key's 32 bytes, the form crypto/ed25519
// takes.
func (k Ed25519PublicKey) Bytes() []byte { return bytes.Clone(k.k[:]) }

// Raw32 returns the key's 32 bytes as an array.
func (k Ed25519PublicKey) Raw32() [Ed25519PublicKeySize]byte { return k.k }

// IsZero reports whether k is the zero value (no key).
func (k Ed25519PublicKey) IsZero() bool { return k == Ed25519PublicKey{} }

// Equal reports whether two keys are equal (the same as ==).
func (k Ed25519PublicKey) Equal(o Ed25519PublicKey) bool { return k == o }

// Compare orders keys bytewise, the canonical order of keys in snapshots
// and registry entries.
func (k Ed25519PublicKey) Compare(o Ed25519PublicKey) int { return bytes.Compare(k.k[:], o.k[:]) }

// MarshalText implements encoding.TextMarshaler (lowercase hex).
func (k Ed25519PublicKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler. It accepts exactly
// 64 lowercase hex characters, so that every key has exactly one spelling
// in JSON (which keeps string comparison of signed documents and logs
// meaningful), and does not check that the key is a usable point: the
// format's own validation does that.
func (k *Ed25519PublicKey) UnmarshalText(b []byte) error {
	if len(b) != 2*Ed25519PublicKeySize {
		return fmt.Errorf("%w: want %d hex characters, got %d", ErrBadEd25519Key, 2*Ed25519PublicKeySize, len(b))
	}
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("%w: not lowercase hex", ErrBadEd25519Key)
		}
	}
	_, err := hex.Decode(k.k[:], b)
	return err
}

// AccountID returns the Account ID that belongs to this Ed25519 key: 0x05 and
// the key's Montgomery form (libsodium crypto_sign_ed25519_pk_to_curve25519).
//
// It is the one strict check of an Ed25519 key that arrives from outside
// (a storage RPC's pubkey_ed25519, a sealed message's sender, a device
// record's account and device keys): it accepts exactly the keys libsodium
// accepts there, those canonically encoded, not of small order and in the
// prime-order subgroup. A small-order key's X25519 form is a low-order point
// nobody can encrypt to. A key with a torsion component signs for the same
// secret as its prime-order part but maps to another Account ID, so one
// sender could appear under eight IDs. A caller that is handed both an
// Account ID and an Ed25519 key checks that they match with this. The
// subgroup check costs about half a signature verification.
func (k Ed25519PublicKey) AccountID() (AccountID, error) {
	p, err := new(edwards25519.Point).SetBytes(k.k[:])
	if err != nil {
		return AccountID{}, fmt.Errorf("%w: not a curve point", ErrBadEd25519Key)
	}
	// edwards25519 accepts non-canonical encodings (y ≥ p); libsodium does
	// not. Each of them is of a point refused below as well (a test
	// enumerates them), but the rule should not rest on that argument.
	if !bytes.Equal(p.Bytes(), k.k[:]) {
		return AccountID{}, fmt.Errorf("%w: not canonically encoded", ErrBadEd25519Key)
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return AccountID{}, fmt.Errorf("%w: small-order point", ErrBadEd25519Key)
	}
	// P is in the prime-order subgroup iff [ℓ-1]P = -P. Keys are public, so
	// the variable-time multiplication is fine.
	q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(orderMinusOne, p, edwards25519.NewScalar())
	if q.Equal(new(edwards25519.Point).Negate(p)) != 1 {
		return AccountID{}, fmt.Errorf("%w: not in the prime-order subgroup", ErrBadEd25519Key)
	}
	id := AccountID{AccountPrefix}
	copy(id[1:], p.BytesMontgomery())
	return id, nil
}

// orderMinusOne is ℓ-1, the group order minus one, computed as -1 mod ℓ.
var orderMinusOne = func() *edwards25519.Scalar {
	one, err := edwards25519.NewScalar().SetCanonicalBytes(append([]byte{1}, make([]byte, 31)...))
	if err != nil {
		panic("identity: scalar 1 rejected: " + err.Error()) // cannot happen
	}
	return edwards25519.NewScalar().Negate(one)
}()
