package onion

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/replay"
)

func TestRoundTrip(t *testing.T) {
	payloads := map[string][]byte{
		"empty": nil,
		"text":  []byte("hello"),
		"1KiB":  bytes.Repeat([]byte{'a'}, 1024),
		"100KB": bytes.Repeat([]byte{'b'}, 100_000),
	}
	for layers := 1; layers <= MaxLayers; layers++ {
		for _, name := range slices.Sorted(maps.Keys(payloads)) {
			payload := payloads[name]
			t.Run(fmt.Sprintf("layers=%d/%s", layers, name), func(t *testing.T) {
				nodes := path(t, "rt", layers)
				net := newTestNet(t, nodes...)
				dest := Destination{Node: nodes[layers-1].hop, Headers: map[string]string{"X-Test": "1"}}
				frame, st, err := Build(hops(nodes[:layers-1]), dest, payload)
				if err != nil {
					t.Fatal(err)
				}
				if st.Layers() != layers {
					t.Errorf("state has %d layers, want %d", st.Layers(), layers)
				}
				resp := net.deliver(nodes[0], frame)
				status, body, err := OpenResponse(st, resp)
				if err != nil {
					t.Fatal(err)
				}
				if want := append([]byte("echo:"), payload...); status != 200 || !bytes.Equal(body, want) {
					t.Errorf("got %d %q…, want 200 echo", status, body[:min(len(body), 16)])
				}
				last := net.layers[layers-1]
				if !bytes.Equal(last.Inner, payload) || last.Instruction.Headers["X-Test"] != "1" {
					t.Errorf("destination saw %d bytes, headers %v", len(last.Inner), last.Instruction.Headers)
				}
				for i, l := range net.layers {
					if l.Hop() != i {
						t.Errorf("position %d has hop %d", i, l.Hop())
					}
				}
				// Every hop sees the same class on the way in and on the way out.
				for i, n := range net.frameLens {
					if n != len(frame) || !isSizeClass(n) {
						t.Errorf("position %d saw a %d-byte frame, guard %d", i, n, len(frame))
					}
				}
				for i, n := range net.respLens {
					if n != len(resp) || !isSizeClass(n) {
						t.Errorf("position %d sent a %d-byte response, guard %d", i, n, len(resp))
					}
				}
			})
		}
	}
}

func TestServerDestination(t *testing.T) {
	nodes := path(t, "srv", 3)
	server := newTestNode(t, "steward")
	net := newTestNet(t, nodes...)
	net.server = server
	target := ServerTarget{Host: "files.hush.test", Port: 8443, Protocol: "https", Target: "/file/abc", Method: "POST"}
	frame, st, err := Build(hops(nodes), Destination{Node: Hop{X25519: server.x.PublicKey()}, Server: &target}, []byte("upload"))
	if err != nil {
		t.Fatal(err)
	}
	resp := net.deliver(nodes[0], frame)
	status, body, err := OpenResponse(st, resp)
	if err != nil || status != 200 || string(body) != "echo:upload" {
		t.Fatalf("got %d %q %v", status, body, err)
	}
	exit := net.layers[2]
	if exit.Instruction.Kind != KindServer || exit.Instruction.Server != target {
		t.Errorf("exit node got %v %+v", exit.Instruction.Kind, exit.Instruction.Server)
	}
	if bytes.Contains(exit.Inner, []byte("upload")) {
		t.Error("the exit node can read the payload meant for the server")
	}
	if got := net.layers[3].Instruction.Kind; got != KindDestination {
		t.Errorf("server got %v", got)
	}
	for i := range net.frameLens {
		if net.frameLens[i] != len(frame) || net.respLens[i] != len(resp) {
			t.Errorf("position %d: frame %d, response %d bytes; guard %d, %d",
				i, net.frameLens[i], net.respLens[i], len(frame), len(resp))
		}
	}
}

func TestRelayCannotOpenDeeperLayers(t *testing.T) {
	nodes := path(t, "deep", 4)
	net := newTestNet(t, nodes...)
	payload := []byte("a secret message for the destination")
	frame, st, err := Build(hops(nodes[:3]), Destination{Node: nodes[3].hop}, payload)
	if err != nil {
		t.Fatal(err)
	}
	resp := net.deliver(nodes[0], frame)
	guard := net.layers[0]
	next, err := guard.NextFrame()
	if err != nil {
		t.Fatal(err)
	}
	// The guard's own key does not open the next layer, nor does any key
	// but the right one.
	for i, nd := range nodes {
		_, err := Peel(nd.x, next)
		if (i == 1) != (err == nil) {
			t.Errorf("node %d peeling layer 1: %v", i, err)
		}
		if i != 1 && !errors.Is(err, ErrUndecryptable) {
			t.Errorf("node %d: got %v, want ErrUndecryptable", i, err)
		}
	}
	for i, l := range net.layers[:3] {
		if bytes.Contains(l.Inner, payload) {
			t.Errorf("relay %d sees the payload", i)
		}
	}
	// Each relay re-encrypts: no two positions send the same bytes back, so
	// the guard never sees what the destination sent.
	for i := range net.resps {
		for j := i + 1; j < len(net.resps); j++ {
			if bytes.Equal(net.resps[i], net.resps[j]) {
				t.Errorf("positions %d and %d sent identical responses", i, j)
			}
		}
	}
	// A relay's response keys do not open the destination's response.
	if _, _, err := OpenResponse(&ClientState{keys: st.keys[:1]}, net.resps[3]); !errors.Is(err, ErrResponseUndecryptable) {
		t.Errorf("guard-only state opened the destination response: %v", err)
	}
	if _, _, err := OpenResponse(st, resp); err != nil {
		t.Fatal(err)
	}
}

func TestRelayErrors(t *testing.T) {
	codes := []ErrorCode{CodeNextNodeNotFound, CodeTimeout, CodeDestinationFailed, CodeTargetNotAllowed,
		CodeBadInstruction, CodeReplay, CodeUnavailable}
	sentinels := []error{ErrNextNodeNotFound, ErrTimeout, ErrDestinationFailed, ErrTargetNotAllowed,
		ErrBadInstruction, ErrReplay, ErrUnavailable}
	statuses := []int{502, 504, 502, 403, 400, 409, 503}
	nodes := path(t, "err", 4)
	for i, code := range codes {
		for at := range 4 {
			t.Run(fmt.Sprintf("%s/hop=%d", code, at), func(t *testing.T) {
				net := newTestNet(t, nodes...)
				net.failAt, net.failCode = at, code
				frame, st, err := Build(hops(nodes[:3]), Destination{Node: nodes[3].hop}, []byte("x"))
				if err != nil {
					t.Fatal(err)
				}
				status, body, err := OpenResponse(st, net.deliver(nodes[0], frame))
				var re *RelayError
				if !errors.As(err, &re) {
					t.Fatalf("got %v, want a RelayError", err)
				}
				if re.Hop != at || re.Code != code || status != statuses[i] || re.Status != status || body != nil {
					t.Errorf("got %+v status %d, want hop %d code %s status %d", re, status, at, code, statuses[i])
				}
				if !errors.Is(err, sentinels[i]) {
					t.Errorf("%v does not unwrap to %v", err, sentinels[i])
				}
				if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("hop %d", at)) || !strings.Contains(msg, string(code)) {
					t.Errorf("message %q names neither hop nor code", msg)
				}
			})
		}
	}
}

func TestNextNodeNotFound(t *testing.T) {
	nodes := path(t, "nf", 3)
	stranger := newTestNode(t, "stranger")
	net := newTestNet(t, nodes...) // the stranger is not in the registry
	frame, st, err := Build([]Hop{nodes[0].hop, stranger.hop}, Destination{Node: nodes[2].hop}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = OpenResponse(st, net.deliver(nodes[0], frame))
	var re *RelayError
	if !errors.As(err, &re) || re.Hop != 0 || !errors.Is(err, ErrNextNodeNotFound) {
		t.Errorf("got %v, want hop 0 next_node_not_found", err)
	}
}

// TestBitFlips flips one bit in every byte (a different bit from byte to
// byte) of a request frame as two positions see it (the guard's, and one
// with relay space padding) and of a response.
func TestBitFlips(t *testing.T) {
	nodes := path(t, "flip", 3)
	net := newTestNet(t, nodes...)
	frame, st, err := Build(hops(nodes[:2]), Destination{Node: nodes[2].hop}, []byte("flip me"))
	if err != nil {
		t.Fatal(err)
	}
	resp := net.deliver(nodes[0], frame)
	second, err := net.layers[0].NextFrame()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(second, []byte(" ")) {
		t.Fatal("second frame has no relay padding to test")
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		node  *ecdh.PrivateKey
		hop   int
	}{{"guard", frame, nodes[0].x, 0}, {"middle", second, nodes[1].x, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Peel(tc.node, tc.frame); err != nil {
				t.Fatal(err)
			}
			// The hop digit is the one byte outside the AEAD that may change
			// (relays set it); a flip there may only yield another hop.
			hopAt := bytes.Index(tc.frame, []byte(`"hop":`)) + len(`"hop":`)
			for i := range len(tc.frame) {
				l, err := Peel(tc.node, flipBit(tc.frame, i*8+i%8))
				if err == nil && (i != hopAt || l.Hop() == tc.hop) {
					t.Fatalf("byte %d: flipped frame peeled to %v", i, l.Instruction.Kind)
				}
			}
		})
	}
	t.Run("response", func(t *testing.T) {
		for i := range len(resp) {
			if _, _, err := OpenResponse(st, flipBit(resp, i*8+i%8)); !errors.Is(err, ErrResponseUndecryptable) {
				t.Fatalf("bit %d: %v", i, err)
			}
		}
	})
}

func TestSizeClasses(t *testing.T) {
	if !slices.IsSorted(SizeClasses) || SizeClasses[len(SizeClasses)-1] != MaxFrameSize {
		t.Fatalf("SizeClasses %v must be sorted and end at MaxFrameSize", SizeClasses)
	}
	// The largest message (76,800 bytes, 102,400 in base64) with 2 KiB of RPC
	// around it fits the 128 KiB class through 15 layers.
	nodes := path(t, "max", MaxLayers)
	frame, _, err := Build(hops(nodes[:MaxLayers-1]), Destination{Node: nodes[MaxLayers-1].hop}, make([]byte, 102_400+2048))
	if err != nil {
		t.Fatal(err)
	}
	if len(frame) != 128<<10 {
		t.Errorf("max message through 15 layers: %d bytes, want the 128 KiB class", len(frame))
	}
	// A short store through a 4-layer path stays in the smallest class.
	frame, _, err = Build(hops(nodes[:3]), Destination{Node: nodes[3].hop}, make([]byte, 1200))
	if err != nil || len(frame) != SizeClasses[0] {
		t.Errorf("1200-byte RPC through 4 layers: %d bytes, %v", len(frame), err)
	}
	// Every size from nothing to past a class boundary lands on a class, for
	// requests and responses alike.
	var r Responder
	r.ok = true
	for n := 0; n < 3*SizeClasses[0]; n += 97 {
		frame, _, err := Build(hops(nodes[:3]), Destination{Node: nodes[3].hop}, make([]byte, n))
		if err != nil || !isSizeClass(len(frame)) {
			t.Fatalf("payload %d: frame of %d bytes, %v", n, len(frame), err)
		}
		resp, err := r.Seal(200, make([]byte, n))
		if err != nil || !isSizeClass(len(resp)) {
			t.Fatalf("body %d: response of %d bytes, %v", n, len(resp), err)
		}
	}
}

// TestHopLimit checks that a relay refuses to forward past MaxLayers even
// when a client hand-crafts a deeper onion than Build allows.
func TestHopLimit(t *testing.T) {
	nodes := path(t, "hop", 3)
	frame, _, err := Build(hops(nodes[:2]), Destination{Node: nodes[2].hop}, nil)
	if err != nil {
		t.Fatal(err)
	}
	guard, err := Peel(nodes[0].x, frame)
	if err != nil {
		t.Fatal(err)
	}
	second, err := guard.NextFrame()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		hop     int
		wantErr error
	}{
		{"hop 13 forwards to hop 14", 13, nil},
		{"hop 14 is the last", 14, ErrTooManyLayers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Peel(nodes[1].x, withHop(t, second, tt.hop))
			if err != nil || l.Hop() != tt.hop {
				t.Fatalf("peel: hop %d, %v", l.Hop(), err)
			}
			next, err := l.NextFrame()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			last, err := Peel(nodes[2].x, next)
			if err != nil || last.Hop() != tt.hop+1 {
				t.Errorf("next node: hop %d, %v", last.Hop(), err)
			}
		})
	}
}

// withHop rewrites the hop counter of frame, keeping its length.
func withHop(t *testing.T, frame []byte, hop int) []byte {
	t.Helper()
	blob, obj, err := DecodeFrame(frame)
	if err != nil {
		t.Fatal(err)
	}
	obj = regexp.MustCompile(`"hop":\d+`).ReplaceAll(bytes.Clone(obj), fmt.Appendf(nil, `"hop":%d`, hop))
	f := appendFrame(nil, blob, obj)
	return append(f, bytes.Repeat([]byte(" "), len(frame)-len(f))...)
}

// TestEphemeralForReplay checks what a node keys its replay cache on: the
// same frame peeled twice gives the same value, every layer a different one.
func TestEphemeralForReplay(t *testing.T) {
	nodes := path(t, "replay", 3)
	frame, _, err := Build(hops(nodes[:2]), Destination{Node: nodes[2].hop}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cache := replay.New(16, time.Minute)
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for i, want := range []bool{false, true} {
		l, err := Peel(nodes[0].x, frame)
		if err != nil {
			t.Fatal(err)
		}
		if got := cache.Seen(l.Ephemeral(), now); got != want {
			t.Errorf("peel %d: seen = %v, want %v", i, got, want)
		}
	}
	net := newTestNet(t, nodes...)
	net.deliver(nodes[0], frame)
	seen := map[[32]byte]bool{}
	for i, l := range net.layers {
		if seen[l.Ephemeral()] {
			t.Errorf("layer %d reuses an ephemeral key", i)
		}
		seen[l.Ephemeral()] = true
	}
}
