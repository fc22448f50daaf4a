package devicerecord

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
)

// Version is the first byte of every record this package writes and reads.
// Version 1 records carried the account's signature only; version 2 adds
// the device key's, so that a device ID stays bound to its key.
const Version = 0x02

// SignatureLabel starts every message an account signs to make a record. It
// names no network: a record means the same on every hush network, and
// nothing else hush signs starts with it.
const SignatureLabel = "hush/1 device record"

// DeviceSignatureLabel starts the message a device key signs to make its
// record. It differs from SignatureLabel, so neither signature can stand
// for the other.
const DeviceSignatureLabel = "hush/1 device record by device"

// Sizes of the record's parts, in bytes; docs/protocol-v2.md §4 has the
// layout.
const (
	headerSize   = 1 + 1 + ed25519.PublicKeySize + prekey.DeviceIDSize + ed25519.PublicKeySize + 8 + 8 + 1
	prekeySize   = 8 + prekey.PublicKeySize
	mlkemKeySize = 1184
	// signaturesSize: the device key's signature, then the account's.
	signaturesSize = 2 * ed25519.SignatureSize
)

// MaxPrekeys bounds the prekeys in one record. 48 of them (58,752 bytes of
// keys) still fit a 76,800-byte swarm message, and cover a Sync record (31)
// with room for a longer TTL later.
const MaxPrekeys = 48

// Errors returned by [Parse], [Verify] and [Sign]. Each names one reason, so
// that a client can tell a broken record (ErrMalformed, ErrVersion) from a
// forged one (ErrBadSignature, ErrWrongAccount) from a stale one
// (ErrExpired, and prekey.ErrNoPrekey for a record without a prekey for the
// epoch asked for).
var (
	// ErrMalformed: the bytes are not a record: wrong length, an unknown
	// class, keys that do not decode, epochs that are not consecutive, a
	// validity period that the prekeys do not cover.
	ErrMalformed = errors.New("malformed device record")
	// ErrVersion: the record's version byte is not [Version].
	ErrVersion = errors.New("unsupported device record version")
	// ErrBadSignature: the account's or the device key's signature does
	// not verify.
	ErrBadSignature = errors.New("device record signature is not valid")
	// ErrWrongAccount: the record is validly signed, but by another account
	// than the one whose swarm it was fetched from.
	ErrWrongAccount = errors.New("device record belongs to another account")
	// ErrExpired: the record's expiry has passed.
	ErrExpired = errors.New("device record has expired")
	// ErrNotYetValid: the record was made later than now, beyond
	// prekey.ClockSkew.
	ErrNotYetValid = errors.New("device record is from the future")
)

// Record is a device's published prekey record. The zero value is not a valid
// record; [Parse] and [Verify] return one that passed their checks.
type Record struct {
	Class     prekey.Class
	Account   identity.Ed25519PublicKey // the account's key, which signs the record
	DeviceID  prekey.DeviceID
	DeviceKey identity.Ed25519PublicKey // the device's own signing key
	CreatedAt time.Time                 // whole seconds
	ExpiresAt time.Time                 // whole seconds; the record is valid before it
	Prekeys   []prekey.Public           // consecutive epochs, ascending

	// accountID caches Account's Account ID, computed by Parse, while
	// Account is still idOf: senders ask for it on every message.
	accountID identity.AccountID
	idOf      identity.Ed25519PublicKey
}

// AccountID returns the Account ID of the record's account key.
func (r *Record) AccountID() (identity.AccountID, error) {
	if !r.accountID.IsZero() && r.Account == r.idOf {
		return r.accountID, nil
	}
	return r.Account.AccountID()
}

// Bundle returns what a sender needs of the record to seal to its device
// (crypto/sealv2). Take it only from a record that passed [Verify]. A
// record whose account key has no Account ID (one not made by [Parse])
// gives a bundle with a zero Account, which no sealer accepts.
func (r *Record) Bundle() prekey.Bundle {
	id, _ := r.AccountID()
	return prekey.Bundle{Account: id, Device: r.DeviceID, Class: r.Class, ExpiresAt: r.ExpiresAt, Prekeys: r.Prekeys}
}

// Bundles returns the bundles of recs, in order.
func Bundles(recs []*Record) []prekey.Bundle {
	out := make([]prekey.Bundle, len(recs))
	for i, r := range recs {
		out[i] = r.Bundle()
	}
	return out
}

// Sign encodes rec as dev's record, signs it with dev's key and then with
// acct's. rec.Account, rec.DeviceID and rec.DeviceKey are ignored: the
// record always carries the keys that sign it. Sign refuses (with
// [ErrMalformed]) a record that [Parse] would refuse (one whose CreatedAt
// is not an epoch start, for instance), so every record it returns is one
// peers accept.
func Sign(acct *identity.Account, dev *Device, rec *Record) ([]byte, error) {
	if len(rec.Prekeys) == 0 || len(rec.Prekeys) > MaxPrekeys {
		return nil, fmt.Errorf("%w: %d prekeys, want 1 to %d", ErrMalformed, len(rec.Prekeys), MaxPrekeys)
	}
	if dev == nil || len(dev.key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: no device key", ErrMalformed)
	}
	out := make([]byte, 0, headerSize+len(rec.Prekeys)*prekeySize+signaturesSize)
	out = append(out, Version, byte(rec.Class))
	out = append(out, acct.Ed25519Public().Bytes()...)
	out = append(out, dev.ID[:]...)
	out = append(out, dev.PublicKey().Bytes()...)
	out = binary.BigEndian.AppendUint64(out, unixSeconds(rec.CreatedAt))
	out = binary.BigEndian.AppendUint64(out, unixSeconds(rec.ExpiresAt))
	out = append(out, byte(len(rec.Prekeys)))
	for _, p := range rec.Prekeys {
		if p.Key == nil || p.Key.KEM().ID() != hpke.MLKEM768X25519().ID() {
			return nil, fmt.Errorf("%w: prekey for epoch %d is not an X-Wing key", ErrMalformed, p.Epoch)
		}
		out = binary.BigEndian.AppendUint64(out, p.Epoch)
		out = append(out, p.Key.Bytes()...)
	}
	// The device signs first and the account signs over the device's
	// signature too: the account vouches for the device's key, and the
	// device key proves that the record comes from the device that holds
	// it, not from anyone who has only the account's seed.
	out = append(out, ed25519.Sign(dev.key, deviceSignedMessage(out))...)
	out = append(out, acct.Sign(signedMessage(out))...)
	if _, err := Parse(out); err != nil {
		return nil, err
	}
	return out, nil
}

// Parse decodes a record and checks its format (docs/protocol-v2.md §4) but
// not its signature, its account or its time: a parsed record is not yet to
// be trusted. It returns [ErrVersion] or [ErrMalformed].
func Parse(raw []byte) (*Record, error) {
	if len(raw) < 1 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if raw[0] != Version {
		return nil, fmt.Errorf("%w: %d", ErrVersion, raw[0])
	}
	if len(raw) < headerSize+prekeySize+signaturesSize {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrMalformed, len(raw))
	}
	r := &Record{Class: prekey.Class(raw[1])}
	var err error
	if !r.Class.Valid() {
		return nil, fmt.Errorf("%w: unknown class %d", ErrMalformed, raw[1])
	}
	p := raw[2:]
	if r.Account, err = identity.Ed25519PublicKeyFromBytes(p[:32]); err != nil {
		return nil, fmt.Errorf("%w: account key: %w", ErrMalformed, err)
	}
	copy(r.DeviceID[:], p[32:48])
	if r.DeviceKey, err = identity.Ed25519PublicKeyFromBytes(p[48:80]); err != nil {
		return nil, fmt.Errorf("%w: device key: %w", ErrMalformed, err)
	}
	created := binary.BigEndian.Uint64(p[80:88])
	expires := binary.BigEndian.Uint64(p[88:96])
	n := int(p[96])
	p = p[97:]
	if n == 0 || n > MaxPrekeys {
		return nil, fmt.Errorf("%w: %d prekeys, want 1 to %d", ErrMalformed, n, MaxPrekeys)
	}
	if len(p) != n*prekeySize+signaturesSize {
		return nil, fmt.Errorf("%w: %d bytes for %d prekeys", ErrMalformed, len(raw), n)
	}
	if r.accountID, err = r.Account.AccountID(); err != nil {
		return nil, fmt.Errorf("%w: account key: %w", ErrMalformed, err)
	}
	r.idOf = r.Account
	if _, err := r.DeviceKey.AccountID(); err != nil {
		return nil, fmt.Errorf("%w: device key: %w", ErrMalformed, err)
	}
	// Bounding the times keeps every later conversion in range.
	const maxSeconds = 1 << 40
	if created >= expires || expires > maxSeconds {
		return nil, fmt.Errorf("%w: validity %d to %d", ErrMalformed, created, expires)
	}
	// created_at is public (namespace 7 is readable by anyone), so it
	// names the record's epoch and nothing finer: the time of a republish
	// would tell when the device was last in use.
	if created%uint64(prekey.EpochLength/time.Second) != 0 {
		return nil, fmt.Errorf("%w: created_at %d is not the start of an epoch", ErrMalformed, created)
	}
	r.CreatedAt, r.ExpiresAt = time.Unix(int64(created), 0).UTC(), time.Unix(int64(expires), 0).UTC()

	r.Prekeys = make([]prekey.Public, n)
	for i := range r.Prekeys {
		e := binary.BigEndian.Uint64(p[:8])
		if i > 0 && e != r.Prekeys[i-1].Epoch+1 {
			return nil, fmt.Errorf("%w: epoch %d follows %d", ErrMalformed, e, r.Prekeys[i-1].Epoch)
		}
		key, err := parsePublicKey(p[8:prekeySize])
		if err != nil {
			return nil, fmt.Errorf("%w: prekey for epoch %d: %w", ErrMalformed, e, err)
		}
		r.Prekeys[i] = prekey.Public{Epoch: e, Key: key}
		p = p[prekeySize:]
	}
	// The prekeys must cover the whole validity period, so that a sender who
	// accepts the record at any moment of it finds that moment's prekey.
	first, last := r.Prekeys[0].Epoch, r.Prekeys[n-1].Epoch
	if first > prekey.EpochOf(r.CreatedAt) || r.ExpiresAt.After(prekey.EpochEnd(last)) {
		return nil, fmt.Errorf("%w: prekeys for epochs %d to %d do not cover %d to %d", ErrMalformed, first, last, created, expires)
	}
	return r, nil
}

// Verify parses a record fetched for the account expected and checks it for
// use at now: the account signature, the device key's signature, that the
// account key belongs to
// expected, that now lies within the validity period (a record made up to
// [prekey.ClockSkew] in the future is accepted), and that it has a prekey for now's
// epoch. It returns [ErrVersion], [ErrMalformed], [ErrBadSignature],
// [ErrWrongAccount], [ErrNotYetValid], [ErrExpired] or [prekey.ErrNoPrekey].
func Verify(raw []byte, expected identity.AccountID, now time.Time) (*Record, error) {
	r, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	signed, sig := raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]
	if !ed25519.Verify(r.Account.Bytes(), signedMessage(signed), sig) {
		return nil, ErrBadSignature
	}
	id, err := r.AccountID()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err) // Parse checked it
	}
	if !id.Equal(expected) {
		return nil, fmt.Errorf("%w: signed by %s, fetched for %s", ErrWrongAccount, id.Short(), expected.Short())
	}
	body, devSig := signed[:len(signed)-ed25519.SignatureSize], signed[len(signed)-ed25519.SignatureSize:]
	if !ed25519.Verify(r.DeviceKey.Bytes(), deviceSignedMessage(body), devSig) {
		return nil, fmt.Errorf("%w: device key", ErrBadSignature)
	}
	if now.Add(prekey.ClockSkew).Before(r.CreatedAt) {
		return nil, fmt.Errorf("%w: made at %s", ErrNotYetValid, r.CreatedAt.Format(time.RFC3339))
	}
	if !now.Before(r.ExpiresAt) {
		return nil, fmt.Errorf("%w: at %s", ErrExpired, r.ExpiresAt.Format(time.RFC3339))
	}
	b := r.Bundle()
	if _, err := b.For(prekey.EpochOf(now)); err != nil {
		return nil, err
	}
	return r, nil
}

func signedMessage(body []byte) []byte {
	return append([]byte(SignatureLabel), body...)
}

func deviceSignedMessage(body []byte) []byte {
	return append([]byte(DeviceSignatureLabel), body...)
}

// parsePublicKey decodes an X-Wing public key. hpke checks the ML-KEM part;
// the X25519 part is checked as every X25519 key from outside is (DESIGN.md
// §2): a low-order point there would silently drop the classical half of the
// hybrid.
func parsePublicKey(b []byte) (hpke.PublicKey, error) {
	k, err := hpke.MLKEM768X25519().NewPublicKey(b)
	if err != nil {
		return nil, err
	}
	if _, err := identity.ParseX25519PublicKey(b[mlkemKeySize:]); err != nil {
		return nil, err
	}
	return k, nil
}

func unixSeconds(t time.Time) uint64 {
	if s := t.Unix(); s > 0 {
		return uint64(s)
	}
	return 0
}

// Newest keeps, for each device, the record made last (by CreatedAt, then
// by ExpiresAt; on a full tie, the one that comes first in recs), and
// returns them ordered by device ID. A device republishes its record at
// least once per epoch, so a swarm usually holds several; the newest
// carries the prekeys it still has.
//
// Newest trusts the records it is given: pass only records that passed
// [Verify], which refuses one dated beyond [prekey.ClockSkew] in the future (so a
// far-future record cannot win), and only records whose device key is the
// one the caller knows for that device ID: a record is the device's only
// if its device key signed it, and records of one device ID with two keys
// are two claims, which the caller must settle (docs/protocol-v2.md §8).
func Newest(recs []*Record) []*Record {
	byDevice := map[prekey.DeviceID]*Record{}
	for _, r := range recs {
		cur, ok := byDevice[r.DeviceID]
		if !ok || r.CreatedAt.After(cur.CreatedAt) || r.CreatedAt.Equal(cur.CreatedAt) && r.ExpiresAt.After(cur.ExpiresAt) {
			byDevice[r.DeviceID] = r
		}
	}
	out := make([]*Record, 0, len(byDevice))
	for _, r := range byDevice {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Record) int { return bytes.Compare(a.DeviceID[:], b.DeviceID[:]) })
	return out
}

// NewDevices returns the records whose device is not among known, in the
// order given. The client announces each to the user ("Bob has a new
// device", "a new device was added to your account") before sealing to it,
// since a new device means the account's seed is on it.
func NewDevices(known []prekey.DeviceID, recs []*Record) []*Record {
	var out []*Record
	for _, r := range recs {
		if !slices.Contains(known, r.DeviceID) {
			out = append(out, r)
		}
	}
	return out
}
