package ratelimit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
)

func nodeKey(label string) (ed25519.PrivateKey, identity.Ed25519PublicKey) {
	s := sha256.Sum256([]byte(label))
	priv := ed25519.NewKeyFromSeed(s[:])
	return priv, identity.Ed25519PublicKeyOf(priv)
}

// TestSourceOf: a peer is a node only with a certificate for a key of the
// snapshot; everyone else is a client, per address (per /64 for IPv6).
func TestSourceOf(t *testing.T) {
	priv, member := nodeKey("member")
	strangerPriv, _ := nodeKey("stranger")
	state := func(p ed25519.PrivateKey) *tls.ConnectionState {
		cert, err := keytls.Certificate(p)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}
	}
	inSnapshot := func(k identity.Ed25519PublicKey) bool { return k == member }
	tests := []struct {
		name   string
		remote string
		tls    *tls.ConnectionState
		want   Source
	}{
		{"plain client", "192.0.2.1:4000", nil, ClientSource(netip.MustParseAddr("192.0.2.1"))},
		{"tls client without certificate", "192.0.2.1:4000", &tls.ConnectionState{}, ClientSource(netip.MustParseAddr("192.0.2.1"))},
		{"node of the snapshot", "192.0.2.1:4000", state(priv), NodeSource(member)},
		{"certificate for a key outside the snapshot", "192.0.2.1:4000", state(strangerPriv), ClientSource(netip.MustParseAddr("192.0.2.1"))},
		{"ipv6 client per /64", "[2001:db8::1]:4000", nil, ClientSource(netip.MustParseAddr("2001:db8::ffff"))},
		{"mapped ipv4", "[::ffff:192.0.2.1]:4000", nil, ClientSource(netip.MustParseAddr("192.0.2.1"))},
		{"no address", "", nil, Source{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r.RemoteAddr, r.TLS = tt.remote, tt.tls
			if got := SourceOf(r, inSnapshot); got != tt.want {
				t.Fatalf("SourceOf = %v %+v, want %+v", got, got, tt.want)
			}
		})
	}
	if s := NodeSource(member).String(); s != "node "+member.String() {
		t.Errorf("node source prints %q", s)
	}
	if s := ClientSource(netip.MustParseAddr("192.0.2.1")).String(); s != "client" {
		t.Errorf("client source prints %q, which must not show the address", s)
	}
}

func TestSourceLimiter(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	_, k1 := nodeKey("r1")
	_, k2 := nodeKey("r2")
	l := NewSourceLimiter(Rate{Burst: 2, PerSecond: 1}, Rate{Burst: 5, PerSecond: 1}, 0)
	client := ClientSource(netip.MustParseAddr("192.0.2.1"))
	take := func(src Source) (n int) {
		for {
			if ok, _ := l.Allow(src, t0); !ok {
				return n
			}
			n++
		}
	}
	if n := take(client); n != 2 {
		t.Fatalf("client burst %d, want 2", n)
	}
	if n := take(NodeSource(k1)); n != 5 {
		t.Fatalf("node burst %d, want 5", n)
	}
	if n := take(NodeSource(k2)); n != 5 {
		t.Fatalf("a second node's burst %d after the first spent its own, want 5", n)
	}
}

func TestPool(t *testing.T) {
	_, k1 := nodeKey("r1")
	_, k2 := nodeKey("r2")
	_, k3 := nodeKey("r3")
	r1, r2, r3 := NodeSource(k1), NodeSource(k2), NodeSource(k3)
	c1, c2 := ClientSource(netip.MustParseAddr("192.0.2.1")), ClientSource(netip.MustParseAddr("192.0.2.2"))
	fill := func(p *Pool, src Source) (n int, err error) {
		for {
			if _, err := p.Acquire(src); err != nil {
				return n, err
			}
			n++
		}
	}
	t.Run("per client", func(t *testing.T) {
		p := NewPool(PoolLimits{PerClient: 3})
		if n, err := fill(p, c1); n != 3 || !errors.Is(err, ErrSourceBusy) {
			t.Fatalf("client took %d, then %v", n, err)
		}
		if n, _ := fill(p, c2); n != 3 {
			t.Fatalf("another client took %d", n)
		}
	})
	t.Run("total", func(t *testing.T) {
		p := NewPool(PoolLimits{Total: 4})
		if n, err := fill(p, c1); n != 4 || !errors.Is(err, ErrPoolFull) {
			t.Fatalf("took %d, then %v", n, err)
		}
	})
	t.Run("nodes share fairly", func(t *testing.T) {
		p := NewPool(PoolLimits{NodeShare: 12, NodeMin: 1})
		// Alone, a node leaves half for whoever comes next.
		if n, _ := fill(p, r1); n != 6 {
			t.Fatalf("first node took %d, want 12/2", n)
		}
		// The second finds its share: 12/3 with two holding.
		if n, _ := fill(p, r2); n != 4 {
			t.Fatalf("second node took %d, want 12/3", n)
		}
		// And a third still gets in, however busy the first two are.
		if n, _ := fill(p, r3); n != 3 {
			t.Fatalf("third node took %d, want 12/4", n)
		}
	})
	t.Run("release", func(t *testing.T) {
		p := NewPool(PoolLimits{Total: 1, NodeShare: 10})
		release, err := p.Acquire(r1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Acquire(r2); !errors.Is(err, ErrPoolFull) {
			t.Fatalf("full pool: %v", err)
		}
		release()
		release() // a second call is harmless
		if total, mine := p.InFlight(r1); total != 0 || mine != 0 {
			t.Fatalf("after release: %d in flight, %d of r1", total, mine)
		}
		if _, err := p.Acquire(r2); err != nil {
			t.Fatalf("after release: %v", err)
		}
	})
	t.Run("node min", func(t *testing.T) {
		p := NewPool(PoolLimits{NodeShare: 4, NodeMin: 3})
		for _, r := range []Source{r1, r2, r3} {
			if n, _ := fill(p, r); n != 3 {
				t.Fatalf("node took %d, want its minimum 3", n)
			}
		}
	})
}
