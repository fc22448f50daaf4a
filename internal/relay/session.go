package relay

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/protocol/onion"
)

// SessionLimits bound the session cache (see "Sessions" in the package
// doc). Zero fields take the defaults given.
type SessionLimits struct {
	// Total caps the sessions held; DefaultSessions by default.
	Total int
	// PerClient caps one client address's sessions (the guard's share);
	// DefaultClientSessions by default.
	PerClient int
	// PerNode caps the sessions one relay node opened here for the
	// clients behind it (the middle relay's share); Total/8 by default.
	PerNode int
}

// Defaults of [SessionLimits]. An entry takes about 160 bytes, so the
// default cache holds at most some 10 MiB.
const (
	DefaultSessions = 1 << 16
	// DefaultClientSessions leaves a client address room for its two
	// paths' sessions, renewed every few minutes, and for a household
	// of clients behind one address.
	DefaultClientSessions = 64
)

// sourceKey is a pointer-free name for a ratelimit.Source: a kind byte,
// then a node's key or a client's address (its /64 for IPv6, as the rate
// limits budget it).
type sourceKey [33]byte

func sessionSource(src ratelimit.Source, remote string) sourceKey {
	var k sourceKey
	if key, ok := src.Node(); ok {
		k[0] = 1
		raw := key.Raw32()
		copy(k[1:], raw[:])
		return k
	}
	k[0] = 2
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return k // no address (tests' recorders): one shared source
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		a = p.Addr()
	}
	b := a.As16()
	copy(k[1:], b[:])
	return k
}

// replayWords is the replay window in 64-bit words.
const replayWords = onion.ReplayWindow / 64

// sessionEntry is one session. It holds no pointers, so a full cache is
// one slab the garbage collector never scans; the lists are indices.
type sessionEntry struct {
	id      onion.SessionID
	key     onion.SessionKey
	src     sourceKey
	created int64 // unix nanoseconds, by the relay's clock
	// top is the highest counter accepted; bit i of seen is counter top-i.
	top  uint64
	seen [replayWords]uint64
	// prev/next order all entries by age, sprev/snext those of one
	// source; -1 ends a list.
	prev, next, sprev, snext int32
}

// sourceList is a source's entries, oldest first.
type sourceList struct{ head, tail, n int32 }

// sessionCache holds the sessions opened at this node. Its zero value is
// not usable; see newSessionCache.
type sessionCache struct {
	lim      SessionLimits
	lifetime time.Duration

	mu sync.Mutex // guards everything below
	// slab holds the entries, free the indices of unused ones.
	slab  []sessionEntry
	free  []int32
	byID  map[onion.SessionID]int32
	bySrc map[sourceKey]sourceList
	// head is the oldest entry, tail the newest.
	head, tail int32
}

var errSessionExists = errors.New("relay: session ID in use")

func newSessionCache(lim SessionLimits, lifetime time.Duration) *sessionCache {
	return &sessionCache{
		lim: lim, lifetime: lifetime,
		byID: map[onion.SessionID]int32{}, bySrc: map[sourceKey]sourceList{},
		head: -1, tail: -1,
	}
}

func (c *sessionCache) perSource(k sourceKey) int {
	if k[0] == 1 {
		return c.lim.PerNode
	}
	return c.lim.PerClient
}

// put stores s, opened by src at now, evicting the source's oldest
// session when the source is at its bound and the cache's oldest when it
// is full. A session ID already held is refused: an honest client draws
// 128 random bits, and overwriting would let whoever learnt an ID (the
// hop before) take the session over.
func (c *sessionCache) put(src sourceKey, s onion.Session, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if _, ok := c.byID[s.ID]; ok {
		return errSessionExists
	}
	if l := c.bySrc[src]; int(l.n) >= c.perSource(src) {
		c.remove(l.head)
	}
	if len(c.byID) >= c.lim.Total {
		c.remove(c.head)
	}
	var i int32
	if n := len(c.free); n > 0 {
		i, c.free = c.free[n-1], c.free[:n-1]
	} else {
		c.slab = append(c.slab, sessionEntry{})
		i = int32(len(c.slab) - 1)
	}
	c.slab[i] = sessionEntry{id: s.ID, key: s.Key, src: src, created: now.UnixNano(),
		prev: c.tail, next: -1, snext: -1}
	if c.tail >= 0 {
		c.slab[c.tail].next = i
	} else {
		c.head = i
	}
	c.tail = i
	l, ok := c.bySrc[src]
	if !ok {
		l = sourceList{head: -1, tail: -1}
	}
	c.slab[i].sprev = l.tail
	if l.tail >= 0 {
		c.slab[l.tail].snext = i
	} else {
		l.head = i
	}
	l.tail = i
	l.n++
	c.bySrc[src] = l
	c.byID[s.ID] = i
	return nil
}

// get returns the session id that src opened, if held and not expired.
// A session is bound to its source: another source finds nothing.
func (c *sessionCache) get(src sourceKey, id onion.SessionID, now time.Time) (onion.Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.byID[id]
	if !ok || c.slab[i].src != src {
		return onion.Session{}, false
	}
	if now.UnixNano()-c.slab[i].created > int64(c.lifetime) {
		c.remove(i)
		return onion.Session{}, false
	}
	return onion.Session{ID: id, Key: c.slab[i].key}, true
}

// accept records counter in session id's replay window, and reports
// whether it was new and within the window; false as well when the
// session went away since get.
func (c *sessionCache) accept(src sourceKey, id onion.SessionID, counter uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.byID[id]
	if !ok || c.slab[i].src != src {
		return false
	}
	return c.slab[i].window(counter)
}

// window is the sliding replay window (the shape of RFC 6479's, without
// its ring): a counter above top moves the window up, one within it
// below top is accepted once.
func (e *sessionEntry) window(counter uint64) bool {
	const w = onion.ReplayWindow
	if counter > e.top {
		shift := counter - e.top
		if shift >= w {
			e.seen = [replayWords]uint64{}
		} else {
			words, bits := int(shift/64), shift%64
			for j := replayWords - 1; j >= 0; j-- {
				var v uint64
				if j-words >= 0 {
					v = e.seen[j-words] << bits
					if bits > 0 && j-words-1 >= 0 {
						v |= e.seen[j-words-1] >> (64 - bits)
					}
				}
				e.seen[j] = v
			}
		}
		e.top = counter
		e.seen[0] |= 1
		return true
	}
	d := e.top - counter
	if d >= w {
		return false
	}
	word, bit := d/64, uint64(1)<<(d%64)
	if e.seen[word]&bit != 0 {
		return false
	}
	e.seen[word] |= bit
	return true
}

// expire removes the oldest entries past their lifetime. Entries age in
// insertion order, so it stops at the first live one. c.mu must be held.
func (c *sessionCache) expire(now time.Time) {
	for c.head >= 0 && now.UnixNano()-c.slab[c.head].created > int64(c.lifetime) {
		c.remove(c.head)
	}
}

// remove unlinks entry i and frees it. c.mu must be held.
func (c *sessionCache) remove(i int32) {
	if i < 0 {
		return
	}
	e := &c.slab[i]
	if e.prev >= 0 {
		c.slab[e.prev].next = e.next
	} else {
		c.head = e.next
	}
	if e.next >= 0 {
		c.slab[e.next].prev = e.prev
	} else {
		c.tail = e.prev
	}
	l := c.bySrc[e.src]
	if e.sprev >= 0 {
		c.slab[e.sprev].snext = e.snext
	} else {
		l.head = e.snext
	}
	if e.snext >= 0 {
		c.slab[e.snext].sprev = e.sprev
	} else {
		l.tail = e.sprev
	}
	if l.n--; l.n == 0 {
		delete(c.bySrc, e.src)
	} else {
		c.bySrc[e.src] = l
	}
	delete(c.byID, e.id)
	*e = sessionEntry{} // no key lingers in a free slot
	c.free = append(c.free, i)
}

// sessionCounts count session events since the relay started.
type sessionCounts struct {
	opened, warm, replayed, unknown atomic.Uint64
}

// SessionStats describe the session cache, for tests and metrics. The
// counts are totals since the relay started (a restart forgets them with
// the sessions); none is per source.
type SessionStats struct {
	Sessions int // held now
	Sources  int // sources holding at least one
	// MaxPerSource is the most one source holds.
	MaxPerSource int
	// Opened counts sessions opened, Warm session frames accepted,
	// Replayed session frames refused by the replay window, and Unknown
	// session_unknown answers.
	Opened, Warm, Replayed, Unknown uint64
}

// SessionStats returns the session cache's counts.
func (rl *Relay) SessionStats() SessionStats {
	c := rl.sessions
	c.mu.Lock()
	st := SessionStats{Sessions: len(c.byID), Sources: len(c.bySrc)}
	for _, l := range c.bySrc {
		st.MaxPerSource = max(st.MaxPerSource, int(l.n))
	}
	c.mu.Unlock()
	st.Opened, st.Warm = rl.counts.opened.Load(), rl.counts.warm.Load()
	st.Replayed, st.Unknown = rl.counts.replayed.Load(), rl.counts.unknown.Load()
	return st
}
