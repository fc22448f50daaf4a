package labnet

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

func TestConfigFor(t *testing.T) {
	b, err := File{Default: "lan", Rules: []FileRule{
		{A: "10.77.20.1", B: "0.0.0.0/0", Profile: "mobile"},
		{A: "10.77.1.0/24", B: "10.77.2.0/24", Profile: "intercontinental"},
	}}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	for _, tc := range []struct {
		name          string
		local, remote string
		want          Profile
	}{
		{"mobile client seen by a node", "10.77.1.1", "10.77.20.1", Mobile},
		{"either direction", "10.77.20.1", "10.77.1.1", Mobile},
		{"between two /24s", "10.77.2.9", "10.77.1.3", Intercontinental},
		{"default", "10.77.1.1", "10.77.1.2", LAN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.For(a(tc.local), a(tc.remote)); got != tc.want {
				t.Fatalf("For(%s, %s) = %+v, want %+v", tc.local, tc.remote, got, tc.want)
			}
		})
	}
	if _, err := ParseConfig([]byte(`{"default":{"name":"moon"}}`)); !errors.Is(err, ErrConfig) {
		t.Fatalf("unknown profile: %v", err)
	}
}

// echoServer answers each line with itself through a wrapped listener.
func echoServer(t *testing.T, p Profile) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wl := WrapListener(ln, &Config{Default: p})
	t.Cleanup(func() { wl.Close() })
	go func() {
		for {
			c, err := wl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestRoundTrip checks that an exchange costs at least the link's round
// trip (a lower bound only: a busy machine may add to it), that bytes
// arrive intact and in order under jitter and loss, and that the peer's
// address is untouched.
func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Profile
	}{
		{"continental", Continental},
		{"mobile", Mobile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", echoServer(t, tc.p))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			msg := bytes.Repeat([]byte("0123456789abcdef"), 4096)
			for i := range 5 {
				start := time.Now()
				go c.Write(msg)
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(c, got); err != nil {
					t.Fatal(err)
				}
				if el := time.Since(start); el < tc.p.RTT-tc.p.Jitter*2 {
					t.Fatalf("round %d took %v, less than the link's %v", i, el, tc.p.RTT)
				}
				if !bytes.Equal(got, msg) {
					t.Fatalf("round %d: bytes changed", i)
				}
			}
		})
	}
}

// TestReadDeadline: a pending read returns a timeout when the deadline
// passes or is moved into the past, as net/http relies on.
func TestReadDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	wl := WrapListener(ln, &Config{Default: Continental})
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := wl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.RemoteAddr().String() != client.LocalAddr().String() {
		t.Fatalf("peer address %v, want the real %v", c.RemoteAddr(), client.LocalAddr())
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline: %v", err)
	}
	errc := make(chan error, 1)
	c.SetReadDeadline(time.Time{})
	go func() {
		_, err := c.Read(make([]byte, 1))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	c.SetReadDeadline(time.Unix(1, 0))
	if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read aborted by a past deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	client.Write([]byte("x"))
	client.Close()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "x" {
		t.Fatalf("read %q, %v; want x then EOF", got, err)
	}
}

// TestPacketConn: a datagram exchange costs the link's round trip, and
// a link that loses everything delivers nothing.
func TestPacketConn(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Profile
		lost bool
	}{
		{"continental", Continental, false},
		{"dead link", Profile{Loss: 0.999999}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			pc := WrapPacketConn(raw, &Config{Default: tc.p})
			defer pc.Close()
			go func() {
				buf := make([]byte, 64)
				for {
					n, addr, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					pc.WriteTo(buf[:n], addr)
				}
			}()
			c, err := net.Dial("udp", raw.LocalAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			c.Write([]byte("ping"))
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 64)
			n, err := c.Read(buf)
			if tc.lost {
				if err == nil {
					t.Fatalf("a dead link delivered %q", buf[:n])
				}
				return
			}
			if err != nil || string(buf[:n]) != "ping" {
				t.Fatalf("read %q, %v", buf[:n], err)
			}
			if el := time.Since(start); el < tc.p.RTT {
				t.Fatalf("exchange took %v, less than the link's %v", el, tc.p.RTT)
			}
		})
	}
}
