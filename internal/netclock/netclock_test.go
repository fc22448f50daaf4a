package netclock

import (
	"fmt"
	"testing"
	"time"
)

func TestMedianOfDistinctNodes(t *testing.T) {
	base := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	local := func() time.Time { return base }
	at := func(off time.Duration) int64 { return base.Add(off).UnixMilli() }
	for _, tc := range []struct {
		name        string
		samples     []time.Duration // one node each, in order
		repeats     int             // the last node answers this many more times
		want        time.Duration
		lastOutlier bool
	}{
		{"one honest node", []time.Duration{3 * time.Second}, 0, 3 * time.Second, false},
		{"one liar beyond the bound", []time.Duration{16 * 24 * time.Hour}, 0, 0, true},
		{"a liar among three", []time.Duration{time.Second, 2 * time.Second, 0, 5 * 24 * time.Hour}, 0, time.Second, true},
		{"a liar answering often counts once", []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 5 * 24 * time.Hour}, 50, 2 * time.Second, true},
		{"two of two: the one nearer local", []time.Duration{5 * 24 * time.Hour, time.Second}, 0, time.Second, false},
		{"local clock wrong, all nodes agree", []time.Duration{time.Hour, time.Hour + time.Second, time.Hour - time.Second, time.Hour}, 0, time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(local, 0)
			var outlier bool
			for i, s := range tc.samples {
				_, outlier = c.Observe(fmt.Sprint(i), base, base, at(s))
			}
			for range tc.repeats {
				_, outlier = c.Observe(fmt.Sprint(len(tc.samples)-1), base, base, at(tc.samples[len(tc.samples)-1]))
			}
			if got := c.Offset(); got != tc.want {
				t.Fatalf("offset %v, want %v", got, tc.want)
			}
			if outlier != tc.lastOutlier {
				t.Fatalf("last sample outlier = %v, want %v", outlier, tc.lastOutlier)
			}
		})
	}
}

func TestSafeIsTheEarlierClock(t *testing.T) {
	base := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		off   time.Duration
		safe  time.Time
		agree bool
	}{
		{"agree", time.Second, base, true},
		{"network ahead", 3 * 24 * time.Hour, base, false},
		{"network behind", -3 * 24 * time.Hour, base.Add(-3 * 24 * time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(func() time.Time { return base }, tc.off)
			s, agree := c.Safe()
			if !s.Equal(tc.safe) || agree != tc.agree {
				t.Fatalf("Safe = %v, %v; want %v, %v", s, agree, tc.safe, tc.agree)
			}
			if l := c.Latest(); l.Before(base) || l.Before(base.Add(tc.off)) {
				t.Fatalf("Latest %v is before one of the clocks", l)
			}
		})
	}
}

func TestStaleSamplesExpire(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	c := New(func() time.Time { return now }, 0)
	c.Observe("a", now, now, now.Add(time.Hour).UnixMilli())
	now = now.Add(SampleLife + time.Second)
	c.Observe("b", now, now, now.Add(time.Second).UnixMilli())
	if got := c.Offset(); got != time.Second {
		t.Fatalf("offset %v: a stale sample still counts", got)
	}
}

// TestStamp: stamps are strictly increasing network times that keep each
// caller's reserve free, and follow a correction back instead of staying
// pinned ahead of it.
func TestStamp(t *testing.T) {
	base := time.UnixMilli(1_800_000_000_000)
	now := base
	c := New(func() time.Time { return now }, 0)
	steps := []struct {
		name    string
		advance time.Duration // local clock moves before the stamp
		reserve int64
		want    int64 // ms after base
	}{
		{"first is the network time", 0, 1, 0},
		{"same millisecond: the next one", 0, 1, 1},
		{"a batch reserves its milliseconds", 0, 20, 2},
		{"after the batch", 0, 1, 22},
		{"reserve 0 counts as 1", 0, 0, 23},
		{"time passes: back to the clock", time.Second, 1, 1000},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		if got := c.Stamp(st.reserve).Sub(base).Milliseconds(); got != st.want {
			t.Fatalf("%s: stamp at +%d ms, want +%d", st.name, got, st.want)
		}
	}
	// The local clock jumped an hour ahead; stamps follow it until nodes
	// correct the clock, then the network's time again.
	now = now.Add(time.Hour)
	c.Stamp(1)
	ms := now.UnixMilli()
	c.Observe("node", now, now, ms-time.Hour.Milliseconds())
	if got := c.Stamp(1); got.Sub(now) > -time.Hour+time.Second {
		t.Fatalf("stamp %v stays ahead of the corrected clock %v", got, now.Add(-time.Hour))
	}
}
