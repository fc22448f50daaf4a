// Package replay remembers 32-byte values seen recently, so a node can
// refuse a replayed request: onion ephemeral keys (protocol/onion makes a
// fresh one per layer), or hashes of signed requests.
//
// A [Cache] is bounded twice: entries expire after a window, and when it is
// full the oldest entry is dropped to make room. The second bound keeps the
// memory fixed under a flood, at a price: a value evicted before its window
// ends can be replayed once more. Size the cache for the peak rate times the
// window (10,000 requests/s × 60 s = 600,000 entries; an entry costs about
// 170 bytes, so 100 MB), and pair it with a check that makes older requests
// useless anyway: signature timestamps within ±60 s (DESIGN.md §4) make a
// signed request replayed after the window fail on its own. Onion layers
// carry no timestamp, so for them the window bounds how long a replay is
// caught, and the storage RPC inside must be safe to repeat after that.
//
// The cache reads no clock: callers pass the time, which keeps it testable
// and lets a node use one clock reading per request.
package replay

import (
	"sync"
	"time"
)

// Cache is a set of recently seen 32-byte values. It is safe for concurrent
// use.
type Cache struct {
	window time.Duration

	mu sync.Mutex // guards everything below
	// seen maps a value to when it was added; it may hold values whose
	// window has passed until the ring reaches them.
	seen map[[32]byte]time.Time
	// ring holds entries in insertion order, oldest at head; its length is
	// the size bound. An entry whose time no longer matches seen is stale
	// (the value expired and was added again) and only takes up its slot.
	ring  []entry
	head  int
	count int
}

type entry struct {
	key [32]byte
	at  time.Time
}

// New returns a cache of at most size entries that forgets a value window
// after it was first seen. It panics if size < 1 or window <= 0.
func New(size int, window time.Duration) *Cache {
	if size < 1 || window <= 0 {
		panic("replay: size and window must be positive")
	}
	return &Cache{
		window: window,
		seen:   make(map[[32]byte]time.Time, min(size, 1<<16)),
		ring:   make([]entry, size),
	}
}

// Seen reports whether key was seen within the window before now, and
// remembers it if not. A repeat does not extend the window: an attacker
// replaying a value cannot keep it in the cache, and the value's first use
// is what the window measures from. A now earlier than the recorded time
// (a clock stepped back) counts as within the window.
func (c *Cache) Seen(key [32]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if at, ok := c.seen[key]; ok && now.Sub(at) < c.window {
		return true
	}
	if c.count == len(c.ring) {
		c.pop()
	}
	c.ring[(c.head+c.count)%len(c.ring)] = entry{key, now}
	c.count++
	c.seen[key] = now
	return false
}

// Len is the number of entries held, expired ones not yet dropped included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// expire drops entries from the head while their window has passed. Entries
// are in insertion order, which is time order unless the caller's clock went
// backwards; an out-of-order entry then waits for its predecessors, and
// Seen's own check on the recorded time keeps the answer right meanwhile.
func (c *Cache) expire(now time.Time) {
	for c.count > 0 && now.Sub(c.ring[c.head].at) >= c.window {
		c.pop()
	}
}

func (c *Cache) pop() {
	e := c.ring[c.head]
	if at, ok := c.seen[e.key]; ok && at.Equal(e.at) {
		delete(c.seen, e.key)
	}
	c.ring[c.head] = entry{}
	c.head = (c.head + 1) % len(c.ring)
	c.count--
}
