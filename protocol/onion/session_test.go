package onion

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/cryptotest"
)

// sessionClient plays the client side of docs/onion.md on a test path:
// the first request opens sessions at positions 0 and 1, later ones use
// them with increasing counters.
type sessionClient struct {
	t        testing.TB
	nodes    []*testNode // relays then destination
	sessions []Session
	counter  uint64
}

func (c *sessionClient) layers() []SessionLayer {
	if c.sessions == nil {
		a, b := NewSessionID(), NewSessionID()
		return []SessionLayer{{Open: &a}, {Open: &b}}
	}
	c.counter++
	return []SessionLayer{{Use: &c.sessions[0], Counter: c.counter}, {Use: &c.sessions[1], Counter: c.counter}}
}

// send builds a request, routes it through net and opens the answer,
// keeping opened sessions.
func (c *sessionClient) send(net *testNet, payload []byte) (int, []byte, error) {
	last := len(c.nodes) - 1
	frame, st, err := BuildSessions(hops(c.nodes[:last]), Destination{Node: c.nodes[last].hop}, payload, c.layers())
	if err != nil {
		c.t.Fatal(err)
	}
	status, body, err := OpenResponse(st, net.deliver(c.nodes[0], frame))
	if err == nil && c.sessions == nil {
		for i := range 2 {
			s, ok := st.OpenedSession(i)
			if !ok {
				c.t.Fatalf("layer %d opened no session", i)
			}
			c.sessions = append(c.sessions, s)
		}
	}
	return status, body, err
}

func newSessionPath(t *testing.T, prefix string) (*sessionClient, *testNet) {
	nodes := path(t, prefix, 4)
	net := newTestNet(t, nodes...)
	return &sessionClient{t: t, nodes: nodes}, net
}

// headerOf returns the JSON header of a request frame.
func headerOf(t testing.TB, frame []byte) map[string]any {
	_, obj, err := DecodeFrame(frame)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSessionRoundTrip(t *testing.T) {
	c, net := newSessionPath(t, "sess")
	type seen struct{ frames [4][]byte }
	var reqs []seen
	for i := range 4 {
		net.layers, net.resps, net.frameLens, net.respLens = nil, nil, nil, nil
		status, body, err := c.send(net, fmt.Appendf(nil, "request %d", i))
		if err != nil || status != 200 || string(body) != fmt.Sprintf("echo:request %d", i) {
			t.Fatalf("request %d: %d %q %v", i, status, body, err)
		}
		var s seen
		for p, l := range net.layers {
			if p < 3 {
				s.frames[p+1], _ = l.NextFrame()
			}
		}
		reqs = append(reqs, s)
		// Positions 2 and 3 always peel full frames, positions 0 and 1
		// session frames once the sessions are open.
		for p := 1; p < 4; p++ {
			h := headerOf(t, s.frames[p])
			_, isSession := h["session"]
			if want := p == 1 && i > 0; isSession != want {
				t.Errorf("request %d position %d: header %v", i, p, h)
			}
		}
		if _, _, ok := net.layers[2].Session(); ok {
			t.Errorf("request %d: the last relay peeled a session frame", i)
		}
	}
	// The last relay and the destination get a fresh key every time.
	keys := map[string]bool{}
	for _, r := range reqs {
		for p := 2; p < 4; p++ {
			k := headerOf(t, r.frames[p])["ephemeral_key"].(string)
			if keys[k] {
				t.Errorf("ephemeral key %s seen twice", k)
			}
			keys[k] = true
		}
	}
	// Position 1's session frames share the session ID and count up.
	if a, b := headerOf(t, reqs[1].frames[1]), headerOf(t, reqs[2].frames[1]); a["session"] != b["session"] || a["counter"] == b["counter"] {
		t.Errorf("position 1 headers %v and %v", a, b)
	}
}

func TestSessionUnknown(t *testing.T) {
	for _, forget := range []int{0, 1} {
		t.Run(fmt.Sprintf("position %d", forget), func(t *testing.T) {
			c, net := newSessionPath(t, "unk")
			if _, _, err := c.send(net, []byte("open")); err != nil {
				t.Fatal(err)
			}
			c.nodes[forget].sessions = nil // a restart
			_, _, err := c.send(net, []byte("warm"))
			var re *RelayError
			if !errors.As(err, &re) || re.Hop != forget || !errors.Is(err, ErrSessionUnknown) {
				t.Fatalf("got %v, want session_unknown from hop %d", err, forget)
			}
		})
	}
}

// TestSessionUnknownForged checks that only the named hop's signature
// over the very session and counter of this request counts.
func TestSessionUnknownForged(t *testing.T) {
	c, net := newSessionPath(t, "forge")
	if _, _, err := c.send(net, []byte("open")); err != nil {
		t.Fatal(err)
	}
	other := newTestNode(t, "forger")
	s0, s1 := c.sessions[0], c.sessions[1]
	frame, st, err := BuildSessions(hops(c.nodes[:3]), Destination{Node: c.nodes[3].hop}, []byte("x"),
		[]SessionLayer{{Use: &s0, Counter: 7}, {Use: &s1, Counter: 7}})
	if err != nil {
		t.Fatal(err)
	}
	_ = frame
	genuine, _ := SessionUnknown(c.nodes[0].priv, s0.ID, 7)
	if _, _, err := OpenResponse(st, genuine); !errors.Is(err, ErrSessionUnknown) {
		t.Fatalf("genuine session_unknown: %v", err)
	}
	forged := func(b []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		resp []byte
	}{
		{"another node's key", forged(SessionUnknown(other.priv, s0.ID, 7))},
		{"hop 1 signing for hop 0", forged(SessionUnknown(c.nodes[1].priv, s0.ID, 7))},
		{"another counter (a replay)", forged(SessionUnknown(c.nodes[0].priv, s0.ID, 6))},
		{"another session", forged(SessionUnknown(c.nodes[0].priv, s1.ID, 7))},
		{"hop 1 unwrapped", forged(SessionUnknown(c.nodes[1].priv, s1.ID, 7))},
		{"a changed byte", flipBit(genuine, 8*100)},
		{"padding changed", append(bytes.Clone(genuine[:len(genuine)-1]), 'x')},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := OpenResponse(st, tc.resp)
			if !errors.Is(err, ErrResponseUndecryptable) {
				t.Fatalf("got %v, want ErrResponseUndecryptable", err)
			}
		})
	}
	// Hop 1's genuine one, wrapped by hop 0 as a relay does, counts.
	var r Responder
	r.ok, r.wrap = true, requestKeys(&s0, 7).wrap
	inner, _ := SessionUnknown(c.nodes[1].priv, s1.ID, 7)
	wrapped, _ := r.Wrap(inner)
	var re *RelayError
	if _, _, err := OpenResponse(st, wrapped); !errors.As(err, &re) || re.Hop != 1 || re.Code != CodeSessionUnknown {
		t.Fatalf("hop 1's session_unknown: %v", err)
	}
	// No node can seal one under its keys either.
	if _, err := r.Fail(CodeSessionUnknown); err == nil {
		t.Fatal("Fail sealed a session_unknown")
	}
}

func TestBuildSessionRules(t *testing.T) {
	nodes := path(t, "rules", 4)
	id := NewSessionID()
	s := Session{ID: id}
	tests := []struct {
		name  string
		relay int // relays in the path
		sess  []SessionLayer
	}{
		{"three session layers", 3, []SessionLayer{{}, {}, {Open: &id}}},
		{"session at the last relay", 2, []SessionLayer{{}, {Open: &id}}},
		{"session with no relay after it", 1, []SessionLayer{{Open: &id}}},
		{"open and use", 3, []SessionLayer{{Open: &id, Use: &s, Counter: 1}}},
		{"counter 0", 3, []SessionLayer{{Use: &s}}},
		{"counter past the limit", 3, []SessionLayer{{Use: &s, Counter: MaxSessionRequests + 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := BuildSessions(hops(nodes[:tc.relay]), Destination{Node: nodes[3].hop}, nil, tc.sess)
			if !errors.Is(err, ErrBadInstruction) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// TestSessionStrict feeds a node session members where they do not
// belong: in headers, and in decrypted control objects.
func TestSessionStrict(t *testing.T) {
	node := newTestNode(t, "strict")
	id := NewSessionID().String()
	eph := hex.EncodeToString(node.x.PublicKey().Bytes())
	dst := hex.EncodeToString(node.ed)
	headers := []struct {
		name, obj string
	}{
		{"session and ephemeral key", `{"counter":1,"ephemeral_key":"` + eph + `","hop":0,"session":"` + id + `","v":1}`},
		{"no counter", `{"hop":0,"session":"` + id + `","v":1}`},
		{"counter 0", `{"counter":0,"hop":0,"session":"` + id + `","v":1}`},
		{"counter too high", `{"counter":1025,"hop":0,"session":"` + id + `","v":1}`},
		{"fractional counter", `{"counter":1.0,"hop":0,"session":"` + id + `","v":1}`},
		{"exponent counter", `{"counter":1e1,"hop":0,"session":"` + id + `","v":1}`},
		{"string counter", `{"counter":"1","hop":0,"session":"` + id + `","v":1}`},
		{"null session", `{"counter":1,"hop":0,"session":null,"v":1}`},
		{"uppercase session", `{"counter":1,"hop":0,"session":"` + bytesUpper(id) + `","v":1}`},
		{"short session", `{"counter":1,"hop":0,"session":"` + id[:30] + `","v":1}`},
		{"session at hop 2", `{"counter":1,"hop":2,"session":"` + id + `","v":1}`},
		{"counter in a full frame", `{"counter":1,"ephemeral_key":"` + eph + `","hop":0,"v":1}`},
		{"extra key", `{"counter":1,"hop":0,"session":"` + id + `","v":1,"x":1}`},
	}
	for _, tc := range headers {
		t.Run("header/"+tc.name, func(t *testing.T) {
			frame := appendFrame(nil, make([]byte, 100), []byte(tc.obj))
			frame = append(frame, bytes.Repeat([]byte{' '}, SizeClasses[0]-len(frame))...)
			if _, _, _, err := FrameSession(frame); !errors.Is(err, ErrMalformedFrame) {
				t.Fatalf("FrameSession: %v", err)
			}
			if _, err := Peel(node.x, frame); !errors.Is(err, ErrMalformedFrame) {
				t.Fatalf("Peel: %v", err)
			}
		})
	}
	controls := []struct {
		name, obj string
		hop       int
	}{
		{"new_session at hop 2", `{"destination":"` + dst + `","ephemeral_key":"` + eph + `","new_session":"` + id + `"}`, 2},
		{"next session at hop 2", `{"counter":1,"destination":"` + dst + `","session":"` + id + `"}`, 1},
		{"session and ephemeral key", `{"counter":1,"destination":"` + dst + `","ephemeral_key":"` + eph + `","session":"` + id + `"}`, 0},
		{"session without counter", `{"destination":"` + dst + `","session":"` + id + `"}`, 0},
		{"counter without session", `{"counter":1,"destination":"` + dst + `","ephemeral_key":"` + eph + `"}`, 0},
		{"null new_session", `{"destination":"` + dst + `","ephemeral_key":"` + eph + `","new_session":null}`, 0},
		{"new_session on a destination", `{"headers":{},"new_session":"` + id + `"}`, 0},
		{"session on a destination", `{"counter":1,"headers":{},"session":"` + id + `"}`, 0},
		{"counter 0", `{"counter":0,"destination":"` + dst + `","session":"` + id + `"}`, 0},
	}
	for _, tc := range controls {
		t.Run("control/"+tc.name, func(t *testing.T) {
			frame := sealAtHop(t, node.x.PublicKey(), appendFrame(nil, []byte("inner"), []byte(tc.obj)), tc.hop)
			l, err := Peel(node.x, frame)
			if !errors.Is(err, ErrBadInstruction) || l == nil {
				t.Fatalf("got %v", err)
			}
			if _, ok := l.OpenedSession(); ok {
				t.Fatal("a refused layer opened a session")
			}
		})
	}
	// The accepted shapes, for contrast.
	for _, obj := range []string{
		`{"destination":"` + dst + `","ephemeral_key":"` + eph + `","hold":5,"new_session":"` + id + `"}`,
		`{"counter":1024,"destination":"` + dst + `","new_session":"` + id + `","session":"` + id + `"}`,
	} {
		frame := sealAtHop(t, node.x.PublicKey(), appendFrame(nil, []byte("inner"), []byte(obj)), 0)
		l, err := Peel(node.x, frame)
		if err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
		if s, ok := l.OpenedSession(); !ok || s.ID.String() != id {
			t.Fatalf("%s: no session opened", obj)
		}
	}
}

func bytesUpper(s string) string { return string(bytes.ToUpper([]byte(s))) }

// sealAtHop is sealLayer with the header's hop counter set.
func sealAtHop(t testing.TB, node *ecdh.PublicKey, plaintext []byte, hop int) []byte {
	t.Helper()
	eph, _ := ecdh.X25519().GenerateKey(rand.Reader)
	k, err := deriveKeys(eph, node, eph.PublicKey().Bytes(), node.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	header := marshalHeader(eph.PublicKey(), hop)
	ct, err := seal(&k.request, plaintext, SizeClasses[0]-4-len(header))
	if err != nil {
		t.Fatal(err)
	}
	return appendFrame(nil, ct, header)
}

// A session frame of a layer that would open another session, or not
// relay, is refused after decryption.
func TestPeelSessionRules(t *testing.T) {
	node := newTestNode(t, "psr")
	s := Session{ID: NewSessionID(), Key: SessionKey{1}}
	dst := hex.EncodeToString(node.ed)
	eph := hex.EncodeToString(node.x.PublicKey().Bytes())
	for _, obj := range []string{
		`{"destination":"` + dst + `","ephemeral_key":"` + eph + `","new_session":"` + s.ID.String() + `"}`,
		`{"headers":{}}`,
	} {
		frame := sessionFrame(t, &s, 3, 0, appendFrame(nil, []byte("inner"), []byte(obj)))
		if _, err := PeelSession(&s, frame); !errors.Is(err, ErrBadInstruction) {
			t.Errorf("%s: %v", obj, err)
		}
	}
	frame := sessionFrame(t, &s, 3, 0, appendFrame(nil, []byte("inner"), []byte(`{"destination":"`+dst+`","ephemeral_key":"`+eph+`"}`)))
	l, err := PeelSession(&s, frame)
	if err != nil {
		t.Fatal(err)
	}
	if id, c, ok := l.Session(); !ok || id != s.ID || c != 3 {
		t.Fatalf("Session() = %v %d %v", id, c, ok)
	}
	other := Session{ID: NewSessionID(), Key: s.Key}
	if _, err := PeelSession(&other, frame); !errors.Is(err, ErrMalformedFrame) {
		t.Fatalf("another session's frame: %v", err)
	}
	wrongKey := Session{ID: s.ID, Key: SessionKey{2}}
	if _, err := PeelSession(&wrongKey, frame); !errors.Is(err, ErrUndecryptable) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := Peel(node.x, frame); !errors.Is(err, ErrMalformedFrame) {
		t.Fatalf("Peel of a session frame: %v", err)
	}
}

// sessionFrame seals plaintext as a session frame of s at counter and hop.
func sessionFrame(t testing.TB, s *Session, counter uint64, hop int, plaintext []byte) []byte {
	t.Helper()
	header := marshalSessionHeader(s.ID, counter, hop)
	ct, err := seal(&requestKeys(s, counter).request, plaintext, SizeClasses[0]-4-len(header))
	if err != nil {
		t.Fatal(err)
	}
	return appendFrame(nil, ct, header)
}

// sessionVectorFile is testdata/sessions.json.
type sessionVectorFile struct {
	Comment string `json:"comment"`
	KDF     []struct {
		EphemeralPrivate string `json:"ephemeral_private"`
		NodePrivate      string `json:"node_private"`
		SessionID        string `json:"session_id"`
		Counter          uint64 `json:"counter"`
		SessionKey       string `json:"session_key"`
		Request          string `json:"request_key"`
		Response         string `json:"response_key"`
		Wrap             string `json:"wrap_key"`
	} `json:"kdf"`
	// Onions: an opening request and a warm one on the same path, in
	// order; frames and responses per position as in vectors.json.
	Onions  []onionVec `json:"onions"`
	Unknown []struct {
		Node      string `json:"node_label"`
		SessionID string `json:"session_id"`
		Counter   uint64 `json:"counter"`
		Response  string `json:"response"`
	} `json:"session_unknown"`
}

const sessionVectorsFile = "sessions.json"

func sessionKDFCase(i byte) (e, n *ecdh.PrivateKey, id SessionID, counter uint64, s Session, k *layerKeys) {
	e, _ = ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{i}, 32))
	n, _ = ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{i + 0x40}, 32))
	full, _ := deriveKeys(e, n.PublicKey(), e.PublicKey().Bytes(), n.PublicKey().Bytes())
	copy(id[:], bytes.Repeat([]byte{i + 0x80}, 16))
	counter = uint64(i) * 300
	s = Session{ID: id, Key: full.session}
	return e, n, id, counter, s, requestKeys(&s, counter)
}

// runSessionVectors opens sessions on a path and sends one warm request,
// under fixed randomness.
func runSessionVectors(t *testing.T) []onionVec {
	cryptotest.SetGlobalRandom(t, 24)
	labels := []string{"s-guard", "s-mid", "s-exit", "s-dest"}
	nodes := make([]*testNode, len(labels))
	for i, l := range labels {
		nodes[i] = newTestNode(t, l)
	}
	net := newTestNet(t, nodes...)
	c := &sessionClient{t: t, nodes: nodes}
	var out []onionVec
	for i, name := range []string{"open sessions", "warm request"} {
		net.layers, net.resps, net.frameLens, net.respLens = nil, nil, nil, nil
		payload := fmt.Appendf(nil, `{"method":"info","params":{},"n":%d}`, i)
		last := len(nodes) - 1
		frame, st, err := BuildSessions(hops(nodes[:last]), Destination{Node: nodes[last].hop}, payload, c.layers())
		if err != nil {
			t.Fatal(err)
		}
		resp := net.deliver(nodes[0], frame)
		status, body, err := OpenResponse(st, resp)
		if err != nil {
			t.Fatal(err)
		}
		if c.sessions == nil {
			for j := range 2 {
				s, _ := st.OpenedSession(j)
				c.sessions = append(c.sessions, s)
			}
		}
		v := onionVec{Name: name, Seed: 24, Nodes: labels, FailAt: -1, Payload: hex.EncodeToString(payload),
			Status: status, Body: hex.EncodeToString(body)}
		for p := range net.layers {
			f := frame
			if p > 0 {
				f, _ = net.layers[p-1].NextFrame()
			}
			v.Frames = append(v.Frames, hex.EncodeToString(f))
			v.Responses = append(v.Responses, hex.EncodeToString(net.resps[p]))
		}
		out = append(out, v)
	}
	return out
}

func TestSessionVectors(t *testing.T) {
	path := filepath.Join("testdata", sessionVectorsFile)
	if *update {
		f := sessionVectorFile{Comment: "protocol/onion session vectors (docs/onion.md); regenerate with go test ./protocol/onion -run TestSessionVectors -update"}
		for i := byte(1); i <= 3; i++ {
			e, n, id, counter, s, k := sessionKDFCase(i)
			f.KDF = append(f.KDF, struct {
				EphemeralPrivate string `json:"ephemeral_private"`
				NodePrivate      string `json:"node_private"`
				SessionID        string `json:"session_id"`
				Counter          uint64 `json:"counter"`
				SessionKey       string `json:"session_key"`
				Request          string `json:"request_key"`
				Response         string `json:"response_key"`
				Wrap             string `json:"wrap_key"`
			}{hex.EncodeToString(e.Bytes()), hex.EncodeToString(n.Bytes()), id.String(), counter,
				hex.EncodeToString(s.Key[:]), hex.EncodeToString(k.request[:]), hex.EncodeToString(k.response[:]), hex.EncodeToString(k.wrap[:])})
		}
		f.Onions = runSessionVectors(t)
		for _, l := range []string{"s-guard", "s-mid"} {
			node := newTestNode(t, l)
			id := SessionID{0xaa, byte(len(l))}
			resp, err := SessionUnknown(node.priv, id, 5)
			if err != nil {
				t.Fatal(err)
			}
			f.Unknown = append(f.Unknown, struct {
				Node      string `json:"node_label"`
				SessionID string `json:"session_id"`
				Counter   uint64 `json:"counter"`
				Response  string `json:"response"`
			}{l, id.String(), 5, hex.EncodeToString(resp)})
		}
		b, err := json.MarshalIndent(f, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f sessionVectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.KDF) != 3 || len(f.Onions) != 2 || len(f.Unknown) != 2 {
		t.Fatalf("%s is incomplete", path)
	}
	for i, want := range f.KDF {
		_, _, id, counter, s, k := sessionKDFCase(byte(i + 1))
		if id.String() != want.SessionID || counter != want.Counter || hex.EncodeToString(s.Key[:]) != want.SessionKey ||
			hex.EncodeToString(k.request[:]) != want.Request || hex.EncodeToString(k.response[:]) != want.Response ||
			hex.EncodeToString(k.wrap[:]) != want.Wrap {
			t.Errorf("kdf %d differs", i)
		}
	}
	checkSessionVectors(t, f.Onions)
	for _, u := range f.Unknown {
		node := newTestNode(t, u.Node)
		var id SessionID
		hex.Decode(id[:], []byte(u.SessionID))
		got, _ := SessionUnknown(node.priv, id, u.Counter)
		if hex.EncodeToString(got) != u.Response {
			t.Errorf("session_unknown of %s differs", u.Node)
		}
		ls := layerSession{used: true, id: id, counter: u.Counter, hop: node.ed}
		if !isSessionUnknown(got, &ls) {
			t.Errorf("session_unknown of %s does not verify", u.Node)
		}
	}
	got := runSessionVectors(t)
	for i := range got {
		if !equalVec(got[i], f.Onions[i]) {
			t.Errorf("regenerated %q differs from testdata (run with -update after checking why)", got[i].Name)
		}
	}
}

// checkSessionVectors replays the stored frames without randomness: the
// opening request's layers open the sessions the warm request's frames
// then peel with, every next frame and wrap is reproduced, and the
// client's keys (the nodes') open both answers.
func checkSessionVectors(t *testing.T, vs []onionVec) {
	dec := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sessions := map[string]Session{}
	for _, v := range vs {
		st := &ClientState{}
		for i, label := range v.Nodes {
			node := newTestNode(t, label)
			frame := dec(v.Frames[i])
			var l *Layer
			id, _, isSession, err := FrameSession(frame)
			if err != nil {
				t.Fatal(err)
			}
			if isSession {
				s := sessions[label]
				if s.ID != id {
					t.Fatalf("%s position %d: frame of an unknown session", v.Name, i)
				}
				l, err = PeelSession(&s, frame)
			} else {
				l, err = Peel(node.x, frame)
			}
			if err != nil {
				t.Fatalf("%s position %d: %v", v.Name, i, err)
			}
			if s, ok := l.OpenedSession(); ok {
				sessions[label] = s
			}
			if isSession != (v.Name == "warm request" && i < 2) {
				t.Errorf("%s position %d: session frame %v", v.Name, i, isSession)
			}
			st.keys = append(st.keys, &layerKeys{response: l.Responder.response, wrap: l.Responder.wrap})
			if l.Instruction.Kind == KindDestination {
				if !bytes.Equal(l.Inner, dec(v.Payload)) {
					t.Errorf("destination got %q", l.Inner)
				}
				continue
			}
			next, err := l.NextFrame()
			if err != nil || !bytes.Equal(next, dec(v.Frames[i+1])) {
				t.Errorf("%s position %d: next frame differs (%v)", v.Name, i, err)
			}
			wrapped, err := l.Responder.Wrap(dec(v.Responses[i+1]))
			if err != nil || !bytes.Equal(wrapped, dec(v.Responses[i])) {
				t.Errorf("%s position %d: wrap differs (%v)", v.Name, i, err)
			}
		}
		status, body, err := OpenResponse(st, dec(v.Responses[0]))
		if err != nil || status != v.Status || hex.EncodeToString(body) != v.Body {
			t.Errorf("%s response: %d %x %v", v.Name, status, body, err)
		}
	}
	if len(sessions) != 2 {
		t.Errorf("%d sessions opened, want 2", len(sessions))
	}
}

// TestSessionShapesHidden: the last relay and the destination receive
// frames of one layout (blob and header lengths, so padding too) whether
// the request is full or uses sessions, at any counter: nothing in a
// frame's sizes tells them a request's session state or how far into a
// session it is. (An opening request is longer by its new_session
// members, docs/onion.md.)
func TestSessionShapesHidden(t *testing.T) {
	c, net := newSessionPath(t, "shape")
	type layout struct{ blob, header, frame int }
	at := func(p int) layout {
		f, err := net.layers[p-1].NextFrame()
		if err != nil {
			t.Fatal(err)
		}
		blob, obj, err := DecodeFrame(f)
		if err != nil {
			t.Fatal(err)
		}
		return layout{len(blob), len(obj), len(f)}
	}
	payload := []byte("the same payload each time")
	var want [4]layout
	for i, kind := range []string{"full", "opening", "warm 1", "warm 9", "warm 10", "warm 999", "warm 1024"} {
		if kind == "opening" {
			// Sent for its sessions; its layout is checked below.
			net.layers, net.resps, net.frameLens, net.respLens = nil, nil, nil, nil
			if _, _, err := c.send(net, payload); err != nil {
				t.Fatal(err)
			}
			for p := 2; p < 4; p++ {
				if got := at(p); got.blob != want[p].blob-2*len(`,"new_session":""`)-4*len(SessionID{}) || got.header != want[p].header {
					t.Errorf("opening: position %d receives %+v, a full request %+v", p, got, want[p])
				}
			}
			continue
		}
		net.layers, net.resps, net.frameLens, net.respLens = nil, nil, nil, nil
		if kind == "full" {
			last := len(c.nodes) - 1
			frame, st, err := Build(hops(c.nodes[:last]), Destination{Node: c.nodes[last].hop}, payload)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := OpenResponse(st, net.deliver(c.nodes[0], frame)); err != nil {
				t.Fatal(err)
			}
		} else {
			var n uint64
			fmt.Sscanf(kind, "warm %d", &n)
			if n > 0 {
				c.counter = n - 1
			}
			if _, _, err := c.send(net, payload); err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
			if _, _, warm := net.layers[0].Session(); warm != (n > 0) {
				t.Fatalf("%s: the guard peeled a session frame: %v", kind, warm)
			}
		}
		for p := 2; p < 4; p++ {
			got := at(p)
			if i == 0 {
				want[p] = got
			} else if got != want[p] {
				t.Errorf("%s: position %d receives %+v, a full request %+v", kind, p, got, want[p])
			}
		}
	}
}
