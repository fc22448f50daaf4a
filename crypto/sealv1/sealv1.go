// Package sealv1 encrypts a message to one account and authenticates its
// sender, byte for byte as Session does (protocol v1: libsession-util
// src/session_encrypt.cpp, encrypt_for_recipient and decrypt_incoming).
//
// # Layout
//
// Let M be the plaintext, A the sender's 32-byte Ed25519 public key and Y the
// recipient's 32-byte X25519 public key (its Account ID without the 05
// prefix). The sender signs M ‖ A ‖ Y with Ed25519 and seals
//
//	M ‖ A ‖ SIG(64)
//
// to Y with libsodium's crypto_box_seal, which gives
//
//	EPK(32) ‖ MAC(16) ‖ XSalsa20(M ‖ A ‖ SIG)
//
// where EPK is a fresh X25519 key, the box key is X25519(epk, Y) through
// HSalsa20, and the nonce is BLAKE2b-192(EPK ‖ Y). A sealed message is
// therefore len(M)+144 bytes. Y is under the signature, so a recipient cannot
// re-seal a message it received to a third party and pass it off as sent to
// them.
//
// The 05 prefix is never on the wire and never signed: libsession accepts the
// recipient as a bare 32-byte key or a 33-byte Session ID starting with 05,
// strips the prefix, and refuses any other prefix. [Seal] takes an Account ID
// and likewise refuses any prefix but [identity.AccountPrefix].
//
// # Checks on opening
//
// [Open] refuses everything libsodium and libsession refuse: a low-order
// ephemeral key, a sender key that is non-canonical, of small order or outside
// the prime-order subgroup (libsodium's crypto_sign_verify_detached and
// crypto_sign_ed25519_pk_to_curve25519; [identity.Ed25519PublicKey.AccountID]
// checks it), and a signature whose R is of small order. Each failure has its
// own error. x/crypto's box accepts a low-order ephemeral key, whose all-zero
// shared secret lets anyone forge a box, so the X25519 step here is
// crypto/ecdh's, which refuses it; the rest is x/crypto's.
//
// # What v1 does not protect
//
// There is no forward secrecy: whoever obtains a recipient's seed, now or
// later, opens every v1 message ever sealed to it (the sender's seed opens
// nothing, since the ephemeral key is discarded). The seal hides the sender
// from the network and from storage nodes, but not from the recipient, who
// holds a signature it can show to others: v1 is not deniable. Lengths are
// visible, so callers pad the plaintext. Nothing stops replay: a sealed
// message opens every time, so callers deduplicate. Protocol v2 (DESIGN.md §6)
// adds forward secrecy and post-quantum security; v1 stays for Session
// interoperability and tooling.
//
// The package does no I/O; randomness comes from crypto/rand.
package sealv1

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/nacl/box"

	//lint:ignore SA1019 HSalsa20 is crypto_box's key derivation (libsodium crypto_box_beforenm); byte compatibility with Session needs exactly it, after our own checked X25519 step.
	"golang.org/x/crypto/salsa20/salsa"

	"github.com/hushnet/hush/identity"
)

// Overhead is how many bytes a sealed message has beyond its plaintext: the
// sealed box's ephemeral key and MAC, the sender's key and the signature.
const Overhead = box.AnonymousOverhead + ed25519.PublicKeySize + ed25519.SignatureSize

// Errors returned by [Seal] and [Open]. Open's errors are distinct so that a
// caller can tell a message for someone else (ErrDecrypt, the common case when
// trying several keys) from a forgery (ErrBadSenderKey, ErrBadSignature).
var (
	// ErrBadRecipient: Seal was given an Account ID without the 05 prefix or
	// whose key nobody can decrypt with (low order, non-canonical).
	ErrBadRecipient = errors.New("recipient account ID is not usable")
	// ErrTooShort: the sealed message is shorter than [Overhead].
	ErrTooShort = errors.New("sealed message too short")
	// ErrDecrypt: the sealed box does not open with the recipient's key: it was
	// sealed to someone else, or altered, or truncated.
	ErrDecrypt = errors.New("sealed message does not open with this key")
	// ErrBadSenderKey: the sender's Ed25519 key inside is not one a real
	// account can have.
	ErrBadSenderKey = errors.New("sender key is not a valid Ed25519 key")
	// ErrBadSignature: the signature does not cover this plaintext, this
	// sender key and this recipient.
	ErrBadSignature = errors.New("sender signature is not valid")
)

// Seal encrypts plaintext from sender to recipient. It returns
// len(plaintext)+[Overhead] bytes, or [ErrBadRecipient].
func Seal(sender *identity.Account, recipient identity.AccountID, plaintext []byte) ([]byte, error) {
	return seal(nil, sender, recipient, plaintext)
}

// seal is Seal with the ephemeral private key's 32 bytes read from rand (nil
// means crypto/rand), as box.SealAnonymous reads them. Tests use it to
// reproduce libsession's deterministic vectors.
func seal(rand io.Reader, sender *identity.Account, recipient identity.AccountID, plaintext []byte) ([]byte, error) {
	if recipient[0] != identity.AccountPrefix {
		return nil, fmt.Errorf("%w: prefix %02x, want %02x", ErrBadRecipient, recipient[0], identity.AccountPrefix)
	}
	y := recipient.PubKey()
	// The recipient verifies the signature against its own, canonical key, so
	// a message sealed to a non-canonical alias of it could never be opened.
	if fe, _ := new(field.Element).SetBytes(y[:]); !bytes.Equal(fe.Bytes(), y[:]) {
		return nil, fmt.Errorf("%w: %w", ErrBadRecipient, identity.ErrNonCanonicalKey)
	}
	ypub, err := ecdh.X25519().NewPublicKey(y[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRecipient, err)
	}

	if rand == nil {
		rand = cryptorand.Reader
	}
	var ephBytes [32]byte
	if _, err := io.ReadFull(rand, ephBytes[:]); err != nil {
		return nil, fmt.Errorf("reading randomness: %w", err)
	}
	eph, err := ecdh.X25519().NewPrivateKey(ephBytes[:])
	if err != nil {
		return nil, fmt.Errorf("ephemeral key: %w", err) // any 32 bytes are a key
	}
	key, err := boxKey(eph, ypub)
	if err != nil {
		// libsodium's crypto_box_seal fails the same way for a low-order key.
		return nil, fmt.Errorf("%w: %w", ErrBadRecipient, identity.ErrLowOrderKey)
	}
	epk := eph.PublicKey().Bytes()
	nonce := sealNonce(epk, y[:])

	n := len(plaintext)
	inner := make([]byte, 0, n+ed25519.PublicKeySize+ed25519.SignatureSize)
	inner = append(inner, plaintext...)
	inner = append(inner, sender.Ed25519Public().Bytes()...)
	sig := sender.Sign(append(inner, y[:]...))
	inner = append(inner[:n+ed25519.PublicKeySize], sig...)

	out := make([]byte, 0, len(inner)+box.AnonymousOverhead)
	out = append(out, epk...)
	return box.SealAfterPrecomputation(out, inner, &nonce, &key), nil
}

// Open decrypts a message sealed to recipient, checks the sender's signature,
// and returns the plaintext, the sender's Ed25519 key and the sender's Account
// ID derived from it. It returns [ErrTooShort], [ErrDecrypt],
// [ErrBadSenderKey] or [ErrBadSignature].
func Open(recipient *identity.Account, sealed []byte) (plaintext []byte, sender identity.Ed25519PublicKey, senderID identity.AccountID, err error) {
	if len(sealed) < Overhead {
		return nil, identity.Ed25519PublicKey{}, identity.AccountID{}, fmt.Errorf("%w: %d bytes, need at least %d", ErrTooShort, len(sealed), Overhead)
	}
	y := recipient.X25519().PublicKey().Bytes()
	epk, err := ecdh.X25519().NewPublicKey(sealed[:32])
	if err != nil {
		return nil, identity.Ed25519PublicKey{}, identity.AccountID{}, ErrDecrypt
	}
	key, err := boxKey(recipient.X25519(), epk)
	if err != nil {
		return nil, identity.Ed25519PublicKey{}, identity.AccountID{}, ErrDecrypt // low-order ephemeral key
	}
	nonce := sealNonce(sealed[:32], y)
	inner, ok := box.OpenAfterPrecomputation(nil, sealed[32:], &nonce, &key)
	if !ok {
		return nil, identity.Ed25519PublicKey{}, identity.AccountID{}, ErrDecrypt
	}

	n := len(inner) - ed25519.PublicKeySize - ed25519.SignatureSize
	sender, err = identity.Ed25519PublicKeyFromBytes(inner[n : n+ed25519.PublicKeySize])
	if err != nil { // cannot happen: Overhead covers the key
		return nil, identity.Ed25519PublicKey{}, identity.AccountID{}, fmt.Errorf("%w: %w", ErrBadSenderKey, err)
	}
	var sig [ed25519.SignatureSize]byte
	copy(sig[:], inner[n+ed25519.PublicKeySize:])

	senderID, err = sender.AccountID()
	if err != nil {
		return nil, identity.Ed25519PublicKey{}, identity.AccountID{}, fmt.Errorf("%w: %w", ErrBadSenderKey, err)
	}

	// Reuse the buffer: M ‖ A ‖ SIG becomes M ‖ A ‖ Y, what the sender signed.
	signed := append(inner[:n+ed25519.PublicKeySize], y...)
	if !smallOrderFree(sig[:32]) || !ed25519.Verify(sender.Bytes(), signed, sig[:]) {
		return nil, identity.Ed25519PublicKey{}, identity.AccountID{}, ErrBadSignature
	}
	return signed[:n:n], sender, senderID, nil
}

// boxKey is box.Precompute (crypto_box_beforenm) except that it refuses a
// low-order peer key, as libsodium does. box.Precompute uses
// curve25519.ScalarMult, which turns such a key into the all-zero secret, so
// anyone could forge a box that x/crypto's OpenAnonymous opens; crypto/ecdh
// reports that all-zero secret as an error. The key is HSalsa20 of the X25519
// secret with a zero input, as in box.Precompute; tests check Seal and Open
// against box.SealAnonymous and box.OpenAnonymous.
func boxKey(priv *ecdh.PrivateKey, peer *ecdh.PublicKey) ([32]byte, error) {
	var key [32]byte
	shared, err := priv.ECDH(peer)
	if err != nil {
		return key, err
	}
	copy(key[:], shared)
	var zeros [16]byte
	salsa.HSalsa20(&key, &zeros, &key, &salsa.Sigma)
	return key, nil
}

// sealNonce is crypto_box_seal's nonce: BLAKE2b-192(EPK ‖ recipient key).
func sealNonce(epk, y []byte) [24]byte {
	h, _ := blake2b.New(24, nil) // size 24 without a key never fails
	h.Write(epk)
	h.Write(y)
	var nonce [24]byte
	h.Sum(nonce[:0])
	return nonce
}

// smallOrderFree reports whether the 32-byte encoding r (a signature's R)
// decodes to a point not of small order. libsodium's verify refuses a
// small-order R; crypto/ed25519 does not. An honest signer never makes one.
func smallOrderFree(r []byte) bool {
	p, err := new(edwards25519.Point).SetBytes(r)
	if err != nil {
		return false // crypto/ed25519 would refuse it too
	}
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) != 1
}
