package onion

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// testNode is a node with real keys, derived from a label so that vectors
// stay stable.
type testNode struct {
	ed   ed25519.PublicKey
	priv ed25519.PrivateKey
	x    *ecdh.PrivateKey
	hop  Hop
	// sessions are the sessions this node opened, as a relay keeps them;
	// nil until the first.
	sessions map[SessionID]Session
}

func newTestNode(t testing.TB, label string) *testNode {
	t.Helper()
	seed := sha256.Sum256([]byte("hush onion test node " + label))
	edPriv := ed25519.NewKeyFromSeed(seed[:])
	xs := sha256.Sum256(append(seed[:], 'x'))
	x, err := ecdh.X25519().NewPrivateKey(xs[:])
	if err != nil {
		t.Fatal(err)
	}
	ed := edPriv.Public().(ed25519.PublicKey)
	return &testNode{ed: ed, priv: edPriv, x: x, hop: Hop{Ed25519: ed, X25519: x.PublicKey()}}
}

// testNet routes frames between test nodes the way internal/relay will:
// peel, then forward, answer or fail.
type testNet struct {
	t       testing.TB
	byEd    map[string]*testNode
	server  *testNode // steward server, reached by KindServer
	handler func(in Instruction, body []byte) (int, []byte)

	// failAt makes the node at this position (0 = first to receive the
	// frame) fail with failCode instead of acting.
	failAt   int
	failCode ErrorCode

	// Observations, by position along the path.
	frameLens []int
	respLens  []int
	resps     [][]byte // the response each position sent back
	layers    []*Layer
}

func newTestNet(t testing.TB, nodes ...*testNode) *testNet {
	n := &testNet{t: t, byEd: map[string]*testNode{}, failAt: -1}
	for _, nd := range nodes {
		n.byEd[hex.EncodeToString(nd.ed)] = nd
	}
	n.handler = func(in Instruction, body []byte) (int, []byte) {
		return 200, append([]byte("echo:"), body...)
	}
	return n
}

func (n *testNet) deliver(to *testNode, frame []byte) []byte {
	n.t.Helper()
	pos := len(n.frameLens)
	n.frameLens = append(n.frameLens, len(frame))
	n.resps = append(n.resps, nil)
	n.respLens = append(n.respLens, 0)
	id, counter, isSession, err := FrameSession(frame)
	if err != nil {
		n.t.Fatalf("position %d: header: %v", pos, err)
	}
	var l *Layer
	if isSession {
		s, ok := to.sessions[id]
		if !ok {
			resp, err := SessionUnknown(to.priv, id, counter)
			if err != nil {
				n.t.Fatal(err)
			}
			n.layers = append(n.layers, nil)
			n.resps[pos], n.respLens[pos] = resp, len(resp)
			return resp
		}
		l, err = PeelSession(&s, frame)
	} else {
		l, err = Peel(to.x, frame)
	}
	if err != nil {
		n.t.Fatalf("position %d: peel: %v", pos, err)
	}
	if s, ok := l.OpenedSession(); ok {
		if to.sessions == nil {
			to.sessions = map[SessionID]Session{}
		}
		to.sessions[s.ID] = s
	}
	n.layers = append(n.layers, l)
	var resp []byte
	switch {
	case pos == n.failAt:
		resp, err = l.Responder.Fail(n.failCode)
	case l.Instruction.Kind == KindDestination:
		st, body := n.handler(l.Instruction, l.Inner)
		resp, err = l.Responder.Seal(st, body)
	case l.Instruction.Kind == KindRelay || l.Instruction.Kind == KindServer:
		next := n.server
		if l.Instruction.Kind == KindRelay {
			next = n.byEd[hex.EncodeToString(l.Instruction.Next)]
		}
		if next == nil {
			resp, err = l.Responder.Fail(CodeNextNodeNotFound)
			break
		}
		nf, err2 := l.NextFrame()
		if err2 != nil {
			n.t.Fatalf("position %d: next frame: %v", pos, err2)
		}
		resp, err = l.Responder.Wrap(n.deliver(next, nf))
	default:
		n.t.Fatalf("position %d: kind %v", pos, l.Instruction.Kind)
	}
	if err != nil {
		n.t.Fatalf("position %d: respond: %v", pos, err)
	}
	n.resps[pos], n.respLens[pos] = resp, len(resp)
	return resp
}

// path returns count fresh nodes named by prefix.
func path(t testing.TB, prefix string, count int) []*testNode {
	nodes := make([]*testNode, count)
	for i := range nodes {
		nodes[i] = newTestNode(t, fmt.Sprintf("%s-%d", prefix, i))
	}
	return nodes
}

func hops(nodes []*testNode) []Hop {
	h := make([]Hop, len(nodes))
	for i, nd := range nodes {
		h[i] = nd.hop
	}
	return h
}

// sealLayer builds a one-layer frame of class size for node around an
// arbitrary plaintext (already including its padding marker or not), so
// tests can reach the instruction parser with contents Build never makes.
func sealLayer(t testing.TB, node *ecdh.PublicKey, plaintext []byte, class int) ([]byte, *ClientState) {
	t.Helper()
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := deriveKeys(eph, node, eph.PublicKey().Bytes(), node.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	header := marshalHeader(eph.PublicKey(), 0)
	ctLen := class - 4 - len(header)
	// seal adds the 0x80 marker itself; strip it again when the test wants
	// raw control over the padded plaintext.
	ct, err := seal(&k.request, plaintext, ctLen)
	if err != nil {
		t.Fatal(err)
	}
	return appendFrame(nil, ct, header), &ClientState{keys: []*layerKeys{k}}
}

// sealRaw is sealLayer without seal's padding: plaintext must be exactly
// the size the class leaves for it.
func sealRaw(t testing.TB, node *ecdh.PublicKey, plaintext []byte) []byte {
	t.Helper()
	eph, _ := ecdh.X25519().GenerateKey(rand.Reader)
	k, _ := deriveKeys(eph, node, eph.PublicKey().Bytes(), node.Bytes())
	aead, _ := chacha20poly1305.NewX(k.request[:])
	nonce := make([]byte, nonceSize)
	ct := aead.Seal(nonce, nonce, plaintext, nil)
	return appendFrame(nil, ct, marshalHeader(eph.PublicKey(), 0))
}

func flipBit(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i/8] ^= 1 << (i % 8)
	return c
}
