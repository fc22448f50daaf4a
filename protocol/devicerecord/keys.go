package devicerecord

import (
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
)

// Device is a device's long-lived identity: its random ID and its own Ed25519
// key, both published in its records. It holds a secret: never log it.
type Device struct {
	ID  DeviceID
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
const deviceSize = DeviceIDSize + ed25519.SeedSize

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
	d := &Device{key: ed25519.NewKeyFromSeed(b[DeviceIDSize:])}
	copy(d.ID[:], b)
	return d, nil
}

// DeviceKeys holds one device's private prekeys of one [Class], by epoch. It
// is safe for concurrent use.
//
// Deleting a key drops the only reference this package holds to it; Go gives
// no way to wipe the memory of a crypto/hpke key, and the copies that matter
// are the ones on disk, so the client must store the set sealed and delete
// with secure_delete (DESIGN.md §5).
type DeviceKeys struct {
	device DeviceID
	class  Class

	mu   sync.RWMutex
	keys map[uint64]hpke.PrivateKey // guarded by mu
}

// NewDeviceKeys returns an empty prekey set of class c for device.
func NewDeviceKeys(device DeviceID, c Class) (*DeviceKeys, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("%w: unknown class %d", ErrMalformed, c)
	}
	return &DeviceKeys{device: device, class: c, keys: map[uint64]hpke.PrivateKey{}}, nil
}

// Device returns the ID of the device the keys belong to.
func (k *DeviceKeys) Device() DeviceID { return k.device }

// Class returns the keys' class.
func (k *DeviceKeys) Class() Class { return k.class }

// Generate makes a private prekey from fresh randomness for each epoch given
// that has none yet. An existing key is kept: senders may already have sealed
// to it.
func (k *DeviceKeys) Generate(epochs ...uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, e := range epochs {
		if _, ok := k.keys[e]; ok {
			continue
		}
		sk, err := hpke.MLKEM768X25519().GenerateKey()
		if err != nil {
			return fmt.Errorf("generating prekey for epoch %d: %w", e, err)
		}
		k.keys[e] = sk
	}
	return nil
}

// Cover generates the keys a fresh record made at now needs: one for now's
// epoch and for [Class.Ahead] epochs after it.
func (k *DeviceKeys) Cover(now time.Time) error {
	first := EpochOf(now)
	epochs := make([]uint64, 0, k.class.Ahead()+1)
	for e := first; e <= first+k.class.Ahead(); e++ {
		epochs = append(epochs, e)
	}
	return k.Generate(epochs...)
}

// Delete forgets the private prekey of epoch e, if held.
func (k *DeviceKeys) Delete(e uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.keys, e)
}

// Prune deletes every private prekey whose deadline ([DeleteAfter]) is not
// after now, and returns their epochs in ascending order. The client calls it
// at least once per epoch, and before [DeviceKeys.MarshalBinary], so that an
// export never carries a key that should be gone.
func (k *DeviceKeys) Prune(now time.Time) []uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	var gone []uint64
	for e := range k.keys {
		if !now.Before(DeleteAfter(k.class, e)) {
			delete(k.keys, e)
			gone = append(gone, e)
		}
	}
	slices.Sort(gone)
	return gone
}

// PrivateKey returns the private prekey of epoch e, if held.
func (k *DeviceKeys) PrivateKey(e uint64) (hpke.PrivateKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	sk, ok := k.keys[e]
	return sk, ok
}

// Epochs returns the epochs whose private prekeys are held, ascending.
func (k *DeviceKeys) Epochs() []uint64 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return slices.Sorted(maps.Keys(k.keys))
}

// Record makes the device's signed record of this class at now: prekeys for
// now's epoch and every consecutive held epoch after it (at most
// [MaxPrekeys]), valid until the end of the last one, dated at the start of
// now's epoch (so every record the device makes during one epoch is the
// same, and a republish reveals nothing). Call [DeviceKeys.Cover] first.
// It returns [ErrNoPrekey] when no key for now's epoch is held.
func (k *DeviceKeys) Record(acct *identity.Account, dev *Device, now time.Time) ([]byte, error) {
	if dev.ID != k.device {
		return nil, errors.New("device keys belong to another device")
	}
	k.mu.RLock()
	rec := &Record{Class: k.class, DeviceID: dev.ID, DeviceKey: dev.PublicKey(), CreatedAt: EpochStart(EpochOf(now))}
	for e := EpochOf(now); len(rec.Prekeys) < MaxPrekeys; e++ {
		sk, ok := k.keys[e]
		if !ok {
			break
		}
		rec.Prekeys = append(rec.Prekeys, Prekey{Epoch: e, Key: sk.PublicKey()})
	}
	k.mu.RUnlock()
	if len(rec.Prekeys) == 0 {
		return nil, fmt.Errorf("%w: epoch %d (call Cover first)", ErrNoPrekey, EpochOf(now))
	}
	rec.ExpiresAt = EpochEnd(rec.Prekeys[len(rec.Prekeys)-1].Epoch)
	return Sign(acct, dev, rec)
}

// keysVersion is the first byte of a marshaled DeviceKeys.
const keysVersion = 0x01

// privateKeySize is an X-Wing private key as HPKE serializes it: the 32-byte
// seed from which both halves are expanded.
const privateKeySize = 32

// MarshalBinary serializes the set for the client's database, which stores it
// sealed: version(1) ‖ class(1) ‖ device ID(16) ‖ count(2) ‖ count ×
// (epoch(8) ‖ X-Wing seed(32)), epochs ascending, integers big-endian.
func (k *DeviceKeys) MarshalBinary() ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if len(k.keys) > 0xffff {
		return nil, fmt.Errorf("%d prekeys are too many to store", len(k.keys))
	}
	out := []byte{keysVersion, byte(k.class)}
	out = append(out, k.device[:]...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(k.keys)))
	for _, e := range slices.Sorted(maps.Keys(k.keys)) {
		b, err := k.keys[e].Bytes()
		if err != nil {
			return nil, fmt.Errorf("serializing prekey for epoch %d: %w", e, err)
		}
		out = binary.BigEndian.AppendUint64(out, e)
		out = append(out, b...)
	}
	return out, nil
}

// ParseDeviceKeys reverses [DeviceKeys.MarshalBinary]. It returns
// [ErrVersion] or [ErrMalformed].
func ParseDeviceKeys(b []byte) (*DeviceKeys, error) {
	if len(b) < 20 {
		return nil, fmt.Errorf("%w: device keys are %d bytes", ErrMalformed, len(b))
	}
	if b[0] != keysVersion {
		return nil, fmt.Errorf("%w: device keys version %d", ErrVersion, b[0])
	}
	var id DeviceID
	copy(id[:], b[2:18])
	k, err := NewDeviceKeys(id, Class(b[1]))
	if err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(b[18:20]))
	p := b[20:]
	if len(p) != n*(8+privateKeySize) {
		return nil, fmt.Errorf("%w: %d bytes for %d device keys", ErrMalformed, len(p), n)
	}
	for range n {
		e := binary.BigEndian.Uint64(p)
		if _, dup := k.keys[e]; dup {
			return nil, fmt.Errorf("%w: epoch %d twice", ErrMalformed, e)
		}
		sk, err := hpke.MLKEM768X25519().NewPrivateKey(p[8 : 8+privateKeySize])
		if err != nil {
			return nil, fmt.Errorf("%w: prekey for epoch %d: %w", ErrMalformed, e, err)
		}
		k.keys[e] = sk
		p = p[8+privateKeySize:]
	}
	return k, nil
}
