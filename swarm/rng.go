package swarm

import (
	"math"
	"math/rand/v2"
)

// draws is the only source of randomness in the assignment.
type draws struct {
	src rand.Source
}

// newDraws seeds the stream every replica must agree on: ChaCha8 as
// specified by C2SP chacha8rand (c2sp.org/chacha8rand), keyed by the seed.
func newDraws(seed [32]byte) *draws {
	return &draws{src: rand.NewChaCha8(seed)}
}

// below returns a uniform integer in [0, n) by oxen's portable rejection
// rule (oxen-core src/common/random.cpp uniform_distribution_portable):
// drop draws at or above the largest multiple of n, then divide. Keeping
// our own rule, not rand.IntN, pins the output to the chacha8rand stream.
func (d *draws) below(n int) int {
	if n <= 0 {
		panic("swarm: draw from an empty range")
	}
	un := uint64(n)
	secureMax := math.MaxUint64 - math.MaxUint64%un
	for {
		x := d.src.Uint64()
		if x < secureMax {
			return int(x / (secureMax / un))
		}
	}
}
