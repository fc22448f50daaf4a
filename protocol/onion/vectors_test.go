package onion

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"testing/cryptotest"
	"time"
)

var update = flag.Bool("update", false, "rewrite the vectors in testdata/")

const vectorsFile = "vectors.json"

// vectorFile is testdata/vectors.json: key-schedule vectors and whole onion
// round trips, all hex.
type vectorFile struct {
	Comment string      `json:"comment"`
	KDF     []kdfVector `json:"kdf"`
	Onions  []onionVec  `json:"onions"`
}

type kdfVector struct {
	EphemeralPrivate string `json:"ephemeral_private"`
	NodePrivate      string `json:"node_private"`
	Request          string `json:"request_key"`
	Response         string `json:"response_key"`
	Wrap             string `json:"wrap_key"`
}

type onionVec struct {
	Name     string        `json:"name"`
	Seed     uint64        `json:"random_seed"`
	Nodes    []string      `json:"node_labels"` // test node labels, path order
	Server   *ServerTarget `json:"server,omitempty"`
	FailAt   int           `json:"fail_at"`
	FailCode ErrorCode     `json:"fail_code,omitempty"`
	HoldMs   int64         `json:"hold_ms,omitempty"` // Destination.Hold: in every layer
	Payload  string        `json:"payload"`
	// Frames[i] is the frame position i received; Responses[i] what it sent back.
	Frames    []string `json:"frames"`
	Responses []string `json:"responses"`
	Status    int      `json:"status"`
	Body      string   `json:"body"`
}

var onionCases = []onionVec{
	{Name: "direct", Seed: 1, Nodes: []string{"v-dest"}, FailAt: -1, Payload: hex.EncodeToString([]byte(`{"method":"info","params":{}}`))},
	{Name: "path of 4", Seed: 2, Nodes: []string{"v-guard", "v-mid", "v-exit", "v-dest"}, FailAt: -1,
		Payload: hex.EncodeToString([]byte(`{"method":"retrieve","params":{"namespace":0}}`))},
	{Name: "steward server", Seed: 3, Nodes: []string{"v-guard", "v-mid", "v-exit", "v-server"}, FailAt: -1,
		Server:  &ServerTarget{Host: "files.hush.test", Port: 443, Protocol: "https", Target: "/file", Method: "POST"},
		Payload: hex.EncodeToString([]byte("ciphertext of an attachment"))},
	{Name: "timeout at position 2", Seed: 4, Nodes: []string{"v-guard", "v-mid", "v-exit", "v-dest"}, FailAt: 2, FailCode: CodeTimeout,
		Payload: hex.EncodeToString([]byte(`{"method":"info","params":{}}`))},
	// Fast mode: "hold" in the relay and destination control objects.
	{Name: "path of 4 held", Seed: 5, Nodes: []string{"v-guard", "v-mid", "v-exit", "v-dest"}, FailAt: -1, HoldMs: 28000,
		Payload: hex.EncodeToString([]byte(`{"method":"retrieve","params":{"namespace":0,"wait":25000}}`))},
	{Name: "direct held", Seed: 6, Nodes: []string{"v-dest"}, FailAt: -1, HoldMs: 30000,
		Payload: hex.EncodeToString([]byte(`{"method":"retrieve","params":{"namespace":0,"wait":1}}`))},
	{Name: "timeout of a held request at position 1", Seed: 7, Nodes: []string{"v-guard", "v-mid", "v-exit", "v-dest"}, FailAt: 1,
		FailCode: CodeTimeout, HoldMs: 1,
		Payload: hex.EncodeToString([]byte(`{"method":"retrieve","params":{"namespace":0,"wait":1}}`))},
}

// runVector builds and routes v under fixed randomness.
func runVector(t *testing.T, v onionVec) onionVec {
	cryptotest.SetGlobalRandom(t, v.Seed)
	nodes := make([]*testNode, len(v.Nodes))
	for i, l := range v.Nodes {
		nodes[i] = newTestNode(t, l)
	}
	last := len(nodes) - 1
	dest := Destination{Node: nodes[last].hop, Server: v.Server, Hold: time.Duration(v.HoldMs) * time.Millisecond}
	net := newTestNet(t, nodes[:last]...)
	if v.Server != nil {
		net.server = nodes[last]
		dest.Node.Ed25519 = nil
	} else {
		net.byEd[hex.EncodeToString(nodes[last].ed)] = nodes[last]
	}
	net.failAt, net.failCode = v.FailAt, v.FailCode
	payload, _ := hex.DecodeString(v.Payload)
	frame, st, err := Build(hops(nodes[:last]), dest, payload)
	if err != nil {
		t.Fatal(err)
	}
	resp := net.deliver(nodes[0], frame)
	status, body, err := OpenResponse(st, resp)
	if v.FailAt < 0 && err != nil {
		t.Fatal(err)
	}
	out := v
	out.Status, out.Body = status, hex.EncodeToString(body)
	out.Frames, out.Responses = nil, nil
	for i := range net.layers {
		if i == 0 {
			out.Frames = append(out.Frames, hex.EncodeToString(frame))
		} else {
			f, _ := net.layers[i-1].NextFrame()
			out.Frames = append(out.Frames, hex.EncodeToString(f))
		}
		out.Responses = append(out.Responses, hex.EncodeToString(net.resps[i]))
	}
	return out
}

func kdfCase(i byte) kdfVector {
	e, _ := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{i}, 32))
	n, _ := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{i + 0x40}, 32))
	k, _ := deriveKeys(e, n.PublicKey(), e.PublicKey().Bytes(), n.PublicKey().Bytes())
	return kdfVector{hex.EncodeToString(e.Bytes()), hex.EncodeToString(n.Bytes()),
		hex.EncodeToString(k.request[:]), hex.EncodeToString(k.response[:]), hex.EncodeToString(k.wrap[:])}
}

func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", vectorsFile)
	if *update {
		f := vectorFile{Comment: "protocol/onion v1 vectors; regenerate with go test ./protocol/onion -run TestVectors -update"}
		for i := byte(1); i <= 3; i++ {
			f.KDF = append(f.KDF, kdfCase(i))
		}
		for _, v := range onionCases {
			f.Onions = append(f.Onions, runVector(t, v))
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
	var f vectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.KDF) == 0 || len(f.Onions) != len(onionCases) {
		t.Fatalf("%s holds %d kdf and %d onion vectors", path, len(f.KDF), len(f.Onions))
	}

	for i, want := range f.KDF {
		if got := kdfCase(byte(i + 1)); got != want {
			t.Errorf("kdf %d: got %+v, want %+v", i, got, want)
		}
	}
	for _, v := range f.Onions {
		t.Run(v.Name, func(t *testing.T) {
			checkVector(t, v)
			// Go documents that its use of randomness may change; if this
			// fails after a Go upgrade while checkVector passes, regenerate.
			got := runVector(t, v)
			if !equalVec(got, v) {
				t.Error("regenerated vector differs from testdata (run with -update after checking why)")
			}
		})
	}
}

func equalVec(a, b onionVec) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// checkVector verifies a stored vector without any randomness: each node
// peels its frame into the next one, the relays' wraps reproduce the
// responses, and the client's keys (the same the nodes derive) open it.
func checkVector(t *testing.T, v onionVec) {
	t.Helper()
	dec := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	st := &ClientState{}
	for i, label := range v.Nodes {
		node := newTestNode(t, label)
		frame := dec(v.Frames[i])
		if !isSizeClass(len(frame)) || len(frame) != len(dec(v.Frames[0])) {
			t.Errorf("frame %d is %d bytes", i, len(frame))
		}
		l, err := Peel(node.x, frame)
		if err != nil {
			t.Fatalf("position %d: %v", i, err)
		}
		st.keys = append(st.keys, &layerKeys{response: l.Responder.response, wrap: l.Responder.wrap})
		if want := time.Duration(v.HoldMs) * time.Millisecond; l.Instruction.Hold != want {
			t.Errorf("position %d: hold %v, want %v", i, l.Instruction.Hold, want)
		}
		if i == v.FailAt {
			break
		}
		switch l.Instruction.Kind {
		case KindDestination:
			if !bytes.Equal(l.Inner, dec(v.Payload)) {
				t.Errorf("destination got %q", l.Inner)
			}
		default:
			next, err := l.NextFrame()
			if err != nil || !bytes.Equal(next, dec(v.Frames[i+1])) {
				t.Errorf("position %d: next frame differs (%v)", i, err)
			}
			wrapped, err := l.Responder.Wrap(dec(v.Responses[i+1]))
			if err != nil || !bytes.Equal(wrapped, dec(v.Responses[i])) {
				t.Errorf("position %d: wrap differs (%v)", i, err)
			}
		}
	}
	status, body, err := OpenResponse(st, dec(v.Responses[0]))
	if v.FailAt >= 0 {
		re, ok := err.(*RelayError)
		if !ok || re.Hop != v.FailAt || re.Code != v.FailCode {
			t.Errorf("got %v, want a %s failure at hop %d", err, v.FailCode, v.FailAt)
		}
		return
	}
	if err != nil || status != v.Status || hex.EncodeToString(body) != v.Body {
		t.Errorf("response: %d %x %v", status, body, err)
	}
}
