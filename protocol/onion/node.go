package onion

import (
	"bytes"
	"crypto/ecdh"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Layer is what a node learns by peeling its layer of a request.
type Layer struct {
	// Instruction says what to do next; its Kind is KindInvalid when Peel
	// returned ErrBadInstruction.
	Instruction Instruction
	// Inner is the blob for the next hop (KindRelay, KindServer) or the
	// request body (KindDestination). It aliases Peel's decrypted buffer.
	Inner []byte
	// Responder answers the client under this layer's keys.
	Responder Responder

	ephemeral [32]byte
	frameLen  int
	hop       int
}

// Hop is this node's position on the path as the frame's "hop" counter
// says: 0 for the first node. Each relay writes its own plus one into the
// next frame, so a client can start it higher but never lower, and Peel
// refuses a frame at [MaxLayers] or beyond; this is what bounds the work
// one request can cause, as Session's hop_no does (session-storage-server
// oxenss/server/omq.cpp, MAX_ONION_HOPS).
func (l *Layer) Hop() int { return l.hop }

// Ephemeral is the client's ephemeral key for this layer. Nodes remember it
// in a replay cache (internal/replay): a fresh one is made per layer, so a
// repeat is a replayed request. Only a layer that Peel opened should go in,
// so that forged frames cannot fill the cache.
func (l *Layer) Ephemeral() [32]byte { return l.ephemeral }

// Peel opens this node's layer of frame with its X25519 key. (The public
// half, part of the key derivation, comes from nodeKey.PublicKey.)
//
// Peel returns [ErrOversize] or [ErrMalformedFrame] for a frame that is not
// exactly a size class long or does not parse, [ErrUnknownVersion],
// [ErrTooManyLayers] for a hop counter of [MaxLayers] or more,
// [ErrLowOrderKey] for a low-order ephemeral key and [ErrUndecryptable] when
// the AEAD fails; in those cases the node holds no key to answer with and
// the Layer is nil. For [ErrBadInstruction] (the layer decrypted but its
// contents are invalid) Peel returns a Layer whose Responder works, so the
// node can send [CodeBadInstruction] back, as Session's storage server
// answers "Invalid json" under the layer key.
func Peel(nodeKey *ecdh.PrivateKey, frame []byte) (*Layer, error) {
	if len(frame) > MaxFrameSize {
		return nil, fmt.Errorf("%w: frame of %d bytes", ErrOversize, len(frame))
	}
	if !isSizeClass(len(frame)) {
		return nil, fmt.Errorf("%w: %d bytes is not a size class", ErrMalformedFrame, len(frame))
	}
	blob, obj, keys, err := decodeFrame(frame, maxHeaderJSON)
	if err != nil {
		return nil, err
	}
	eph, hop, err := parseHeader(obj, keys)
	if err != nil {
		return nil, err
	}
	lk, err := deriveKeys(nodeKey, eph, eph.Bytes(), nodeKey.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	pt, err := open(&lk.request, blob)
	if errors.Is(err, ErrUndecryptable) {
		return nil, err
	}
	l := &Layer{Responder: Responder{response: lk.response, wrap: lk.wrap, ok: true}, frameLen: len(frame), hop: hop}
	copy(l.ephemeral[:], eph.Bytes())
	if err != nil {
		return l, fmt.Errorf("%w: %v", ErrBadInstruction, err)
	}
	inner, ctrl, keys, err := decodeFrame(pt, maxControlJSON)
	if err != nil {
		return l, fmt.Errorf("%w: %w", ErrBadInstruction, err)
	}
	in, err := parseInstruction(ctrl, keys)
	if err != nil {
		return l, err
	}
	l.Instruction, l.Inner = in, inner
	return l, nil
}

// parseHeader reads a frame's JSON. The version is read first, since the
// other members' meaning depends on it.
func parseHeader(obj []byte, keys []string) (*ecdh.PublicKey, int, error) {
	var probe struct {
		V json.RawMessage `json:"v"`
	}
	// Unmarshal cannot fail on an object objectKeys accepted, but it would
	// take "V" for "v": insist on the exact key.
	if err := json.Unmarshal(obj, &probe); err != nil || !slices.Contains(keys, "v") {
		return nil, 0, fmt.Errorf("%w: no version", ErrMalformedFrame)
	}
	var v int
	if err := json.Unmarshal(probe.V, &v); err != nil {
		return nil, 0, fmt.Errorf("%w: version %s", ErrMalformedFrame, probe.V)
	}
	if v != Version {
		return nil, 0, fmt.Errorf("%w: %d", ErrUnknownVersion, v)
	}
	var h wireHeader
	if err := decodeStrict(obj, keys, &h, "ephemeral_key", "hop", "v"); err != nil {
		return nil, 0, err
	}
	if !slices.Contains(keys, "ephemeral_key") || h.Hop == nil {
		return nil, 0, fmt.Errorf("%w: no ephemeral_key or hop", ErrMalformedFrame)
	}
	switch {
	case *h.Hop < 0:
		return nil, 0, fmt.Errorf("%w: hop %d", ErrMalformedFrame, *h.Hop)
	case *h.Hop >= MaxLayers:
		return nil, 0, fmt.Errorf("%w: frame at hop %d", ErrTooManyLayers, *h.Hop)
	}
	eph, err := parseX25519Hex(h.EphemeralKey)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrMalformedFrame, err)
	}
	return eph, *h.Hop, nil
}

// NextFrame is the frame to send on for KindRelay (to Instruction.Next) and
// KindServer (to Instruction.Server). It is padded with trailing spaces to
// the length of the frame this node received, so every hop of a path sees
// the same size class: the peeled layer's overhead would otherwise show a
// link observer which frames belong together.
func (l *Layer) NextFrame() ([]byte, error) {
	k := l.Instruction.Kind
	if k != KindRelay && k != KindServer {
		return nil, fmt.Errorf("%w: no next frame for a %v layer", ErrBadInstruction, k)
	}
	if l.hop+1 >= MaxLayers {
		return nil, fmt.Errorf("%w: no hop after %d", ErrTooManyLayers, l.hop)
	}
	f := appendFrame(make([]byte, 0, l.frameLen), l.Inner, marshalHeader(l.Instruction.NextEphemeral, l.hop+1))
	if len(f) > l.frameLen {
		return nil, fmt.Errorf("%w: next frame of %d bytes", ErrOversize, len(f))
	}
	return append(f, bytes.Repeat([]byte{' '}, l.frameLen-len(f))...), nil
}

// Responder makes this layer's part of the response. The zero Responder
// refuses to work.
type Responder struct {
	response, wrap [keySize]byte
	ok             bool
}

var errNoKeys = errors.New("onion: responder has no keys")

// Seal is used by the destination: it seals status and body (padded to the
// smallest size class that holds them) under the layer's response key.
// It returns [ErrOversize] when they fit no class.
func (r Responder) Seal(status int, body []byte) ([]byte, error) {
	if status < 100 || status > 599 {
		return nil, fmt.Errorf("onion: status %d out of range", status)
	}
	return r.seal(wireResponse{Status: &status, V: ptr(Version)}, body)
}

// Fail is used by any node that cannot carry the request on: it seals an
// error envelope with code under the layer's response key, in the smallest
// class. The client learns which hop failed from which key opens it.
func (r Responder) Fail(code ErrorCode) ([]byte, error) {
	st := code.Status()
	if st == 0 {
		return nil, fmt.Errorf("onion: unknown error code %q", code)
	}
	c := string(code)
	return r.seal(wireResponse{Error: &c, Status: &st, V: ptr(Version)}, nil)
}

func (r Responder) seal(w wireResponse, body []byte) ([]byte, error) {
	if !r.ok {
		return nil, errNoKeys
	}
	obj, _ := json.Marshal(w)
	pt := appendFrame(nil, body, obj)
	class, ok := sizeClass(len(pt) + 1 + sealOver)
	if !ok {
		return nil, fmt.Errorf("%w: response of %d bytes", ErrOversize, len(pt))
	}
	return seal(&r.response, pt, class)
}

// Wrap is used by a relay on the response from the next hop: it encrypts it
// again under this layer's wrap key, so the hop before never sees the bytes
// the next hop sent. (In Session a relay passes the response back unchanged;
// see process_onion_req in session-storage-server oxenss/rpc/request_handler.cpp.)
// The encryption is a length-preserving stream, so the response stays in its
// class; integrity comes from the originator's AEAD, which the client checks
// after removing every stream. An inner response that is not a size class
// long returns [ErrMalformedFrame]; the relay should then Fail with
// [CodeDestinationFailed].
func (r Responder) Wrap(inner []byte) ([]byte, error) {
	if !r.ok {
		return nil, errNoKeys
	}
	if !isSizeClass(len(inner)) {
		return nil, fmt.Errorf("%w: response of %d bytes is not a size class", ErrMalformedFrame, len(inner))
	}
	out := make([]byte, len(inner))
	xorWrap(&r.wrap, out, inner)
	return out, nil
}

func ptr[T any](v T) *T { return &v }
