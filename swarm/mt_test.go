package swarm

import "testing"

// mt19937_64 is the 64-bit Mersenne Twister (Matsumoto and Nishimura; the
// parameters of C++ std::mt19937_64), here only so tests can replay oxen's
// own unit tests, which draw from it. hush's assignment never uses it.
type mt19937_64 struct {
	mt  [312]uint64
	idx int
}

func newMT19937_64(seed uint64) *mt19937_64 {
	m := &mt19937_64{idx: 312}
	m.mt[0] = seed
	for i := 1; i < 312; i++ {
		prev := m.mt[i-1]
		m.mt[i] = 6364136223846793005*(prev^(prev>>62)) + uint64(i)
	}
	return m
}

func (m *mt19937_64) Uint64() uint64 {
	const (
		upper = 0xffffffff80000000
		lower = 0x000000007fffffff
	)
	if m.idx >= 312 {
		for i := range 312 {
			x := m.mt[i]&upper | m.mt[(i+1)%312]&lower
			xa := x >> 1
			if x&1 != 0 {
				xa ^= 0xb5026f5aa96619e9
			}
			m.mt[i] = m.mt[(i+156)%312] ^ xa
		}
		m.idx = 0
	}
	y := m.mt[m.idx]
	m.idx++
	y ^= (y >> 29) & 0x5555555555555555
	y ^= (y << 17) & 0x71d67fffeda60000
	y ^= (y << 37) & 0xfff7eee000000000
	y ^= y >> 43
	return y
}

// The C++ standard ([rand.predef]) fixes the 10000th output of a
// default-constructed (seed 5489) mt19937_64.
func TestMT19937_64(t *testing.T) {
	m := newMT19937_64(5489)
	var x uint64
	for range 10000 {
		x = m.Uint64()
	}
	if x != 9981545732273789042 {
		t.Fatalf("10000th output = %d, want 9981545732273789042", x)
	}
}
