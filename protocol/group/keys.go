package group

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
)

// KeySize is the size of a group key.
const KeySize = 32

// KeyIDSize is the size of a key ID.
const KeyIDSize = 8

// KeyID names one group key of one generation without revealing it.
type KeyID [KeyIDSize]byte

// Key is one generation of the group key: 32 random bytes (never derived
// from the admin key), drawn by the admin who rotates.
type Key struct {
	Generation uint64
	Secret     [KeySize]byte
}

// ID returns the key's ID in group g: the first 8 bytes of
// SHA-256("hush/1 group key id" ‖ g ‖ generation ‖ key).
func (k Key) ID(g ID) KeyID {
	h := sha256.New()
	h.Write([]byte("hush/1 group key id"))
	h.Write(g[:])
	h.Write(binary.BigEndian.AppendUint64(nil, k.Generation))
	h.Write(k.Secret[:])
	var id KeyID
	copy(id[:], h.Sum(nil))
	return id
}

// derive returns the key for one use (label) in group g.
func (k Key) derive(g ID, label string) []byte {
	out, err := hkdf.Key(sha256.New, k.Secret[:], nil, label+string(g[:]), 32)
	if err != nil {
		panic("group: hkdf: " + err.Error()) // 32 bytes of SHA-256: cannot fail
	}
	return out
}

// GrantSize is the size of a grant.
const GrantSize = 1 + IDSize + 8 + KeySize + 8

const grantVersion = 0x01

// Grant is what each member's devices receive, sealed with protocol v2,
// in a key message: one generation of the group key.
type Grant struct {
	Group   ID
	Key     Key
	Created time.Time
}

// Marshal returns the 82 bytes.
func (g Grant) Marshal() []byte {
	b := make([]byte, 0, GrantSize)
	b = append(b, grantVersion)
	b = append(b, g.Group[:]...)
	b = binary.BigEndian.AppendUint64(b, g.Key.Generation)
	b = append(b, g.Key.Secret[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(g.Created.UnixMilli()))
}

// ParseGrant parses a grant (the content of a v2 message the client has
// opened; its sender was checked by v2).
func ParseGrant(b []byte) (Grant, error) {
	if len(b) != GrantSize || b[0] != grantVersion {
		return Grant{}, fmt.Errorf("%w: not a grant", ErrMalformed)
	}
	var g Grant
	id, err := IDFromBytes(b[1:34])
	if err != nil {
		return Grant{}, fmt.Errorf("%w: grant: %v", ErrMalformed, err)
	}
	g.Group = id
	g.Key.Generation = binary.BigEndian.Uint64(b[34:])
	copy(g.Key.Secret[:], b[42:74])
	ms := binary.BigEndian.Uint64(b[74:])
	if ms == 0 || ms > maxMs {
		return Grant{}, fmt.Errorf("%w: grant: created time %d", ErrMalformed, ms)
	}
	g.Created = time.UnixMilli(int64(ms))
	return g, nil
}

// KeyMessage is one chunk of a rotation (docs/groups.md §6): items sealed
// with protocol v2 (crypto/sealv2) for member accounts, each holding a
// [Grant] of Generation whose key has KeyID.
type KeyMessage struct {
	Generation uint64
	KeyID      KeyID
	Created    time.Time
	Sealed     [][]byte
}

const keyBodyFixed = KeyIDSize + 2

// MaxSealedPerMessage bounds the items of one key message.
const MaxSealedPerMessage = 1000

// Sign returns the key message signed by the group key.
func (m *KeyMessage) Sign(a *Admin) ([]byte, error) {
	if len(m.Sealed) == 0 || len(m.Sealed) > MaxSealedPerMessage {
		return nil, fmt.Errorf("%w: key message with %d items", ErrMalformed, len(m.Sealed))
	}
	size := keyBodyFixed
	for _, s := range m.Sealed {
		if len(s) == 0 {
			return nil, fmt.Errorf("%w: empty sealed item", ErrMalformed)
		}
		size += 4 + len(s)
	}
	if size+ObjectOverhead > MaxObjectSize {
		return nil, fmt.Errorf("%w: key message of %d bytes, at most %d (split it with SplitKeyMessages)", ErrMalformed, size+ObjectOverhead, MaxObjectSize)
	}
	o := &Object{Kind: KindKeys, Version: m.Generation, Created: m.Created, Body: m.body()}
	return o.sign(a)
}

// body returns the key message's object body.
func (m *KeyMessage) body() []byte {
	body := append([]byte(nil), m.KeyID[:]...)
	body = binary.BigEndian.AppendUint16(body, uint16(len(m.Sealed)))
	for _, s := range m.Sealed {
		body = binary.BigEndian.AppendUint32(body, uint32(len(s)))
		body = append(body, s...)
	}
	return body
}

// ParseKeyMessage parses and verifies a key message of group g. The
// sealed items are not copied.
func ParseKeyMessage(b []byte, g ID) (*KeyMessage, error) {
	o, err := ParseObject(b, g)
	if err != nil {
		return nil, err
	}
	if o.Kind != KindKeys {
		return nil, fmt.Errorf("%w: object type %d is not a key message", ErrMalformed, o.Kind)
	}
	body := o.Body
	if len(body) < keyBodyFixed {
		return nil, fmt.Errorf("%w: key message too short", ErrMalformed)
	}
	m := &KeyMessage{Generation: o.Version, Created: o.Created}
	copy(m.KeyID[:], body)
	n := int(binary.BigEndian.Uint16(body[KeyIDSize:]))
	if n == 0 || n > MaxSealedPerMessage {
		return nil, fmt.Errorf("%w: key message with %d items", ErrMalformed, n)
	}
	rest := body[keyBodyFixed:]
	m.Sealed = make([][]byte, 0, n)
	for range n {
		if len(rest) < 4 {
			return nil, fmt.Errorf("%w: key message item cut short", ErrMalformed)
		}
		l := binary.BigEndian.Uint32(rest)
		if l == 0 || uint64(l) > uint64(len(rest)-4) {
			return nil, fmt.Errorf("%w: key message item of %d bytes", ErrMalformed, l)
		}
		m.Sealed = append(m.Sealed, rest[4:4+l])
		rest = rest[4+l:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last key message item", ErrMalformed, len(rest))
	}
	return m, nil
}

// SplitKeyMessages packs sealed items, in order, into as few key messages
// as fit the store limit: the chunks of one rotation (or supplement).
func SplitKeyMessages(gen uint64, id KeyID, created time.Time, sealed [][]byte) ([]*KeyMessage, error) {
	const room = MaxObjectSize - ObjectOverhead - keyBodyFixed
	var out []*KeyMessage
	var cur *KeyMessage
	used := 0
	for _, s := range sealed {
		need := 4 + len(s)
		if need > room || len(s) == 0 {
			return nil, fmt.Errorf("%w: a sealed item of %d bytes cannot fit a key message", ErrMalformed, len(s))
		}
		if cur == nil || used+need > room || len(cur.Sealed) == MaxSealedPerMessage {
			cur = &KeyMessage{Generation: gen, KeyID: id, Created: created}
			out = append(out, cur)
			used = 0
		}
		cur.Sealed = append(cur.Sealed, s)
		used += need
	}
	return out, nil
}
