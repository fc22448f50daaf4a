package devicerecord

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
)

// Device is a device's long-lived identity: its random ID and its own Ed25519
// key, both published in its records. It holds a secret: never log it.
type Device struct {
	ID  prekey.DeviceID
	key ed25519.PrivateKey
}

// NewDevice makes a device identity from fresh randomness.
func NewDevice() *Device {
	var d Device
	rand.Read(d.ID[:]) // never returns an error (crypto/rand documents this)
	_, d.key, _ = ed25519.GenerateKey(nil)
	return &d
}

// PublicKey returns the device's Ed25519 public key.
func (d *Device) PublicKey() identity.Ed25519PublicKey {
	return identity.Ed25519PublicKeyOf(d.key)
}

// deviceSize is the length of a marshaled Device: ID ‖ Ed25519 seed.
const deviceSize = prekey.DeviceIDSize + ed25519.SeedSize

// MarshalBinary returns the device's ID and Ed25519 seed, for the client's
// encrypted database.
func (d *Device) MarshalBinary() ([]byte, error) {
	return append(d.ID[:len(d.ID):len(d.ID)], d.key.Seed()...), nil
}

// ParseDevice reverses [Device.MarshalBinary]. It returns [ErrMalformed] for
// input of the wrong length.
func ParseDevice(b []byte) (*Device, error) {
	if len(b) != deviceSize {
		return nil, fmt.Errorf("%w: device is %d bytes, want %d", ErrMalformed, len(b), deviceSize)
	}
	d := &Device{key: ed25519.NewKeyFromSeed(b[prekey.DeviceIDSize:])}
	copy(d.ID[:], b)
	return d, nil
}

// Make makes dev's signed record of keys' class at now: prekeys for now's
// epoch and every consecutive held epoch after it, led by the epoch before
// now's when held (for senders whose clock is behind; see
// [prekey.DeviceKeys.Public]) (at most [MaxPrekeys]),
// valid until the end of the last one, dated at the start of now's epoch
// (so every record the device makes during one epoch is the same, and a
// republish reveals nothing). Call keys.Cover first. It returns
// [prekey.ErrNoPrekey] when no key for now's epoch is held.
func Make(acct *identity.Account, dev *Device, keys *prekey.DeviceKeys, now time.Time) ([]byte, error) {
	if dev.ID != keys.Device() {
		return nil, errors.New("device keys belong to another device")
	}
	rec := &Record{
		Class: keys.Class(), DeviceID: dev.ID, DeviceKey: dev.PublicKey(),
		CreatedAt: prekey.EpochStart(prekey.EpochOf(now)),
		Prekeys:   keys.Public(now, MaxPrekeys),
	}
	if len(rec.Prekeys) == 0 {
		return nil, fmt.Errorf("%w: epoch %d (call Cover first)", prekey.ErrNoPrekey, prekey.EpochOf(now))
	}
	rec.ExpiresAt = prekey.EpochEnd(rec.Prekeys[len(rec.Prekeys)-1].Epoch)
	return Sign(acct, dev, rec)
}
