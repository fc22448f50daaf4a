package turn

import (
	"fmt"
	"net"
	"syscall"
	"testing"
)

// TestListenPairRetriesATakenTCPPort: with port 0, the UDP socket gets a
// free UDP port, and TCP on the same number may belong to someone else
// (another listener, an outgoing connection's local port). The server
// must draw another port instead of failing to start (TestAllocationLimits
// failed to start under load: "listen tcp 127.0.0.1:44164: bind: address
// already in use").
func TestListenPairRetriesATakenTCPPort(t *testing.T) {
	calls := 0
	taken := func(network, addr string) (net.Listener, error) {
		calls++
		if calls == 1 {
			return nil, &net.OpError{Op: "listen", Net: network, Err: fmt.Errorf("bind: %w", syscall.EADDRINUSE)}
		}
		return net.Listen(network, addr)
	}
	udp, tcp, err := listenPair("127.0.0.1:0", taken)
	if err != nil {
		t.Fatalf("listenPair: %v", err)
	}
	defer udp.Close()
	defer tcp.Close()
	if calls != 2 {
		t.Fatalf("%d TCP listens, want 2", calls)
	}
	if u, c := udp.LocalAddr().(*net.UDPAddr).Port, tcp.Addr().(*net.TCPAddr).Port; u != c {
		t.Fatalf("UDP port %d, TCP port %d", u, c)
	}

	// A configured port is the operator's: taken is an error, not a
	// different port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, _, err := listenPair(ln.Addr().String(), net.Listen); err == nil {
		t.Fatal("listenPair took a configured port that TCP already uses")
	}
}
