package push

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/hushnet/hush/protocol/rpc"
)

// Sizes of a sealed payload. Every payload has exactly PayloadSize bytes,
// whatever it says, so its size tells the push server and the provider
// nothing; 296 bytes stay far below every provider's limit after its own
// encoding (FCM data travels as base64 strings within about 4 KB, a Web
// Push record adds 103 bytes to at most 4,096).
const (
	PayloadSize   = chacha20poly1305.NonceSizeX + plaintextSize + chacha20poly1305.Overhead // 296
	plaintextSize = 256
	// innerSize: version, namespace, count, the message hash's 32 bytes;
	// zeros pad the rest.
	innerSize = 1 + 4 + 4 + 32
)

// MaxCount is the largest count a payload carries; [SealPayload] sends a
// larger one as MaxCount.
const MaxCount = math.MaxUint32

const (
	payloadVersion = 1
	payloadAD      = "hush/1 push payload"
	tagLabel       = "hush push tag"
)

// ErrBadPayload is returned by [OpenPayload] for a payload that does not
// open with the key or whose content is malformed, and by [SealPayload] for
// an Inner it cannot carry.
var ErrBadPayload = errors.New("bad push payload")

// Inner is what a payload says: the newest deposit that woke the device.
type Inner struct {
	Namespace int32
	// Hash is the message's hash (rpc.MessageHash), which the device fetches.
	Hash string
	// Count is how many deposits the notifying node coalesced, at least 1.
	Count int
}

// Tag returns HMAC-SHA256(encKey, "hush push tag" ‖ msgHash). Every swarm
// member notifying one message computes the same tag, so the push server
// drops the repeats; without encKey it tells nothing about the message.
func Tag(encKey [32]byte, msgHash string) [32]byte {
	m := hmac.New(sha256.New, encKey[:])
	m.Write([]byte(tagLabel))
	m.Write([]byte(msgHash))
	var t [32]byte
	m.Sum(t[:0])
	return t
}

// SealPayload seals in with XChaCha20-Poly1305 under encKey, a random nonce
// first, the plaintext padded to one size: the result is always PayloadSize
// bytes. It returns [ErrBadPayload] for a hash that is not a message hash,
// a namespace out of range or a count below 1.
func SealPayload(encKey [32]byte, in Inner) ([]byte, error) {
	if !rpc.ValidHash(in.Hash) || !validNamespace(in.Namespace) || in.Count < 1 {
		return nil, fmt.Errorf("%w: namespace %d, count %d, hash %q", ErrBadPayload, in.Namespace, in.Count, in.Hash)
	}
	h, _ := base64.RawStdEncoding.Strict().DecodeString(in.Hash) // ValidHash checked it
	pt := make([]byte, plaintextSize)
	pt[0] = payloadVersion
	binary.BigEndian.PutUint32(pt[1:], uint32(in.Namespace))
	binary.BigEndian.PutUint32(pt[5:], uint32(min(uint64(in.Count), MaxCount)))
	copy(pt[9:], h)
	aead, _ := chacha20poly1305.NewX(encKey[:]) // a 32-byte key: cannot fail
	out := make([]byte, chacha20poly1305.NonceSizeX, PayloadSize)
	rand.Read(out)
	return aead.Seal(out, out, pt, []byte(payloadAD)), nil
}

// OpenPayload opens a payload sealed by [SealPayload] with encKey and
// checks its content: version, namespace range, a count of at least 1,
// zero padding. It returns [ErrBadPayload].
func OpenPayload(encKey [32]byte, b []byte) (Inner, error) {
	if len(b) != PayloadSize {
		return Inner{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadPayload, len(b), PayloadSize)
	}
	aead, _ := chacha20poly1305.NewX(encKey[:])
	nonce, ct := b[:chacha20poly1305.NonceSizeX], b[chacha20poly1305.NonceSizeX:]
	pt, err := aead.Open(nil, nonce, ct, []byte(payloadAD))
	if err != nil {
		return Inner{}, fmt.Errorf("%w: does not open with this key", ErrBadPayload)
	}
	if pt[0] != payloadVersion {
		return Inner{}, fmt.Errorf("%w: version %d", ErrBadPayload, pt[0])
	}
	for _, c := range pt[innerSize:] {
		if c != 0 {
			return Inner{}, fmt.Errorf("%w: padding is not zero", ErrBadPayload)
		}
	}
	in := Inner{
		Namespace: int32(binary.BigEndian.Uint32(pt[1:])),
		Count:     int(binary.BigEndian.Uint32(pt[5:])),
		Hash:      base64.RawStdEncoding.EncodeToString(pt[9:innerSize]),
	}
	if !validNamespace(in.Namespace) || in.Count < 1 {
		return Inner{}, fmt.Errorf("%w: namespace %d, count %d", ErrBadPayload, in.Namespace, in.Count)
	}
	return in, nil
}
