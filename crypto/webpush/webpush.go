// Package webpush is the payload encryption and sender identification of
// Web Push, in the form the push server needs: the aes128gcm content coding
// (RFC 8188), the Web Push key agreement on top of it (RFC 8291) and the
// VAPID JWT that identifies the sender to the push service (RFC 8292). It
// uses the standard library's crypto only and does no I/O: randomness is
// passed in, and times are arguments.
//
// # Encryption
//
// [Encrypt] seals a push message for one subscription (the user agent's
// P-256 key and 16-byte auth secret from its PushSubscription) as a single
// aes128gcm record, the only form RFC 8291 allows. [Decrypt] is the user
// agent's side: tests and `hush tool webpush-receiver` use it. [EncryptRecords] and
// [DecryptContent] are the underlying RFC 8188 coding, with records and
// padding, for the RFC's own examples.
//
// # VAPID
//
// [VAPIDKey] is the application server's P-256 key; [VAPIDKey.Authorization]
// returns the "vapid t=..., k=..." header value of RFC 8292 §3 for one push
// service origin; [VerifyAuthorization] is the push service's check of it.
package webpush

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Errors returned by the coding functions.
var (
	// ErrMalformed is returned by [DecryptContent] and [Decrypt] for a body
	// whose header, record sizes or padding break RFC 8188 §2.
	ErrMalformed = errors.New("webpush: malformed aes128gcm content")
	// ErrAuth is returned by [DecryptContent] and [Decrypt] when a record
	// fails authentication (wrong key, auth secret or a changed byte).
	ErrAuth = errors.New("webpush: message authentication failed")
	// ErrKey is returned for a key or auth secret of the wrong form.
	ErrKey = errors.New("webpush: bad key")
	// ErrTooLarge is returned by [Encrypt] for a plaintext that does not
	// fit the one record RFC 8291 §4 allows.
	ErrTooLarge = errors.New("webpush: plaintext too large for one record")
)

const (
	tagSize   = 16
	saltSize  = 16
	headerMin = saltSize + 4 + 1 // salt, rs, idlen (RFC 8188 §2.1)
	// minRecordSize is the smallest rs: a tag and one delimiter octet.
	minRecordSize = tagSize + 1
	// RecordSize is the rs [Encrypt] writes: RFC 8291 §4 says push
	// services must accept 4096 octets of payload, so a message in one
	// record of this size reaches every service.
	RecordSize = 4096
	// MaxPlaintext is the most [Encrypt] seals: the whole body (86 octets
	// of header, the record with its delimiter and tag) then stays within
	// the 4096 octets every push service must accept.
	MaxPlaintext = RecordSize - (headerMin + 65) - tagSize - 1
	// AuthSize is the length of a subscription's auth secret.
	AuthSize = 16
)

// EncryptRecords encodes plaintext records with aes128gcm (RFC 8188 §2):
// the header (salt, rs, keyID) then one sealed record per element. Every
// record but the last is padded with zeros to the full record size rs; the
// last is not padded. ikm is the input keying material (a shared secret).
func EncryptRecords(ikm, salt, keyID []byte, rs uint32, records [][]byte) ([]byte, error) {
	if len(salt) != saltSize {
		return nil, fmt.Errorf("%w: salt is %d octets, want %d", ErrKey, len(salt), saltSize)
	}
	if len(keyID) > 255 || rs < minRecordSize {
		return nil, fmt.Errorf("%w: key id %d octets, rs %d", ErrMalformed, len(keyID), rs)
	}
	if len(records) == 0 {
		records = [][]byte{nil}
	}
	aead, nonce, err := contentKeys(ikm, salt)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, headerMin+len(keyID)+len(records)*int(rs))
	out = append(out, salt...)
	out = binary.BigEndian.AppendUint32(out, rs)
	out = append(out, byte(len(keyID)))
	out = append(out, keyID...)
	room := int(rs) - tagSize - 1 // plaintext octets a record holds besides its delimiter
	for i, r := range records {
		if len(r) > room {
			return nil, fmt.Errorf("%w: record %d holds %d octets, rs allows %d", ErrTooLarge, i, len(r), room)
		}
		last := i == len(records)-1
		p := make([]byte, 0, rs-tagSize)
		p = append(p, r...)
		if last {
			p = append(p, 2)
		} else {
			p = append(p, 1)
			p = append(p, make([]byte, room-len(r))...)
		}
		out = aead.Seal(out, recordNonce(nonce, uint64(i)), p, nil)
	}
	return out, nil
}

// DecryptContent decodes an aes128gcm body (RFC 8188 §2) with ikm and
// returns its plaintext (the records' contents joined, padding removed)
// and its key ID. It returns ErrMalformed or ErrAuth.
func DecryptContent(ikm, body []byte) (plaintext, keyID []byte, err error) {
	if len(body) < headerMin {
		return nil, nil, fmt.Errorf("%w: %d octets, shorter than a header", ErrMalformed, len(body))
	}
	salt := body[:saltSize]
	rs := binary.BigEndian.Uint32(body[saltSize:])
	idlen := int(body[saltSize+4])
	if rs < minRecordSize || len(body) < headerMin+idlen {
		return nil, nil, fmt.Errorf("%w: rs %d, key id %d octets", ErrMalformed, rs, idlen)
	}
	keyID = body[headerMin : headerMin+idlen]
	recs := body[headerMin+idlen:]
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("%w: no record", ErrMalformed)
	}
	aead, nonce, err := contentKeys(ikm, salt)
	if err != nil {
		return nil, nil, err
	}
	for seq := uint64(0); len(recs) > 0; seq++ {
		n := min(int(rs), len(recs))
		if n <= tagSize {
			return nil, nil, fmt.Errorf("%w: record %d too short", ErrMalformed, seq)
		}
		p, err := aead.Open(nil, recordNonce(nonce, seq), recs[:n], nil)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: record %d", ErrAuth, seq)
		}
		recs = recs[n:]
		// The delimiter is the last non-zero octet (§2): 2 ends the
		// content, 1 says more records follow.
		end := len(p) - 1
		for end >= 0 && p[end] == 0 {
			end--
		}
		if end < 0 {
			return nil, nil, fmt.Errorf("%w: record %d has no delimiter", ErrMalformed, seq)
		}
		switch last := len(recs) == 0; {
		case p[end] == 2 && last, p[end] == 1 && !last && n == int(rs):
		default:
			return nil, nil, fmt.Errorf("%w: record %d delimiter %d (last %v)", ErrMalformed, seq, p[end], last)
		}
		plaintext = append(plaintext, p[:end]...)
	}
	return plaintext, keyID, nil
}

// contentKeys derives the content-encryption key and the base nonce
// (RFC 8188 §2.2, §2.3).
func contentKeys(ikm, salt []byte) (cipher.AEAD, []byte, error) {
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, nil, err
	}
	aead, err := cipher.NewGCM(block)
	return aead, nonce, err
}

// recordNonce is the base nonce XOR the record's sequence number, as a
// 96-bit big-endian integer (RFC 8188 §2.3).
func recordNonce(base []byte, seq uint64) []byte {
	n := make([]byte, len(base))
	copy(n, base)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	for i := range s {
		n[4+i] ^= s[i]
	}
	return n
}

// webPushIKM is RFC 8291 §3.3–3.4: the input keying material of the
// content coding, from the ECDH secret and the subscription's auth secret,
// bound to both public keys.
func webPushIKM(ecdhSecret, auth, uaPublic, asPublic []byte) ([]byte, error) {
	prk, err := hkdf.Extract(sha256.New, ecdhSecret, auth)
	if err != nil {
		return nil, err
	}
	info := "WebPush: info\x00" + string(uaPublic) + string(asPublic)
	return hkdf.Expand(sha256.New, prk, info, 32)
}

// Encrypt seals plaintext for a subscription: ua is the user agent's
// public key (p256dh), auth its 16-octet auth secret. A fresh ephemeral
// key and salt are drawn from rand. The result is the request body of a
// push message with "Content-Encoding: aes128gcm" (RFC 8291 §4): one
// record of size [RecordSize], the ephemeral public key as the key ID.
func Encrypt(rand io.Reader, ua *ecdh.PublicKey, auth, plaintext []byte) ([]byte, error) {
	as, err := ecdh.P256().GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, saltSize)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return nil, err
	}
	return EncryptWith(as, salt, ua, auth, plaintext)
}

// EncryptWith is [Encrypt] with the sender's ephemeral key and the salt
// given, for test vectors. Never reuse either.
func EncryptWith(as *ecdh.PrivateKey, salt []byte, ua *ecdh.PublicKey, auth, plaintext []byte) ([]byte, error) {
	if ua == nil || ua.Curve() != ecdh.P256() || as.Curve() != ecdh.P256() {
		return nil, fmt.Errorf("%w: keys must be P-256", ErrKey)
	}
	if len(auth) != AuthSize {
		return nil, fmt.Errorf("%w: auth secret is %d octets, want %d", ErrKey, len(auth), AuthSize)
	}
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("%w: %d octets, at most %d", ErrTooLarge, len(plaintext), MaxPlaintext)
	}
	secret, err := as.ECDH(ua)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	asPub := as.PublicKey().Bytes()
	ikm, err := webPushIKM(secret, auth, ua.Bytes(), asPub)
	if err != nil {
		return nil, err
	}
	return EncryptRecords(ikm, salt, asPub, RecordSize, [][]byte{plaintext})
}

// Decrypt opens a push message body with the subscription's private key
// and auth secret: the user agent's side of [Encrypt]. It requires the
// key ID to be a P-256 public key, as RFC 8291 §4 does, and returns
// ErrMalformed, ErrKey or ErrAuth.
func Decrypt(ua *ecdh.PrivateKey, auth, body []byte) ([]byte, error) {
	if len(auth) != AuthSize {
		return nil, fmt.Errorf("%w: auth secret is %d octets, want %d", ErrKey, len(auth), AuthSize)
	}
	if len(body) < headerMin+65 || body[headerMin-1] != 65 {
		return nil, fmt.Errorf("%w: key id is not a P-256 public key", ErrMalformed)
	}
	asPub, err := ecdh.P256().NewPublicKey(body[headerMin : headerMin+65])
	if err != nil {
		return nil, fmt.Errorf("%w: key id: %v", ErrMalformed, err)
	}
	secret, err := ua.ECDH(asPub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	ikm, err := webPushIKM(secret, auth, ua.PublicKey().Bytes(), asPub.Bytes())
	if err != nil {
		return nil, err
	}
	p, _, err := DecryptContent(ikm, body)
	return p, err
}
