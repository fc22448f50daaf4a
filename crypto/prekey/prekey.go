// Package prekey defines the prekeys of protocol v2 (docs/protocol-v2.md):
// the epochs they belong to and the rule that deletes them, the classes that
// keep a device's inbox and sync keys apart, the device IDs they are
// published under, and a device's private prekey set.
//
// A device publishes, for each epoch (one UTC day, [EpochLength]) from now
// until the longest time a message to it may live, an X-Wing public key
// (ML-KEM-768 + X25519, HPKE's MLKEM768X25519 from the Go standard
// library). Senders wrap a message key to the prekey of the current epoch
// (crypto/sealv2); the device deletes the private prekey once every message
// sealed to it must have expired ([DeleteAfter]), which is what gives
// protocol v2 its forward secrecy. How the public prekeys are signed and
// published is protocol/devicerecord's business; what a sender needs of
// them is a [Bundle].
//
// # Classes
//
// A device keeps two independent sets of prekeys, one per [Class]: [Inbox]
// prekeys, published in the account's public-readable key namespace for
// contacts, and [Sync] prekeys, published in an owner-only namespace for
// the account's other devices (sync copies of sent messages). Inbox
// messages live at most 14 days, sync copies 30 days (DESIGN.md §4), and a
// prekey must be kept as long as the longest-lived message sealed to it:
// one shared set would stretch the forward-secrecy window of every
// contact's message to 31 days.
//
// # Private side
//
// [DeviceKeys] holds one class's private prekeys. Each one is generated
// from fresh randomness and stored, never derived from a long-lived
// secret: a key that can be derived again cannot be deleted, and deletion
// is the whole point. [DeviceKeys.Prune] applies the deletion rule.
//
// The package does no I/O and reads no clock: every function that needs
// the time takes it as an argument. Randomness comes from crypto/rand.
package prekey

import (
	"crypto/hpke"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/hushnet/hush/identity"
)

// Sizes, in bytes.
const (
	// DeviceIDSize is the length of a [DeviceID].
	DeviceIDSize = 16
	// PublicKeySize is an X-Wing public prekey: ML-KEM-768 encapsulation
	// key (1184) ‖ X25519 (32).
	PublicKeySize = 1216
)

// Errors returned by [Bundle.For], [NewDeviceKeys] and [ParseDeviceKeys].
var (
	// ErrNoPrekey: there is no prekey for the epoch asked for.
	ErrNoPrekey = errors.New("device record has no prekey for this epoch")
	// ErrMalformed: a serialized prekey set does not decode, or names an
	// unknown class.
	ErrMalformed = errors.New("malformed prekey set")
	// ErrVersion: a serialized prekey set has an unknown version.
	ErrVersion = errors.New("unsupported prekey set version")
)

// DeviceID is a device's random 16-byte identifier. It is public: records
// carry it in the clear.
type DeviceID [DeviceIDSize]byte

// String returns the ID as lowercase hex.
func (id DeviceID) String() string { return hex.EncodeToString(id[:]) }

// Equal reports whether two device IDs are equal, in constant time.
func (id DeviceID) Equal(o DeviceID) bool { return subtle.ConstantTimeCompare(id[:], o[:]) == 1 }

// Public is one epoch's public prekey.
type Public struct {
	Epoch uint64
	Key   hpke.PublicKey // an MLKEM768X25519 key
}

// Bundle is what a sender needs to seal to one device: the device's public
// prekeys of one class and how long they may be used. A sender takes it
// from the device's record after verifying that (protocol/devicerecord's
// Record.Bundle); a Bundle is only as trustworthy as that check.
type Bundle struct {
	Account   identity.AccountID // the account the device belongs to
	Device    DeviceID
	Class     Class
	ExpiresAt time.Time // the prekeys may be used before it
	Prekeys   []Public  // consecutive epochs, ascending
}

// For returns the prekey for epoch e, or [ErrNoPrekey].
func (b Bundle) For(e uint64) (hpke.PublicKey, error) {
	if len(b.Prekeys) == 0 || e < b.Prekeys[0].Epoch || e-b.Prekeys[0].Epoch >= uint64(len(b.Prekeys)) {
		return nil, fmt.Errorf("%w: epoch %d", ErrNoPrekey, e)
	}
	return b.Prekeys[e-b.Prekeys[0].Epoch].Key, nil
}
