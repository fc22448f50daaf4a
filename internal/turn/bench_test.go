package turn

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v4"

	"github.com/hushnet/hush/internal/config"
	wire "github.com/hushnet/hush/protocol/turn"
)

// BenchmarkRelayLatency measures the one-way latency the TURN relay adds
// on loopback: each iteration is one ping-pong between two UDP sockets
// directly and one through an allocation (pion's client on one side, so
// its client library's work counts too), interleaved so that both see
// the same machine load. It reports both one-way times and their ratio;
// the figure is the difference, never asserted.
func BenchmarkRelayLatency(b *testing.B) {
	h := start(b, func(c *config.TURN) { c.AllowPrivatePeers = true })
	cred := h.s.Issue(h.clock.Now())
	c := h.client(b, cred.Username, cred.Password)
	relayed, err := c.Allocate()
	if err != nil {
		b.Fatal(err)
	}
	defer relayed.Close()
	p := peer(b)
	if err := echo(b, relayed, p.LocalAddr(), []byte("warm")); err != nil {
		b.Fatal(err)
	}
	direct, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	msg := make([]byte, 172)
	buf := make([]byte, 1500)
	ping := func(conn net.PacketConn) time.Duration {
		t0 := time.Now()
		if _, err := conn.WriteTo(msg, p.LocalAddr()); err != nil {
			b.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := conn.ReadFrom(buf); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	var dSum, rSum time.Duration
	b.ResetTimer()
	for range b.N {
		dSum += ping(direct)
		rSum += ping(relayed)
	}
	d := float64(dSum.Nanoseconds()) / float64(b.N) / 2
	r := float64(rSum.Nanoseconds()) / float64(b.N) / 2
	b.ReportMetric(d/1e3, "direct-oneway-µs")
	b.ReportMetric(r/1e3, "relayed-oneway-µs")
	b.ReportMetric((r-d)/1e3, "added-oneway-µs")
	b.ReportMetric(r/d, "relayed/direct")
}

// BenchmarkAudioStreamCPU runs hushd turn as its own process and relays
// audio-like streams through it (each: one allocation, 50 datagrams of
// 172 bytes a second each way, as G.711 at 20 ms with RTP/SRTP headers),
// then reports the server process's CPU time per stream: the cost of one
// party's relayed audio (a relay-only call between two parties is two
// such streams). The figure comes from /proc, never asserted.
func BenchmarkAudioStreamCPU(b *testing.B) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skip("needs /proc")
	}
	const streams, seconds = 40, 10
	dir := b.TempDir()
	bin := filepath.Join(dir, "hushd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hushnet/hush/cmd/hushd").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	secret := make([]byte, 32)
	os.MkdirAll(data, 0o700)
	os.WriteFile(filepath.Join(data, SecretFile), []byte(hex.EncodeToString(secret)), 0o600)
	port := freeUDPPort(b)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "turn", "--data", data, "--listen", addr, "--endpoint", "127.0.0.1:0",
		"--allow-private-peers", "--max-allocations-per-credential", strconv.Itoa(streams), "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	u := wire.Username(time.Now().Add(time.Hour), make([]byte, wire.RandomSize))
	pass := wire.Password(secret, u)
	var conns []net.PacketConn
	var allocs []net.PacketConn
	for i := range streams {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		var tc *pionturn.Client
		for attempt := 0; ; attempt++ { // the server may still be starting
			tc, err = pionturn.NewClient(&pionturn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn, Username: u, Password: pass, Realm: "hush", RTO: 100 * time.Millisecond})
			if err == nil {
				err = tc.Listen()
			}
			var r net.PacketConn
			if err == nil {
				r, err = tc.Allocate()
			}
			if err == nil {
				allocs = append(allocs, r)
				break
			}
			if tc != nil {
				tc.Close()
			}
			if attempt > 50 {
				b.Fatalf("stream %d: %v", i, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		defer tc.Close()
		conns = append(conns, conn)
	}
	// One peer socket per stream, answering each datagram (the other
	// party's audio coming back through the allocation).
	var got atomic.Int64
	var peers []net.PacketConn
	for range streams {
		p := peer(b)
		peers = append(peers, p)
	}
	for _, r := range allocs {
		go func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := r.ReadFrom(buf); err != nil {
					return
				}
				got.Add(1)
			}
		}()
	}
	msg := make([]byte, 172)
	ctx, cancel := context.WithTimeout(context.Background(), (seconds+1)*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	send := func() {
		for i, r := range allocs {
			r.WriteTo(msg, peers[i].LocalAddr())
		}
	}
	// A second of warm-up (permissions, channel bindings), then measure.
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); <-tick.C {
		send()
	}
	cpu0, t0, got0 := procCPU(b, cmd.Process.Pid), time.Now(), got.Load()
	for ctx.Err() == nil && time.Since(t0) < seconds*time.Second {
		<-tick.C
		send()
	}
	cpu1, elapsed, received := procCPU(b, cmd.Process.Pid), time.Since(t0), got.Load()-got0
	per := (cpu1 - cpu0).Seconds() / elapsed.Seconds() / streams
	b.ReportMetric(per*1e3, "cpu-ms/s/stream")
	b.ReportMetric(per*100, "%core/stream")
	b.ReportMetric(float64(received)/elapsed.Seconds()/streams, "echoes/s/stream")
	b.Logf("%d streams for %.1fs: server CPU %v, %d of %d answers back", streams, elapsed.Seconds(), cpu1-cpu0, received, int(elapsed.Seconds()*50*streams))
}

// procCPU is a process's user+system CPU time from /proc (clock ticks of
// 10 ms).
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func freeUDPPort(b *testing.B) int {
	// A TCP port free on loopback, whose UDP twin is almost surely free.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
