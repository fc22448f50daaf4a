package ratelimit

import "time"

// Keyed holds one token bucket per key of any comparable type, for
// budgets per something other than a client address or a [Source] (the
// push server's per subscription and per endpoint host). Its table is
// bounded like the others: past maxKeys, new keys share one overflow
// bucket. It is safe for concurrent use.
type Keyed[K comparable] struct {
	t *table[K]
}

// NewKeyed returns a Keyed limiter of rate r for at most maxKeys keys
// (0 means [DefaultMaxClients]).
func NewKeyed[K comparable](r Rate, maxKeys int) *Keyed[K] {
	return &Keyed[K]{t: newTable[K](r, maxKeys)}
}

// Allow takes a token from k's bucket; when it is empty it returns false
// and how long until one is back.
func (l *Keyed[K]) Allow(k K, now time.Time) (bool, time.Duration) {
	return l.t.allow(k, now)
}
