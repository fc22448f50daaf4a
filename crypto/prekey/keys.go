package prekey

import (
	"crypto/hpke"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

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

// Cover generates the keys a fresh record made at now needs: one for the
// epoch before now's, one for now's epoch and for [Class.Ahead] epochs
// after it. The epoch before is for senders whose clock is behind this
// device's: up to [ClockSkew] into an epoch, they are still in the last one
// (see [DeviceKeys.Public]).
func (k *DeviceKeys) Cover(now time.Time) error {
	first := EpochOf(now)
	if first > 0 {
		first--
	}
	epochs := make([]uint64, 0, k.class.Ahead()+2)
	for e := first; e <= EpochOf(now)+k.class.Ahead(); e++ {
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

// Public returns the public prekeys for now's epoch and every consecutive
// held epoch after it, led by the epoch before now's when its key is held,
// at most max of them: what a record made at now publishes. It returns
// none when no key for now's epoch is held.
//
// The epoch before is published because the record's maker and its
// senders do not share a clock: a record made just after midnight by a
// device whose clock is ahead (by up to [ClockSkew]) must still serve a
// sender for whom it is just before midnight, and a sender seals to its
// own epoch. Without it such a sender finds no prekey for its epoch until
// its clock catches up. It costs no forward secrecy: a sender refuses a
// record made more than [ClockSkew] after its own now, so only a sender at
// most ClockSkew behind seals to that key through this record, which is
// the late sender [DeleteAfter] already keeps the key for. A record made at
// any moment of an epoch publishes the same keys, so a republish stays
// invisible.
func (k *DeviceKeys) Public(now time.Time, max int) []Public {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if _, ok := k.keys[EpochOf(now)]; !ok {
		return nil
	}
	first := EpochOf(now)
	if _, ok := k.keys[first-1]; ok && first > 0 {
		first--
	}
	var out []Public
	for e := first; len(out) < max; e++ {
		sk, ok := k.keys[e]
		if !ok {
			break
		}
		out = append(out, Public{Epoch: e, Key: sk.PublicKey()})
	}
	return out
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
