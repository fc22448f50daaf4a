package envelope

import (
	"errors"
	"fmt"
)

// BlockSize is the padding granularity: every padded Content is a whole
// number of 160-byte blocks, as in Session (session-desktop
// ts/session/crypto/BufferPadding.ts), so one short chat message looks like
// any other.
const BlockSize = 160

// padMarker starts the padding; everything after it is zero. Together they
// are the ISO/IEC 7816-4 padding scheme, which Session also uses.
const padMarker = 0x80

// ErrBadPadding is returned by Unpad when its input is not exactly what Pad
// produces for some plaintext.
var ErrBadPadding = errors.New("envelope: bad padding")

// Pad returns plaintext followed by the byte 0x80 and as many zero bytes as
// make the total a multiple of BlockSize. Padding is always present, so its
// length is 1 to BlockSize bytes and the padded length is
// BlockSize × ⌈(len(plaintext)+1) / BlockSize⌉: 0–159 bytes become 160,
// 160–319 become 320, and so on.
//
// Session's padder pads to one byte short of a multiple of 160 (a quirk of
// the Signal code it came from) and its unpadder lets unpadded data through;
// hush pads to exact multiples and Unpad accepts nothing but Pad's output,
// so every padded length has exactly one meaning. Pad never modifies
// plaintext and its result does not alias it.
func Pad(plaintext []byte) []byte {
	n := (len(plaintext)/BlockSize + 1) * BlockSize
	out := make([]byte, n)
	copy(out, plaintext)
	out[len(plaintext)] = padMarker
	return out
}

// Unpad reverses Pad. It returns ErrBadPadding unless padded is a non-empty
// multiple of BlockSize whose last block ends in 0x80 followed only by zero
// bytes; a marker further back than the last block would mean more padding
// than Pad ever adds, and is rejected too. The result aliases padded.
//
// Unpad runs on plaintext the seal has already authenticated, so it need not
// be constant-time: an attacker cannot submit forged padding to probe it.
func Unpad(padded []byte) ([]byte, error) {
	if len(padded) == 0 || len(padded)%BlockSize != 0 {
		return nil, fmt.Errorf("%w: length %d is not a positive multiple of %d", ErrBadPadding, len(padded), BlockSize)
	}
	for i := len(padded) - 1; i >= len(padded)-BlockSize; i-- {
		switch padded[i] {
		case 0:
			continue
		case padMarker:
			return padded[:i], nil
		default:
			return nil, fmt.Errorf("%w: byte 0x%02x at offset %d where padding expected", ErrBadPadding, padded[i], i)
		}
	}
	return nil, fmt.Errorf("%w: no 0x80 marker in the last block", ErrBadPadding)
}
