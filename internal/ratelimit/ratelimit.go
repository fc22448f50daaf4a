// Package ratelimit budgets what each source of requests may use of a
// server: token buckets for request rates ([Limiter] per client address,
// [SourceLimiter] per [Source]) and [Pool], a count of requests in flight
// with a share per source.
//
// # Sources
//
// A [Source] is whom a budget is per. A peer that proves in its TLS
// handshake that it is a node of the network (its client certificate
// binds an Ed25519 key of the current snapshot; see [SourceOf] and
// keytls.PeerNode) is budgeted per node identity, with room for the
// aggregate of the clients it relays for. Any other peer is a client,
// budgeted per address. A relay carries many clients from one address, so
// a per-address budget at a relay's next hop would let one abuser behind
// the relay exhaust the budget of every other client behind it; a per-node
// budget confines the damage to that relay's own share, and the relay
// itself limits each of its clients per address.
//
// IPv6 clients are limited per /64, since one host usually holds a whole
// /64 and could otherwise rotate addresses to escape the limit.
//
// # Rates
//
// Session's client rate limit (session-storage-server
// oxenss/rpc/rate_limiter.h: 600 tokens of burst, refilled at 300 per
// second) is [DefaultBurst] and [DefaultRate]. Tables of buckets are
// bounded: buckets full again are dropped on a sweep, and when a table
// reaches its size limit new sources share one overflow bucket rather
// than growing memory.
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

// Rate is the shape of a token bucket: Burst tokens at most, refilled at
// PerSecond.
type Rate struct {
	Burst     int
	PerSecond float64
}

// Limiter holds one token bucket per client address. It is safe for
// concurrent use.
type Limiter struct {
	t *table[netip.Addr]
}

// New returns a limiter allowing burst requests at once and rate per
// second sustained, for at most maxClients distinct addresses (0 means
// DefaultMaxClients).
func New(burst int, rate float64, maxClients int) *Limiter {
	return &Limiter{t: newTable[netip.Addr](Rate{burst, rate}, maxClients)}
}

// addrKey is the part of a client address a budget is per.
func addrKey(a netip.Addr) netip.Addr {
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
	return l.t.allow(addrKey(addr), now)
}

// table is a bounded set of token buckets keyed by K.
type table[K comparable] struct {
	burst, rate float64
	max         int

	mu        sync.Mutex // guards the fields below
	buckets   map[K]*bucket
	overflow  bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newTable[K comparable](r Rate, max int) *table[K] {
	if max <= 0 {
		max = DefaultMaxClients
	}
	return &table[K]{burst: float64(r.Burst), rate: r.PerSecond, max: max, buckets: make(map[K]*bucket)}
}

func (l *table[K]) allow(k K, now time.Time) (bool, time.Duration) {
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
	if l.rate <= 0 {
		return false, time.Hour
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep drops buckets that have refilled: forgetting them loses nothing.
func (l *table[K]) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}
