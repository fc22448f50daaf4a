package turn

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v5"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/logfilter"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/protocol/onion"
	wire "github.com/hushnet/hush/protocol/turn"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	s      *Server
	dir    string
	clock  *fakeClock
	logs   *syncBuffer
	target onion.ServerTarget
	relay  *relayer
}

type relayer struct {
	key     identity.Ed25519PublicKey
	x       *ecdh.PrivateKey
	steward *relay.PinnedSteward
}

// start runs a server on loopback until the test ends. Its clock is the
// real time (pion's client dates nothing, but credentials must be valid
// now); tests move it by hand.
func start(t testing.TB, edit func(*config.TURN), opts ...Option) *harness {
	t.Helper()
	h := &harness{dir: t.TempDir(), clock: &fakeClock{t: time.Now()}, logs: &syncBuffer{}}
	cfg := config.DefaultTURN()
	cfg.Data, cfg.Listen, cfg.Endpoint = h.dir, "127.0.0.1:0", "127.0.0.1:0"
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// As hushd turn builds it (cmd/hushd/turn.go), at debug level.
	logger := slog.New(logfilter.Handler(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
		"listen", "endpoint", "tls_listen", "relay_ip"))
	s, err := New(cfg, logger, append([]Option{WithClock(h.clock.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		done <- err // for the cleanup, which waits for Run
		t.Fatal(err)
	}
	port := s.EndpointAddr().(*net.TCPAddr).Port
	h.target = onion.ServerTarget{Host: "127.0.0.1", Port: uint16(port), Protocol: "https", Method: http.MethodPost, Target: wire.Target}
	h.relay = h.newRelay(t)
	return h
}

func (h *harness) newRelay(t testing.TB) *relayer {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	cert, err := keytls.Certificate(priv)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	st, err := relay.NewPinnedSteward(&cert, []relay.StewardServer{{Target: h.target, Ed25519: h.s.Identity().Ed25519Public()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return &relayer{key: identity.Ed25519PublicKeyOf(priv), x: x, steward: st}
}

// ask requests a credential through rl as the last relay of a path
// forwards it, and opens the answer as the client would.
func (h *harness) ask(t *testing.T, rl *relayer) (*wire.Credential, error) {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	serverX, _ := ecdh.X25519().NewPublicKey(h.s.Identity().X25519.PublicKey().Bytes())
	f, cs, err := onion.Build([]onion.Hop{{Ed25519: pub, X25519: rl.x.PublicKey()}}, onion.Destination{Node: onion.Hop{X25519: serverX}, Server: &h.target}, wire.MarshalRequest())
	if err != nil {
		t.Fatal(err)
	}
	l, err := onion.Peel(rl.x, f)
	if err != nil {
		t.Fatal(err)
	}
	next, err := l.NextFrame()
	if err != nil {
		t.Fatal(err)
	}
	st, resp, err := rl.steward.Do(context.Background(), h.target, next, onion.MaxFrameSize)
	if err != nil || st != http.StatusOK {
		t.Fatalf("relay: %d %q %v", st, resp, err)
	}
	if resp, err = l.Responder.Wrap(resp); err != nil {
		t.Fatal(err)
	}
	status, body, err := onion.OpenResponse(cs, resp)
	if err != nil {
		t.Fatal(err)
	}
	return wire.ParseAnswer(status, body)
}

// client is a pion TURN client of h's server over UDP.
func (h *harness) client(t testing.TB, user, pass string) *pionturn.Client {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := h.s.TURNAddr().String()
	c, err := pionturn.NewClient(&pionturn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: user, Password: pass, Realm: "hush", RTO: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); conn.Close() })
	return c
}

// peer is a UDP echo server on loopback.
func peer(t testing.TB) net.PacketConn {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	return pc
}

// echo sends msg through relayed to p and waits for it to come back.
func echo(t testing.TB, relayed net.PacketConn, p net.Addr, msg []byte) error {
	t.Helper()
	buf := make([]byte, 1500)
	// Datagrams may be lost before the permission is in place; resend.
	for range 50 {
		if _, err := relayed.WriteTo(msg, p); err != nil {
			return err
		}
		relayed.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, from, err := relayed.ReadFrom(buf)
		if err == nil {
			if !bytes.Equal(buf[:n], msg) || from.String() != p.String() {
				t.Fatalf("got %q from %v", buf[:n], from)
			}
			return nil
		}
	}
	return errors.New("no echo")
}

// TestRelay: a real allocation through the server with pion's client,
// on a credential from the onion endpoint: datagrams reach a peer and
// its answers come back, and the metrics count the bytes.
func TestRelay(t *testing.T) {
	h := start(t, func(c *config.TURN) { c.AllowPrivatePeers = true })
	cred, err := h.ask(t, h.relay)
	if err != nil {
		t.Fatal(err)
	}
	c := h.client(t, cred.Username, cred.Password)
	relayed, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relayed.Close()
	p := peer(t)
	if err := echo(t, relayed, p.LocalAddr(), []byte("hello through the relay")); err != nil {
		t.Fatal(err)
	}
	if got := h.s.Allocations(); got != 1 {
		t.Errorf("Allocations = %d, want 1", got)
	}
	if strings.Contains(h.logs.String(), cred.Username) {
		t.Errorf("a username is in the logs:\n%s", h.logs.String())
	}
}

// TestCredentials: an issued credential works; a wrong password, an
// expired credential, a malformed username and one longer than the
// server issues are refused.
func TestCredentials(t *testing.T) {
	h := start(t, func(c *config.TURN) { c.AllowPrivatePeers = true })
	now := h.clock.Now()
	good := h.s.Issue(now)
	expired := h.s.Issue(now.Add(-2 * time.Hour)) // expired an hour ago
	long := wire.Username(now.Add(48*time.Hour), make([]byte, wire.RandomSize))
	tests := []struct {
		name, user, pass string
		ok               bool
	}{
		{"issued", good.Username, good.Password, true},
		{"wrong password", good.Username, wire.Password([]byte("another secret"), good.Username), false},
		{"expired", expired.Username, expired.Password, false},
		{"malformed", "alice", "x", false},
		{"too long", long, wire.Password(h.s.secret, long), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h.client(t, tt.user, tt.pass)
			relayed, err := c.Allocate()
			if (err == nil) != tt.ok {
				t.Fatalf("Allocate: %v, want ok=%v", err, tt.ok)
			}
			if relayed != nil {
				relayed.Close()
			}
		})
	}
	// A credential valid now stops working once it expires.
	h.clock.Add(time.Hour + time.Second)
	if _, err := h.client(t, good.Username, good.Password).Allocate(); err == nil {
		t.Fatal("an expired credential allocated")
	}
}

// TestAllocationLimits: one credential holds at most its quota; all
// together at most max_allocations.
func TestAllocationLimits(t *testing.T) {
	h := start(t, func(c *config.TURN) {
		c.AllowPrivatePeers = true
		c.MaxAllocationsPerCredential, c.MaxAllocations = 2, 3
	})
	a := h.s.Issue(h.clock.Now())
	for i := range 2 {
		if _, err := h.client(t, a.Username, a.Password).Allocate(); err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
	}
	if _, err := h.client(t, a.Username, a.Password).Allocate(); err == nil || !strings.Contains(err.Error(), "486") {
		t.Fatalf("third allocation on one credential: %v, want 486", err)
	}
	b := h.s.Issue(h.clock.Now())
	if _, err := h.client(t, b.Username, b.Password).Allocate(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client(t, b.Username, b.Password).Allocate(); err == nil || !strings.Contains(err.Error(), "508") {
		t.Fatalf("allocation past max_allocations: %v, want 508", err)
	}
	if got := h.s.Allocations(); got != 3 {
		t.Fatalf("Allocations = %d, want 3", got)
	}
}

// TestIssuanceLimits: each relay gets its burst of credentials, then
// rate_limited with a wait; another relay still gets its own until the
// total budget is used up.
func TestIssuanceLimits(t *testing.T) {
	h := start(t, func(c *config.TURN) {
		c.RelayBurst, c.RelayRatePerSecond = 2, 0.001
		c.TotalBurst, c.TotalRatePerSecond = 3, 0.001
	})
	other := h.newRelay(t)
	steps := []struct {
		rl *relayer
		ok bool
	}{{h.relay, true}, {h.relay, true}, {h.relay, false}, {other, true}, {other, false}}
	for i, s := range steps {
		_, err := h.ask(t, s.rl)
		if s.ok != (err == nil) {
			t.Fatalf("request %d: %v, want ok=%v", i, err, s.ok)
		}
		var e *wire.Error
		if err != nil && (!errors.As(err, &e) || !errors.Is(err, wire.ErrRateLimited) || e.RetryAfter <= 0) {
			t.Fatalf("request %d: %v, want rate_limited with a wait", i, err)
		}
	}
}

// TestPeersRefused: without allow_private_peers an allocation may not
// relay to loopback, private or link-local peers (CreatePermission is
// refused, and no datagram gets through).
func TestPeersRefused(t *testing.T) {
	h := start(t, nil)
	cred := h.s.Issue(h.clock.Now())
	c := h.client(t, cred.Username, cred.Password)
	relayed, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relayed.Close()
	for _, p := range []string{"127.0.0.1:9", "10.1.2.3:9", "192.168.1.1:9", "169.254.1.1:9", "100.64.0.1:9", "[::1]:9", "[fe80::1]:9", "[fd00::1]:9"} {
		if err := c.CreatePermission(net.UDPAddrFromAddrPort(netip.MustParseAddrPort(p))); err == nil {
			t.Errorf("permission to %s granted", p)
		}
	}
	pp := peer(t)
	relayed.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	relayed.WriteTo([]byte("x"), pp.LocalAddr())
	if _, _, err := relayed.ReadFrom(make([]byte, 100)); err == nil {
		t.Fatal("a datagram to a loopback peer was relayed")
	}
}

func TestPublicPeer(t *testing.T) {
	for _, tt := range []struct {
		ip string
		ok bool
	}{
		{"8.8.8.8", true}, {"2001:4860::8888", true}, {"::ffff:8.8.8.8", true},
		{"127.0.0.1", false}, {"10.0.0.1", false}, {"172.16.5.4", false}, {"192.168.0.1", false}, {"169.254.0.1", false},
		{"100.100.0.1", false}, {"0.0.0.0", false}, {"0.1.2.3", false}, {"224.0.0.1", false}, {"255.255.255.255", false},
		{"::1", false}, {"::", false}, {"fe80::1", false}, {"fc00::1", false}, {"ff02::1", false}, {"::ffff:127.0.0.1", false},
	} {
		if got := PublicPeer(netip.MustParseAddr(tt.ip)); got != tt.ok {
			t.Errorf("PublicPeer(%s) = %v, want %v", tt.ip, got, tt.ok)
		}
	}
}

// TestTransports: clients reach the server over UDP, TCP and TLS (the
// certificate pinned to the server's key, as the network file gives it),
// and each gets a UDP relay that carries datagrams to a peer and back.
func TestTransports(t *testing.T) {
	h := start(t, func(c *config.TURN) { c.AllowPrivatePeers = true; c.TLSListen = "127.0.0.1:0" })
	cred := h.s.Issue(h.clock.Now())
	p := peer(t)
	dial := map[string]func() (net.PacketConn, error){
		"udp": func() (net.PacketConn, error) { return net.ListenPacket("udp4", "127.0.0.1:0") },
		"tcp": func() (net.PacketConn, error) {
			c, err := net.Dial("tcp", h.s.TURNAddr().String())
			if err != nil {
				return nil, err
			}
			return pionturn.NewSTUNConn(c), nil
		},
		"tls": func() (net.PacketConn, error) {
			server := h.s.Identity().Ed25519Public()
			cfg := keytls.ClientConfig(nil, func(k identity.Ed25519PublicKey) bool { return k == server })
			c, err := tls.Dial("tcp", h.s.TLSAddr().String(), cfg)
			if err != nil {
				return nil, err
			}
			return pionturn.NewSTUNConn(c), nil
		},
	}
	for _, name := range []string{"udp", "tcp", "tls"} {
		t.Run(name, func(t *testing.T) {
			conn, err := dial[name]()
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			addr := h.s.TURNAddr().String()
			if name == "tls" {
				addr = h.s.TLSAddr().String()
			}
			c, err := pionturn.NewClient(&pionturn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
				Username: cred.Username, Password: cred.Password, Realm: "hush"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Listen(); err != nil {
				t.Fatal(err)
			}
			relayed, err := c.Allocate()
			if err != nil {
				t.Fatal(err)
			}
			defer relayed.Close()
			if err := echo(t, relayed, p.LocalAddr(), []byte("over "+name)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTCPAllocationRefused: an RFC 6062 TCP allocation (which WebRTC
// never asks) is refused with 508, and the refusal holds no capacity: the
// same connection then gets the server's only UDP allocation.
func TestTCPAllocationRefused(t *testing.T) {
	h := start(t, func(c *config.TURN) {
		c.AllowPrivatePeers = true
		c.MaxAllocations = 1
		c.MaxAllocationsPerCredential = 1
	})
	cred := h.s.Issue(h.clock.Now())
	tc, err := net.Dial("tcp", h.s.TURNAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn := pionturn.NewSTUNConn(tc)
	defer conn.Close()
	addr := h.s.TURNAddr().String()
	c, err := pionturn.NewClient(&pionturn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: cred.Username, Password: cred.Password, Realm: "hush"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	if a, err := c.AllocateTCP(); err == nil || !strings.Contains(err.Error(), "508") {
		if a != nil {
			a.Close()
		}
		t.Fatalf("TCP allocation: %v, want 508", err)
	}
	relayed, err := c.Allocate()
	if err != nil {
		t.Fatalf("UDP allocation after a refused TCP one: %v", err)
	}
	defer relayed.Close()
	if err := echo(t, relayed, peer(t).LocalAddr(), []byte("udp after tcp")); err != nil {
		t.Fatal(err)
	}
}

// TestBandwidthLimit: an allocation relays at most its bytes per second
// (plus a second's burst); the rest is dropped, as on a congested link.
func TestBandwidthLimit(t *testing.T) {
	h := start(t, func(c *config.TURN) { c.AllowPrivatePeers = true; c.AllocationBytesPerSecond = 10_000 })
	cred := h.s.Issue(h.clock.Now())
	c := h.client(t, cred.Username, cred.Password)
	relayed, err := c.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relayed.Close()
	sink, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if err := c.CreatePermission(sink.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	var received atomic.Int64
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := sink.ReadFrom(buf); err != nil {
				return
			}
			received.Add(1)
		}
	}()
	const n = 100 // 100 KB: ten seconds' worth, sent at once
	start := time.Now()
	msg := make([]byte, 1000)
	for range n {
		relayed.WriteTo(msg, sink.LocalAddr())
	}
	for deadline := time.Now().Add(time.Minute); received.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("nothing was relayed")
		}
	}
	time.Sleep(100 * time.Millisecond) // more arriving can only make the check stricter
	// Read the count first: whatever the server relayed by then it
	// relayed within elapsed, so from its burst (10 datagrams) and what
	// refilled since the first was sent.
	got := received.Load()
	elapsed := time.Since(start)
	allowed := 10 + int64(elapsed.Seconds()*10) + 1
	if got > allowed {
		t.Fatalf("%d of %d datagrams relayed in %v, want at most %d", got, n, elapsed, allowed)
	}
}
