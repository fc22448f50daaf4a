// Package swarmtest builds deterministic swarm networks for the tests and
// benchmarks of packages that consume assignments: the registry, its signed
// snapshot (to measure its size), replication. Everything is derived from a
// label with SHA-256, so a network is the same on every run and machine.
package swarmtest

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/hushnet/hush/swarm"
)

// Key returns the i-th node key of the label's family.
func Key(label string, i int) swarm.NodeKey {
	return swarm.NodeKey(derive("key", label, i))
}

// Keys returns the first n node keys of the label's family.
func Keys(label string, n int) []swarm.NodeKey {
	keys := make([]swarm.NodeKey, n)
	for i := range keys {
		keys[i] = Key(label, i)
	}
	return keys
}

// Seed returns the i-th assignment seed of the label's family, standing in
// for the hash of the registry log entry that seeds an update.
func Seed(label string, i int) [32]byte {
	return derive("seed", label, i)
}

// Network registers n nodes one at a time, one [swarm.Update] each, as a
// network grows from nothing; it returns the assignment and the nodes in
// registration order. Registering one by one matters: a bulk registration
// fills swarms differently than a network that grew.
func Network(label string, n int, p swarm.Params) (swarm.Assignment, []swarm.NodeKey, error) {
	keys := Keys(label, n)
	var a swarm.Assignment
	for i := range keys {
		var err error
		a, err = swarm.Update(a, keys[:i+1], Seed(label, i), p)
		if err != nil {
			return nil, nil, fmt.Errorf("register node %d: %w", i, err)
		}
	}
	return a, keys, nil
}

func derive(kind, label string, i int) [32]byte {
	h := sha256.New()
	h.Write([]byte("hush/swarmtest/" + kind + "\x00" + label + "\x00"))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(i)))
	return [32]byte(h.Sum(nil))
}
