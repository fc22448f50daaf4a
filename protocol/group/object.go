package group

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/hushnet/hush/identity"
)

// Kind is a signed object's type byte.
type Kind uint8

// Kinds of group-key-signed objects.
const (
	KindInfo        Kind = 1
	KindMembers     Kind = 2
	KindKeys        Kind = 3
	KindRevocations Kind = 4
)

// Namespace returns where objects of kind k are stored.
func (k Kind) Namespace() int32 {
	switch k {
	case KindInfo:
		return NamespaceInfo
	case KindMembers:
		return NamespaceMembers
	case KindKeys:
		return NamespaceKeys
	case KindRevocations:
		return NamespaceRevocations
	}
	return 0
}

const (
	objectMagic  = "hgrp"
	objectHeader = 4 + 1 + IDSize + 8 + 8 + 4 // 58
	// ObjectOverhead is what the framing adds to a body.
	ObjectOverhead = objectHeader + ed25519.SignatureSize
)

// Object is a group-key-signed object (docs/groups.md §5.1): its header
// fields and body, after the signature was verified.
type Object struct {
	Kind    Kind
	Group   ID
	Version uint64    // keys: the key generation
	Created time.Time // ms precision
	Body    []byte
	Sig     [ed25519.SignatureSize]byte
}

func (o *Object) header() []byte {
	b := make([]byte, objectHeader, objectHeader+len(o.Body)+ed25519.SignatureSize)
	copy(b, objectMagic)
	b[4] = byte(o.Kind)
	copy(b[5:], o.Group[:])
	binary.BigEndian.PutUint64(b[38:], o.Version)
	binary.BigEndian.PutUint64(b[46:], uint64(o.Created.UnixMilli()))
	binary.BigEndian.PutUint32(b[54:], uint32(len(o.Body)))
	return b
}

func signedPart(b []byte) []byte {
	m := make([]byte, 0, len(objectLabel)+len(b))
	return append(append(m, objectLabel...), b...)
}

// sign fills in o.Group and o.Sig and returns the encoding.
func (o *Object) sign(a *Admin) ([]byte, error) {
	o.Group = a.id
	if o.Created.UnixMilli() <= 0 {
		return nil, fmt.Errorf("%w: created time before 1970", ErrMalformed)
	}
	b := append(o.header(), o.Body...)
	if len(b)+ed25519.SignatureSize > MaxObjectSize {
		return nil, fmt.Errorf("%w: object of %d bytes, at most %d", ErrMalformed, len(b)+ed25519.SignatureSize, MaxObjectSize)
	}
	copy(o.Sig[:], a.Sign(signedPart(b)))
	return append(b, o.Sig[:]...), nil
}

// Marshal returns the object's encoding (as signed).
func (o *Object) Marshal() []byte { return append(append(o.header(), o.Body...), o.Sig[:]...) }

// ParseObject parses a signed object of group g and verifies the group
// key's signature. The body is returned unparsed (and not copied).
func ParseObject(b []byte, g ID) (*Object, error) {
	if len(b) > MaxObjectSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(b), MaxObjectSize)
	}
	if len(b) < ObjectOverhead || string(b[:4]) != objectMagic {
		return nil, fmt.Errorf("%w: not a group object", ErrMalformed)
	}
	o := &Object{Kind: Kind(b[4])}
	if o.Kind < KindInfo || o.Kind > KindRevocations {
		return nil, fmt.Errorf("%w: unknown object type %d", ErrMalformed, b[4])
	}
	copy(o.Group[:], b[5:38])
	if o.Group != g {
		return nil, fmt.Errorf("%w: object names group %s", ErrWrongGroup, o.Group.Short())
	}
	o.Version = binary.BigEndian.Uint64(b[38:])
	ms := binary.BigEndian.Uint64(b[46:])
	if ms == 0 || ms > maxMs {
		return nil, fmt.Errorf("%w: created time %d", ErrMalformed, ms)
	}
	o.Created = time.UnixMilli(int64(ms))
	n := binary.BigEndian.Uint32(b[54:])
	if uint64(n) != uint64(len(b)-ObjectOverhead) {
		return nil, fmt.Errorf("%w: body length %d disagrees with the object's size", ErrMalformed, n)
	}
	end := objectHeader + int(n)
	if !g.verify(signedPart(b[:end]), b[end:]) {
		return nil, fmt.Errorf("%w: object is not signed by the group key", ErrBadSignature)
	}
	o.Body = b[objectHeader:end]
	copy(o.Sig[:], b[end:])
	return o, nil
}

// maxMs is the year 3000 in ms, as protocol/rpc bounds times.
const maxMs = 32_503_680_000_000

// Revocations is a revocation list (docs/groups.md §4): the member keys
// whose credentials nodes refuse. Lists only grow; a node enforces the
// union of every valid list it holds.
type Revocations struct {
	Version uint64
	Created time.Time
	Revoked []identity.Ed25519PublicKey // strictly ascending
}

// Sign returns the list signed by the group key. Revoked is sorted and
// deduplicated first.
func (r *Revocations) Sign(a *Admin) ([]byte, error) {
	keys := slices.Clone(r.Revoked)
	slices.SortFunc(keys, identity.Ed25519PublicKey.Compare)
	keys = slices.Compact(keys)
	if len(keys) > MaxRevoked {
		return nil, fmt.Errorf("%w: %d revoked keys, at most %d", ErrMalformed, len(keys), MaxRevoked)
	}
	o := &Object{Kind: KindRevocations, Version: r.Version, Created: r.Created, Body: revocationBody(keys)}
	b, err := o.sign(a)
	if err == nil {
		r.Revoked = keys
	}
	return b, err
}

// ParseRevocations parses and verifies a revocation list of group g.
// Nodes call it on every store into [NamespaceRevocations] and on every
// list they load.
func ParseRevocations(b []byte, g ID) (*Revocations, error) {
	o, err := ParseObject(b, g)
	if err != nil {
		return nil, err
	}
	if o.Kind != KindRevocations {
		return nil, fmt.Errorf("%w: object type %d is not a revocation list", ErrMalformed, o.Kind)
	}
	if len(o.Body) < 2 {
		return nil, fmt.Errorf("%w: revocation list too short", ErrMalformed)
	}
	n := int(binary.BigEndian.Uint16(o.Body))
	if n > MaxRevoked || len(o.Body) != 2+32*n {
		return nil, fmt.Errorf("%w: revocation list of %d keys in %d bytes", ErrMalformed, n, len(o.Body))
	}
	r := &Revocations{Version: o.Version, Created: o.Created, Revoked: make([]identity.Ed25519PublicKey, n)}
	for i := range n {
		k, _ := identity.Ed25519PublicKeyFromBytes(o.Body[2+32*i : 2+32*(i+1)])
		if i > 0 && bytes.Compare(r.Revoked[i-1].Bytes(), k.Bytes()) >= 0 {
			return nil, fmt.Errorf("%w: revoked keys not strictly ascending", ErrMalformed)
		}
		// Keys are not curve-checked: a listed key that no token can
		// name revokes nothing, and checking 2000 points costs more than
		// the list is worth.
		r.Revoked[i] = k
	}
	return r, nil
}

// Contains reports whether k is on the list.
func (r *Revocations) Contains(k identity.Ed25519PublicKey) bool {
	_, ok := slices.BinarySearchFunc(r.Revoked, k, identity.Ed25519PublicKey.Compare)
	return ok
}

// revocationBody encodes sorted, distinct keys.
func revocationBody(keys []identity.Ed25519PublicKey) []byte {
	body := make([]byte, 2, 2+32*len(keys))
	binary.BigEndian.PutUint16(body, uint16(len(keys)))
	for _, k := range keys {
		raw := k.Raw32()
		body = append(body, raw[:]...)
	}
	return body
}
