package onion

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// withHeader replaces frame's JSON with hdr and pads back to frame's length.
func withHeader(t *testing.T, frame []byte, hdr string) []byte {
	t.Helper()
	blob, _, err := DecodeFrame(frame)
	if err != nil {
		t.Fatal(err)
	}
	f := appendFrame(nil, blob, []byte(hdr))
	if len(f) > len(frame) {
		t.Fatalf("header %q too long for the test frame", hdr)
	}
	return append(f, bytes.Repeat([]byte(" "), len(frame)-len(f))...)
}

// lowOrderPoints are X25519 encodings whose shared secret with any key is
// zero (RFC 7748 §6.1; the list libsodium and Wycheproof check).
var lowOrderPoints = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
}

func TestPeelErrors(t *testing.T) {
	nodes := path(t, "perr", 2)
	// The frame under test is the one the guard forwards, which has
	// padding spaces for the test's modified headers to use.
	frame0, _, err := Build(hops(nodes[:1]), Destination{Node: nodes[1].hop}, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	l0, err := Peel(nodes[0].x, frame0)
	if err != nil {
		t.Fatal(err)
	}
	frame, err := l0.NextFrame()
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := Build(nil, Destination{Node: nodes[1].hop}, nil)
	_, hdr, _ := DecodeFrame(frame)
	var h wireHeader
	if err := json.Unmarshal(hdr, &h); err != nil {
		t.Fatal(err)
	}
	eph := h.EphemeralKey
	_, otherHdr, _ := DecodeFrame(other)

	type tc struct {
		name    string
		frame   []byte
		key     *ecdh.PrivateKey
		wantErr error
	}
	tests := []tc{
		{"oversize", make([]byte, MaxFrameSize+1), nodes[1].x, ErrOversize},
		{"not a size class", frame[:len(frame)-1], nodes[1].x, ErrMalformedFrame},
		{"truncated", frame[:3], nodes[1].x, ErrMalformedFrame},
		{"garbage after padding", append(withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop":1,"v":1}`)[:len(frame)-1], 'x'), nodes[1].x, ErrMalformedFrame},
		{"version 2", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop":1,"v":2}`), nodes[1].x, ErrUnknownVersion},
		{"version 0", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop":1,"v":0}`), nodes[1].x, ErrUnknownVersion},
		{"future version with other keys", withHeader(t, frame, `{"kem":"x","v":2}`), nodes[1].x, ErrUnknownVersion},
		{"version as string", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop":1,"v":"1"}`), nodes[1].x, ErrMalformedFrame},
		{"version 1.0", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop":1,"v":1.0}`), nodes[1].x, ErrMalformedFrame},
		{"no version", withHeader(t, frame, `{"ephemeral_key":"`+eph+`"}`), nodes[1].x, ErrMalformedFrame},
		{"capital V", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","V":1}`), nodes[1].x, ErrMalformedFrame},
		{"capitalised key name", withHeader(t, frame, `{"Ephemeral_Key":"`+eph+`","hop":1,"v":1}`), nodes[1].x, ErrMalformedFrame},
		{"hop 15", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop":15,"v":1}`), nodes[1].x, ErrTooManyLayers},
		{"hop 1000", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop":1000,"v":1}`), nodes[1].x, ErrTooManyLayers},
		{"negative hop", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop":-1,"v":1}`), nodes[1].x, ErrMalformedFrame},
		{"hop as string", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop":"1","v":1}`), nodes[1].x, ErrMalformedFrame},
		{"fractional hop", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop":1.5,"v":1}`), nodes[1].x, ErrMalformedFrame},
		{"no hop", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","v":1}`), nodes[1].x, ErrMalformedFrame},
		{"null hop", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop":null,"v":1}`), nodes[1].x, ErrMalformedFrame},
		{"no ephemeral key", withHeader(t, frame, `{"hop":1,"v":1}`), nodes[1].x, ErrMalformedFrame},
		{"extra key", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop_no":1,"v":1}`), nodes[1].x, ErrMalformedFrame},
		{"uppercase hex", withHeader(t, frame, `{"ephemeral_key":"`+strings.ToUpper(eph)+`","hop":1,"v":1}`), nodes[1].x, ErrMalformedFrame},
		{"short key", withHeader(t, frame, `{"ephemeral_key":"`+eph[:62]+`","hop":1,"v":1}`), nodes[1].x, ErrMalformedFrame},
		{"key not hex", withHeader(t, frame, `{"ephemeral_key":"`+strings.Repeat("zz", 32)+`","hop":1,"v":1}`), nodes[1].x, ErrMalformedFrame},
		{"duplicate key", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop":1,"v":1,"v":1}`), nodes[1].x, ErrMalformedFrame},
		{"wrong node", frame, nodes[0].x, ErrUndecryptable},
		{"another frame's ephemeral key", withHeader(t, frame, string(otherHdr)), nodes[1].x, ErrUndecryptable},
		{"header json too long", withHeader(t, frame, `{"ephemeral_key":"`+eph+`","hop":1,"v":1,"x":"`+strings.Repeat("a", 200)+`"}`), nodes[1].x, ErrMalformedFrame},
		{"blob too short", append(appendFrame(nil, make([]byte, 10), hdr), bytes.Repeat([]byte(" "), len(frame)-4-10-len(hdr))...), nodes[1].x, ErrUndecryptable},
	}
	for _, p := range lowOrderPoints {
		tests = append(tests, tc{"low-order " + p[:8], withHeader(t, frame, `{"ephemeral_key":"`+p+`","hop":1,"v":1}`), nodes[1].x, ErrLowOrderKey})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Peel(tt.key, tt.frame)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if l != nil {
				t.Errorf("got a layer with %v", err)
			}
		})
	}
	if _, err := Peel(nodes[1].x, frame); err != nil {
		t.Fatalf("the unmodified frame: %v", err)
	}
}

func TestBadInstructions(t *testing.T) {
	node := newTestNode(t, "bad")
	eph := hex.EncodeToString(node.x.PublicKey().Bytes())
	next := hex.EncodeToString(node.ed)
	server := func(field, value string) string {
		f := map[string]string{"ephemeral_key": `"` + eph + `"`, "host": `"files.hush.test"`, "method": `"POST"`,
			"port": "443", "protocol": `"https"`, "target": `"/file"`}
		f[field] = value
		return `{"ephemeral_key":` + f["ephemeral_key"] + `,"host":` + f["host"] + `,"method":` + f["method"] +
			`,"port":` + f["port"] + `,"protocol":` + f["protocol"] + `,"target":` + f["target"] + `}`
	}
	relay := func(extra string) string {
		return `{"destination":"` + next + `","ephemeral_key":"` + eph + `"` + extra + `}`
	}
	tests := []struct {
		name string
		ctrl string // the control object; "" means plaintext is given raw
		raw  []byte
		ok   bool
	}{
		{name: "valid relay", ctrl: `{"destination":"` + next + `","ephemeral_key":"` + eph + `"}`, ok: true},
		{name: "valid destination", ctrl: `{"headers":{"Content-Type":"application/json"}}`, ok: true},
		{name: "valid server", ctrl: server("host", `"files.hush.test"`), ok: true},
		{name: "valid server ipv4", ctrl: server("host", `"127.0.0.1"`), ok: true},
		{name: "valid server ipv6", ctrl: server("host", `"[::1]"`), ok: true},
		{name: "empty object", ctrl: `{}`},
		{name: "unknown kind", ctrl: `{"forward":"x"}`},
		{name: "mixed kinds", ctrl: `{"headers":{},"host":"a"}`},
		{name: "control json over its limit", ctrl: `{"headers":{"a":"` + strings.Repeat("b", maxControlJSON) + `"}}`},
		{name: "destination with extra key", ctrl: `{"headers":{},"json":true}`},
		{name: "headers null", ctrl: `{"headers":null}`},
		{name: "headers array", ctrl: `{"headers":[]}`},
		{name: "header value not a string", ctrl: `{"headers":{"a":1}}`},
		{name: "header name with space", ctrl: `{"headers":{"a b":"1"}}`},
		{name: "header value with newline", ctrl: `{"headers":{"a":"1\n2"}}`},
		{name: "relay without key", ctrl: `{"destination":"` + next + `"}`},
		{name: "relay uppercase", ctrl: `{"destination":"` + strings.ToUpper(next) + `","ephemeral_key":"` + eph + `"}`},
		{name: "relay short destination", ctrl: `{"destination":"` + next[:62] + `","ephemeral_key":"` + eph + `"}`},
		{name: "relay null destination", ctrl: `{"destination":null,"ephemeral_key":"` + eph + `"}`},
		{name: "relay numeric key", ctrl: `{"destination":"` + next + `","ephemeral_key":5}`},
		{name: "server port 0", ctrl: server("port", "0")},
		{name: "server port 70000", ctrl: server("port", "70000")},
		{name: "server port string", ctrl: server("port", `"443"`)},
		{name: "server port null", ctrl: server("port", "null")},
		{name: "server protocol ftp", ctrl: server("protocol", `"ftp"`)},
		{name: "server method PATCH", ctrl: server("method", `"PATCH"`)},
		{name: "server method lowercase", ctrl: server("method", `"post"`)},
		{name: "server target relative", ctrl: server("target", `"file"`)},
		{name: "server target query", ctrl: server("target", `"/file?x=1"`)},
		{name: "server target fragment", ctrl: server("target", `"/file#x"`)},
		{name: "server target dot segment", ctrl: server("target", `"/a/../admin"`)},
		{name: "server target space", ctrl: server("target", `"/a b"`)},
		{name: "server host empty", ctrl: server("host", `""`)},
		{name: "server host uppercase", ctrl: server("host", `"Files.hush"`)},
		{name: "server host leading hyphen", ctrl: server("host", `"-a.hush"`)},
		{name: "server host empty label", ctrl: server("host", `"a..hush"`)},
		{name: "server host with port", ctrl: server("host", `"a.hush:80"`)},
		{name: "server host zoned ipv6", ctrl: server("host", `"[fe80::1%eth0]"`)},
		{name: "server missing field", ctrl: `{"ephemeral_key":"` + eph + `","host":"a.hush","method":"GET","port":443,"protocol":"https"}`},
		// hold (fast mode): integer milliseconds 1…MaxHold on relay and
		// destination layers only; 0 is never written, so it is refused too.
		{name: "valid relay with hold", ctrl: relay(`,"hold":25000`), ok: true},
		{name: "valid relay with hold 1", ctrl: relay(`,"hold":1`), ok: true},
		{name: "valid relay with hold MaxHold", ctrl: relay(`,"hold":30000`), ok: true},
		{name: "valid destination with hold", ctrl: `{"headers":{},"hold":30000}`, ok: true},
		{name: "hold 0", ctrl: relay(`,"hold":0`)},
		{name: "hold above MaxHold", ctrl: relay(`,"hold":30001`)},
		{name: "hold huge", ctrl: relay(`,"hold":99999999999999999999999`)},
		{name: "hold negative", ctrl: relay(`,"hold":-1`)},
		{name: "hold fractional", ctrl: relay(`,"hold":1.5`)},
		{name: "hold integral float", ctrl: relay(`,"hold":1000.0`)},
		{name: "hold exponent", ctrl: relay(`,"hold":1e3`)},
		{name: "hold string", ctrl: relay(`,"hold":"1000"`)},
		{name: "hold null", ctrl: relay(`,"hold":null`)},
		{name: "hold bool", ctrl: relay(`,"hold":true`)},
		{name: "destination hold null", ctrl: `{"headers":{},"hold":null}`},
		{name: "destination hold above MaxHold", ctrl: `{"headers":{},"hold":30001}`},
		{name: "hold uppercase key", ctrl: relay(`,"Hold":1000`)},
		{name: "hold alone", ctrl: `{"hold":1000}`},
		{name: "hold on a server layer", ctrl: server("target", `"/file","hold":1000`)},
		{name: "plaintext not a frame", raw: []byte("garbage")},
		{name: "plaintext without padding marker", raw: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			class, _ := sizeClass(len(tt.ctrl) + len(tt.raw) + 100 + sealOver)
			var frame []byte
			var st *ClientState
			switch {
			case tt.ctrl != "":
				frame, st = sealLayer(t, node.x.PublicKey(), appendFrame(nil, []byte("inner"), []byte(tt.ctrl)), class)
			case tt.raw != nil:
				frame, st = sealLayer(t, node.x.PublicKey(), tt.raw, class)
			default: // all zeros: authentic, but no 0x80 marker
				frame = sealRaw(t, node.x.PublicKey(), make([]byte, class-4-headerLen-sealOver))
			}
			if len(frame) != class {
				t.Fatalf("test frame is %d bytes", len(frame))
			}
			l, err := Peel(node.x, frame)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrBadInstruction) {
				t.Fatalf("err = %v, want ErrBadInstruction", err)
			}
			t.Log(err)
			if l == nil || l.Instruction.Kind != KindInvalid {
				t.Fatal("want a layer of KindInvalid to answer with")
			}
			resp, err := l.Responder.Fail(CodeBadInstruction)
			if err != nil {
				t.Fatal(err)
			}
			if st == nil {
				return
			}
			_, _, err = OpenResponse(st, resp)
			var re *RelayError
			if !errors.As(err, &re) || re.Hop != 0 || re.Code != CodeBadInstruction {
				t.Errorf("client got %v", err)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	nodes := path(t, "berr", MaxLayers+1)
	zero, err := ecdh.X25519().NewPublicKey(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	good := Destination{Node: nodes[0].hop}
	target := &ServerTarget{Host: "files.hush.test", Port: 443, Protocol: "https", Target: "/file", Method: "POST"}
	badTarget := *target
	badTarget.Target = "/file?admin=1"
	tests := []struct {
		name    string
		hops    []Hop
		dest    Destination
		payload []byte
		wantErr error
	}{
		{"15 layers is the limit", hops(nodes[1:MaxLayers]), good, nil, nil},
		{"16 layers", hops(nodes[1:]), good, nil, ErrTooManyLayers},
		{"payload over the largest class", nil, good, make([]byte, MaxFrameSize+1), ErrOversize},
		{"onion over the largest class", hops(nodes[1:4]), good, make([]byte, MaxFrameSize-500), ErrOversize},
		{"low-order hop key", []Hop{{Ed25519: nodes[1].ed, X25519: zero}}, good, nil, ErrLowOrderKey},
		{"low-order destination key", nil, Destination{Node: Hop{X25519: zero}}, nil, ErrLowOrderKey},
		{"missing x25519 key", []Hop{{Ed25519: nodes[1].ed}}, good, nil, ErrBadInstruction},
		{"short ed25519 key of a later hop", []Hop{nodes[1].hop, {Ed25519: nodes[2].ed[:31], X25519: nodes[2].x.PublicKey()}}, good, nil, ErrBadInstruction},
		{"destination without ed25519 key", hops(nodes[1:2]), Destination{Node: Hop{X25519: nodes[0].x.PublicKey()}}, nil, ErrBadInstruction},
		{"bad header", nil, Destination{Node: nodes[0].hop, Headers: map[string]string{"a b": "c"}}, nil, ErrBadInstruction},
		{"server without a forwarding node", nil, Destination{Node: nodes[0].hop, Server: target}, nil, ErrBadInstruction},
		{"server target with query", hops(nodes[1:2]), Destination{Node: nodes[0].hop, Server: &badTarget}, nil, ErrBadInstruction},
		{"server without ed25519 is fine", hops(nodes[1:2]), Destination{Node: Hop{X25519: nodes[0].x.PublicKey()}, Server: target}, nil, nil},
		{"hold MaxHold", hops(nodes[1:3]), Destination{Node: nodes[0].hop, Hold: MaxHold}, nil, nil},
		{"hold above MaxHold", hops(nodes[1:3]), Destination{Node: nodes[0].hop, Hold: MaxHold + time.Millisecond}, nil, ErrBadInstruction},
		{"hold negative", nil, Destination{Node: nodes[0].hop, Hold: -time.Second}, nil, ErrBadInstruction},
		{"hold not whole milliseconds", nil, Destination{Node: nodes[0].hop, Hold: time.Second + 1}, nil, ErrBadInstruction},
		{"hold to a server", hops(nodes[1:2]), Destination{Node: nodes[0].hop, Server: target, Hold: time.Second}, nil, ErrBadInstruction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, st, err := Build(tt.hops, tt.dest, tt.payload)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if (err == nil) != (frame != nil && st != nil) {
				t.Errorf("frame %d bytes, state %v, err %v", len(frame), st, err)
			}
		})
	}
}

func TestOpenResponseErrors(t *testing.T) {
	nodes := path(t, "oerr", 3)
	build := func() ([]byte, *ClientState) {
		f, st, err := Build(hops(nodes[:2]), Destination{Node: nodes[2].hop}, []byte("q"))
		if err != nil {
			t.Fatal(err)
		}
		return f, st
	}
	frame, st := build()
	_, st2 := build()
	net := newTestNet(t, nodes...)
	resp := net.deliver(nodes[0], frame)
	guard := net.layers[0].Responder

	// Responses the originator sealed under a valid key but with contents
	// a conforming node never sends; they reach the client through the
	// other relays' wraps.
	viaPath := func(origin int, w wireResponse, body []byte) []byte {
		r, err := net.layers[origin].Responder.seal(w, body)
		if err != nil {
			t.Fatal(err)
		}
		for j := origin - 1; j >= 0; j-- {
			r, _ = net.layers[j].Responder.Wrap(r)
		}
		return r
	}
	s := func(v string) *string { return &v }
	okStatus, badVersion := 200, 2
	successFromGuard, _ := guard.Seal(200, []byte("hi"))

	tests := []struct {
		name    string
		st      *ClientState
		resp    []byte
		wantErr error
	}{
		{"not a size class", st, resp[:len(resp)-1], ErrResponseUndecryptable},
		{"empty", st, nil, ErrResponseUndecryptable},
		{"random bytes", st, bytes.Repeat([]byte{0x5a}, SizeClasses[0]), ErrResponseUndecryptable},
		{"another request's state", st2, resp, ErrResponseUndecryptable},
		{"request reflected back", st, frame, ErrResponseUndecryptable},
		{"nil state", nil, resp, ErrResponseUndecryptable},
		{"destination bytes unwrapped", st, net.resps[2], ErrResponseUndecryptable},
		{"success sealed by a relay", st, successFromGuard, ErrMalformedFrame},
		{"unknown error code", st, viaPath(1, wireResponse{Error: s("teapot"), Status: ptr(418), V: ptr(1)}, nil), ErrMalformedFrame},
		{"error with wrong status", st, viaPath(1, wireResponse{Error: s("timeout"), Status: &okStatus, V: ptr(1)}, nil), ErrMalformedFrame},
		{"error with a body", st, viaPath(1, wireResponse{Error: s("timeout"), Status: ptr(504), V: ptr(1)}, []byte("x")), ErrMalformedFrame},
		{"status out of range", st, viaPath(2, wireResponse{Status: ptr(600), V: ptr(1)}, nil), ErrMalformedFrame},
		{"version 2", st, viaPath(2, wireResponse{Status: &okStatus, V: &badVersion}, nil), ErrUnknownVersion},
		{"no version", st, viaPath(2, wireResponse{Status: &okStatus}, nil), ErrMalformedFrame},
		{"no status", st, viaPath(2, wireResponse{V: ptr(1)}, nil), ErrMalformedFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := OpenResponse(tt.st, tt.resp); !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if st, body, err := OpenResponse(st, resp); err != nil || st != 200 || string(body) != "echo:q" {
		t.Fatalf("the unmodified response: %d %q %v", st, body, err)
	}
}

func TestResponderErrors(t *testing.T) {
	node := newTestNode(t, "resp")
	frame, _, err := Build(nil, Destination{Node: node.hop}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Peel(node.x, frame)
	if err != nil {
		t.Fatal(err)
	}
	r := l.Responder
	tests := []struct {
		name    string
		call    func() ([]byte, error)
		wantErr error
	}{
		{"body over the largest class", func() ([]byte, error) { return r.Seal(200, make([]byte, MaxFrameSize)) }, ErrOversize},
		{"largest body that fits", func() ([]byte, error) { return r.Seal(200, make([]byte, MaxFrameSize-100)) }, nil},
		{"wrap of a non-class length", func() ([]byte, error) { return r.Wrap(make([]byte, 100)) }, ErrMalformedFrame},
		{"next frame of a destination", l.NextFrame, ErrBadInstruction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.call(); !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	for _, tt := range []struct {
		name string
		call func() ([]byte, error)
	}{
		{"status 99", func() ([]byte, error) { return r.Seal(99, nil) }},
		{"status 600", func() ([]byte, error) { return r.Seal(600, nil) }},
		{"unknown code", func() ([]byte, error) { return r.Fail("teapot") }},
		{"zero responder seal", func() ([]byte, error) { return Responder{}.Seal(200, nil) }},
		{"zero responder wrap", func() ([]byte, error) { return Responder{}.Wrap(make([]byte, SizeClasses[0])) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.call(); err == nil {
				t.Error("no error")
			}
		})
	}
}
