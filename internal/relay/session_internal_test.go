package relay

import (
	"testing"
	"time"

	"github.com/hushnet/hush/protocol/onion"
)

func TestReplayWindow(t *testing.T) {
	const w = onion.ReplayWindow
	tests := []struct {
		name string
		seq  []uint64
		want []bool
	}{
		{"in order", []uint64{1, 2, 3}, []bool{true, true, true}},
		{"repeat", []uint64{1, 1}, []bool{true, false}},
		{"out of order within the window", []uint64{5, 3, 4, 1, 2, 3}, []bool{true, true, true, true, true, false}},
		{"oldest in the window", []uint64{w, 1, 1}, []bool{true, true, false}},
		{"just outside the window", []uint64{w + 1, 1, 2}, []bool{true, false, true}},
		{"jump past a word", []uint64{3, 70, 3, 6, 6}, []bool{true, true, false, true, false}},
		{"jump past the window", []uint64{3, 3 + w, 3, 4, 4}, []bool{true, true, false, true, false}},
		{"far jump clears", []uint64{1, 1000, 999, 1000}, []bool{true, true, true, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e sessionEntry
			for i, c := range tc.seq {
				if got := e.window(c); got != tc.want[i] {
					t.Fatalf("counter %d (step %d): accepted %v, want %v", c, i, got, tc.want[i])
				}
			}
		})
	}
}

// TestSessionCacheLists checks the age lists through evictions,
// expiries and reuse of freed slots, against a simple model.
func TestSessionCacheLists(t *testing.T) {
	c := newSessionCache(SessionLimits{Total: 10, PerClient: 3, PerNode: 5}, time.Minute)
	now := time.Unix(1000, 0)
	src := func(i byte) sourceKey { return sourceKey{2, i} }
	var ids []onion.SessionID
	for i := range 40 {
		s := onion.Session{ID: onion.NewSessionID()}
		if err := c.put(src(byte(i%5)), s, now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
		if len(c.byID) > 10 {
			t.Fatalf("%d sessions held", len(c.byID))
		}
		for k, l := range c.bySrc {
			if l.n > 3 {
				t.Fatalf("source %x holds %d", k[:2], l.n)
			}
		}
	}
	// The newest 10 are held (two per source), older ones not.
	for i, id := range ids {
		_, ok := c.get(src(byte(i%5)), id, now.Add(40*time.Second))
		if ok != (i >= 30) {
			t.Errorf("session %d held: %v", i, ok)
		}
	}
	if _, ok := c.get(src(0), ids[36], now); ok {
		t.Error("a session answered to another source")
	}
	// All expire a minute after they were opened.
	if err := c.put(src(9), onion.Session{ID: onion.NewSessionID()}, now.Add(40*time.Second+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if len(c.byID) != 1 || len(c.bySrc) != 1 || c.head != c.tail {
		t.Fatalf("after expiry: %d sessions, %d sources", len(c.byID), len(c.bySrc))
	}
	if err := c.put(src(9), onion.Session{ID: ids[0]}, now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.put(src(8), onion.Session{ID: ids[0]}, now.Add(2*time.Minute)); err != errSessionExists {
		t.Fatalf("a second session under one ID: %v", err)
	}
}
