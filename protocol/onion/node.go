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

	// A session frame's session and counter (isSession), and the session
	// a full layer opened (opened).
	session   SessionID
	counter   uint64
	isSession bool
	opened    *Session
}

// Session reports the session and counter a session frame came under
// ([PeelSession]); ok is false for a full frame. The node checks the
// counter against the session's replay window before acting.
func (l *Layer) Session() (id SessionID, counter uint64, ok bool) {
	return l.session, l.counter, l.isSession
}

// OpenedSession is the session this layer asked the node to open
// (Instruction.NewSession), with its key; ok is false when it asked none.
// The node keeps it in its session cache. It is secret.
func (l *Layer) OpenedSession() (s Session, ok bool) {
	if l.opened == nil {
		return Session{}, false
	}
	return *l.opened, true
}

// Hop is this node's position on the path as the frame's "hop" counter
// says: 0 for the first node. Each relay writes its own plus one into the
// next frame, so a client can start it higher but never lower, and Peel
// refuses a frame at [MaxLayers] or beyond; this is what bounds the work
// one request can cause, as Session's hop_no does (session-storage-server
// oxenss/server/omq.cpp, MAX_ONION_HOPS).
func (l *Layer) Hop() int { return l.hop }

// Ephemeral is the client's ephemeral key for this layer (zero for a
// session frame, which has none). Nodes remember it
// in a replay cache (internal/replay): a fresh one is made per layer, so a
// repeat is a replayed request. Only a layer that Peel opened should go in,
// so that forged frames cannot fill the cache.
func (l *Layer) Ephemeral() [32]byte { return l.ephemeral }

// Peel opens this node's layer of frame with its X25519 key. (The public
// half, part of the key derivation, comes from nodeKey.PublicKey.)
//
// Peel returns [ErrOversize] or [ErrMalformedFrame] for a frame that is not
// exactly a size class long or does not parse (a session frame included:
// see [PeelSession]), [ErrUnknownVersion],
// [ErrTooManyLayers] for a hop counter of [MaxLayers] or more,
// [ErrLowOrderKey] for a low-order ephemeral key and [ErrUndecryptable] when
// the AEAD fails; in those cases the node holds no key to answer with and
// the Layer is nil. For [ErrBadInstruction] (the layer decrypted but its
// contents are invalid) Peel returns a Layer whose Responder works, so the
// node can send [CodeBadInstruction] back, as Session's storage server
// answers "Invalid json" under the layer key.
func Peel(nodeKey *ecdh.PrivateKey, frame []byte) (*Layer, error) {
	h, err := readHeader(frame)
	if err != nil {
		return nil, err
	}
	if h.session != nil {
		return nil, fmt.Errorf("%w: a session frame", ErrMalformedFrame)
	}
	lk, err := deriveKeys(nodeKey, h.eph, h.eph.Bytes(), nodeKey.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	return peelWith(lk, h, frame)
}

// header is a request frame's parsed header: eph for a full frame,
// session and counter for a session frame.
type header struct {
	blob    []byte
	hop     int
	eph     *ecdh.PublicKey
	session *SessionID
	counter uint64
}

// readHeader checks a request frame's size and parses its header.
func readHeader(frame []byte) (header, error) {
	if len(frame) > MaxFrameSize {
		return header{}, fmt.Errorf("%w: frame of %d bytes", ErrOversize, len(frame))
	}
	if !isSizeClass(len(frame)) {
		return header{}, fmt.Errorf("%w: %d bytes is not a size class", ErrMalformedFrame, len(frame))
	}
	blob, obj, keys, err := decodeFrame(frame, maxHeaderJSON)
	if err != nil {
		return header{}, err
	}
	h, err := parseHeader(obj, keys)
	h.blob = blob
	return h, err
}

// peelWith opens a layer with its request keys and applies the session
// rules that depend on the frame (docs/onion.md): only a full frame at
// hop 0 or 1 may open a session, a session frame may only relay, and a
// session frame may be sent on only to hop MaxSessionHop at most.
func peelWith(lk *layerKeys, h header, frame []byte) (*Layer, error) {
	pt, err := open(&lk.request, h.blob)
	if errors.Is(err, ErrUndecryptable) {
		return nil, err
	}
	l := &Layer{Responder: Responder{response: lk.response, wrap: lk.wrap, ok: true}, frameLen: len(frame), hop: h.hop}
	if h.session != nil {
		l.session, l.counter, l.isSession = *h.session, h.counter, true
	} else {
		copy(l.ephemeral[:], h.eph.Bytes())
	}
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
	switch {
	case in.NewSession != nil && h.session != nil:
		return l, badInstruction("a session frame cannot open a session")
	case in.NewSession != nil && h.hop > MaxSessionHop:
		return l, badInstruction("no session at hop %d", h.hop)
	case in.NextSession != nil && h.hop+1 > MaxSessionHop:
		return l, badInstruction("no session at hop %d", h.hop+1)
	case h.session != nil && in.Kind != KindRelay:
		return l, badInstruction("a session layer may only relay")
	}
	if in.NewSession != nil {
		l.opened = &Session{ID: *in.NewSession, Key: lk.session}
	}
	l.Instruction, l.Inner = in, inner
	return l, nil
}

// parseHeader reads a frame's JSON. The version is read first, since the
// other members' meaning depends on it. A full frame has exactly
// ephemeral_key, hop and v; a session frame exactly counter, hop,
// session and v, with hop at most MaxSessionHop.
func parseHeader(obj []byte, keys []string) (header, error) {
	var probe struct {
		V json.RawMessage `json:"v"`
	}
	// Unmarshal cannot fail on an object objectKeys accepted, but it would
	// take "V" for "v": insist on the exact key.
	if err := json.Unmarshal(obj, &probe); err != nil || !slices.Contains(keys, "v") {
		return header{}, fmt.Errorf("%w: no version", ErrMalformedFrame)
	}
	var v int
	if err := json.Unmarshal(probe.V, &v); err != nil {
		return header{}, fmt.Errorf("%w: version %s", ErrMalformedFrame, probe.V)
	}
	if v != Version {
		return header{}, fmt.Errorf("%w: %d", ErrUnknownVersion, v)
	}
	if slices.Contains(keys, "session") {
		return parseSessionHeader(obj, keys)
	}
	var h wireHeader
	if err := decodeStrict(obj, keys, &h, "ephemeral_key", "hop", "v"); err != nil {
		return header{}, err
	}
	if !slices.Contains(keys, "ephemeral_key") || h.Hop == nil {
		return header{}, fmt.Errorf("%w: no ephemeral_key or hop", ErrMalformedFrame)
	}
	if err := checkHop(*h.Hop); err != nil {
		return header{}, err
	}
	eph, err := parseX25519Hex(h.EphemeralKey)
	if err != nil {
		return header{}, fmt.Errorf("%w: %w", ErrMalformedFrame, err)
	}
	return header{hop: *h.Hop, eph: eph}, nil
}

func checkHop(hop int) error {
	switch {
	case hop < 0:
		return fmt.Errorf("%w: hop %d", ErrMalformedFrame, hop)
	case hop >= MaxLayers:
		return fmt.Errorf("%w: frame at hop %d", ErrTooManyLayers, hop)
	}
	return nil
}

func parseSessionHeader(obj []byte, keys []string) (header, error) {
	var w struct {
		Counter *uint64 `json:"counter"`
		Hop     *int    `json:"hop"`
		Session *string `json:"session"`
		V       int     `json:"v"`
	}
	if err := decodeStrict(obj, keys, &w, "counter", "hop", "session", "v"); err != nil {
		return header{}, err
	}
	if w.Counter == nil || w.Hop == nil || w.Session == nil {
		return header{}, fmt.Errorf("%w: session frame lacks counter, hop or session", ErrMalformedFrame)
	}
	if err := checkHop(*w.Hop); err != nil {
		return header{}, err
	}
	if *w.Hop > MaxSessionHop {
		return header{}, fmt.Errorf("%w: session frame at hop %d", ErrMalformedFrame, *w.Hop)
	}
	if err := checkCounter(*w.Counter); err != nil {
		return header{}, fmt.Errorf("%w: %v", ErrMalformedFrame, err)
	}
	id, err := parseSessionID(*w.Session)
	if err != nil {
		return header{}, fmt.Errorf("%w: %v", ErrMalformedFrame, err)
	}
	return header{hop: *w.Hop, session: &id, counter: *w.Counter}, nil
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
	var h []byte
	if in := l.Instruction; in.NextSession != nil {
		h = marshalSessionHeader(*in.NextSession, in.NextCounter, l.hop+1)
	} else {
		h = marshalHeader(in.NextEphemeral, l.hop+1)
	}
	f := appendFrame(make([]byte, 0, l.frameLen), l.Inner, h)
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
// [CodeSessionUnknown] is refused: it is signed, not sealed ([SessionUnknown]).
func (r Responder) Fail(code ErrorCode) ([]byte, error) {
	st := code.Status()
	if st == 0 || code == CodeSessionUnknown {
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
