package clientdb

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// Key derivation labels. Each purpose has its own subkey, so a bug that
// opened one kind of value with another's key fails instead of leaking.
const (
	hkdfSalt       = "hush/1 clientdb"
	labelCheck     = "hush/1 clientdb check"
	labelContacts  = "hush/1 clientdb seal contacts"
	labelMessages  = "hush/1 clientdb seal messages"
	labelAttach    = "hush/1 clientdb seal attachments"
	labelOutbox    = "hush/1 clientdb seal outbox"
	labelSettings  = "hush/1 clientdb seal settings"
	labelGroups    = "hush/1 clientdb seal groups"
	labelLookup    = "hush/1 clientdb lookup hmac"
	sealVersion    = 1
	sealOverhead   = 1 + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead
	aadPrefix      = "hush/1 clientdb "
	checkPlaintext = "hush/1 clientdb key check"
)

// keys are the subkeys derived from the database key.
type keys struct {
	check, contacts, messages, attach, outbox, settings, groups cipher.AEAD
	lookup                                                      []byte
}

func deriveKeys(dbKey [32]byte) (*keys, error) {
	aead := func(label string) (cipher.AEAD, error) {
		k, err := hkdf.Key(sha256.New, dbKey[:], []byte(hkdfSalt), label, chacha20poly1305.KeySize)
		if err != nil {
			return nil, err
		}
		return chacha20poly1305.NewX(k)
	}
	var k keys
	var err error
	for _, p := range []struct {
		dst   *cipher.AEAD
		label string
	}{
		{&k.check, labelCheck}, {&k.contacts, labelContacts}, {&k.messages, labelMessages},
		{&k.attach, labelAttach}, {&k.outbox, labelOutbox}, {&k.settings, labelSettings},
		{&k.groups, labelGroups},
	} {
		if *p.dst, err = aead(p.label); err != nil {
			return nil, fmt.Errorf("derive %s: %w", p.label, err)
		}
	}
	if k.lookup, err = hkdf.Key(sha256.New, dbKey[:], []byte(hkdfSalt), labelLookup, 32); err != nil {
		return nil, fmt.Errorf("derive lookup key: %w", err)
	}
	return &k, nil
}

// aad binds a sealed value to its column and its row: "table.column", a zero
// byte, then the row's identity (a keyed hash or a random reference that is
// unique in the table). Moving a ciphertext to another row or column makes
// it fail to open.
func aad(column string, row []byte) []byte {
	b := make([]byte, 0, len(aadPrefix)+len(column)+1+len(row))
	b = append(b, aadPrefix...)
	b = append(b, column...)
	b = append(b, 0)
	return append(b, row...)
}

// seal encrypts plaintext as version ‖ 24-byte random nonce ‖ ciphertext.
// The version byte leaves room for re-keying or another AEAD later.
func seal(a cipher.AEAD, column string, row, plaintext []byte) []byte {
	out := make([]byte, 1+a.NonceSize(), sealOverhead+len(plaintext))
	out[0] = sealVersion
	rand.Read(out[1:]) // crypto/rand.Read never fails (Go 1.24+)
	return a.Seal(out, out[1:], plaintext, aad(column, row))
}

// open reverses seal; any failure is ErrCorrupt, since with the key already
// checked at Open it means the value was altered or moved.
func open(a cipher.AEAD, column string, row, sealed []byte) ([]byte, error) {
	if len(sealed) < sealOverhead || sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: %s: bad sealed value", ErrCorrupt, column)
	}
	ns := a.NonceSize()
	pt, err := a.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad(column, row))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, column, err)
	}
	return pt, nil
}

// Domains of keyed hashes; the label goes into the MAC before the data so
// equal bytes in two roles hash differently.
const (
	lookupAccount  = "account"
	lookupMessage  = "message"
	lookupSwarm    = "swarm-hash"
	lookupNickname = "nickname"
	lookupSetting  = "setting"
	lookupCursor   = "cursor"
	lookupDevice   = "device"
	lookupGroup    = "group"
	lookupGroupKey = "group-key"
	lookupReaction = "reaction"
)

// lookupKey returns HMAC-SHA256(lookup key, domain ‖ 0 ‖ parts...) cut to
// lookupKeySize bytes. Each part but the last has a fixed size, so inputs
// cannot be re-split. 128 bits keep accidental collisions out of reach (2^64
// values for even odds) and nobody without the key can aim for one, while
// halving what the keys cost: each is stored in a table and its indexes,
// about 80 of a message's bytes at full length.
func (k *keys) lookupKey(domain string, parts ...[]byte) []byte {
	var m hash.Hash = hmac.New(sha256.New, k.lookup)
	m.Write([]byte(domain))
	m.Write([]byte{0})
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)[:lookupKeySize]
}

const lookupKeySize = 16
