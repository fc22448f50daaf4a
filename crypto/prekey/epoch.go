package prekey

import (
	"fmt"
	"time"
)

// EpochLength is how long one prekey is used by senders. Epoch e covers the
// Unix seconds [e·86400, (e+1)·86400). It is a protocol constant, not a
// record field, so that every wrap of a message names the same epoch and an
// epoch number means the same day to every client; changing it needs a new
// record version.
const EpochLength = 24 * time.Hour

// ClockSkew is the margin added to every time rule for clocks that are wrong.
// A sender whose clock is behind keeps sealing to an epoch that has already
// ended for the recipient; one whose clock is ahead seals to the next one.
const ClockSkew = time.Hour

// Class says what a prekey set is for; see the package documentation.
type Class uint8

const (
	// Inbox prekeys are for messages from contacts, stored in the public
	// inbox (namespace 0) with a TTL of at most 14 days.
	Inbox Class = 1
	// Sync prekeys are for the copies of its own sent messages that a device
	// stores for the account's other devices, in an owner-only namespace
	// with a TTL of at most 30 days.
	Sync Class = 2
)

// MaxTTL is the longest time a message sealed to a prekey of class c may be
// stored (DESIGN.md §4: 14 days in public namespaces, 30 in owner-only
// ones). It returns 0 for an unknown class.
func (c Class) MaxTTL() time.Duration {
	switch c {
	case Inbox:
		return 14 * 24 * time.Hour
	case Sync:
		return 30 * 24 * time.Hour
	}
	return 0
}

// Valid reports whether c is a known class.
func (c Class) Valid() bool { return c == Inbox || c == Sync }

func (c Class) String() string {
	switch c {
	case Inbox:
		return "inbox"
	case Sync:
		return "sync"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// Ahead is how many epochs after the current one a fresh record of class c
// covers: enough that a sender can still reach a device that has been
// offline for as long as a message to it could wait (with now's and the
// epoch before, 16 prekeys in all for Inbox, 32 for Sync).
func (c Class) Ahead() uint64 {
	return uint64((c.MaxTTL() + EpochLength - 1) / EpochLength)
}

// EpochOf returns the epoch that contains t. Times before 1970 are epoch 0.
func EpochOf(t time.Time) uint64 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	return uint64(s) / uint64(EpochLength/time.Second)
}

// EpochStart returns the first instant of epoch e.
func EpochStart(e uint64) time.Time {
	return time.Unix(int64(e*uint64(EpochLength/time.Second)), 0).UTC()
}

// EpochEnd returns the first instant after epoch e.
func EpochEnd(e uint64) time.Time { return EpochStart(e + 1) }

// DeleteAfter is the deletion rule: the instant from which the private
// prekey of epoch e in class c must be gone. A sender seals to epoch e until
// its end (plus ClockSkew for a slow clock); the message lives at most
// c.MaxTTL() after that. So the forward-secrecy window, the longest a
// private key that opens a given message exists, is EpochLength + MaxTTL +
// ClockSkew: 15 days 1 hour for Inbox, 31 days 1 hour for Sync.
func DeleteAfter(c Class, e uint64) time.Time {
	return EpochEnd(e).Add(c.MaxTTL() + ClockSkew)
}
