package files

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/protocol/onion"
)

func newHop(t *testing.T) (onion.Hop, *ecdh.PrivateKey) {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return onion.Hop{Ed25519: pub, X25519: x.PublicKey()}, x
}

// TestMaxPieceFitsOnion builds the largest upload and the largest
// download answer with protocol/onion: the upload, with the longest
// header an upload has, fits the 2 MiB class through 3 relays and through
// the longest path the format allows, to a server whose host is as long
// as a target's may be; the download answer, sealed by the server, fits
// the largest response class and comes back through the relays intact.
// MaxPiece is close to the largest such piece: 4 KiB more does not fit
// through 3 relays.
func TestMaxPieceFitsOnion(t *testing.T) {
	host := strings.Repeat(strings.Repeat("a", 63)+".", 4)[:253]
	target := onion.ServerTarget{Host: host, Port: 65535, Protocol: "https", Method: "POST", Target: Target}
	upload := func(piece int) []byte {
		// The longest ttl_ms is the longest upload header.
		r := Request{Op: OpUpload, TTL: MaxTTL, Body: make([]byte, piece)}
		if piece > MaxPiece {
			r.Body = make([]byte, MaxPiece)
		}
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return append(b, make([]byte, piece-len(r.Body))...)
	}
	server, serverKey := newHop(t)
	dest := onion.Destination{Node: onion.Hop{X25519: server.X25519}, Server: &target}
	for _, relays := range []int{3, onion.MaxLayers - 1} {
		var hops []onion.Hop
		var keys []*ecdh.PrivateKey
		for range relays {
			h, k := newHop(t)
			hops, keys = append(hops, h), append(keys, k)
		}
		frame, cs, err := onion.Build(hops, dest, upload(MaxPiece))
		if err != nil {
			t.Fatalf("%d relays: the largest upload does not fit: %v", relays, err)
		}
		if len(frame) != onion.MaxFrameSize {
			t.Fatalf("%d relays: frame of %d bytes", relays, len(frame))
		}
		// Peel it as the relays and the server do, and answer the largest
		// download from the server's layer.
		var layers []*onion.Layer
		for _, k := range keys {
			l, err := onion.Peel(k, frame)
			if err != nil {
				t.Fatal(err)
			}
			layers = append(layers, l)
			if frame, err = l.NextFrame(); err != nil {
				t.Fatal(err)
			}
		}
		l, err := onion.Peel(serverKey, frame)
		if err != nil || l.Instruction.Kind != onion.KindDestination {
			t.Fatalf("server layer: %v", err)
		}
		if r, err := ParseRequest(l.Inner); err != nil || len(r.Body) != MaxPiece {
			t.Fatalf("the server reads %v", err)
		}
		data := bytes.Repeat([]byte{7}, MaxPiece)
		body, err := MarshalResponse(OpDownload, &Response{Size: maxOffset, Expires: time.UnixMilli(1 << 50), Data: data})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := l.Responder.Seal(200, body)
		if err != nil {
			t.Fatalf("the largest download answer does not fit: %v", err)
		}
		for i := len(layers) - 1; i >= 0; i-- {
			if resp, err = layers[i].Responder.Wrap(resp); err != nil {
				t.Fatal(err)
			}
		}
		status, got, err := onion.OpenResponse(cs, resp)
		if err != nil || status != 200 {
			t.Fatalf("%d %v", status, err)
		}
		if r, err := ParseResponse(OpDownload, status, got); err != nil || !bytes.Equal(r.Data, data) {
			t.Fatalf("download answer: %v", err)
		}
	}
	hops := make([]onion.Hop, 3)
	for i := range hops {
		hops[i], _ = newHop(t)
	}
	if _, _, err := onion.Build(hops, dest, upload(MaxPiece+4<<10)); !errors.Is(err, onion.ErrOversize) {
		t.Fatalf("MaxPiece + 4 KiB through 3 relays: %v, want ErrOversize (MaxPiece leaves too much unused)", err)
	}
}
