// Package replay remembers 32-byte values seen recently, so a node can
// refuse a replayed request: onion ephemeral keys (protocol/onion makes a
// fresh one per layer), or hashes of signed requests.
//
// A [Cache] is bounded twice: entries expire after a window, and when it is
// full the oldest entry is dropped to make room. The second bound keeps the
// memory bounded under a flood, at a price: a value evicted before its
// window ends can be replayed once more. Size the cache for the peak rate
// times the window (10,000 requests/s × 60 s = 600,000 entries; an entry
// held costs about 100 bytes, so 60 MB at that peak), and pair it with a
// check that makes older requests useless anyway: signature timestamps
// within ±60 s (DESIGN.md §4) make a signed request replayed after the
// window fail on its own. Onion layers carry no timestamp, so for them the
// window bounds how long a replay is caught, and the storage RPC inside
// must be safe to repeat after that.
//
// The size is a bound, not an allocation: a cache grows with the entries it
// holds and shrinks again when they expire, so an idle node with a cache
// sized for its peak holds a few KiB. (Preallocating took 1.09 GB of a
// fresh 12-node devnet's 1.10 GB heap.) Entries hold no pointers — the
// time is Unix nanoseconds, not a time.Time — so the garbage collector
// never scans them.
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
	window int64 // nanoseconds
	size   int   // the bound on entries

	mu sync.Mutex // guards everything below
	// seen maps a value to when it was added (Unix nanoseconds); it may
	// hold values whose window has passed until the ring reaches them.
	seen map[[32]byte]int64
	// peak is the most entries seen has held since it was last rebuilt:
	// Go maps never shrink, so after a flood expires seen is copied into a
	// map sized for what is left.
	peak int
	// ring holds entries in insertion order, oldest at head; it grows by
	// doubling up to size slots and halves when three quarters are free.
	// An entry whose time no longer matches seen is stale (the value
	// expired and was added again) and only takes up its slot.
	ring  []entry
	head  int
	count int
}

type entry struct {
	key [32]byte
	at  int64 // Unix nanoseconds
}

// minRing is the fewest slots a ring shrinks to; below it, resizing costs
// more than it saves.
const minRing = 64

// New returns a cache of at most size entries that forgets a value window
// after it was first seen. It allocates nothing for entries until they
// come. It panics if size < 1 or window <= 0.
func New(size int, window time.Duration) *Cache {
	if size < 1 || window <= 0 {
		panic("replay: size and window must be positive")
	}
	return &Cache{window: int64(window), size: size, seen: make(map[[32]byte]int64)}
}

// Seen reports whether key was seen within the window before now, and
// remembers it if not. A repeat does not extend the window: an attacker
// replaying a value cannot keep it in the cache, and the value's first use
// is what the window measures from. A now earlier than the recorded time
// (a clock stepped back) counts as within the window.
func (c *Cache) Seen(key [32]byte, now time.Time) bool {
	t := now.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(t)
	if at, ok := c.seen[key]; ok && t-at < c.window {
		return true
	}
	if c.count == c.size {
		c.pop()
	}
	if c.count == len(c.ring) {
		c.resize(min(max(2*len(c.ring), minRing), c.size))
	}
	c.ring[(c.head+c.count)%len(c.ring)] = entry{key, t}
	c.count++
	c.seen[key] = t
	c.peak = max(c.peak, len(c.seen))
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
// It then gives back memory the expired entries held.
func (c *Cache) expire(now int64) {
	for c.count > 0 && now-c.ring[c.head].at >= c.window {
		c.pop()
	}
	if len(c.ring) > minRing && c.count <= len(c.ring)/4 {
		c.resize(max(len(c.ring)/2, minRing))
	}
	// Rebuilding costs one copy of what is left, paid for by the seven
	// eighths of the peak that left first.
	if c.peak >= 8*minRing && len(c.seen) <= c.peak/8 {
		seen := make(map[[32]byte]int64, len(c.seen))
		for k, at := range c.seen {
			seen[k] = at
		}
		c.seen, c.peak = seen, len(seen)
	}
}

// resize moves the entries, in order, into a ring of n slots (n >= count).
func (c *Cache) resize(n int) {
	ring := make([]entry, n)
	for i := range c.count {
		ring[i] = c.ring[(c.head+i)%len(c.ring)]
	}
	c.ring, c.head = ring, 0
}

func (c *Cache) pop() {
	e := c.ring[c.head]
	if at, ok := c.seen[e.key]; ok && at == e.at {
		delete(c.seen, e.key)
	}
	c.ring[c.head] = entry{}
	c.head = (c.head + 1) % len(c.ring)
	c.count--
}
