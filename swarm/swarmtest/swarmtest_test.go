package swarmtest_test

import (
	"testing"

	"github.com/hushnet/hush/swarm"
	"github.com/hushnet/hush/swarm/swarmtest"
)

func TestNetwork(t *testing.T) {
	tests := []struct {
		name   string
		nodes  int
		p      swarm.Params
		swarms int
	}{
		{"one node", 1, swarm.DefaultParams(), 1},
		{"oxen sizes", 100, swarm.DefaultParams(), 14},
		{"devnet sizes", 20, swarm.DevnetParams(), 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, keys, err := swarmtest.Network("test", tt.nodes, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if len(a) != tt.nodes || len(keys) != tt.nodes {
				t.Fatalf("%d assigned of %d keys, want %d", len(a), len(keys), tt.nodes)
			}
			// A grown network has one swarm per IdealSize nodes.
			if got := len(a.IDs()); got != tt.swarms {
				t.Errorf("%d swarms, want %d", got, tt.swarms)
			}
			again, _, err := swarmtest.Network("test", tt.nodes, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if !a.Equal(again) {
				t.Errorf("same label gave a different network")
			}
		})
	}
}

func TestFamiliesDiffer(t *testing.T) {
	if swarmtest.Key("a", 0) == swarmtest.Key("b", 0) || swarmtest.Key("a", 0) == swarmtest.Key("a", 1) {
		t.Error("keys of different labels or indices collide")
	}
	if swarmtest.Seed("a", 0) == [32]byte(swarmtest.Key("a", 0)) {
		t.Error("seeds and keys share a stream")
	}
}
