package replay

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func key(b byte) [32]byte { return [32]byte{b} }

func TestSeen(t *testing.T) {
	type step struct {
		key  byte
		at   time.Duration // after t0
		want bool
	}
	tests := []struct {
		name   string
		size   int
		window time.Duration
		steps  []step
	}{
		{"first is new, repeat is seen", 4, time.Minute, []step{{1, 0, false}, {1, time.Second, true}, {2, time.Second, false}}},
		{"expires at the window", 4, time.Minute, []step{{1, 0, false}, {1, time.Minute - 1, true}, {1, time.Minute, false}, {1, time.Minute + 1, true}}},
		{"a repeat does not extend the window", 4, time.Minute, []step{{1, 0, false}, {1, 50 * time.Second, true}, {1, 70 * time.Second, false}}},
		{"full cache evicts oldest first", 2, time.Hour, []step{{1, 0, false}, {2, 1, false}, {3, 2, false}, {2, 3, true}, {1, 4, false}, {3, 5, true}}},
		{"size one", 1, time.Hour, []step{{1, 0, false}, {1, 1, true}, {2, 2, false}, {1, 3, false}, {2, 4, false}}},
		{"clock stepped back counts as within window", 4, time.Minute, []step{{1, time.Hour, false}, {1, 0, true}}},
		{"re-added after expiry survives its stale slot", 3, 10 * time.Minute, []step{
			{9, 20 * time.Minute, false}, {1, 0, false}, // clock stepped back: 1@0 sits behind 9@20m
			{1, 10 * time.Minute, false}, // 1@0 expired by its own time; re-added, leaving a stale slot
			{2, 11 * time.Minute, false}, // full: evicts 9
			{3, 12 * time.Minute, false}, // expires the stale 1@0 slot, which must not forget 1@10m
			{1, 13 * time.Minute, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.size, tt.window)
			for i, s := range tt.steps {
				if got := c.Seen(key(s.key), t0.Add(s.at)); got != s.want {
					t.Fatalf("step %d: Seen(%d, +%v) = %v, want %v", i, s.key, s.at, got, s.want)
				}
				if c.Len() > tt.size {
					t.Fatalf("step %d: %d entries, bound %d", i, c.Len(), tt.size)
				}
			}
		})
	}
}

func TestExpiredEntriesAreDropped(t *testing.T) {
	c := New(100, time.Minute)
	for i := range 50 {
		c.Seen(key(byte(i)), t0)
	}
	c.Seen(key(200), t0.Add(time.Minute))
	if c.Len() != 1 {
		t.Errorf("%d entries after the window, want 1", c.Len())
	}
}

func TestNewPanics(t *testing.T) {
	for _, tt := range []struct {
		name   string
		size   int
		window time.Duration
	}{{"zero size", 0, time.Second}, {"zero window", 1, 0}} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			New(tt.size, tt.window)
		})
	}
}

// TestConcurrent has many goroutines race to report the same values: each
// value must be new to exactly one of them.
func TestConcurrent(t *testing.T) {
	const workers, keys = 16, 500
	c := New(workers*keys, time.Hour)
	var fresh [keys]atomic.Int32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range keys {
				k := (i + w*31) % keys
				var v [32]byte
				v[0], v[1] = byte(k), byte(k>>8)
				if !c.Seen(v, t0.Add(time.Duration(i))) {
					fresh[k].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for k := range fresh {
		if n := fresh[k].Load(); n != 1 {
			t.Fatalf("value %d was new to %d goroutines", k, n)
		}
	}
}

func BenchmarkSeen(b *testing.B) {
	c := New(1<<16, time.Minute)
	var v [32]byte
	i := 0
	for b.Loop() {
		v[0], v[1], v[2] = byte(i), byte(i>>8), byte(i>>16)
		c.Seen(v, t0.Add(time.Duration(i)*time.Microsecond))
		i++
	}
}
