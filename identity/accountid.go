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

// probeScalar is any fixed X25519 scalar. X25519 clamps scalars to multiples
// of the cofactor 8, so a low-order point times any scalar is the identity
// (all-zero output), which crypto/ecdh reports as an error. That makes one
// scalar multiplication an exact low-order test without a hand-kept list of
// the bad points.
var probeScalar = func() *ecdh.PrivateKey {
	k, err := ecdh.X25519().NewPrivateKey([]byte("hush/1 low-order probe scalar!!!"))
	if err != nil {
		panic(err)
	}
	return k
}()

func checkX25519(b []byte) error {
	// The top bit is never set in a canonical encoding (RFC 7748 §5 masks it),
	// and values ≥ p = 2^255-19 are non-canonical aliases of small values.
	if b[31]&0x80 != 0 || geP(b) {
		return ErrNonCanonicalKey
	}
	pub, err := ecdh.X25519().NewPublicKey(b)
	if err != nil {
		return ErrNonCanonicalKey
	}
	if _, err := probeScalar.ECDH(pub); err != nil {
		return ErrLowOrderKey
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
