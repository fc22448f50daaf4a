package identity

import (
	"crypto/ecdh"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// AccountPrefix is the first byte of a standard (unblinded, 1:1) Account ID.
// Session reserves 0x03 for groups and 0x15 for blinded IDs; hush will use
// them the same way when it grows those features.
const AccountPrefix = 0x05

// AccountIDSize is the size of an Account ID in bytes (prefix + X25519 key).
const AccountIDSize = 33

// AccountID addresses an account: 0x05 followed by its X25519 public key.
// It is public; the zero value is not a valid Account ID.
type AccountID [AccountIDSize]byte

// Errors returned by [ParseAccountID] and [ParseX25519PublicKey]. They are
// distinct so that a user can be told exactly what is wrong with what they
// typed.
var (
	ErrAccountIDLength = errors.New("account ID must be 66 hex characters")
	ErrAccountIDHex    = errors.New("account ID is not hex")
	ErrAccountIDPrefix = errors.New("account ID must start with 05")
	ErrNonCanonicalKey = errors.New("X25519 key is not canonically encoded")
	ErrLowOrderKey     = errors.New("X25519 key is a low-order point")
)

// ParseAccountID parses a 66-character hex Account ID and checks that its key
// is usable: canonically encoded and not of low order. Surrounding whitespace
// is ignored; upper-case hex is accepted.
func ParseAccountID(s string) (AccountID, error) {
	var id AccountID
	s = strings.TrimSpace(s)
	if len(s) != 2*AccountIDSize {
		return id, fmt.Errorf("%w, got %d", ErrAccountIDLength, len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return AccountID{}, ErrAccountIDHex
	}
	if id[0] != AccountPrefix {
		return AccountID{}, fmt.Errorf("%w, got %02x", ErrAccountIDPrefix, id[0])
	}
	if err := checkX25519(id[1:]); err != nil {
		return AccountID{}, err
	}
	return id, nil
}

// AccountIDFromBytes checks 33 raw bytes as [ParseAccountID] checks hex.
func AccountIDFromBytes(b []byte) (AccountID, error) {
	if len(b) != AccountIDSize {
		return AccountID{}, fmt.Errorf("%w, got %d bytes", ErrAccountIDLength, len(b))
	}
	return ParseAccountID(hex.EncodeToString(b))
}

// String returns the Account ID as 66 lowercase hex characters.
func (id AccountID) String() string { return hex.EncodeToString(id[:]) }

// Short returns a short form for display (first 4 and last 4 bytes of hex).
func (id AccountID) Short() string {
	s := id.String()
	return s[:8] + "…" + s[len(s)-8:]
}

// Equal reports whether two Account IDs are equal. Account IDs are public,
// but the comparison is constant-time anyway so that nobody has to wonder.
func (id AccountID) Equal(o AccountID) bool { return subtle.ConstantTimeCompare(id[:], o[:]) == 1 }

// IsZero reports whether id is the zero value.
func (id AccountID) IsZero() bool { return id == AccountID{} }

// PubKey returns the 32 X25519 key bytes after the prefix, the part that
// selects the account's swarm.
func (id AccountID) PubKey() [32]byte {
	var k [32]byte
	copy(k[:], id[1:])
	return k
}

// X25519 returns the Account ID's X25519 public key.
func (id AccountID) X25519() (*ecdh.PublicKey, error) {
	if err := checkX25519(id[1:]); err != nil {
		return nil, err
	}
	return ecdh.X25519().NewPublicKey(id[1:])
}

// MarshalText implements encoding.TextMarshaler (lowercase hex).
func (id AccountID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with [ParseAccountID]'s checks.
func (id *AccountID) UnmarshalText(b []byte) error {
	v, err := ParseAccountID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseX25519PublicKey checks 32 raw bytes received from outside (a node key,
// an ephemeral key) and returns the key.
func ParseX25519PublicKey(b []byte) (*ecdh.PublicKey, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("X25519 key must be 32 bytes, got %d", len(b))
	}
	if err := checkX25519(b); err != nil {
		return nil, err
	}
	return ecdh.X25519().NewPublicKey(b)
}

// lowOrderPoints are the canonical encodings of every u-coordinate of small
// order that X25519 accepts: on Curve25519 (order 8ℓ) the points of order
// 2, 4 and 8, and on its twist (order 4ℓ') the point of order 4. Any of
// them times a clamped scalar (a multiple of the cofactor 8) is the
// identity, so a peer that sent one would force a known shared secret. The
// list is libsodium's has_small_order blocklist
// (crypto_scalarmult/curve25519/ref10/x25519_ref10.c), also in Bernstein's
// Curve25519 page (cr.yp.to/ecdh.html, "How do I validate Curve25519
// public keys?"), without its non-canonical aliases p and p+1 of 0 and 1,
// which checkX25519 refuses before it reaches the table, as it refuses a
// set top bit (the masked bit would alias each entry). Five comparisons
// replace a scalar multiplication per request (7% of a replicated store's
// CPU); TestLowOrderCheckMatchesMultiplication and FuzzLowOrderCheck hold
// the table to the multiplication.
var lowOrderPoints = [...][32]byte{
	{},     // 0: the point of order 2 shared by the curve and its twist
	{0x01}, // 1: order 4 on the curve
	// Order 8 on the curve:
	// 325606250916557431795983626356110631294008115727848805560023387167927233504
	{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
		0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
	// 39382357235489614581723060781553021112529911719440698176882885853963445705823
	{0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b,
		0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
	// p-1 (that is -1): order 4 on the twist
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
}

func checkX25519(b []byte) error {
	// The top bit is never set in a canonical encoding (RFC 7748 §5 masks it),
	// and values ≥ p = 2^255-19 are non-canonical aliases of small values.
	if len(b) != 32 || b[31]&0x80 != 0 || geP(b) {
		return ErrNonCanonicalKey
	}
	// Keys are public: the comparisons need not be constant-time.
	for _, lo := range &lowOrderPoints {
		if [32]byte(b) == lo {
			return ErrLowOrderKey
		}
	}
	return nil
}

// geP reports whether the little-endian 255-bit value b is ≥ 2^255-19.
// p in little endian is ed ff … ff 7f.
func geP(b []byte) bool {
	if b[31] != 0x7f {
		return false
	}
	for i := 30; i >= 1; i-- {
		if b[i] != 0xff {
			return false
		}
	}
	return b[0] >= 0xed
}
