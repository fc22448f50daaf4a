//go:build torbench

package paths_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// errSOCKS reports a SOCKS5 exchange the Tor client refused or garbled.
var errSOCKS = errors.New("torbench: socks5")

// socksDial opens a TCP stream to target (an IPv4 literal and port)
// through the SOCKS5 proxy at proxy, with no authentication (RFC 1928:
// greeting, CONNECT, reply). It is the whole of the protocol a Tor client
// needs for a stream to 127.0.0.1.
func socksDial(ctx context.Context, proxy, target string) (net.Conn, error) {
	host, portS, err := net.SplitHostPort(target)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(host).To4()
	port, err := strconv.Atoi(portS)
	if ip == nil || err != nil {
		return nil, fmt.Errorf("%w: target %q is not IPv4:port", errSOCKS, target)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", proxy)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (net.Conn, error) { c.Close(); return nil, err }
	if _, err := c.Write([]byte{5, 1, 0}); err != nil {
		return fail(err)
	}
	var rep [10]byte
	if _, err := io.ReadFull(c, rep[:2]); err != nil {
		return fail(err)
	}
	if rep[0] != 5 || rep[1] != 0 {
		return fail(fmt.Errorf("%w: method %d refused", errSOCKS, rep[1]))
	}
	req := append([]byte{5, 1, 0, 1}, ip...)
	req = binary.BigEndian.AppendUint16(req, uint16(port))
	if _, err := c.Write(req); err != nil {
		return fail(err)
	}
	// Tor answers a CONNECT with an IPv4 bound address: 10 bytes.
	if _, err := io.ReadFull(c, rep[:]); err != nil {
		return fail(err)
	}
	if rep[0] != 5 || rep[1] != 0 || rep[3] != 1 {
		return fail(fmt.Errorf("%w: connect reply %d, address type %d", errSOCKS, rep[1], rep[3]))
	}
	return c, nil
}

// BenchmarkTorComparison is the benchmark-only comparison of issue 24
// against a private Tor network on loopback. It needs a bootstrapped Tor
// client's SOCKS port in TORBENCH_SOCKS, which scripts/torbench/run sets
// up (3 authorities, 5 relays, a client); without it the benchmark is
// skipped. It is behind the torbench build tag, so the default tests
// never build it.
//
// Each round interleaves, in an order that rotates every round so that
// machine noise falls on all of them alike:
//
//   - tor-stream: an HTTP GET through Tor over a warm circuit, on a new
//     stream per GET (what a fresh connection through a running Tor
//     client costs: RELAY_BEGIN to the exit, then the request);
//   - tor-keepalive: the same GET on one kept-alive stream (only the
//     request's round trip through the circuit);
//   - session: a warm hush retrieve through a 3-relay path with onion
//     sessions at the guard and the middle relay (docs/onion.md);
//   - full: the same with sessions off (full requests, as before them);
//   - direct: the same retrieve sent straight to the destination node.
//
// The Tor GETs fetch, from an HTTP server on 127.0.0.1, a body of exactly
// the size of the retrieve's answer. It reports each p50 and the ratios
// session/tor (goal ≤ 1.0), session/direct (goal ≤ 2.0) and full/tor.
func BenchmarkTorComparison(b *testing.B) {
	socks := os.Getenv("TORBENCH_SOCKS")
	if socks == "" {
		b.Skip("TORBENCH_SOCKS unset: run scripts/torbench/run")
	}
	f := newFixture(b, relaytest.Options{Nodes: 8})
	acct := identity.NewAccount()
	ctx := context.Background()
	if _, _, err := f.m.Do(ctx, f.nw.SwarmFor(acct.ID())[0], storeBody(b, acct.ID(), []byte("warm"))); err != nil {
		b.Fatal(err)
	}
	f.m.Flush()
	full := f.manager(b, func(o *paths.Options) { o.NoSessions = true })
	var dest snapshot.Node
	inPath := map[identity.Ed25519PublicKey]bool{}
	for _, p := range f.m.Paths() {
		for _, h := range p.Hops {
			inPath[h.Ed25519] = true
		}
	}
	for _, n := range f.nw.Snapshot.Nodes {
		if !inPath[n.Ed25519] {
			dest = n
		}
	}
	direct := f.nw.ClientPool()

	// The mailbox the retrieves read: one message of 1,000 bytes, a
	// short text message after end-to-end encryption and padding.
	msg := make([]byte, 1000)
	for i := range msg {
		msg[i] = byte('a' + i%26)
	}
	if s, _, err := relaytest.Direct(ctx, direct, dest, storeBody(b, acct.ID(), msg)); err != nil || s != http.StatusOK {
		b.Fatal("store:", s, err)
	}
	retrieveBody := func() []byte {
		r := &rpc.Retrieve{Namespace: 0}
		r.Stamp(time.Now())
		r.Sign(relaytest.NetworkID, acct)
		body, err := json.Marshal(rpc.Request{Method: r.Method(), Params: r.Params()})
		if err != nil {
			b.Fatal(err)
		}
		return body
	}
	s, answer, err := relaytest.Direct(ctx, direct, dest, retrieveBody())
	if err != nil || s != http.StatusOK {
		b.Fatal("retrieve:", s, err)
	}

	// The Tor side: an HTTP server on loopback with a body of the
	// answer's size, reached through the Tor client's SOCKS port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	url := "http://" + ln.Addr().String() + "/"
	dial := func(ctx context.Context, _, addr string) (net.Conn, error) { return socksDial(ctx, socks, addr) }
	torStream := &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	torKeep := &http.Client{Transport: &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 1}}
	get := func(c *http.Client) error {
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, bufio.NewReader(resp.Body))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || n != int64(len(answer)) {
			return fmt.Errorf("GET: %d, %d bytes, want %d", resp.StatusCode, n, len(answer))
		}
		return nil
	}
	rpcOp := func(do func([]byte) (int, []byte, error)) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			body := retrieveBody()
			t0 := time.Now()
			s, a, err := do(body)
			d := time.Since(t0)
			if err == nil && (s != http.StatusOK || len(a) != len(answer)) {
				err = fmt.Errorf("retrieve: %d, %d bytes, want %d", s, len(a), len(answer))
			}
			return d, err
		}
	}
	getOp := func(c *http.Client) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			t0 := time.Now()
			err := get(c)
			return time.Since(t0), err
		}
	}
	type op struct {
		name string
		run  func() (time.Duration, error)
		t    []time.Duration
	}
	ops := []*op{
		{name: "tor-stream", run: getOp(torStream)},
		{name: "tor-keepalive", run: getOp(torKeep)},
		{name: "session", run: rpcOp(func(body []byte) (int, []byte, error) { return f.m.Do(ctx, dest, body) })},
		{name: "full", run: rpcOp(func(body []byte) (int, []byte, error) { return full.Do(ctx, dest, body) })},
		{name: "direct", run: rpcOp(func(body []byte) (int, []byte, error) { return relaytest.Direct(ctx, direct, dest, body) })},
	}
	// Right after bootstrap a private network's exits may not be usable
	// yet (the client gives up on its first stream: "tried 3 different
	// places"): wait until one GET goes through.
	for deadline := time.Now().Add(2 * time.Minute); ; {
		err := get(torStream)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("tor never carried a GET: ", err)
		}
		time.Sleep(2 * time.Second)
	}
	// Warm up: Tor builds its circuit on the first GET; each path's
	// first request opens its sessions.
	for range 8 {
		for _, o := range ops {
			if _, err := o.run(); err != nil {
				b.Fatal(o.name, ": ", err)
			}
		}
	}
	f.nw.Observations()
	f.nw.RPCs()
	var pkLayers, warm, round int
	for b.Loop() {
		for k := range ops {
			o := ops[(round+k)%len(ops)]
			if o.name == "session" {
				f.nw.Observations()
			}
			d, err := o.run()
			if err != nil {
				b.Fatal(o.name, ": ", err)
			}
			o.t = append(o.t, d)
			if o.name == "session" {
				for _, ob := range f.nw.Observations() {
					if ob.Hop >= 0 && ob.Session == (onion.SessionID{}) {
						pkLayers++
					}
				}
				warm++
			}
		}
		round++
		f.nw.RPCs()
	}
	p50 := map[string]float64{}
	for _, o := range ops {
		slices.Sort(o.t)
		p50[o.name] = float64(o.t[len(o.t)/2].Microseconds())
		b.ReportMetric(p50[o.name], o.name+"-p50-µs")
	}
	b.ReportMetric(float64(len(answer)), "answer-bytes")
	b.ReportMetric(float64(round), "rounds")
	b.ReportMetric(p50["session"]/p50["tor-stream"], "session/tor-stream")
	b.ReportMetric(p50["session"]/p50["tor-keepalive"], "session/tor-keepalive")
	b.ReportMetric(p50["full"]/p50["tor-stream"], "full/tor-stream")
	b.ReportMetric(p50["full"]/p50["tor-keepalive"], "full/tor-keepalive")
	b.ReportMetric(p50["session"]/p50["direct"], "session/direct")
	b.ReportMetric(p50["full"]/p50["direct"], "full/direct")
	b.ReportMetric(float64(pkLayers)/float64(warm), "x25519-layers/warm")
}
