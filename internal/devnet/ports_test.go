package devnet

import (
	"net"
	"strconv"
	"testing"
)

// TestFreePorts: the ports are distinct, free for TCP and UDP, and below
// the ephemeral range, where no outgoing connection or ":0" listener can
// take one before the devnet binds it.
func TestFreePorts(t *testing.T) {
	lo, hi := portWindow()
	ports, err := freePorts(40)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d drawn twice in %v", p, ports)
		}
		seen[p] = true
		if p < lo || p >= hi {
			t.Errorf("port %d outside %d-%d", p, lo, hi)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("port %d not free for TCP after freePorts: %v", p, err)
		}
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			ln.Close()
			t.Fatalf("port %d not free for UDP after freePorts: %v", p, err)
		}
		ln.Close()
		pc.Close()
	}
	// A listener on ":0" never gets one of them while the devnet holds them.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if p := ln.Addr().(*net.TCPAddr).Port; p >= lo && p < hi {
		t.Errorf("the system handed out port %d from the window %d-%d: it overlaps the ephemeral range", p, lo, hi)
	}
}
