package onion

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/hushnet/hush/protocol/strictjson"
)

// SizeClasses are the only lengths a request frame or a response may have on
// the wire, smallest first. Steps of ×4 keep the padding waste below 4× while
// leaving just six distinguishable sizes. The 2 KiB floor holds the common
// traffic (a short text store, a poll, get_swarm) through a 4-layer path,
// whose overhead is about 740 bytes, so most requests share one class; 128
// KiB holds the largest message (76,800 bytes, 102,400 in base64) with its
// RPC wrapping through 15 layers; 512 KiB and 2 MiB serve paged retrieve
// responses and batches. Nothing larger travels through an onion path.
var SizeClasses = []int{2 << 10, 8 << 10, 32 << 10, 128 << 10, 512 << 10, 2 << 20}

// MaxFrameSize is the largest frame [DecodeFrame] accepts: the largest class.
const MaxFrameSize = 2 << 20

// sizeClass returns the smallest class that holds n bytes.
func sizeClass(n int) (int, bool) {
	for _, c := range SizeClasses {
		if n <= c {
			return c, true
		}
	}
	return 0, false
}

func isSizeClass(n int) bool { return slices.Contains(SizeClasses, n) }

// EncodeFrame returns [uint32 little-endian len(blob)][blob][obj]. obj must be
// a JSON object as [DecodeFrame] accepts it.
func EncodeFrame(blob, obj []byte) ([]byte, error) {
	if 4+len(blob)+len(obj) > MaxFrameSize {
		return nil, fmt.Errorf("%w: frame of %d bytes", ErrOversize, 4+len(blob)+len(obj))
	}
	if _, err := objectKeys(obj); err != nil {
		return nil, err
	}
	return appendFrame(make([]byte, 0, 4+len(blob)+len(obj)), blob, obj), nil
}

func appendFrame(dst, blob, obj []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(blob)))
	dst = append(dst, blob...)
	return append(dst, obj...)
}

// DecodeFrame splits a frame into its blob and its JSON object. The rules are
// stricter than Session's parse_combined_payload (session-storage-server
// oxenss/rpc/onion_processing.cpp), which hands the rest to a lenient JSON
// parser: the object must start right after the blob, be valid UTF-8, hold no
// duplicate keys at any depth, and be followed by nothing but ASCII spaces.
// Those spaces are the padding a relay adds outside the AEAD to keep the
// frame at its size class (see the package doc); they are JSON whitespace, so
// a plain JSON parser reading the tail agrees with this one.
// The returned slices alias frame.
func DecodeFrame(frame []byte) (blob, obj []byte, err error) {
	blob, obj, _, err = decodeFrame(frame, MaxFrameSize)
	return blob, obj, err
}

// Limits on the JSON part where its shape is known, checked before any JSON
// parsing so that a frame of megabytes of JSON costs a node nothing.
const (
	maxHeaderJSON  = 256      // a request header is 98 or 99 bytes
	maxControlJSON = 64 << 10 // 32 headers of at most 1 KiB
)

// decodeFrame is DecodeFrame with a limit on the JSON part, also returning
// the object's top-level keys so callers need not walk it again.
func decodeFrame(frame []byte, maxObj int) (blob, obj []byte, keys []string, err error) {
	if len(frame) > MaxFrameSize {
		return nil, nil, nil, fmt.Errorf("%w: frame of %d bytes", ErrOversize, len(frame))
	}
	if len(frame) < 4 {
		return nil, nil, nil, fmt.Errorf("%w: %d bytes, no length prefix", ErrMalformedFrame, len(frame))
	}
	n := binary.LittleEndian.Uint32(frame)
	rest := frame[4:]
	if uint64(n) > uint64(len(rest)) {
		return nil, nil, nil, fmt.Errorf("%w: blob length %d exceeds the %d bytes left", ErrMalformedFrame, n, len(rest))
	}
	blob, obj = rest[:n:n], bytes.TrimRight(rest[n:], " ")
	if len(obj) > maxObj {
		return nil, nil, nil, fmt.Errorf("%w: json part of %d bytes", ErrMalformedFrame, len(obj))
	}
	if keys, err = objectKeys(obj); err != nil {
		return nil, nil, nil, err
	}
	return blob, obj, keys, nil
}

// objectKeys checks that obj is exactly one JSON object, valid UTF-8, with
// no duplicate keys at any depth (encoding/json would silently keep the last
// one, a classic parser differential), and returns its top-level keys. The
// rules are protocol/strictjson's, shared with the storage RPC; a frame
// adds that the object starts and ends the JSON part (no whitespace but
// the relay's padding, trimmed before).
func objectKeys(obj []byte) ([]string, error) {
	if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' {
		return nil, fmt.Errorf("%w: json part is not an object", ErrMalformedFrame)
	}
	keys, err := strictjson.Keys(obj)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedFrame, err)
	}
	return keys, nil
}

// decodeStrict requires the top-level keys of obj (as objectKeys returned
// them) to be among allowed, case-sensitively (encoding/json alone would
// match "Ephemeral_Key"), and unmarshals obj into v.
func decodeStrict(obj []byte, keys []string, v any, allowed ...string) error {
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("%w: unexpected key %q", ErrMalformedFrame, k)
		}
	}
	if err := json.Unmarshal(obj, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedFrame, err)
	}
	return nil
}
