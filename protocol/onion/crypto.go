package onion

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
)

// HKDF info labels of version 1. Each key has its own label so that no
// ciphertext made under one role can be accepted in another: a captured
// request layer replayed to the client as a "response" fails to open.
const (
	labelRequest  = "hush/1 onion layer v1"
	labelResponse = "hush/1 onion layer v1 response"
	labelWrap     = "hush/1 onion layer v1 response wrap"
)

const (
	keySize   = chacha20poly1305.KeySize
	nonceSize = chacha20poly1305.NonceSizeX
	tagSize   = chacha20poly1305.Overhead
	sealOver  = nonceSize + tagSize // bytes an AEAD seal adds
	padMarker = 0x80
)

// layerKeys are the symmetric keys of one layer, known to the client and to
// the node that peels the layer.
type layerKeys struct {
	request  [keySize]byte // AEAD over the request plaintext
	response [keySize]byte // AEAD over a response this node originates
	wrap     [keySize]byte // XChaCha20 stream over a response it passes back
	// session is Ksession, should this layer open a session (full
	// layers only; see docs/onion.md).
	session SessionKey
}

// deriveKeys computes the layer keys from an X25519 exchange between priv
// and peer. ephPub and nodePub are the two public keys in wire order.
func deriveKeys(priv *ecdh.PrivateKey, peer *ecdh.PublicKey, ephPub, nodePub []byte) (*layerKeys, error) {
	secret, err := priv.ECDH(peer)
	if err != nil {
		// crypto/ecdh fails only for an all-zero shared secret (RFC 7748 §6.1).
		return nil, fmt.Errorf("%w: %v", ErrLowOrderKey, err)
	}
	salt := make([]byte, 0, 64)
	salt = append(append(salt, ephPub...), nodePub...)
	prk, err := hkdf.Extract(sha256.New, secret, salt)
	if err != nil {
		return nil, err
	}
	var k layerKeys
	for _, o := range []struct {
		dst   *[keySize]byte
		label string
	}{{&k.request, labelRequest}, {&k.response, labelResponse}, {&k.wrap, labelWrap}} {
		b, err := hkdf.Expand(sha256.New, prk, o.label, keySize)
		if err != nil {
			return nil, err
		}
		copy(o.dst[:], b)
	}
	if k.session, err = sessionKey(prk); err != nil {
		return nil, err
	}
	return &k, nil
}

// seal pads plaintext with 0x80 0x00… to exactly size-sealOver bytes and
// returns nonce ‖ XChaCha20-Poly1305(key, nonce, padded), size bytes long.
func seal(key *[keySize]byte, plaintext []byte, size int) ([]byte, error) {
	if len(plaintext)+1+sealOver > size {
		return nil, fmt.Errorf("%w: %d bytes do not fit in %d", ErrOversize, len(plaintext), size)
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, nonceSize, size)
	rand.Read(out) // never fails since Go 1.24
	padded := make([]byte, size-sealOver)
	copy(padded, plaintext)
	padded[len(plaintext)] = padMarker
	return aead.Seal(out, out[:nonceSize], padded, nil), nil
}

var errPadding = errors.New("no padding marker")

// open reverses seal and strips the padding. The padding is checked only
// after authentication, so how it fails reveals nothing to a forger.
func open(key *[keySize]byte, ct []byte) ([]byte, error) {
	if len(ct) < sealOver {
		return nil, ErrUndecryptable
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, ct[:nonceSize], ct[nonceSize:], nil)
	if err != nil {
		return nil, ErrUndecryptable
	}
	return unpad(pt)
}

func unpad(pt []byte) ([]byte, error) {
	i := len(pt) - 1
	for i >= 0 && pt[i] == 0 {
		i--
	}
	if i < 0 || pt[i] != padMarker {
		return nil, errPadding
	}
	return pt[:i], nil
}

// wrapNonce is the fixed nonce of the pass-back stream. A wrap key encrypts
// at most one response, the one answering its own request, so a fixed nonce
// never repeats under one key; a replayed request would reuse it, but only
// over an inner response that is itself freshly AEAD-sealed with a random
// nonce, so the two outputs differ by pseudorandom bytes only.
var wrapNonce [chacha20.NonceSizeX]byte

// xorWrap writes src XOR the wrap stream of key to dst (which may be src).
// It is its own inverse, and preserves length, which is what keeps a
// response in its class at every hop.
func xorWrap(key *[keySize]byte, dst, src []byte) {
	c, err := chacha20.NewUnauthenticatedCipher(key[:], wrapNonce[:])
	if err != nil {
		panic(err) // key and nonce sizes are constants
	}
	c.XORKeyStream(dst, src)
}
