package node_test

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/node/nodetest"
)

// HTTP/2 frame types and flags this test speaks (RFC 9113 §6).
const (
	frameHeaders      = 0x1
	frameRST          = 0x3
	frameSettings     = 0x4
	flagAck           = 0x1
	flagEndHeader     = 0x4
	settingMaxStreams = 0x3
)

func writeFrame(t *testing.T, w io.Writer, typ, flags byte, stream uint32, payload []byte) {
	t.Helper()
	h := make([]byte, 9, 9+len(payload))
	h[0], h[1], h[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	h[3], h[4] = typ, flags
	binary.BigEndian.PutUint32(h[5:], stream)
	if _, err := w.Write(append(h, payload...)); err != nil {
		t.Fatal(err)
	}
}

// TestHTTP2StreamsPerConnection opens far more HTTP/2 streams on one
// connection than a node allows, none of which ever sends its body. The
// node advertises a stream limit of at most maxStreams and
// resets every stream past it, so one connection cannot hold more than
// that many requests.
func TestHTTP2StreamsPerConnection(t *testing.T) {
	const streams = 300
	// maxStreams is the most one connection may hold (RFC 9113 asks for
	// at least 100, and a node needs no more).
	const maxStreams = 100
	n := nodetest.Start(t, nodetest.Standalone(t))
	conn, err := tls.Dial("tcp", n.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("negotiated %q, want h2", p)
	}
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	writeFrame(t, conn, frameSettings, 0, 0, nil)
	// A POST to the storage RPC whose body never comes: HPACK static
	// :method POST and :scheme https, then :path and :authority as
	// literals with indexed names.
	path, authority := "/storage_rpc/v1", "node"
	block := append([]byte{0x83, 0x87, 0x04, byte(len(path))}, path...)
	block = append(append(block, 0x01, byte(len(authority))), authority...)
	for i := range streams {
		writeFrame(t, conn, frameHeaders, flagEndHeader, uint32(2*i+1), block)
	}

	r := bufio.NewReader(conn)
	advertised, resets := uint32(0), 0
	for advertised == 0 || resets < streams-int(advertised) {
		var h [9]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			t.Fatalf("advertised %d streams, %d resets so far: %v", advertised, resets, err)
		}
		payload := make([]byte, int(h[0])<<16|int(h[1])<<8|int(h[2]))
		if _, err := io.ReadFull(r, payload); err != nil {
			t.Fatal(err)
		}
		stream := binary.BigEndian.Uint32(h[5:]) & 0x7fffffff
		switch h[3] {
		case frameSettings:
			if h[4]&flagAck != 0 {
				continue
			}
			for s := payload; len(s) >= 6; s = s[6:] {
				if binary.BigEndian.Uint16(s) == settingMaxStreams {
					advertised = binary.BigEndian.Uint32(s[2:])
				}
			}
			if advertised == 0 || advertised > maxStreams {
				t.Fatalf("node advertises %d concurrent streams, want 1..%d", advertised, maxStreams)
			}
			writeFrame(t, conn, frameSettings, flagAck, 0, nil)
		case frameRST:
			if stream <= 2*advertised-1 {
				t.Fatalf("stream %d, within the limit of %d, was reset", stream, advertised)
			}
			resets++
		}
	}
}

// TestHTTP2FrameSize: a node advertises frames of at most 16 KiB
// (node.MaxFrameSize), so no peer sends it larger ones and no connection
// keeps a buffer larger than that at either end (BenchmarkHTTP2ConnMemory).
func TestHTTP2FrameSize(t *testing.T) {
	const settingMaxFrameSize = 0x5
	n := nodetest.Start(t, nodetest.Standalone(t))
	conn, err := tls.Dial("tcp", n.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	writeFrame(t, conn, frameSettings, 0, 0, nil)
	r := bufio.NewReader(conn)
	for {
		var h [9]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			t.Fatal(err)
		}
		payload := make([]byte, int(h[0])<<16|int(h[1])<<8|int(h[2]))
		if _, err := io.ReadFull(r, payload); err != nil {
			t.Fatal(err)
		}
		if h[3] != frameSettings || h[4]&flagAck != 0 {
			continue
		}
		size := uint32(16 << 10) // the initial value, if not advertised
		for s := payload; len(s) >= 6; s = s[6:] {
			if binary.BigEndian.Uint16(s) == settingMaxFrameSize {
				size = binary.BigEndian.Uint32(s[2:])
			}
		}
		if size > 16<<10 {
			t.Errorf("node advertises frames of %d bytes, want at most 16 KiB", size)
		}
		return
	}
}
