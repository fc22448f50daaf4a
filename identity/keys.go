package identity

import (
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
	pub := Ed25519PublicKey(signer.Public().(ed25519.PublicKey))
	id, err := pub.AccountID()
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
func (a *Account) Ed25519Public() Ed25519PublicKey {
	return Ed25519PublicKey(a.signer.Public().(ed25519.PublicKey))
}

// X25519 returns the account's X25519 private key.
func (a *Account) X25519() *ecdh.PrivateKey { return a.x }

// Sign signs msg with the account's Ed25519 key.
func (a *Account) Sign(msg []byte) []byte { return ed25519.Sign(a.signer, msg) }

// Ed25519PublicKeySize is the size of an Ed25519 public key.
const Ed25519PublicKeySize = ed25519.PublicKeySize

// Ed25519PublicKey is an Ed25519 public key as raw bytes.
type Ed25519PublicKey []byte

// ErrBadEd25519Key is returned by [ParseEd25519PublicKey] and
// [Ed25519PublicKey.AccountID] for a key that is not a valid Ed25519 point.
var ErrBadEd25519Key = errors.New("not a valid Ed25519 public key")

// ParseEd25519PublicKey parses 64 hex characters as an Ed25519 public key and
// checks that it decodes to a curve point.
func ParseEd25519PublicKey(s string) (Ed25519PublicKey, error) {
	if len(s) != 2*Ed25519PublicKeySize {
		return nil, fmt.Errorf("%w: want %d hex characters, got %d", ErrBadEd25519Key, 2*Ed25519PublicKeySize, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not hex", ErrBadEd25519Key)
	}
	if _, err := new(edwards25519.Point).SetBytes(b); err != nil {
		return nil, fmt.Errorf("%w: not a curve point", ErrBadEd25519Key)
	}
	return Ed25519PublicKey(b), nil
}

// String returns the key as lowercase hex.
func (k Ed25519PublicKey) String() string { return hex.EncodeToString(k) }

// Equal reports whether two keys are equal, in constant time.
func (k Ed25519PublicKey) Equal(o Ed25519PublicKey) bool {
	return len(k) == len(o) && subtle.ConstantTimeCompare(k, o) == 1
}

// AccountID returns the Account ID that belongs to this Ed25519 key: 0x05 and
// the key's Montgomery form (libsodium crypto_sign_ed25519_pk_to_curve25519).
// A caller that is handed both an Account ID and an Ed25519 key (a storage RPC
// with pubkey_ed25519, a sealed message) checks that they match with this.
func (k Ed25519PublicKey) AccountID() (AccountID, error) {
	var id AccountID
	if len(k) != Ed25519PublicKeySize {
		return id, fmt.Errorf("%w: want %d bytes, got %d", ErrBadEd25519Key, Ed25519PublicKeySize, len(k))
	}
	p, err := new(edwards25519.Point).SetBytes(k)
	if err != nil {
		return id, fmt.Errorf("%w: not a curve point", ErrBadEd25519Key)
	}
	// libsodium refuses small-order keys here; so do we, since their X25519
	// form would be a low-order point nobody can encrypt to.
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return id, fmt.Errorf("%w: small-order point", ErrBadEd25519Key)
	}
	// libsodium also refuses points with a torsion component ([L]P ≠ O):
	// otherwise one secret key would answer to eight Account IDs.
	lp := new(edwards25519.Point).ScalarMult(minusOne, p)
	if lp.Add(lp, p).Equal(edwards25519.NewIdentityPoint()) != 1 {
		return id, fmt.Errorf("%w: not in the prime-order subgroup", ErrBadEd25519Key)
	}
	id[0] = AccountPrefix
	copy(id[1:], p.BytesMontgomery())
	return id, nil
}

// minusOne is L-1, the scalar with [L-1]P + P = [L]P.
var minusOne = func() *edwards25519.Scalar {
	one, _ := edwards25519.NewScalar().SetCanonicalBytes(append([]byte{1}, make([]byte, 31)...))
	return edwards25519.NewScalar().Negate(one)
}()
