package onion

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pythonVectors is testdata/sessions_python.json, written by
// testdata/gen_session_vectors.py from docs/onion.md with Python's
// cryptography package: a second implementation of the key schedule and
// of every new frame, with fixed nonces.
type pythonVectors struct {
	KDF []struct {
		EphemeralPrivate string `json:"ephemeral_private"`
		NodePrivate      string `json:"node_private"`
		SessionID        string `json:"session_id"`
		Counter          uint64 `json:"counter"`
		SessionKey       string `json:"session_key"`
		Request          string `json:"request_key"`
		Response         string `json:"response_key"`
		Wrap             string `json:"wrap_key"`
	} `json:"kdf"`
	Opening []struct {
		Node       string `json:"node_label"`
		Frame      string `json:"frame"`
		SessionID  string `json:"session_id"`
		SessionKey string `json:"session_key"`
		NextNode   string `json:"next_node"`
		Inner      string `json:"inner"`
		NextFrame  string `json:"next_frame"`
	} `json:"opening"`
	SessionFrames []struct {
		SessionID  string `json:"session_id"`
		SessionKey string `json:"session_key"`
		Counter    uint64 `json:"counter"`
		Hop        int    `json:"hop"`
		Frame      string `json:"frame"`
		NextNode   string `json:"next_node"`
		HoldMs     int64  `json:"hold_ms"`
		Inner      string `json:"inner"`
		NextFrame  string `json:"next_frame"`
		Failure    string `json:"failure"`
		PassedBack string `json:"passed_back"`
		Wrapped    string `json:"wrapped"`
	} `json:"session_frames"`
	Unknown []struct {
		Node      string `json:"node_label"`
		SessionID string `json:"session_id"`
		Counter   uint64 `json:"counter"`
		Response  string `json:"response"`
	} `json:"session_unknown"`
}

// TestSessionPythonVectors checks this package against the independent
// Python reference: the same keys from the same inputs, its opening and
// session frames peel to what it meant, the next frames and the wrap
// are byte for byte its own, its sealed failure opens, and
// session_unknown (Ed25519 is deterministic) is the same 2 KiB.
func TestSessionPythonVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "sessions_python.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v pythonVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.KDF) < 3 || len(v.Opening) != 2 || len(v.SessionFrames) != 2 || len(v.Unknown) != 2 {
		t.Fatal("sessions_python.json is incomplete")
	}
	dec := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sid := func(s string) (id SessionID) {
		copy(id[:], dec(s))
		return id
	}
	for i, k := range v.KDF {
		e, _ := ecdh.X25519().NewPrivateKey(dec(k.EphemeralPrivate))
		n, _ := ecdh.X25519().NewPrivateKey(dec(k.NodePrivate))
		full, err := deriveKeys(e, n.PublicKey(), e.PublicKey().Bytes(), n.PublicKey().Bytes())
		if err != nil {
			t.Fatal(err)
		}
		s := Session{ID: sid(k.SessionID), Key: full.session}
		rk := requestKeys(&s, k.Counter)
		if hex.EncodeToString(s.Key[:]) != k.SessionKey || hex.EncodeToString(rk.request[:]) != k.Request ||
			hex.EncodeToString(rk.response[:]) != k.Response || hex.EncodeToString(rk.wrap[:]) != k.Wrap {
			t.Errorf("kdf %d differs from Python's", i)
		}
	}
	for _, o := range v.Opening {
		l, err := Peel(newTestNode(t, o.Node).x, dec(o.Frame))
		if err != nil {
			t.Fatalf("%s opening: %v", o.Node, err)
		}
		s, ok := l.OpenedSession()
		switch {
		case !ok || s.ID != sid(o.SessionID) || hex.EncodeToString(s.Key[:]) != o.SessionKey:
			t.Errorf("%s opening: session %v %v", o.Node, s.ID, ok)
		case l.Instruction.Kind != KindRelay || hex.EncodeToString(l.Instruction.Next) != o.NextNode || !bytes.Equal(l.Inner, dec(o.Inner)):
			t.Errorf("%s opening: instruction %+v", o.Node, l.Instruction)
		}
		if next, err := l.NextFrame(); err != nil || !bytes.Equal(next, dec(o.NextFrame)) {
			t.Errorf("%s opening: next frame differs (%v)", o.Node, err)
		}
	}
	for _, f := range v.SessionFrames {
		frame := dec(f.Frame)
		id, counter, ok, err := FrameSession(frame)
		if err != nil || !ok || id != sid(f.SessionID) || counter != f.Counter {
			t.Fatalf("hop %d: FrameSession %v %d %v %v", f.Hop, id, counter, ok, err)
		}
		s := Session{ID: id}
		copy(s.Key[:], dec(f.SessionKey))
		l, err := PeelSession(&s, frame)
		if err != nil {
			t.Fatalf("hop %d: %v", f.Hop, err)
		}
		in := l.Instruction
		if lid, lc, ok := l.Session(); !ok || lid != id || lc != counter || l.Hop() != f.Hop {
			t.Errorf("hop %d: layer session %v %d %v at hop %d", f.Hop, lid, lc, ok, l.Hop())
		}
		if in.Kind != KindRelay || hex.EncodeToString(in.Next) != f.NextNode || in.Hold != time.Duration(f.HoldMs)*time.Millisecond ||
			!bytes.Equal(l.Inner, dec(f.Inner)) || in.NewSession != nil {
			t.Errorf("hop %d: instruction %+v", f.Hop, in)
		}
		if next, err := l.NextFrame(); err != nil || !bytes.Equal(next, dec(f.NextFrame)) {
			t.Errorf("hop %d: next frame differs (%v)", f.Hop, err)
		}
		if w, err := l.Responder.Wrap(dec(f.PassedBack)); err != nil || !bytes.Equal(w, dec(f.Wrapped)) {
			t.Errorf("hop %d: wrap differs (%v)", f.Hop, err)
		}
		st := &ClientState{keys: []*layerKeys{{response: l.Responder.response, wrap: l.Responder.wrap}}}
		var re *RelayError
		if _, _, err := OpenResponse(st, dec(f.Failure)); !errors.As(err, &re) || re.Hop != 0 || re.Code != CodeTimeout {
			t.Errorf("hop %d: Python's sealed failure opened as %v", f.Hop, err)
		}
		// The other session's key opens nothing.
		s.Key[0] ^= 1
		if _, err := PeelSession(&s, frame); !errors.Is(err, ErrUndecryptable) {
			t.Errorf("hop %d: a wrong session key gave %v", f.Hop, err)
		}
	}
	for _, u := range v.Unknown {
		node := newTestNode(t, u.Node)
		got, err := SessionUnknown(node.priv, sid(u.SessionID), u.Counter)
		if err != nil || hex.EncodeToString(got) != u.Response {
			t.Errorf("session_unknown of %s differs from Python's (%v)", u.Node, err)
		}
		ls := layerSession{used: true, id: sid(u.SessionID), counter: u.Counter, hop: node.ed}
		if !isSessionUnknown(dec(u.Response), &ls) {
			t.Errorf("Python's session_unknown of %s does not verify", u.Node)
		}
	}
}
