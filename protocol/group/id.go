package group

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/hushnet/hush/identity"
)

// IDPrefix is the first byte of a group ID (Session's prefix for groups).
const IDPrefix = 0x03

// IDSize is the size of a group ID: the prefix and the group's Ed25519
// public key.
const IDSize = 33

// Errors. Each is wrapped with detail; test with errors.Is.
var (
	ErrBadID          = errors.New("group: not a valid group ID")
	ErrMalformed      = errors.New("group: malformed")
	ErrBadSignature   = errors.New("group: signature does not verify")
	ErrWrongGroup     = errors.New("group: object of another group")
	ErrTooManyMembers = errors.New("group: too many members")
	ErrDecrypt        = errors.New("group: cannot decrypt (wrong key or altered bytes)")
)

// ID names a group: 0x03 followed by the group's Ed25519 public key. It is
// public. The 32 key bytes choose the group's swarm exactly as an
// account's 32 key bytes choose its swarm.
type ID [IDSize]byte

// IDOf returns the ID of the group whose public key is k.
func IDOf(k identity.Ed25519PublicKey) ID {
	var id ID
	id[0] = IDPrefix
	raw := k.Raw32()
	copy(id[1:], raw[:])
	return id
}

// ParseID parses 66 hex characters and checks that the key is one
// libsodium would accept for verification (canonical, not of small order,
// in the prime-order subgroup), the rule accounts' keys follow.
func ParseID(s string) (ID, error) {
	var id ID
	s = strings.TrimSpace(s)
	if len(s) != 2*IDSize {
		return ID{}, fmt.Errorf("%w: want %d hex characters, got %d", ErrBadID, 2*IDSize, len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return ID{}, fmt.Errorf("%w: not hex", ErrBadID)
	}
	return IDFromBytes(id[:])
}

// IDFromBytes checks 33 raw bytes as [ParseID] checks hex.
func IDFromBytes(b []byte) (ID, error) {
	var id ID
	if len(b) != IDSize {
		return ID{}, fmt.Errorf("%w: want %d bytes, got %d", ErrBadID, IDSize, len(b))
	}
	copy(id[:], b)
	if id[0] != IDPrefix {
		return ID{}, fmt.Errorf("%w: must start with 03, got %02x", ErrBadID, id[0])
	}
	if err := checkKey(id.Key()); err != nil {
		return ID{}, fmt.Errorf("%w: %v", ErrBadID, err)
	}
	return id, nil
}

// checkKey applies accounts' Ed25519 key rule (identity's AccountID
// conversion does the subgroup check).
func checkKey(k identity.Ed25519PublicKey) error {
	_, err := k.AccountID()
	return err
}

// Key returns the group's Ed25519 public key.
func (id ID) Key() identity.Ed25519PublicKey {
	var raw [32]byte
	copy(raw[:], id[1:])
	return identity.Ed25519PublicKeyFromRaw32(raw)
}

// Account returns the ID as the storage address nodes file the group's
// messages under: the same 33 bytes in the type internal/store and swarm
// use for accounts (the prefix keeps the two apart).
func (id ID) Account() identity.AccountID { return identity.AccountID(id) }

// IsGroup reports whether a storage address is a group's (prefix 03).
func IsGroup(a identity.AccountID) bool { return a[0] == IDPrefix }

// String returns the ID as 66 lowercase hex characters.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns a short form for display.
func (id ID) Short() string {
	s := id.String()
	return s[:8] + "…" + s[len(s)-8:]
}

// IsZero reports whether id is the zero value.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText implements encoding.TextMarshaler (lowercase hex).
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with [ParseID]'s checks.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// verify checks sig by the group key over msg.
func (id ID) verify(msg, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(id[1:], msg, sig)
}
