// Package sealv2 seals a message to every device of one account with forward
// secrecy and post-quantum security (protocol v2, docs/protocol-v2.md).
//
// # Construction
//
// [Seal] encrypts the signed content once, with ChaCha20-Poly1305 under a
// fresh 32-byte key, and wraps that key for each destination device with
// HPKE (RFC 9180) in base mode: KEM MLKEM768-X25519 (X-Wing), KDF
// HKDF-SHA256, AEAD ChaCha20-Poly1305, to the device's prekey for the
// current epoch (crypto/prekey). The HPKE info is
//
//	"hush/1 seal v2 wrap" ‖ class ‖ recipient Account ID ‖ device ID ‖ epoch
//
// so a wrap opens only for the device, account, class and epoch it was made
// for. The sender cannot be in the info, since a receiver learns who sent a
// message only by opening it; the sender's Ed25519 key, the signed
// timestamp, the recipient and the list of devices wrapped for are inside the
// encrypted part, under the sender's Ed25519 signature (v1's inner signature,
// extended). The outer header is the content AEAD's associated data, so a
// change to any wrap, of any device, breaks the message for every device.
//
// # Layout (integers big-endian)
//
//	version(1)=2 ‖ class(1) ‖ epoch(8) ‖ n(1) ‖ n × wrap(1168) ‖ body
//	wrap = X-Wing encapsulated key(1120) ‖ HPKE-sealed content key(48)
//	body = ChaCha20-Poly1305(content key, zero nonce, aad = everything before body, inner)
//	inner = sender Ed25519 key(32) ‖ recipient Account ID(33) ‖ signed time in ms(8) ‖
//	        n(1) ‖ n × device ID(16), ascending ‖ content ‖ signature(64)
//
// The signature is Ed25519 over "hush/1 seal v2 message" ‖ version ‖ class ‖
// epoch ‖ inner without the signature. A message costs [Overhead] bytes plus
// [PerDevice] bytes per device.
//
// # Finding one's wrap
//
// Wraps carry no device ID: a storage node or relay that saw one would link
// every message to a device. The wraps are in random order, and a device
// tries each in turn (one X-Wing decapsulation and one AEAD check each) until
// one opens. That costs a receiver up to n decapsulations (n ≤ [MaxDevices])
// instead of one; docs/protocol-v2.md §7.1 discusses the trade-off.
//
// # What the caller does
//
// Seal takes the prekey bundles of device records the caller has verified
// (protocol/devicerecord's Verify, then Record.Bundle). The content is
// expected to be padded (protocol/envelope.Pad). Open does not
// deduplicate: a replayed message opens again until its prekey is deleted,
// and the client drops it by message ID. Neither function does I/O or reads
// the clock; randomness comes from crypto/rand.
package sealv2

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
)

// Version is the first byte of a v2 sealed message.
const Version = 0x02

// Domain labels; nothing else hush derives or signs starts with them.
const (
	WrapLabel      = "hush/1 seal v2 wrap"
	SignatureLabel = "hush/1 seal v2 message"
)

// Sizes, in bytes.
const (
	// MaxDevices bounds the devices one message is wrapped for.
	MaxDevices = 16
	// KeySize is the size of the content key.
	KeySize = chacha20poly1305.KeySize
	// EncSize is an X-Wing encapsulated key: ML-KEM-768 ciphertext ‖ X25519 key.
	EncSize = 1088 + 32
	// WrapSize is one device's wrap: encapsulated key and sealed content key.
	WrapSize = EncSize + KeySize + chacha20poly1305.Overhead
	// PerDevice is what each destination device adds to a message: its wrap
	// and its ID in the signed list.
	PerDevice = WrapSize + prekey.DeviceIDSize
	// Overhead is what a message adds to its content besides PerDevice bytes
	// per device.
	Overhead = headerSize + chacha20poly1305.Overhead + innerFixed + ed25519.SignatureSize

	headerSize = 1 + 1 + 8 + 1
	innerFixed = ed25519.PublicKeySize + identity.AccountIDSize + 8 + 1
)

// Errors returned by [Seal].
var (
	// ErrNoDevices: Seal was given no bundles.
	ErrNoDevices = errors.New("no device records to seal to")
	// ErrTooManyDevices: Seal was given more than [MaxDevices] bundles.
	ErrTooManyDevices = errors.New("too many devices to seal to")
	// ErrBadRecord: a bundle does not fit this message: another account,
	// the wrong class, a device listed twice, expired or without a prekey
	// for now's epoch.
	ErrBadRecord = errors.New("device record cannot be used for this message")
	// ErrBadRecipient: the recipient is not a usable Account ID.
	ErrBadRecipient = errors.New("recipient account ID is not usable")
)

// Errors returned by [Open], one per reason so that a client can report
// "waiting for keys" apart from "forged".
var (
	// ErrMalformed: the message is not laid out as a v2 message.
	ErrMalformed = errors.New("malformed v2 message")
	// ErrVersion: the first byte is not [Version].
	ErrVersion = errors.New("unsupported sealed message version")
	// ErrNotForThisDevice: no wrap opens with this device's prekey, the
	// message was sealed to the other class, or the signed device list does
	// not name this device.
	ErrNotForThisDevice = errors.New("message is not sealed to this device")
	// ErrNoKeyForEpoch: the device holds no prekey for the message's epoch;
	// if the epoch's deletion deadline has passed, the key is gone for
	// forward secrecy and the message can never be opened.
	ErrNoKeyForEpoch = errors.New("no prekey for the message's epoch")
	// ErrDecrypt: a wrap opened but the body does not: the message was
	// altered after sealing.
	ErrDecrypt = errors.New("message body does not decrypt")
	// ErrBadSignature: the sender's key is unusable or its signature does
	// not verify.
	ErrBadSignature = errors.New("sender signature is not valid")
	// ErrWrongRecipient: the sender signed the message for another account.
	ErrWrongRecipient = errors.New("message was signed for another recipient")
	// ErrTimestamp: the signed time is after now (beyond the clock-skew
	// margin) or outside the epoch the message was sealed in.
	ErrTimestamp = errors.New("signed time is not plausible")
)

// Meta is what Open learns about a message besides its content; all of it
// was signed by the sender.
type Meta struct {
	SenderKey identity.Ed25519PublicKey
	SignedAt  time.Time // millisecond precision
	Class     prekey.Class
	Epoch     uint64
	Devices   []prekey.DeviceID // the devices wrapped for, ascending
	// Signed is the message's signed part as the sender made it: header
	// bytes [0, 10) (version, class, epoch) ‖ inner part ‖ signature. A
	// receiver keeps it to prove later, to its own other devices, who
	// wrote the content ([VerifySigned]); it reveals no key.
	Signed []byte
}

// Seal encrypts content from sender to the devices of recipient whose
// prekey bundles, taken from verified records, are given, at now. For a
// sync copy, recipient is the sender's own account and the bundles are its
// other devices' Sync bundles; otherwise they must be Inbox bundles. It
// returns [ErrBadRecipient], [ErrNoDevices], [ErrTooManyDevices] or
// [ErrBadRecord].
func Seal(sender *identity.Account, recipient identity.AccountID, bundles []prekey.Bundle, now time.Time, content []byte) ([]byte, error) {
	// Every bundle must belong to recipient (usable checks it), and a
	// verified record's account is a valid Account ID, so the prefix is all
	// that is left to check here.
	if recipient[0] != identity.AccountPrefix {
		return nil, fmt.Errorf("%w: prefix %02x", ErrBadRecipient, recipient[0])
	}
	switch {
	case len(bundles) == 0:
		return nil, ErrNoDevices
	case len(bundles) > MaxDevices:
		return nil, fmt.Errorf("%w: %d, at most %d", ErrTooManyDevices, len(bundles), MaxDevices)
	}
	class := prekey.Inbox
	if recipient.Equal(sender.ID()) {
		class = prekey.Sync
	}
	epoch := prekey.EpochOf(now)

	// The signed list is sorted, so it says nothing about wrap order.
	sorted := slices.Clone(bundles)
	slices.SortFunc(sorted, func(a, b prekey.Bundle) int { return bytes.Compare(a.Device[:], b.Device[:]) })
	keys := make([]hpke.PublicKey, len(sorted))
	for i, r := range sorted {
		if i > 0 && r.Device == sorted[i-1].Device {
			return nil, fmt.Errorf("%w: device %s twice", ErrBadRecord, r.Device)
		}
		if err := usable(r, recipient, class, now); err != nil {
			return nil, fmt.Errorf("%w: device %s: %w", ErrBadRecord, r.Device, err)
		}
		k, err := r.For(epoch)
		if err != nil {
			return nil, fmt.Errorf("%w: device %s: %w", ErrBadRecord, r.Device, err)
		}
		keys[i] = k
	}

	n := len(sorted)
	out := make([]byte, 0, Overhead+n*PerDevice+len(content))
	out = append(out, Version, byte(class))
	out = binary.BigEndian.AppendUint64(out, epoch)
	out = append(out, byte(n))

	var ck [KeySize]byte
	rand.Read(ck[:]) // never returns an error (crypto/rand documents this)
	for _, i := range shuffled(n) {
		w, err := hpke.Seal(keys[i], hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), wrapInfo(class, recipient, sorted[i].Device, epoch), ck[:])
		if err != nil {
			return nil, fmt.Errorf("%w: device %s: %w", ErrBadRecord, sorted[i].Device, err)
		}
		out = append(out, w...)
	}
	header := out

	inner := make([]byte, 0, innerFixed+n*prekey.DeviceIDSize+len(content)+ed25519.SignatureSize)
	inner = append(inner, sender.Ed25519Public().Bytes()...)
	inner = append(inner, recipient[:]...)
	inner = binary.BigEndian.AppendUint64(inner, uint64(now.UnixMilli()))
	inner = append(inner, byte(n))
	for _, r := range sorted {
		inner = append(inner, r.Device[:]...)
	}
	inner = append(inner, content...)
	inner = append(inner, sender.Sign(signedMessage(header[:10], inner))...)

	aead, err := chacha20poly1305.New(ck[:])
	if err != nil {
		return nil, err // a 32-byte key cannot be refused
	}
	// The content key encrypts exactly one message, so a fixed nonce is safe.
	var nonce [chacha20poly1305.NonceSize]byte
	return aead.Seal(out, nonce[:], inner, header), nil
}

// usable checks a bundle from a verified record against this message: the
// record may have been verified for another account, or long enough ago to
// have expired.
func usable(b prekey.Bundle, recipient identity.AccountID, class prekey.Class, now time.Time) error {
	if !b.Account.Equal(recipient) {
		return fmt.Errorf("record of account %s, sealing to %s", b.Account.Short(), recipient.Short())
	}
	if b.Class != class {
		return fmt.Errorf("%s record, message needs %s", b.Class, class)
	}
	if !now.Before(b.ExpiresAt) {
		return fmt.Errorf("record expired at %s", b.ExpiresAt.Format(time.RFC3339))
	}
	return nil
}

// Open decrypts a message for the device whose prekeys of one class are
// keys, belonging to the account recipient, and checks it at now. It returns
// the content, the sender's Account ID and the signed metadata, or one of
// [ErrMalformed], [ErrVersion], [ErrNotForThisDevice], [ErrNoKeyForEpoch],
// [ErrDecrypt], [ErrBadSignature], [ErrWrongRecipient], [ErrTimestamp].
//
// A prekey whose deletion deadline (prekey.DeleteAfter) has passed is
// not used even if still held, so a client that is late to prune still
// behaves as the forward-secrecy rule says.
func Open(recipient identity.AccountID, keys *prekey.DeviceKeys, sealed []byte, now time.Time) (content []byte, sender identity.AccountID, meta Meta, err error) {
	fail := func(err error) ([]byte, identity.AccountID, Meta, error) {
		return nil, identity.AccountID{}, Meta{}, err
	}
	if len(sealed) < 1 {
		return fail(fmt.Errorf("%w: empty", ErrMalformed))
	}
	if sealed[0] != Version {
		return fail(fmt.Errorf("%w: %d", ErrVersion, sealed[0]))
	}
	if len(sealed) < headerSize {
		return fail(fmt.Errorf("%w: %d bytes", ErrMalformed, len(sealed)))
	}
	class := prekey.Class(sealed[1])
	epoch := binary.BigEndian.Uint64(sealed[2:10])
	n := int(sealed[10])
	if !class.Valid() || n == 0 || n > MaxDevices {
		return fail(fmt.Errorf("%w: class %d, %d devices", ErrMalformed, sealed[1], n))
	}
	if len(sealed) < Overhead+n*PerDevice {
		return fail(fmt.Errorf("%w: %d bytes for %d devices", ErrMalformed, len(sealed), n))
	}
	if class != keys.Class() {
		return fail(fmt.Errorf("%w: sealed to %s prekeys, these are %s", ErrNotForThisDevice, class, keys.Class()))
	}
	if !now.Before(prekey.DeleteAfter(class, epoch)) {
		return fail(fmt.Errorf("%w: epoch %d was deleted for forward secrecy", ErrNoKeyForEpoch, epoch))
	}
	sk, ok := keys.PrivateKey(epoch)
	if !ok {
		return fail(fmt.Errorf("%w: epoch %d", ErrNoKeyForEpoch, epoch))
	}

	hlen := headerSize + n*WrapSize
	header, body := sealed[:hlen], sealed[hlen:]
	info := wrapInfo(class, recipient, keys.Device(), epoch)
	var ck []byte
	for w := sealed[headerSize:hlen]; len(w) > 0; w = w[WrapSize:] {
		// X-Wing rejects implicitly: a wrap for another device decapsulates
		// to a random secret, and only its AEAD check fails.
		if k, err := hpke.Open(sk, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), info, w[:WrapSize]); err == nil && len(k) == KeySize {
			ck = k
			break
		}
	}
	if ck == nil {
		return fail(ErrNotForThisDevice)
	}
	aead, err := chacha20poly1305.New(ck)
	if err != nil {
		return fail(ErrDecrypt)
	}
	var nonce [chacha20poly1305.NonceSize]byte
	inner, err := aead.Open(nil, nonce[:], body, header)
	if err != nil {
		return fail(ErrDecrypt)
	}

	content, sender, meta, err = checkInner(header[:10], inner, n, recipient)
	if err != nil {
		return fail(err)
	}
	self := keys.Device()
	if !slices.ContainsFunc(meta.Devices, self.Equal) {
		// Someone who could open the message re-wrapped its key for a device
		// the sender did not choose.
		return fail(fmt.Errorf("%w: device %s is not in the signed list", ErrNotForThisDevice, self))
	}
	if meta.SignedAt.After(now.Add(prekey.ClockSkew)) || !inEpoch(meta) {
		return fail(fmt.Errorf("%w: signed at %s, epoch %d, now %s", ErrTimestamp, meta.SignedAt.Format(time.RFC3339), meta.Epoch, now.Format(time.RFC3339)))
	}
	return content, sender, meta, nil
}

// inEpoch reports whether the signed time lies in the signed epoch, give or
// take the clock skew.
func inEpoch(meta Meta) bool {
	return !meta.SignedAt.Before(prekey.EpochStart(meta.Epoch).Add(-prekey.ClockSkew)) &&
		meta.SignedAt.Before(prekey.EpochEnd(meta.Epoch).Add(prekey.ClockSkew))
}

// VerifySigned checks a signed part kept from an opened message
// ([Meta.Signed]), as a device does that receives it from another device
// of the same account in a history share: the layout, the sender's
// signature, that the message was signed for recipient, the class rule and
// that the signed time lies in the signed epoch (steps 6 to 11 of Open,
// except those about the opening device and the current time: the device
// that checks was not among those sealed to, and the message may be old).
// It returns the content, the sender and the signed metadata, or
// [ErrMalformed], [ErrVersion], [ErrBadSignature], [ErrWrongRecipient] or
// [ErrTimestamp]. Whoever holds only the recipient's seed cannot make a
// signed part that passes as another account's.
func VerifySigned(signed []byte, recipient identity.AccountID) (content []byte, sender identity.AccountID, meta Meta, err error) {
	if len(signed) < 10+innerFixed {
		return nil, identity.AccountID{}, Meta{}, fmt.Errorf("%w: signed part of %d bytes", ErrMalformed, len(signed))
	}
	if signed[0] != Version {
		return nil, identity.AccountID{}, Meta{}, fmt.Errorf("%w: %d", ErrVersion, signed[0])
	}
	n := int(signed[10+innerFixed-1])
	if n == 0 || n > MaxDevices {
		return nil, identity.AccountID{}, Meta{}, fmt.Errorf("%w: %d devices", ErrMalformed, n)
	}
	content, sender, meta, err = checkInner(signed[:10], signed[10:], n, recipient)
	if err == nil && !inEpoch(meta) {
		return nil, identity.AccountID{}, Meta{}, fmt.Errorf("%w: signed at %s, epoch %d", ErrTimestamp, meta.SignedAt.Format(time.RFC3339), meta.Epoch)
	}
	return content, sender, meta, err
}

// checkInner checks a decrypted inner part (with its signature) under the
// header's first 10 bytes head, for n devices, addressed to recipient:
// steps 6 to 11 of docs/protocol-v2.md §7 but those that need the opening
// device or the time.
func checkInner(head, inner []byte, n int, recipient identity.AccountID) (content []byte, sender identity.AccountID, meta Meta, err error) {
	fail := func(err error) ([]byte, identity.AccountID, Meta, error) {
		return nil, identity.AccountID{}, Meta{}, err
	}
	class := prekey.Class(head[1])
	epoch := binary.BigEndian.Uint64(head[2:10])
	if !class.Valid() {
		return fail(fmt.Errorf("%w: class %d", ErrMalformed, head[1]))
	}
	// Only the sender wrote inner, so its layout errors mean a broken or
	// hostile sender; they are still checked before the signature is read.
	if len(inner) < innerFixed+n*prekey.DeviceIDSize+ed25519.SignatureSize || int(inner[innerFixed-1]) != n {
		return fail(fmt.Errorf("%w: signed part does not list %d devices", ErrMalformed, n))
	}
	meta = Meta{Class: class, Epoch: epoch}
	if meta.SenderKey, err = identity.Ed25519PublicKeyFromBytes(inner[:32]); err != nil {
		return fail(fmt.Errorf("%w: sender key: %w", ErrMalformed, err)) // cannot happen: the length was checked
	}
	var signedFor identity.AccountID
	copy(signedFor[:], inner[32:65])
	meta.SignedAt = time.UnixMilli(int64(binary.BigEndian.Uint64(inner[65:73]))).UTC()
	list := inner[innerFixed : innerFixed+n*prekey.DeviceIDSize]
	signed, sig := inner[:len(inner)-ed25519.SignatureSize], inner[len(inner)-ed25519.SignatureSize:]

	sender, err = meta.SenderKey.AccountID()
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrBadSignature, err))
	}
	if !ed25519.Verify(meta.SenderKey.Bytes(), signedMessage(head, signed), sig) {
		return fail(ErrBadSignature)
	}
	if !signedFor.Equal(recipient) {
		return fail(fmt.Errorf("%w: signed for %s", ErrWrongRecipient, signedFor.Short()))
	}
	if (class == prekey.Sync) != sender.Equal(recipient) {
		return fail(fmt.Errorf("%w: %s message from %s", ErrMalformed, class, sender.Short()))
	}
	for i := range n {
		var d prekey.DeviceID
		copy(d[:], list[i*prekey.DeviceIDSize:])
		if i > 0 && bytes.Compare(d[:], meta.Devices[i-1][:]) <= 0 {
			return fail(fmt.Errorf("%w: device list not ascending", ErrMalformed))
		}
		meta.Devices = append(meta.Devices, d)
	}
	meta.Signed = make([]byte, 0, len(head)+len(inner))
	meta.Signed = append(append(meta.Signed, head...), inner...)
	content = signed[innerFixed+n*prekey.DeviceIDSize:]
	return content[:len(content):len(content)], sender, meta, nil
}

// wrapInfo is the HPKE info of one wrap.
func wrapInfo(class prekey.Class, recipient identity.AccountID, device prekey.DeviceID, epoch uint64) []byte {
	info := make([]byte, 0, len(WrapLabel)+1+identity.AccountIDSize+prekey.DeviceIDSize+8)
	info = append(info, WrapLabel...)
	info = append(info, byte(class))
	info = append(info, recipient[:]...)
	info = append(info, device[:]...)
	return binary.BigEndian.AppendUint64(info, epoch)
}

// signedMessage is what the sender signs: the label, the header's version,
// class and epoch, and the inner part before the signature.
func signedMessage(head, inner []byte) []byte {
	m := make([]byte, 0, len(SignatureLabel)+len(head)+len(inner))
	m = append(m, SignatureLabel...)
	m = append(m, head...)
	return append(m, inner...)
}

// shuffled returns a uniformly random permutation of 0..n-1 (Fisher-Yates
// from crypto/rand; n ≤ MaxDevices, so the modulo bias is below 2⁻⁵⁹).
func shuffled(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	var b [8]byte
	for i := n - 1; i > 0; i-- {
		rand.Read(b[:])
		j := int(binary.BigEndian.Uint64(b[:]) % uint64(i+1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}
