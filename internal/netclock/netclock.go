// Package netclock estimates the network's time from the node times ("t")
// in storage RPC answers, so that a client whose own clock is wrong still
// signs requests nodes accept, without letting any single node set it.
//
// A [Clock] keeps the newest sample of each node (at most [MaxNodes],
// each for [SampleLife]) and takes the median over distinct nodes: one
// node, or fewer than half of those sampled, cannot move it. A sample
// further than [MaxOffset] from the local clock is refused outright, and
// once three or more nodes agree, a node whose sample is further than
// [Agree] from their median is reported as an outlier (the caller names
// it as a bad node).
//
// The network time is for signatures and for what is sealed. Decisions
// that destroy something (deleting prekeys, refusing mail as too old,
// expiring messages) take [Clock.Safe], the earlier of the local and the
// network time: they wait until both clocks agree the moment has come,
// so neither a lying node nor a wrong local clock can make them early.
//
// Signatures take [Clock.Stamp]: the network time, but strictly later
// than every stamp before, since nodes refuse a repeated signature as a
// replay. The client library and internal/nodeclient both sign with it;
// this is the project's one clock-offset type.
package netclock

import (
	"slices"
	"sync"
	"time"
)

// Bounds.
const (
	// MaxOffset is the largest offset from the local clock a sample may
	// show; a node claiming more is lying or broken, and a local clock
	// off by more than a week needs fixing by its user.
	MaxOffset = 7 * 24 * time.Hour
	// Agree is how far two clocks may differ and still count as agreeing:
	// a round trip through an onion path plus the nodes' own error.
	Agree = 2 * time.Minute
	// MaxNodes bounds the samples kept.
	MaxNodes = 16
	// SampleLife is how long a sample counts, in local time.
	SampleLife = 15 * time.Minute
)

type sample struct {
	offset time.Duration
	at     time.Time // local time of the sample
}

// Clock is the network's time as the nodes' answers show it. It is safe
// for concurrent use.
type Clock struct {
	local func() time.Time

	mu      sync.Mutex // guards the fields below
	samples map[string]sample
	offset  time.Duration // the median, recomputed on every sample
	lastMs  int64         // the last millisecond Stamp handed out or reserved
}

// New returns a clock over local (time.Now if nil) that starts at offset
// initial (a saved estimate, or 0), clamped to ±MaxOffset.
func New(local func() time.Time, initial time.Duration) *Clock {
	if local == nil {
		local = time.Now
	}
	return &Clock{local: local, samples: map[string]sample{}, offset: clamp(initial)}
}

func clamp(d time.Duration) time.Duration { return max(min(d, MaxOffset), -MaxOffset) }

// Observe records that node answered with time t (Unix ms) to a request
// sent at local time sent and answered at local time received. It
// returns the sample's offset and whether it is an outlier: refused
// (beyond MaxOffset), or further than Agree from the median of at least
// three other nodes.
func (c *Clock) Observe(node string, sent, received time.Time, t int64) (time.Duration, bool) {
	// The node read its clock about halfway through the round trip.
	mid := sent.Add(received.Sub(sent) / 2)
	off := time.UnixMilli(t).Sub(mid)
	if off > MaxOffset || off < -MaxOffset {
		return off, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.local()
	others := c.fresh(now, node)
	outlier := false
	if len(others) >= 3 {
		m := median(others)
		outlier = off-m > Agree || m-off > Agree
	}
	if _, ok := c.samples[node]; !ok && len(c.samples) >= MaxNodes {
		c.evictOldest()
	}
	c.samples[node] = sample{offset: off, at: now}
	c.offset = median(c.fresh(now, ""))
	// After the local clock jumped ahead, signatures stamped before this
	// correction were refused as skewed, so none can be replayed: let
	// Stamp follow the corrected clock instead of staying pinned ahead.
	if ms := now.Add(c.offset).UnixMilli(); c.lastMs > ms+Agree.Milliseconds() {
		c.lastMs = ms
	}
	return off, outlier
}

// fresh returns the offsets of the live samples of every node but skip,
// dropping the stale ones.
func (c *Clock) fresh(now time.Time, skip string) []time.Duration {
	var out []time.Duration
	for k, s := range c.samples {
		if now.Sub(s.at) > SampleLife || s.at.Sub(now) > Agree {
			delete(c.samples, k) // old, or from before the local clock went back
			continue
		}
		if k != skip {
			out = append(out, s.offset)
		}
	}
	return out
}

func (c *Clock) evictOldest() {
	var oldest string
	for k, s := range c.samples {
		if oldest == "" || s.at.Before(c.samples[oldest].at) {
			oldest = k
		}
	}
	delete(c.samples, oldest)
}

// median of offsets; of the two middle ones of an even count, the one
// nearer the local clock. Without samples, 0.
func median(offs []time.Duration) time.Duration {
	if len(offs) == 0 {
		return 0
	}
	s := slices.Clone(offs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	a, b := s[n/2-1], s[n/2]
	if a.Abs() <= b.Abs() {
		return a
	}
	return b
}

// Offset is the network's time minus the local clock's: the median of
// the live samples, or the last estimate when none is live.
func (c *Clock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// Nodes is how many distinct nodes the offset rests on now.
func (c *Clock) Nodes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.fresh(c.local(), ""))
}

// Local is the local clock.
func (c *Clock) Local() time.Time { return c.local() }

// Now is the network's time: for signatures and sealed times.
func (c *Clock) Now() time.Time { return c.local().Add(c.Offset()) }

// Stamp returns the network time to sign with, to the millisecond and
// strictly later than every stamp handed out before, so that no two
// signatures made with this clock are equal. The reserve milliseconds
// from the stamp on are kept for the caller (a batch signs sub-request i
// at the stamp + i ms); reserve below 1 counts as 1. A stamp runs ahead
// of the network time only while stamps are asked for faster than one
// per millisecond (per reserve).
func (c *Clock) Stamp(reserve int64) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := c.local().Add(c.offset).UnixMilli()
	if ms <= c.lastMs {
		ms = c.lastMs + 1
	}
	c.lastMs = ms + max(reserve, 1) - 1
	return time.UnixMilli(ms)
}

// Safe is the time for decisions that destroy something: the earlier of
// the local and the network time. agree is false when the two differ by
// more than Agree; callers warn then, since destructive duties wait for
// the later clock.
func (c *Clock) Safe() (t time.Time, agree bool) {
	l := c.local()
	off := c.Offset()
	return l.Add(min(off, 0)), off.Abs() <= Agree
}

// Latest is the later of the local and the network time: for checks that
// refuse something as not yet plausible (a time in the future), so that
// neither clock being behind refuses an honest message.
func (c *Clock) Latest() time.Time {
	return c.local().Add(max(c.Offset(), 0))
}
