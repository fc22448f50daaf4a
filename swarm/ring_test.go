package swarm

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"
)

// keyAt returns a key whose ring position is pos: three zero words and pos.
func keyAt(pos uint64) [32]byte {
	var k [32]byte
	binary.BigEndian.PutUint64(k[24:], pos)
	return k
}

// keyFromHex parses a Session ID (or any 33-byte prefixed key) and drops
// its prefix byte.
func keyFromHex(t *testing.T, s string) [32]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 33 {
		t.Fatalf("bad test key %q", s)
	}
	return [32]byte(b[1:])
}

// Vectors from session-storage-server unit_test/swarm.cpp "swarm - pubkey
// to swarm space"; the prefix byte is not part of the position.
func TestKeyPositionOxenss(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want uint64
	}{
		{"05 random", "053506f4a71324b7dd114eddbf4e311f39dde243e1f2cb97c40db1961f70ebaae8", 17589930838143112648},
		{"05 random 2", "05cf27da303a50ac8c4b2d43d27259505c9bcd73fc21cf2a57902c3d050730b604", 10370619079776428163},
		{"03 prefix", "03d3511706b8b34f6e8411bf07bd22ba6b2435ca56846fbccf6eb1e166a6cd15cc", 2144983569669512198},
		{"ff prefix", "ff0f06693428fca9102a451e3f28d9cc743d8ea60a89ab6aa69eb119470c11cbd3", 9690840703409570833},
		{"05 ffba", "05ffba630924aa1224bb930dde21c0d11bf004608f2812217f8ac812d6c7e3ad48", 4532060000165252872},
		{"words cancel", "05eeeeeeeeeeeeeeee777777777777777711111111111111118888888888888888", 0},
		{"repeated word", "050123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 0},
		{"all ones but one bit", "05fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe", 1},
		{"top bit", "05ffffffffffffffffffffffffffffffffffffffffffffffff7fffffffffffffff", 1 << 63},
		{"max", "05000000000000000000000000000000000000000000000000ffffffffffffffff", math.MaxUint64},
		{"last word", "050000000000000000000000000000000000000000000000000123456789abcdef", 0x0123456789abcdef},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KeyPosition(keyFromHex(t, tt.key)); got != tt.want {
				t.Errorf("KeyPosition = %d, want %d", got, tt.want)
			}
		})
	}
}

// Hand-computed: the words are read big-endian, so byte order matters.
func TestKeyPositionByHand(t *testing.T) {
	var k [32]byte
	// Words 0x01 (byte 7), 0x0100 (byte 14), 0x8000...00 (byte 16) and
	// 0xff (byte 31): XOR = 0x8000_0000_0000_0000 ^ 0x0100 ^ (0x01 ^ 0xff)
	// = 0x8000_0000_0000_01fe.
	k[7], k[14], k[16], k[31] = 0x01, 0x01, 0x80, 0xff
	if got, want := KeyPosition(k), uint64(0x80000000000001fe); got != want {
		t.Errorf("KeyPosition = %#x, want %#x", got, want)
	}
	// The same byte in the same place of two words cancels: 0x42 ^ 0x42 = 0.
	k = [32]byte{}
	k[3], k[11] = 0x42, 0x42
	if got := KeyPosition(k); got != 0 {
		t.Errorf("KeyPosition = %#x, want 0", got)
	}
}

// Vectors from session-storage-server unit_test/swarm.cpp "service nodes -
// pubkey to swarm id", in the order that test runs them.
func TestLookupOxenss(t *testing.T) {
	base := []ID{100, 200, 300, 399, 498, 596, 694}
	withTop := append(append([]ID{}, base...), ID(math.MaxUint64-19)) // (uint64_t)-20
	withZero := append([]ID{0}, withTop...)
	tests := []struct {
		name   string
		swarms []ID
		pos    uint64
		want   ID
	}{
		{"exact 100", base, 0x64, 100},
		{"exact 200", base, 0xc8, 200},
		{"exact 498", base, 0x1f2, 498},
		{"zero", base, 0, 100},
		{"one", base, 1, 100},
		{"half ring to the top", base, 0x8000000000000000, 694},
		{"wraps to the bottom", base, 0xa000000000000000, 100},
		{"invalid id as a position", base, math.MaxUint64, 100},
		{"max-1", base, math.MaxUint64 - 1, 100},
		{"149", base, 0x95, 100},
		{"150 tie", base, 0x96, 100},
		{"151", base, 0x97, 200},
		{"249", base, 0xf9, 200},
		{"250 tie", base, 0xfa, 200},
		{"251", base, 0xfb, 300},
		{"349 tie", base, 0x15d, 300},
		{"350", base, 0x15e, 399},
		{"448", base, 0x1c0, 399},
		{"449", base, 0x1c1, 498},
		{"546", base, 0x222, 498},
		{"547 tie", base, 0x223, 498},
		{"548", base, 0x224, 596},
		{"645 tie", base, 0x285, 596},
		{"646", base, 0x286, 694},
		{"long-way midpoint-1", base, 0x800000000000018c, 694},
		{"long-way midpoint tie", base, 0x800000000000018d, 694},
		{"long-way midpoint+1", base, 0x800000000000018e, 100},
		{"wrap tie below 40", withTop, 0x27, ID(math.MaxUint64 - 19)},
		{"wrap tie at 40", withTop, 0x28, ID(math.MaxUint64 - 19)},
		{"wrap past 40", withTop, 0x29, 100},
		{"max to swarm 0", withZero, math.MaxUint64, 0},
		{"max-1 to swarm 0", withZero, math.MaxUint64 - 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ForKey(keyAt(tt.pos), tt.swarms)
			if !ok || got != tt.want {
				t.Errorf("ForKey(%#x) = %d, %v; want %d", tt.pos, got, ok, tt.want)
			}
		})
	}
}

func TestLookupByHand(t *testing.T) {
	const top = math.MaxUint64 // 2^64-1, written "2^64-1" below
	tests := []struct {
		name   string
		swarms []ID
		pos    uint64
		want   ID
	}{
		// Swarms 10 and 20. The short gap's midpoint is 15: distances 5 and
		// 5, a tie, so the left neighbour 10 wins; at 16 it is 6 against 4.
		{"middle tie goes left", []ID{20, 10}, 15, 10},
		{"middle past tie", []ID{20, 10}, 16, 20},
		{"exact match", []ID{20, 10}, 20, 20},
		// The long gap from 20 round to 10 is 2^64-10 wide; its midpoint is
		// 20+2^63-5 = 2^63+15. There the right neighbour (10, after wrapping)
		// is 10-(2^63+15) mod 2^64 = 2^63-5 away and the left (20) is
		// 2^63+15-20 = 2^63-5 away: a tie, so 20 wins. One more step: 2^63-6
		// against 2^63-4, so 10.
		{"long gap tie goes left", []ID{10, 20}, 1<<63 + 15, 20},
		{"long gap past tie", []ID{10, 20}, 1<<63 + 16, 10},
		// Swarms 10, 2^63 and 2^64-16. Position 0 lies in the wrapping gap:
		// 10 away from swarm 10 (right), 16 from 2^64-16 (left): 10 wins.
		{"wrap down to the first", []ID{1 << 63, 10, top - 15}, 0, 10},
		// Position 2^64-1 is past the last swarm: the right neighbour wraps to
		// 10, 10-(2^64-1) mod 2^64 = 11 away; the left is 15 away: 10 wins.
		{"wrap up to the first", []ID{1 << 63, 10, top - 15}, top, 10},
		// Position 2^64-4: 14 to swarm 10 going up, 12 to 2^64-16 going down.
		{"wrap stays with the last", []ID{1 << 63, 10, top - 15}, top - 3, top - 15},
		// Position 2^64-3: 13 either way, a tie: the left one (2^64-16).
		{"wrap tie before zero", []ID{1 << 63, 10, top - 15}, top - 2, top - 15},
		// Swarms 2^64-10 and 20: the wrapping gap is 30 wide and its
		// midpoint, 2^64-10+15, wraps to 5. At 5 the right (20) is 15 away
		// and the left (2^64-10) is 5-(2^64-10) mod 2^64 = 15 away: a tie,
		// and the left neighbour is the largest ID.
		{"wrap tie after zero", []ID{20, top - 9}, 5, top - 9},
		{"after wrap tie", []ID{20, top - 9}, 6, 20},
		{"before wrap tie", []ID{20, top - 9}, 4, top - 9},
		// One swarm takes everything, however far.
		{"single swarm", []ID{1 << 40}, 1<<40 + 1<<63, 1 << 40},
		// Invalid is not a swarm and duplicates count once.
		{"invalid ignored", []ID{Invalid, 5, 5}, top - 1, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ForKey(keyAt(tt.pos), tt.swarms)
			if !ok || got != tt.want {
				t.Errorf("ForKey(%#x) = %d, %v; want %d", tt.pos, got, ok, tt.want)
			}
			ring := NewRing(tt.swarms)
			if got2, _ := ring.LookupPosition(tt.pos); got2 != got {
				t.Errorf("Ring.LookupPosition = %d, ForKey = %d", got2, got)
			}
		})
	}
}

func TestLookupEmpty(t *testing.T) {
	tests := []struct {
		name   string
		swarms []ID
	}{
		{"nil", nil},
		{"only invalid", []ID{Invalid, Invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if id, ok := ForKey(keyAt(7), tt.swarms); ok || id != Invalid {
				t.Errorf("ForKey = %d, %v; want Invalid, false", id, ok)
			}
		})
	}
}

// The key's words are XORed, so the mapping uses every word, not just the last.
func TestForKeyUsesAllWords(t *testing.T) {
	swarms := []ID{0x1000, 1 << 62}
	var k [32]byte
	// Word 0 is 1<<62 and word 3 is 0x1000: position 1<<62 | 0x1000 is
	// 0x1000 from swarm 1<<62 and 1<<62 from swarm 0x1000.
	k[0] = 0x40
	k[30] = 0x10
	if got, _ := ForKey(k, swarms); got != 1<<62 {
		t.Errorf("ForKey = %#x, want %#x", got, uint64(1<<62))
	}
	// Without word 0 the position is 0x1000 itself.
	k[0] = 0
	if got, _ := ForKey(k, swarms); got != 0x1000 {
		t.Errorf("ForKey = %#x, want 0x1000", got)
	}
}
