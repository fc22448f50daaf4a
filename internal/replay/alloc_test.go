package replay

import (
	"reflect"
	"runtime"
	"testing"
	"time"
)

// TestAllocatesOnDemand: a cache sized for a million entries that holds a
// hundred allocates for a hundred, not for a million. A 12-node devnet made
// 26 such caches, and preallocating them took 1.09 GB of its 1.10 GB heap.
func TestAllocatesOnDemand(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		entries int
	}{
		{"empty", 1_000_000, 0},
		{"a hundred of a million", 1_000_000, 100},
		{"ten thousand of a million", 1_000_000, 10_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			c := New(tt.size, time.Minute)
			for i := range tt.entries {
				c.Seen(numKey(i), t0)
			}
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(c)
			got := after.TotalAlloc - before.TotalAlloc
			// An entry costs under 100 bytes held (key, expiry, map
			// slot); growing by doubling allocates at most about three
			// times what is held, plus a fixed few KiB.
			limit := uint64(8<<10 + 300*tt.entries)
			if got > limit {
				t.Errorf("%d entries in a cache of %d allocated %d bytes, want at most %d", tt.entries, tt.size, got, limit)
			}
		})
	}
}

// TestShrinksAfterFlood: once a flood's entries expire, the cache gives
// the memory back instead of keeping its peak size.
func TestShrinksAfterFlood(t *testing.T) {
	c := New(1_000_000, time.Minute)
	for i := range 100_000 {
		c.Seen(numKey(i), t0)
	}
	for i := range 10 {
		c.Seen(numKey(1_000_000+i), t0.Add(2*time.Minute+time.Duration(i)))
	}
	if c.Len() != 10 {
		t.Fatalf("%d entries, want 10", c.Len())
	}
	if n := c.capacity(); n > 1024 {
		t.Errorf("ring holds %d slots for 10 entries after the flood expired", n)
	}
}

// TestEntriesHoldNoPointers: the garbage collector need not scan a cache's
// entries (time.Time holds a pointer; a million of them cost GC time).
func TestEntriesHoldNoPointers(t *testing.T) {
	c := New(10, time.Minute)
	for _, typ := range []reflect.Type{reflect.TypeOf(c.ring).Elem(), reflect.TypeOf(c.seen).Key(), reflect.TypeOf(c.seen).Elem()} {
		if hasPointers(typ) {
			t.Errorf("%v holds pointers", typ)
		}
	}
}

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Array:
		return hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	}
	return true
}

func numKey(i int) [32]byte {
	var k [32]byte
	k[0], k[1], k[2], k[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
	k[31] = 0xee // distinct from key(b) in the other tests
	return k
}

// capacity is the ring's current number of slots.
func (c *Cache) capacity() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ring)
}
