package swarm

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

// testKey returns a distinct node key for each i.
func testKey(i int) NodeKey {
	var k NodeKey
	// Spread the bits so key order is not registration order.
	binary.BigEndian.PutUint64(k[:], uint64(i)*0x9e3779b97f4a7c15)
	binary.BigEndian.PutUint64(k[24:], uint64(i))
	return k
}

func testSeed(i int) [32]byte {
	var s [32]byte
	binary.BigEndian.PutUint64(s[:], uint64(i))
	s[31] = 0x5a
	return s
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		ok   bool
	}{
		{"oxen default", DefaultParams(), true},
		{"devnet", DevnetParams(), true},
		{"minimum three", Params{MinSize: 3, IdealSize: 3}, true},
		{"minimum two", Params{MinSize: 2, IdealSize: 4}, false},
		{"zero", Params{}, false},
		{"ideal below minimum", Params{MinSize: 5, IdealSize: 4}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidParams) {
				t.Errorf("error %v does not wrap ErrInvalidParams", err)
			}
			_, uerr := Update(nil, []NodeKey{testKey(1)}, testSeed(0), tt.p)
			if (uerr == nil) != tt.ok {
				t.Errorf("Update error = %v, want ok=%v", uerr, tt.ok)
			}
		})
	}
}

// The draw stream must be C2SP chacha8rand: these are the first outputs
// for the seed of Go's own golden test (math/rand/v2 chacha8_test.go), so a
// change to the generator fails here before replicas can disagree.
func TestDrawsAreChaCha8(t *testing.T) {
	d := newDraws([32]byte([]byte("ABCDEFGHIJKLMNOPQRSTUVWXYZ123456")))
	want := []uint64{0xb773b6063d4616a5, 0x1160af22a66abc3c, 0x8c2599d9418d287c, 0x7ee07e037edc5cd6}
	for i, w := range want {
		if got := d.src.Uint64(); got != w {
			t.Fatalf("draw %d = %#x, want %#x", i, got, w)
		}
	}
}

// below follows oxen's uniform_distribution_portable: x / (secureMax / n),
// rejecting x >= secureMax. Worked by hand for the first chacha8 outputs.
func TestDrawsBelow(t *testing.T) {
	seed := [32]byte([]byte("ABCDEFGHIJKLMNOPQRSTUVWXYZ123456"))
	tests := []struct {
		name string
		n    int
		want int
	}{
		// n = 2: secureMax = 2^64-2, bucket 2^63-1; 0xb773... >= 2^63-1, so 1.
		{"two", 2, 1},
		// n = 1: everything below secureMax = 2^64-1 gives 0.
		{"one", 1, 0},
		// n = 16: secureMax = 2^64-16, bucket 2^60-1; 0xb773b6063d4616a5 /
		// (2^60-1) = 0xb (the top nibble, as the low bits cannot carry).
		{"sixteen", 16, 0xb},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newDraws(seed).below(tt.n); got != tt.want {
				t.Errorf("below(%d) = %d, want %d", tt.n, got, tt.want)
			}
		})
	}
}

// Vectors from oxen-core tests/unit_tests/service_nodes_swarm.cpp
// unassigned_swarm_bug.
func TestNewSwarmIDOxen(t *testing.T) {
	const maxID = uint64(MaxID)
	tests := []struct {
		name string
		ids  []ID
		want ID
	}{
		{"first", nil, 0},
		{"second", []ID{0}, ID(maxID / 2)},
		{"third", []ID{0, ID(maxID / 2)}, ID(maxID/2 + maxID/4 + 1)},
		{"fourth", []ID{0, ID(maxID / 2), ID(maxID/2 + maxID/4 + 1)}, ID(maxID / 4)},
		{"lone middle swarm", []ID{ID(maxID / 2)}, MaxID},
		{"lone quarter swarm", []ID{ID(maxID / 4)}, ID(maxID/2 + maxID/4)},
		{"lone large swarm", []ID{12345678901234567890}, ID(12345678901234567890 - maxID/2 - 1)},
		{"straddle even", []ID{ID(maxID/2 - 100), ID(maxID/2 + 100)}, MaxID},
		{"straddle odd", []ID{ID(maxID/2 - 100), ID(maxID/2 + 101)}, 0},
		{"straddle wide even", []ID{ID(maxID/2 - 101), ID(maxID/2 + 101)}, MaxID},
		{"straddle wide odd", []ID{ID(maxID/2 - 101), ID(maxID/2 + 102)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newSwarmID(tt.ids); got != tt.want {
				t.Errorf("newSwarmID(%v) = %d, want %d", tt.ids, got, tt.want)
			}
		})
	}
}

// Replays oxen-core's deterministic_swarm_ids: 10,000 random additions and
// removals driven by mt19937_64(12345) must leave exactly oxen's IDs.
func TestNewSwarmIDDeterministicOxen(t *testing.T) {
	rng := newMT19937_64(12345)
	var ids []ID
	for range 10000 {
		n := rng.Uint64()
		if n < 1<<62 {
			if len(ids) == 0 {
				t.Fatal("removal from no swarms")
			}
			i := int(n % uint64(len(ids)))
			ids = slices.Delete(ids, i, i+1)
			continue
		}
		id := newSwarmID(ids)
		i, found := slices.BinarySearch(ids, id)
		if found {
			t.Fatalf("new id %d already in use", id)
		}
		ids = slices.Insert(ids, i, id)
	}
	if len(ids) != 5048 {
		t.Fatalf("%d swarms, want 5048", len(ids))
	}
	want := map[int]ID{
		0: 1548112371908607, 1: 4398046511103999, 2: 7247980650299391,
		3: 10097914789494783, 4: 12947848928690175, 25: 72796465851793407,
		29: 84196202408574975, 42: 121245346218115071, 99: 283691592152252415,
		404: 1203745330089164798, 888: 2829738309616402430, 999: 3243154681660178430,
		2000: 6581905302285713406, 3000: 10403878089179267070, 3333: 11669248846982021118,
		4567: 16860997617805426686, 5000: 18311495347400081406, 5045: 18439742383663874046,
		5046: 18442592317803069438, 5047: 18445442251942264830,
	}
	for i, w := range want {
		if ids[i] != w {
			t.Errorf("ids[%d] = %d, want %d", i, ids[i], w)
		}
	}
}

// newCalc builds a run over swarms with the given sizes, IDs 0, 1, 2...
func newCalc(p Params, seed int, sizes ...int) *calc {
	c := &calc{p: p, rng: newDraws(testSeed(seed))}
	next := 1000
	for id, n := range sizes {
		s := &slot{id: ID(id)}
		for range n {
			s.nodes = append(s.nodes, testKey(next))
			next++
		}
		c.swarms = append(c.swarms, s)
	}
	return c
}

// Oxen-core's assign_snodes test: newcomers fill the smallest quarter.
func TestAssignFillsSmallest(t *testing.T) {
	c := newCalc(DefaultParams(), 1, 3, 1, 5, 2)
	// Four swarms: the 25th percentile index is 25*3/100 = 0, size 1, and
	// only swarm 1 has that size.
	if err := c.assign([]NodeKey{testKey(1)}, fillLowerPercentile); err != nil {
		t.Fatal(err)
	}
	if n := len(c.swarms[1].nodes); n != 2 {
		t.Fatalf("swarm 1 has %d nodes, want 2", n)
	}
	// Now swarms 1 and 3 both have the smallest size, 2; one gets the next
	// node, and the other is then alone at 2 and gets the one after.
	if err := c.assign([]NodeKey{testKey(2), testKey(3)}, fillLowerPercentile); err != nil {
		t.Fatal(err)
	}
	if a, b := len(c.swarms[1].nodes), len(c.swarms[3].nodes); a != 3 || b != 3 {
		t.Fatalf("swarms 1 and 3 have %d and %d nodes, want 3 and 3", a, b)
	}
}

// Oxen-core's calc_excess, calc_threshold and create_new_swarm_from_excess tests.
func TestCreateFromExcess(t *testing.T) {
	p := DefaultParams()
	sizes := make([]int, 11)
	for i := range sizes {
		sizes[i] = p.MinSize
	}
	c := newCalc(p, 2, sizes...)
	if got := c.excess(); got != 0 {
		t.Fatalf("excess = %d, want 0", got)
	}
	if got, want := c.threshold(), 11*2+7; got != want {
		t.Fatalf("threshold = %d, want %d", got, want)
	}
	// One node short of the threshold: no new swarm.
	for i := range 11*2 + 7 - 1 {
		s := c.swarms[i%11]
		s.nodes = append(s.nodes, testKey(5000+i))
	}
	if err := c.createFromExcess(); err != nil {
		t.Fatal(err)
	}
	if len(c.swarms) != 11 {
		t.Fatalf("%d swarms, want 11", len(c.swarms))
	}
	c.swarms[1].nodes = append(c.swarms[1].nodes, testKey(9999))
	if err := c.createFromExcess(); err != nil {
		t.Fatal(err)
	}
	if len(c.swarms) != 12 {
		t.Fatalf("%d swarms, want 12", len(c.swarms))
	}
	var fresh *slot
	for _, s := range c.swarms {
		if s.id >= 11 {
			fresh = s
		}
		if len(s.nodes) < p.MinSize {
			t.Errorf("swarm %d left with %d nodes", s.id, len(s.nodes))
		}
	}
	if fresh == nil || len(fresh.nodes) != p.IdealSize {
		t.Fatalf("new swarm %+v, want %d nodes", fresh, p.IdealSize)
	}
	// A starving swarm blocks creation: the excess must feed it first.
	c = newCalc(p, 3, 4, 30)
	if err := c.createFromExcess(); err != nil {
		t.Fatal(err)
	}
	if len(c.swarms) != 2 {
		t.Errorf("%d swarms with a starving one, want 2", len(c.swarms))
	}
}

// Oxen-core's get_excess_pool test: only swarms above the threshold give.
func TestExcessPool(t *testing.T) {
	c := newCalc(DefaultParams(), 4, 15, 5, 12)
	pool, excess := c.excessPool(5)
	if excess != 10+7 || len(pool) != 15+12 {
		t.Fatalf("pool %d nodes, excess %d; want 27, 17", len(pool), excess)
	}
	for _, e := range pool {
		if e.s.id == 1 {
			t.Fatalf("node of the swarm at the minimum is in the pool")
		}
	}
	if pool, _ := c.excessPool(4); pool != nil {
		t.Errorf("threshold below the minimum gave a pool")
	}
}
