package onion

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Session limits of version 1 (docs/onion.md).
const (
	// MaxSessionHop is the highest hop counter at which a session may be
	// opened or used: the guard (0) and the middle relay (1) only. The
	// last relay and the destination keep a fresh ephemeral key per
	// request, so that they can link nothing.
	MaxSessionHop = 1
	// MaxSessionRequests is the highest counter of a session: after that
	// many warm requests the client opens a new one.
	MaxSessionRequests = 1024
	// SessionLifetime is how long a client uses a session after opening
	// it. Nodes keep one a little longer ([SessionGrace]) for clock drift.
	SessionLifetime = 10 * time.Minute
	// SessionGrace is what a node adds to SessionLifetime before it
	// forgets a session.
	SessionGrace = time.Minute
	// ReplayWindow is how far below the highest counter seen a request
	// may still arrive (parallel requests overtake each other).
	ReplayWindow = 128
)

// SessionID names a session at one hop. The client draws it at random
// ([NewSessionID]); it is not derived from anything on the wire.
type SessionID [16]byte

// NewSessionID returns a random session ID.
func NewSessionID() SessionID {
	var id SessionID
	rand.Read(id[:]) // never fails since Go 1.24
	return id
}

func (id SessionID) String() string { return hex.EncodeToString(id[:]) }

// SessionKey is a session's secret, from which every request's keys are
// derived. Compare it with crypto/subtle, never ==.
type SessionKey [keySize]byte

// Session is one side's state of a session at one hop: its ID and key.
// It is secret.
type Session struct {
	ID  SessionID
	Key SessionKey
}

// HKDF labels of sessions (docs/onion.md "Key schedule").
const (
	labelSession       = "hush/1 onion session v1"
	labelSessionPrefix = "hush/1 onion session v1 "
	labelSessionSigned = "hush/1 onion session_unknown v1"
)

// sessionKey derives Ksession from a full layer's PRK.
func sessionKey(prk []byte) (SessionKey, error) {
	b, err := hkdf.Expand(sha256.New, prk, labelSession, keySize)
	var k SessionKey
	copy(k[:], b)
	return k, err
}

// requestKeys derives request counter's keys of session s. Every request
// has its own three keys, so the wrap stream's fixed nonce never repeats
// under one key (the node refuses a counter twice).
func requestKeys(s *Session, counter uint64) *layerKeys {
	var k layerKeys
	info := make([]byte, 0, len(labelSessionPrefix)+8+len(s.ID)+8)
	for _, o := range []struct {
		dst  *[keySize]byte
		role string
	}{{&k.request, "request"}, {&k.response, "response"}, {&k.wrap, "wrap"}} {
		info = append(append(info[:0], labelSessionPrefix...), o.role...)
		info = append(info, s.ID[:]...)
		info = binary.BigEndian.AppendUint64(info, counter)
		b, err := hkdf.Expand(sha256.New, s.Key[:], string(info), keySize)
		if err != nil {
			panic(err) // 32 bytes of SHA-256 output never fail
		}
		copy(o.dst[:], b)
	}
	return &k
}

// sessionHeader is the header of a session frame.
type sessionHeader struct {
	Counter uint64 `json:"counter"`
	Hop     int    `json:"hop"`
	Session string `json:"session"`
	V       int    `json:"v"`
}

func marshalSessionHeader(id SessionID, counter uint64, hop int) []byte {
	b, _ := json.Marshal(sessionHeader{counter, hop, id.String(), Version})
	return b
}

func checkCounter(c uint64) error {
	if c < 1 || c > MaxSessionRequests {
		return fmt.Errorf("counter %d outside 1–%d", c, MaxSessionRequests)
	}
	return nil
}

func parseSessionID(s string) (SessionID, error) {
	var id SessionID
	if len(s) != 2*len(id) || s != strings.ToLower(s) {
		return id, fmt.Errorf("session ID not %d lowercase hex digits", 2*len(id))
	}
	_, err := hex.Decode(id[:], []byte(s))
	return id, err
}

// FrameSession reads the header of a request frame and reports whether
// it is a session frame and, if so, its session ID and counter. Errors
// are Peel's for frames that do not parse. A node calls it first, to
// choose between [Peel] (a full frame) and [PeelSession].
func FrameSession(frame []byte) (id SessionID, counter uint64, ok bool, err error) {
	h, err := readHeader(frame)
	if err != nil {
		return id, 0, false, err
	}
	if h.session == nil {
		return id, 0, false, nil
	}
	return *h.session, h.counter, true, nil
}

// PeelSession opens a session frame with the session s that the node
// found under the frame's ID ([FrameSession]). It returns Peel's errors,
// [ErrMalformedFrame] for a full frame or another session's, and
// [ErrUndecryptable] when the AEAD fails. A session layer may only relay
// and may not open another session: anything else is ErrBadInstruction
// with a usable Layer, as in Peel.
//
// PeelSession does not check the counter against a replay window: the
// node does that after the AEAD opened ([Layer.Session]), so that forged
// frames cannot move the window.
func PeelSession(s *Session, frame []byte) (*Layer, error) {
	h, err := readHeader(frame)
	if err != nil {
		return nil, err
	}
	if h.session == nil || *h.session != s.ID {
		return nil, fmt.Errorf("%w: not a frame of session %v", ErrMalformedFrame, s.ID)
	}
	return peelWith(requestKeys(s, h.counter), h, frame)
}

// SessionUnknown is what a node answers a session frame with when it does
// not hold the session (never opened, expired, evicted or forgotten by a
// restart): it has no key to seal with, so it signs instead, with its
// registry Ed25519 key, over the session ID and counter the frame named.
// The client checks it against that hop's key, ID and counter, so no other
// node can forge one and no old one can be replayed. The answer is the
// smallest size class, padded with spaces.
func SessionUnknown(priv ed25519.PrivateKey, id SessionID, counter uint64) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("onion: session_unknown needs an ed25519 key")
	}
	if err := checkCounter(counter); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedFrame, err)
	}
	sig := ed25519.Sign(priv, sessionUnknownMessage(id, counter))
	obj := marshalSessionUnknown(id, counter)
	out := appendFrame(make([]byte, 0, SizeClasses[0]), sig, obj)
	return append(out, bytes.Repeat([]byte{' '}, SizeClasses[0]-len(out))...), nil
}

type wireSessionUnknown struct {
	Counter uint64 `json:"counter"`
	Error   string `json:"error"`
	Session string `json:"session"`
	Status  int    `json:"status"`
	V       int    `json:"v"`
}

func marshalSessionUnknown(id SessionID, counter uint64) []byte {
	b, _ := json.Marshal(wireSessionUnknown{counter, string(CodeSessionUnknown), id.String(), CodeSessionUnknown.Status(), Version})
	return b
}

func sessionUnknownMessage(id SessionID, counter uint64) []byte {
	m := append([]byte(labelSessionSigned), id[:]...)
	return binary.BigEndian.AppendUint64(m, counter)
}

// isSessionUnknown reports whether resp (with the wraps of the hops
// before this one removed) is this hop's signed session_unknown for
// exactly the session and counter the client sent it. The object must be
// byte for byte the one a node writes, so there is one encoding.
func isSessionUnknown(resp []byte, ls *layerSession) bool {
	if len(resp) != SizeClasses[0] || len(ls.hop) != ed25519.PublicKeySize {
		return false
	}
	sig, obj, err := DecodeFrame(resp)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return false
	}
	if !bytes.Equal(obj, marshalSessionUnknown(ls.id, ls.counter)) {
		return false
	}
	return ed25519.Verify(ls.hop, sessionUnknownMessage(ls.id, ls.counter), sig)
}
