package onion

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Version is the only frame version this package speaks.
const Version = 1

// MaxLayers is the most layers one request may have, destination (or steward
// server) included. Session's MAX_ONION_HOPS (session-storage-server
// oxenss/rpc/onion_processing.h) is the same 15.
const MaxLayers = 15

// Hop is a node's public identity as published in the registry.
type Hop struct {
	Ed25519 ed25519.PublicKey // names the node to the hop before it
	X25519  *ecdh.PublicKey   // the key its layer is encrypted to
}

// Destination is where a request ends.
//
// With Server nil, Node is the storage node that executes the payload as a
// storage RPC. With Server set, the last entry of the hops given to [Build]
// forwards to that steward server, and Node holds the server's X25519 key
// (Ed25519 may be nil): the payload is encrypted to the server, not to the
// node that forwards it.
//
// Hold, when non-zero, asks every node of the path to keep the request open
// that long beyond its ordinary time-out: it is written into every relay
// layer and the destination layer ([Instruction.Hold]), since each hop must
// wait as long as the destination. A steward server takes no hold.
type Destination struct {
	Node    Hop
	Server  *ServerTarget
	Headers map[string]string
	Hold    time.Duration
}

// ClientState holds the per-layer keys of one request, for [OpenResponse].
// It is secret: whoever holds it can read the response.
type ClientState struct {
	keys []*layerKeys
	// sess[i] describes layer i's session use, for the first len(sess)
	// layers.
	sess []layerSession
}

// layerSession is what the client keeps of one layer's session: the
// session it used (to check a session_unknown) or opened.
type layerSession struct {
	used    bool
	id      SessionID
	counter uint64
	hop     ed25519.PublicKey // the node's key, which signs session_unknown
	opened  *Session
}

// SessionLayer says how [BuildSessions] treats one relay layer. The zero
// value is an ordinary full layer.
type SessionLayer struct {
	// Open asks the hop to open a session with this ID in a full layer
	// (use [NewSessionID]); [ClientState.OpenedSession] then has its key.
	Open *SessionID
	// Use sends the layer as a session frame of this session, with
	// Counter (1 to [MaxSessionRequests], never reused). Not with Open.
	Use     *Session
	Counter uint64
}

// OpenedSession returns the session layer i asked its node to open, with
// its key. The client may use it once the request's answer came back
// authenticated by a node after that layer (docs/onion.md "Lifetime").
func (st *ClientState) OpenedSession(i int) (Session, bool) {
	if i < 0 || i >= len(st.sess) || st.sess[i].opened == nil {
		return Session{}, false
	}
	return *st.sess[i].opened, true
}

// Layers is the number of layers of the request.
func (st *ClientState) Layers() int { return len(st.keys) }

type wireHeader struct {
	EphemeralKey string `json:"ephemeral_key"`
	Hop          *int   `json:"hop"`
	V            int    `json:"v"`
}

// headerLen is the length of a request frame's JSON for hops 0–9.
const headerLen = len(`{"ephemeral_key":"","hop":0,"v":1}`) + 64

func marshalHeader(eph *ecdh.PublicKey, hop int) []byte {
	b, _ := json.Marshal(wireHeader{hex.EncodeToString(eph.Bytes()), &hop, Version})
	return b
}

// Build wraps payload in one layer per hop plus one for dest, and returns
// the frame to send to hops[0] (or to dest.Node when hops is empty) with the
// state needed to open the response. The frame is exactly one size class
// long; the padding sits inside the innermost layer, so no relay learns the
// payload's size beyond its class.
//
// Build returns [ErrTooManyLayers] beyond [MaxLayers], [ErrOversize] when the
// onion does not fit the largest class, [ErrLowOrderKey] for a low-order hop
// key, and [ErrBadInstruction] for an invalid key, header, hold or server
// target.
func Build(hops []Hop, dest Destination, payload []byte) (frame []byte, st *ClientState, err error) {
	return BuildSessions(hops, dest, payload, nil)
}

// BuildSessions is [Build] with sessions at the first len(sess) layers
// (docs/onion.md): sess[i] says whether layer i opens a session, uses one,
// or is an ordinary full layer. Sessions are only for relay layers at
// positions 0 to [MaxSessionHop] that a further relay follows, so that
// the last relay and the destination always get a fresh ephemeral key;
// anything else is [ErrBadInstruction].
func BuildSessions(hops []Hop, dest Destination, payload []byte, sess []SessionLayer) (frame []byte, st *ClientState, err error) {
	n := len(hops) + 1
	if len(sess) > MaxSessionHop+1 {
		return nil, nil, badInstruction("sessions at %d layers, at most %d", len(sess), MaxSessionHop+1)
	}
	for i, s := range sess {
		switch {
		case s.Open == nil && s.Use == nil:
		case s.Open != nil && s.Use != nil:
			return nil, nil, badInstruction("layer %d both opens and uses a session", i)
		case i+1 >= len(hops):
			// Layer i must be followed by at least one more relay, which
			// has no session (the server-forwarding relay counts as one).
			return nil, nil, badInstruction("no session at layer %d of a path of %d relays", i, len(hops))
		case s.Use != nil && checkCounter(s.Counter) != nil:
			return nil, nil, badInstruction("layer %d: %v", i, checkCounter(s.Counter))
		}
	}
	if n > MaxLayers {
		return nil, nil, fmt.Errorf("%w: %d layers, at most %d", ErrTooManyLayers, n, MaxLayers)
	}
	if dest.Server != nil && len(hops) == 0 {
		return nil, nil, badInstruction("a server destination needs a node to forward it")
	}
	if dest.Server != nil && dest.Hold != 0 {
		return nil, nil, badInstruction("a server destination takes no hold")
	}
	if len(payload) > MaxFrameSize {
		return nil, nil, fmt.Errorf("%w: payload of %d bytes", ErrOversize, len(payload))
	}
	nodes := append(append(make([]Hop, 0, n), hops...), dest.Node)
	for i, h := range nodes {
		if err := checkX25519(h.X25519); err != nil {
			return nil, nil, fmt.Errorf("hop %d: %w", i, err)
		}
	}

	eph := make([]*ecdh.PrivateKey, n)
	st = &ClientState{keys: make([]*layerKeys, n), sess: make([]layerSession, len(sess))}
	use := func(i int) *SessionLayer {
		if i < len(sess) && sess[i].Use != nil {
			return &sess[i]
		}
		return nil
	}
	for i := range nodes {
		if u := use(i); u != nil {
			// A warm layer: no public-key work at all.
			st.keys[i] = requestKeys(u.Use, u.Counter)
			st.sess[i] = layerSession{used: true, id: u.Use.ID, counter: u.Counter, hop: nodes[i].Ed25519}
			continue
		}
		if eph[i], err = ecdh.X25519().GenerateKey(rand.Reader); err != nil {
			return nil, nil, err
		}
		st.keys[i], err = deriveKeys(eph[i], nodes[i].X25519, eph[i].PublicKey().Bytes(), nodes[i].X25519.Bytes())
		if err != nil {
			return nil, nil, fmt.Errorf("hop %d: %w", i, err)
		}
		if i < len(sess) && sess[i].Open != nil {
			st.sess[i].opened = &Session{ID: *sess[i].Open, Key: st.keys[i].session}
		}
	}

	ctrl := make([][]byte, n)
	for i := range nodes {
		var in Instruction
		switch {
		case i == n-1:
			in = Instruction{Kind: KindDestination, Headers: dest.Headers, Hold: dest.Hold}
		case i == n-2 && dest.Server != nil:
			in = Instruction{Kind: KindServer, NextEphemeral: eph[i+1].PublicKey(), Server: *dest.Server}
		default:
			in = Instruction{Kind: KindRelay, Next: nodes[i+1].Ed25519, Hold: dest.Hold}
			if u := use(i + 1); u != nil {
				in.NextSession, in.NextCounter = &u.Use.ID, u.Counter
			} else {
				in.NextEphemeral = eph[i+1].PublicKey()
			}
			if i < len(sess) {
				in.NewSession = sess[i].Open
			}
		}
		if ctrl[i], err = in.marshal(); err != nil {
			return nil, nil, fmt.Errorf("hop %d: %w", i, err)
		}
	}
	var header []byte
	if u := use(0); u != nil {
		header = marshalSessionHeader(u.Use.ID, u.Counter, 0)
	} else {
		header = marshalHeader(eph[0].PublicKey(), 0)
	}

	// The layers that may hold a session pad their header and control
	// object, inside their own AEAD, to what a full request's would be
	// (extra): what the nodes after them receive is then the same size
	// whether the request is full or uses sessions, at any counter.
	// Otherwise the last relay and the destination would read from their
	// blob's length whether a request was warm and how many digits its
	// counter has (docs/onion.md "Frames"). An opening request stays
	// longer by its new_session members.
	extra := make([]int, n)
	for i := 0; i <= MaxSessionHop && i+1 < len(hops); i++ {
		longest, err := longestControl(nodes[i+1], dest.Hold)
		if err != nil {
			return nil, nil, fmt.Errorf("hop %d: %w", i, err)
		}
		extra[i] = max(0, longest-len(ctrl[i]))
	}
	if len(hops) > 1 {
		extra[0] += max(0, longestHeader-len(header))
	}

	// Every size below is linear in the padding, so compute the unpadded
	// total, pick its class, and give the difference to the innermost layer.
	ct := sealOver + 4 + len(payload) + len(ctrl[n-1]) + 1 + extra[n-1]
	for i := n - 2; i >= 0; i-- {
		ct = sealOver + 4 + ct + len(ctrl[i]) + 1 + extra[i]
	}
	total := 4 + ct + len(header)
	class, ok := sizeClass(total)
	if !ok {
		return nil, nil, fmt.Errorf("%w: onion of %d bytes", ErrOversize, total)
	}

	blob, err := seal(&st.keys[n-1].request, appendFrame(nil, payload, ctrl[n-1]),
		sealOver+4+len(payload)+len(ctrl[n-1])+1+extra[n-1]+class-total)
	if err != nil {
		return nil, nil, err
	}
	for i := n - 2; i >= 0; i-- {
		pt := appendFrame(nil, blob, ctrl[i])
		if blob, err = seal(&st.keys[i].request, pt, len(pt)+1+sealOver+extra[i]); err != nil {
			return nil, nil, err
		}
	}
	for _, k := range st.keys {
		// The response needs only the response and wrap keys.
		k.request, k.session = [keySize]byte{}, SessionKey{}
	}
	frame = appendFrame(make([]byte, 0, class), blob, header)
	if len(frame) != class {
		panic(fmt.Sprintf("onion: built %d bytes for class %d", len(frame), class))
	}
	return frame, st, nil
}

// longestHeader is the longer header of a frame at hop 0: a full
// frame's or a session frame's at the highest counter.
var longestHeader = max(headerLen, len(marshalSessionHeader(SessionID{}, MaxSessionRequests, 0)))

// longestControl is the longer control object of a relay layer naming
// next and hold without opening a session: a full one, or one naming the
// next hop's session at the highest counter. (next's own X25519 key
// stands in for an ephemeral key: only its length counts.)
func longestControl(next Hop, hold time.Duration) (int, error) {
	var id SessionID
	longest := 0
	for _, in := range []Instruction{
		{Kind: KindRelay, Next: next.Ed25519, Hold: hold, NextEphemeral: next.X25519},
		{Kind: KindRelay, Next: next.Ed25519, Hold: hold, NextSession: &id, NextCounter: MaxSessionRequests},
	} {
		b, err := in.marshal()
		if err != nil {
			return 0, err
		}
		longest = max(longest, len(b))
	}
	return longest, nil
}

type wireResponse struct {
	Error  *string `json:"error,omitempty"`
	Status *int    `json:"status"`
	V      *int    `json:"v"`
}

// OpenResponse peels every layer of a response to the request st was made
// for. It returns the destination's status and body, or a *[RelayError]
// naming the hop that reported a failure (and that failure's status). It
// returns [ErrResponseUndecryptable] when no layer key opens resp, which
// is what any change to any byte of it causes.
//
// A response is sealed by the node that originates it and stream-encrypted
// by each node before it on the way back, so OpenResponse removes the
// streams from the outside in and tries each layer's response key from the
// inside out: the destination first, as that is the common case.
func OpenResponse(st *ClientState, resp []byte) (status int, body []byte, err error) {
	if st == nil || len(st.keys) == 0 {
		return 0, nil, fmt.Errorf("%w: no client state", ErrResponseUndecryptable)
	}
	if !isSizeClass(len(resp)) {
		return 0, nil, fmt.Errorf("%w: %d bytes is not a size class", ErrResponseUndecryptable, len(resp))
	}
	n := len(st.keys)
	cur := bytes.Clone(resp)
	for j := 0; j < n-1; j++ {
		xorWrap(&st.keys[j].wrap, cur, cur)
	}
	for j := n - 1; j >= 0; j-- {
		pt, err := open(&st.keys[j].response, cur)
		switch {
		case err == nil:
			return parseResponse(pt, j, n)
		case err != ErrUndecryptable:
			return 0, nil, fmt.Errorf("%w: hop %d: %v", ErrMalformedFrame, j, err)
		case j < len(st.sess) && st.sess[j].used && isSessionUnknown(cur, &st.sess[j]):
			return 0, nil, &RelayError{Hop: j, Code: CodeSessionUnknown, Status: CodeSessionUnknown.Status()}
		}
		if j > 0 {
			xorWrap(&st.keys[j-1].wrap, cur, cur)
		}
	}
	return 0, nil, ErrResponseUndecryptable
}

func parseResponse(pt []byte, hop, n int) (int, []byte, error) {
	body, obj, keys, err := decodeFrame(pt, maxHeaderJSON)
	if err != nil {
		return 0, nil, fmt.Errorf("hop %d response: %w", hop, err)
	}
	var w wireResponse
	if err := decodeStrict(obj, keys, &w, "error", "status", "v"); err != nil {
		return 0, nil, fmt.Errorf("hop %d response: %w", hop, err)
	}
	if w.V == nil || w.Status == nil {
		return 0, nil, fmt.Errorf("%w: hop %d response lacks v or status", ErrMalformedFrame, hop)
	}
	if *w.V != Version {
		return 0, nil, fmt.Errorf("%w: hop %d response has v %d", ErrUnknownVersion, hop, *w.V)
	}
	if *w.Status < 100 || *w.Status > 599 {
		return 0, nil, fmt.Errorf("%w: hop %d response status %d", ErrMalformedFrame, hop, *w.Status)
	}
	if w.Error == nil {
		if hop != n-1 {
			return 0, nil, fmt.Errorf("%w: hop %d answered without an error code", ErrMalformedFrame, hop)
		}
		return *w.Status, body, nil
	}
	code := ErrorCode(*w.Error)
	if code.Status() == 0 || code == CodeSessionUnknown || code.Status() != *w.Status || len(body) != 0 {
		return 0, nil, fmt.Errorf("%w: hop %d sent error %q with status %d and %d body bytes",
			ErrMalformedFrame, hop, code, *w.Status, len(body))
	}
	return *w.Status, nil, &RelayError{Hop: hop, Code: code, Status: *w.Status}
}
