// Package ratelimit is a per-client-IP token bucket for a node's client
// traffic. Session's defaults (session-storage-server
// oxenss/rpc/rate_limiter.h: 600 tokens of burst, refilled at 300 per
// second) are [DefaultBurst] and [DefaultRate].
//
// IPv6 clients are limited per /64, since one host usually holds a whole
// /64 and could otherwise rotate addresses to escape the limit. The table
// of buckets is bounded: buckets full again are dropped on a sweep, and
// when the table reaches its size limit new addresses share one overflow
// bucket rather than growing memory.
package ratelimit

import (
	"net/netip"
	"sync"
	"time"
)

// Session's client rate limit.
const (
	DefaultBurst = 600
	DefaultRate  = 300 // tokens per second
	// DefaultMaxClients bounds the table of buckets.
	DefaultMaxClients = 100_000
)

// Limiter holds one token bucket per client address. It is safe for
// concurrent use.
type Limiter struct {
	burst, rate float64
	max         int

	mu        sync.Mutex // guards the fields below
	buckets   map[netip.Addr]*bucket
	overflow  bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns a limiter allowing burst requests at once and rate per
// second sustained, for at most maxClients distinct addresses (0 means
// DefaultMaxClients).
func New(burst int, rate float64, maxClients int) *Limiter {
	if maxClients <= 0 {
		maxClients = DefaultMaxClients
	}
	return &Limiter{burst: float64(burst), rate: rate, max: maxClients, buckets: make(map[netip.Addr]*bucket)}
}

func key(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// Allow takes one token for addr at now. When none is left it reports
// false and how long until one will be.
func (l *Limiter) Allow(addr netip.Addr, now time.Time) (bool, time.Duration) {
	k := key(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		l.sweep(now)
	}
	b := l.buckets[k]
	if b == nil {
		if len(l.buckets) >= l.max {
			b = &l.overflow
		} else {
			b = &bucket{tokens: l.burst, at: now}
			l.buckets[k] = b
		}
	}
	if dt := now.Sub(b.at); dt > 0 {
		b.tokens = min(l.burst, b.tokens+dt.Seconds()*l.rate)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep drops buckets that have refilled: forgetting them loses nothing.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}
