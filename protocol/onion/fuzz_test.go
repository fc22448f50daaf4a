package onion

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// vectorFrames returns the frames of testdata/vectors.json that the node
// labelled label receives, so fuzz seeds are real, fixed frames.
func vectorFrames(tb testing.TB, label string) [][]byte {
	b, err := os.ReadFile(filepath.Join("testdata", vectorsFile))
	if err != nil {
		tb.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, v := range f.Onions {
		for i, l := range v.Nodes {
			if l == label && i < len(v.Frames) {
				fr, _ := hex.DecodeString(v.Frames[i])
				out = append(out, fr)
			}
		}
	}
	if len(out) == 0 {
		tb.Fatalf("no vector frames for %q", label)
	}
	return out
}

func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range vectorFrames(f, "v-mid") {
		f.Add(fr)
	}
	f.Add(frameOf([]byte{1, 2}, `{"headers":{"a":"b"}}`))
	f.Add(frameOf(nil, `{"a":[{"b":1},{"b":2}]}  `))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		blob, obj, err := DecodeFrame(data)
		if err != nil {
			if blob != nil || obj != nil {
				t.Fatal("parts returned with an error")
			}
			return
		}
		re, err := EncodeFrame(blob, obj)
		if err != nil {
			t.Fatalf("decoded frame does not re-encode: %v", err)
		}
		if !bytes.Equal(re, bytes.TrimRight(data, " ")) {
			t.Fatal("re-encoding differs beyond the padding")
		}
		var m map[string]any
		if err := json.Unmarshal(obj, &m); err != nil {
			t.Fatalf("accepted json that encoding/json rejects: %v", err)
		}
	})
}

// FuzzPeel feeds whole frames to a node whose key is known (the guard of
// the stored vectors), seeded with real frames for it.
func FuzzPeel(f *testing.F) {
	node := newTestNode(f, "v-guard")
	for _, fr := range vectorFrames(f, "v-guard") {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		checkPeel(t, node, frame)
	})
}

func checkPeel(t *testing.T, node *testNode, frame []byte) {
	l, err := Peel(node.x, frame)
	if err != nil {
		if l != nil && !errors.Is(err, ErrBadInstruction) {
			t.Fatalf("a layer returned with %v", err)
		}
		if l != nil {
			if _, err := l.Responder.Fail(CodeBadInstruction); err != nil {
				t.Fatalf("cannot answer a bad instruction: %v", err)
			}
		}
		return
	}
	in := l.Instruction
	if err := in.validate(); err != nil {
		t.Fatalf("peeled an invalid instruction: %v", err)
	}
	if in.Hold < 0 || in.Hold > MaxHold || in.Hold%time.Millisecond != 0 {
		t.Fatalf("peeled hold %v", in.Hold)
	}
	// The instruction survives a trip through its wire form.
	obj, err := in.marshal()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := objectKeys(obj)
	if err != nil {
		t.Fatal(err)
	}
	again, err := parseInstruction(obj, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Headers) == 0 && len(again.Headers) == 0 {
		in.Headers, again.Headers = nil, nil
	}
	if !reflect.DeepEqual(in, again) {
		t.Fatalf("instruction changed on re-encoding: %+v vs %+v", in, again)
	}
	switch in.Kind {
	case KindRelay, KindServer:
		next, err := l.NextFrame()
		if err != nil || len(next) != len(frame) {
			t.Fatalf("next frame: %d bytes, %v", len(next), err)
		}
	case KindDestination:
		if _, err := l.Responder.Seal(200, l.Inner); err != nil && !errors.Is(err, ErrOversize) {
			t.Fatal(err)
		}
	}
}

// FuzzPeelPlaintext fuzzes the decrypted side of a layer: each input is
// sealed to the known node as a layer plaintext, so mutations reach the
// inner frame and instruction parser that the AEAD shields in FuzzPeel.
// Seeds are the plaintexts of the real frames.
func FuzzPeelPlaintext(f *testing.F) {
	node := newTestNode(f, "v-guard")
	for _, fr := range vectorFrames(f, "v-guard") {
		l, err := Peel(node.x, fr)
		if err != nil {
			f.Fatal(err)
		}
		ctrl, err := l.Instruction.marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(appendFrame(nil, l.Inner, ctrl))
	}
	f.Add(appendFrame(nil, []byte("body"), []byte(`{"headers":{}}`)))
	f.Add(appendFrame(nil, []byte("body"), []byte(`{"headers":{},"hold":25000}`)))
	f.Add(appendFrame(nil, []byte("body"), []byte(`{"headers":{},"hold":1.0}`)))
	f.Add(appendFrame(nil, nil, []byte(`{"ephemeral_key":"`+hex.EncodeToString(node.x.PublicKey().Bytes())+
		`","host":"a.b","method":"GET","port":1,"protocol":"http","target":"/"}`)))
	// Session members (docs/onion.md): opening one, and a next session frame.
	dst, sid := hex.EncodeToString(node.ed), NewSessionID().String()
	f.Add(appendFrame(nil, []byte("in"), []byte(`{"destination":"`+dst+`","ephemeral_key":"`+
		hex.EncodeToString(node.x.PublicKey().Bytes())+`","hold":3,"new_session":"`+sid+`"}`)))
	f.Add(appendFrame(nil, []byte("in"), []byte(`{"counter":17,"destination":"`+dst+`","new_session":"`+sid+`","session":"`+sid+`"}`)))
	f.Fuzz(func(t *testing.T, plaintext []byte) {
		class, ok := sizeClass(len(plaintext) + 1 + sealOver + 4 + headerLen)
		if !ok {
			return
		}
		frame, _ := sealLayer(t, node.x.PublicKey(), plaintext, class)
		checkPeel(t, node, frame)
	})
}

// FuzzOpenResponse checks that no input but a real response opens, and
// that nothing panics, with the state of a real request.
func FuzzOpenResponse(f *testing.F) {
	nodes := []*testNode{newTestNode(f, "fz-a"), newTestNode(f, "fz-b")}
	frame, st, err := Build(hops(nodes[:1]), Destination{Node: nodes[1].hop}, []byte("q"))
	if err != nil {
		f.Fatal(err)
	}
	l0, _ := Peel(nodes[0].x, frame)
	next, _ := l0.NextFrame()
	l1, _ := Peel(nodes[1].x, next)
	inner, _ := l1.Responder.Seal(200, []byte("ok"))
	resp, _ := l0.Responder.Wrap(inner)
	f.Add(resp)
	f.Add(inner)
	f.Add(make([]byte, SizeClasses[0]))
	f.Fuzz(func(t *testing.T, b []byte) {
		status, body, err := OpenResponse(st, b)
		if err == nil && (!bytes.Equal(b, resp) || status != 200 || string(body) != "ok") {
			t.Fatalf("opened a forged response: %d %q", status, body)
		}
	})
}

// sessionVectorFrames returns the stored warm request's session frames
// for position p, with the session they belong to.
func sessionFixture(tb testing.TB) (guard *testNode, s Session, frames [][]byte) {
	b, err := os.ReadFile(filepath.Join("testdata", sessionVectorsFile))
	if err != nil {
		tb.Fatal(err)
	}
	var f sessionVectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatal(err)
	}
	guard = newTestNode(tb, "s-guard")
	open, _ := hex.DecodeString(f.Onions[0].Frames[0])
	l, err := Peel(guard.x, open)
	if err != nil {
		tb.Fatal(err)
	}
	s, _ = l.OpenedSession()
	warm, _ := hex.DecodeString(f.Onions[1].Frames[0])
	return guard, s, [][]byte{warm, open}
}

// FuzzPeelSession feeds whole frames to a node holding the session of
// the stored vectors, seeded with its real session frame: only frames of
// that session may open, and what opens obeys the session rules.
func FuzzPeelSession(f *testing.F) {
	_, s, frames := sessionFixture(f)
	for _, fr := range frames {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		id, counter, ok, err := FrameSession(frame)
		l, perr := PeelSession(&s, frame)
		if err != nil || !ok || id != s.ID {
			if l != nil || perr == nil {
				t.Fatalf("peeled a frame whose header is not this session's (%v)", err)
			}
			return
		}
		if perr != nil {
			if l != nil && !errors.Is(perr, ErrBadInstruction) {
				t.Fatalf("a layer returned with %v", perr)
			}
			return
		}
		if gid, gc, gok := l.Session(); !gok || gid != id || gc != counter || counter < 1 || counter > MaxSessionRequests {
			t.Fatalf("Session() = %v %d %v", gid, gc, gok)
		}
		in := l.Instruction
		if in.Kind != KindRelay || in.NewSession != nil || l.Hop() > MaxSessionHop {
			t.Fatalf("a session layer of kind %v at hop %d", in.Kind, l.Hop())
		}
		if next, err := l.NextFrame(); err != nil || len(next) != len(frame) {
			t.Fatalf("next frame: %d bytes, %v", len(next), err)
		}
	})
}

// FuzzSessionUnknown checks that nothing but the named hop's signed
// session_unknown for this request's session and counter reads as one,
// and that nothing panics, with the state of a real warm request.
func FuzzSessionUnknown(f *testing.F) {
	nodes := path(f, "fzu", 4)
	// Fixed IDs: fuzz workers rebuild this state, and the seeds must match it.
	s0 := Session{ID: SessionID{0xa0}, Key: SessionKey{1}}
	s1 := Session{ID: SessionID{0xa1}, Key: SessionKey{2}}
	_, st, err := BuildSessions(hops(nodes[:3]), Destination{Node: nodes[3].hop}, []byte("q"),
		[]SessionLayer{{Use: &s0, Counter: 9}, {Use: &s1, Counter: 9}})
	if err != nil {
		f.Fatal(err)
	}
	genuine, _ := SessionUnknown(nodes[0].priv, s0.ID, 9)
	f.Add(genuine)
	other, _ := SessionUnknown(nodes[0].priv, s0.ID, 8)
	f.Add(other)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, err := OpenResponse(st, b)
		var re *RelayError
		if errors.As(err, &re) && re.Code == CodeSessionUnknown {
			// Hop 1's can only arrive wrapped by hop 0, which the fuzzer
			// cannot produce without the wrap key; hop 0's must be exact.
			if re.Hop != 0 || !bytes.Equal(b, genuine) {
				t.Fatalf("accepted a forged session_unknown from hop %d", re.Hop)
			}
		}
	})
}
