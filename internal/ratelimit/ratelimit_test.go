package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	v6a := netip.MustParseAddr("2001:db8::1")
	v6b := netip.MustParseAddr("2001:db8::ffff:1") // same /64
	v6c := netip.MustParseAddr("2001:db8:0:1::1")  // other /64
	tests := []struct {
		name  string
		steps func(t *testing.T, l *Limiter)
	}{
		{"burst then refused with hint", func(t *testing.T, l *Limiter) {
			for i := range 600 {
				if ok, _ := l.Allow(a, t0); !ok {
					t.Fatalf("request %d refused within burst", i)
				}
			}
			ok, retry := l.Allow(a, t0)
			if ok || retry <= 0 || retry > time.Second/300+time.Millisecond {
				t.Fatalf("after burst: ok=%v retry=%v", ok, retry)
			}
			if ok, _ := l.Allow(b, t0); !ok {
				t.Fatal("another address is limited too")
			}
			if ok, _ := l.Allow(a, t0.Add(10*time.Millisecond)); !ok {
				t.Fatal("no refill after 10ms at 300/s")
			}
		}},
		{"ipv6 per /64", func(t *testing.T, l *Limiter) {
			for range 600 {
				l.Allow(v6a, t0)
			}
			if ok, _ := l.Allow(v6b, t0); ok {
				t.Fatal("same /64 not shared")
			}
			if ok, _ := l.Allow(v6c, t0); !ok {
				t.Fatal("other /64 limited")
			}
		}},
		{"sweep forgets refilled buckets", func(t *testing.T, l *Limiter) {
			l.Allow(a, t0)
			l.Allow(b, t0.Add(2*time.Minute))
			if len(l.t.buckets) != 1 {
				t.Fatalf("%d buckets after sweep, want 1", len(l.t.buckets))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.steps(t, New(DefaultBurst, DefaultRate, 0)) })
	}
}

func TestOverflowBucketBoundsMemory(t *testing.T) {
	l := New(1, 1, 2)
	t0 := time.Unix(1700000000, 0)
	for i := range 10 {
		l.Allow(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), t0)
	}
	if len(l.t.buckets) != 2 {
		t.Fatalf("%d buckets, want 2", len(l.t.buckets))
	}
	if ok, _ := l.Allow(netip.MustParseAddr("10.0.1.1"), t0); ok {
		t.Fatal("overflow bucket not shared")
	}
}
