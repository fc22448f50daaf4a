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
