package swarm

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzUpdate reads the input as a script of joins, departures and updates,
// and checks the invariants after every update (see checkUpdate).
//
// Each byte is one command: the low two bits pick it and the rest is its
// argument. 0 and 1: join 1+arg%8 nodes; 2: the node at index arg leaves;
// 3: update with a seed derived from arg. The first byte picks the sizes.
// Networks stop growing at 200 nodes to keep executions fast; the scale
// simulation (sim_test.go) covers large networks.
func FuzzUpdate(f *testing.F) {
	f.Add([]byte{0x00, 0x1c, 0x1c, 0x03})
	f.Add([]byte{0x01, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x07, 0x02, 0x06, 0x0a, 0x0b})
	f.Add([]byte{0x02, 0x1d, 0x1d, 0x1d, 0x03, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x07})
	f.Add(bytes.Repeat([]byte{0x1c, 0x1c, 0x1c, 0x0e, 0x03}, 12))
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) == 0 || len(script) > 256 {
			return
		}
		p := []Params{DefaultParams(), DevnetParams(), {MinSize: 3, IdealSize: 3}, {MinSize: 4, IdealSize: 6}}[int(script[0])%4]
		var a Assignment
		var active []NodeKey
		next := 0
		for i, cmd := range script[1:] {
			arg := int(cmd >> 2)
			switch cmd & 3 {
			case 0, 1:
				for range min(1+arg%8, 200-len(active)) {
					active = append(active, testKey(next))
					next++
				}
			case 2:
				if len(active) > 0 {
					j := arg % len(active)
					active = slices.Delete(active, j, j+1)
				}
			case 3:
				a = checkUpdate(t, a, active, testSeed(arg<<16|i), p)
			}
		}
		checkUpdate(t, a, active, testSeed(-1), p)
	})
}

// FuzzUnmarshalBinary checks that only canonical encodings are accepted:
// whatever decodes encodes back to the same bytes.
func FuzzUnmarshalBinary(f *testing.F) {
	for _, a := range []Assignment{{}, {testKey(1): 7}, {testKey(1): 7, testKey(2): 0, testKey(3): MaxID}} {
		b, _ := a.MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var a Assignment
		if err := a.UnmarshalBinary(b); err != nil {
			return
		}
		again, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("decoded and re-encoded bytes differ")
		}
	})
}
