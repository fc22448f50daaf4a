package devnet

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// freePorts returns n distinct loopback ports that are free for TCP and
// UDP now, drawn at random below the system's ephemeral port range.
//
// The servers bind them later, some in other processes. A port drawn
// with ":0" comes from the ephemeral range, which the kernel also hands
// to every outgoing connection and every other ":0" listener on the
// machine (two test packages run at once in CI), so one could be taken
// in between: "bind: address already in use" at `devnet up`. Below the
// range only another program choosing ports explicitly can take one, and
// random draws make two devnets starting at once unlikely to meet.
func freePorts(n int) ([]int, error) {
	lo, hi := portWindow()
	var held []func()
	defer func() {
		for _, release := range held {
			release()
		}
	}()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("devnet: no %d free ports in %d-%d", n, lo, hi)
		}
		p := lo + rand.IntN(hi-lo)
		release, ok := holdPort(p)
		if !ok {
			continue // taken, or drawn already and held below
		}
		held = append(held, release)
		ports = append(ports, p)
	}
	return ports, nil
}

// holdPort binds p on loopback for TCP and UDP, and returns how to let
// it go.
func holdPort(p int) (release func(), ok bool) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, false
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		ln.Close()
		return nil, false
	}
	return func() { ln.Close(); pc.Close() }, true
}

// portWindow is where freePorts draws: from 20000 up to the start of
// the ephemeral range (Linux's ip_local_port_range, 32768 by default).
// Where the range starts lower, ports are drawn from 10000 to 20000,
// checked free as anywhere else.
func portWindow() (lo, hi int) {
	lo, hi = 20000, 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if start, err := strconv.Atoi(f[0]); err == nil {
				hi = start
			}
		}
	}
	if hi-lo < 1000 {
		lo, hi = 10000, 20000
	}
	return lo, hi
}
