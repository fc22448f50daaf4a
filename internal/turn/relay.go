package turn

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	pionturn "github.com/pion/turn/v4"

	"github.com/hushnet/hush/internal/config"
)

// errCapacity refuses an allocation past max_allocations; pion answers
// 508 Insufficient Capacity.
var errCapacity = errors.New("turn: allocation capacity reached")

// errNoTCPRelay refuses RFC 6062 TCP allocations, which WebRTC never asks.
var errNoTCPRelay = errors.New("turn: TCP allocations are not offered")

// allocations counts and limits allocations and their bandwidth.
type allocations struct {
	cfg     config.TURN
	metrics *metrics
	total   atomic.Int64 // relayed sockets open

	mu     sync.Mutex
	byUser map[string]int // live allocations per username

	bytes *bucket // the whole server's bandwidth
}

func newAllocations(cfg config.TURN) *allocations {
	return &allocations{cfg: cfg, byUser: map[string]int{}, bytes: newBucket(cfg.TotalBytesPerSecond)}
}

// quota is pion's QuotaHandler, asked before an allocation is made.
func (a *allocations) quota(username, _ string, _ net.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.byUser[username] >= a.cfg.MaxAllocationsPerCredential {
		a.metrics.refused.WithLabelValues("credential_quota").Inc()
		return false
	}
	return true
}

// events keeps the per-username counts from pion's allocation events.
func (a *allocations) events() pionturn.EventHandler {
	return pionturn.EventHandler{
		OnAllocationCreated: func(_, _ net.Addr, _, username, _ string, _ net.Addr, _ int) {
			a.mu.Lock()
			a.byUser[username]++
			a.mu.Unlock()
			a.metrics.allocated.Inc()
		},
		OnAllocationDeleted: func(_, _ net.Addr, _, username, _ string) {
			a.mu.Lock()
			if a.byUser[username]--; a.byUser[username] <= 0 {
				delete(a.byUser, username)
			}
			a.mu.Unlock()
		},
	}
}

// credentials is the number of usernames holding allocations.
func (a *allocations) credentials() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.byUser)
}

// permission is pion's PermissionHandler: may an allocation send to
// peer?
func (a *allocations) permission(_ net.Addr, peer net.IP) bool {
	ip, ok := netip.AddrFromSlice(peer)
	if ok && a.peerAllowed(ip) {
		return true
	}
	a.metrics.refused.WithLabelValues("peer").Inc()
	return false
}

// cgnat is RFC 6598's shared address space, private in all but name.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// peerAllowed reports whether ip is a peer allocations may relay to.
func (a *allocations) peerAllowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	if a.cfg.AllowPrivatePeers {
		return ip.IsValid()
	}
	return PublicPeer(ip)
}

// PublicPeer reports whether ip is a peer a public TURN server may relay
// to: not loopback, private, link-local, multicast, unspecified or
// shared (CGNAT) space.
func PublicPeer(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && ip.IsGlobalUnicast() && !ip.IsPrivate() && !cgnat.Contains(ip) &&
		!ip.IsLoopback() && !ip.IsLinkLocalUnicast() && ip != netip.IPv4Unspecified() &&
		!(ip.Is4() && ip.As4()[0] == 0)
}

// generator wraps pion's relay address generator: it refuses past
// max_allocations and wraps every relayed socket in a relayConn.
func (a *allocations) generator(inner pionturn.RelayAddressGenerator) pionturn.RelayAddressGenerator {
	return &relayGenerator{inner: inner, a: a}
}

type relayGenerator struct {
	inner pionturn.RelayAddressGenerator
	a     *allocations
	once  sync.Once
	err   error
}

func (g *relayGenerator) Validate() error {
	// Shared by every listener's config; pion validates each.
	g.once.Do(func() { g.err = g.inner.Validate() })
	return g.err
}

func (g *relayGenerator) AllocatePacketConn(network string, port int) (net.PacketConn, net.Addr, error) {
	a := g.a
	if a.total.Add(1) > int64(a.cfg.MaxAllocations) {
		a.total.Add(-1)
		a.metrics.refused.WithLabelValues("capacity").Inc()
		return nil, nil, errCapacity
	}
	pc, addr, err := g.inner.AllocatePacketConn(network, port)
	if err != nil {
		a.total.Add(-1)
		return nil, nil, err
	}
	return &relayConn{PacketConn: pc, a: a, bytes: newBucket(a.cfg.AllocationBytesPerSecond)}, addr, nil
}

func (g *relayGenerator) AllocateConn(string, int) (net.Conn, net.Addr, error) {
	return nil, nil, errNoTCPRelay
}

// relayConn is an allocation's relayed socket: it counts what it relays,
// drops datagrams to or from peers that are not allowed, and drops what
// exceeds the allocation's or the server's bandwidth.
type relayConn struct {
	net.PacketConn
	a      *allocations
	bytes  *bucket
	closed atomic.Bool
}

// allow charges n bytes to the allocation and the server.
func (c *relayConn) allow(n int, now time.Time) bool {
	if !c.bytes.take(n, now) {
		c.a.metrics.dropped.WithLabelValues("allocation_bandwidth").Add(float64(n))
		return false
	}
	if !c.a.bytes.take(n, now) {
		c.a.metrics.dropped.WithLabelValues("total_bandwidth").Add(float64(n))
		return false
	}
	return true
}

func (c *relayConn) peerOK(addr net.Addr) bool {
	u, ok := addr.(*net.UDPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(u.IP)
	if ok && c.a.peerAllowed(ip) {
		return true
	}
	c.a.metrics.dropped.WithLabelValues("peer").Inc()
	return false
}

// WriteTo sends a client's datagram to a peer. A dropped datagram is
// reported as sent: UDP promises nothing, and pion would log an error.
func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !c.peerOK(addr) || !c.allow(len(p), time.Now()) {
		return len(p), nil
	}
	n, err := c.PacketConn.WriteTo(p, addr)
	c.a.metrics.relayed.WithLabelValues("to_peer").Add(float64(n))
	return n, err
}

// ReadFrom receives a peer's datagram for the client, skipping dropped
// ones.
func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		if !c.peerOK(addr) || !c.allow(n, time.Now()) {
			continue
		}
		c.a.metrics.relayed.WithLabelValues("to_client").Add(float64(n))
		return n, addr, nil
	}
}

func (c *relayConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.a.total.Add(-1)
	}
	return c.PacketConn.Close()
}

// bucket is a token bucket of bytes: rate per second, a second's worth
// of burst.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
}

func newBucket(rate int64) *bucket {
	return &bucket{rate: float64(rate), tokens: float64(rate)}
}

func (b *bucket) take(n int, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens = min(b.rate, b.tokens+b.rate*now.Sub(b.last).Seconds())
	}
	b.last = now
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}
