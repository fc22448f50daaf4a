package swarm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMarshalRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		a    Assignment
		want int // encoded nodes
	}{
		{"empty", Assignment{}, 0},
		{"nil", nil, 0},
		{"one", Assignment{testKey(1): 7}, 1},
		{"invalid left out", Assignment{testKey(1): 7, testKey(2): Invalid}, 1},
		{"several", Assignment{testKey(1): 7, testKey(2): 0, testKey(3): MaxID}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.a.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != EncodedSize(tt.want) {
				t.Fatalf("%d bytes, want %d", len(b), EncodedSize(tt.want))
			}
			var got Assignment
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want || len(Diff(without(tt.a, tt.a.Nodes()), got)) != 0 {
				t.Fatalf("round trip gave %v", got)
			}
		})
	}
}

func TestUnmarshalRejects(t *testing.T) {
	rec := func(k NodeKey, id ID) string {
		return hex.EncodeToString(k[:]) + fmt.Sprintf("%016x", uint64(id))
	}
	lo, hi := NodeKey{1}, NodeKey{2}
	tests := []struct {
		name string
		hex  string
	}{
		{"empty", ""},
		{"short count", "000000"},
		{"count without records", "00000001"},
		{"trailing byte", "00000000" + "00"},
		{"short record", "00000001" + rec(lo, 1)[:78]},
		{"descending keys", "00000002" + rec(hi, 1) + rec(lo, 1)},
		{"duplicate key", "00000002" + rec(lo, 1) + rec(lo, 2)},
		{"invalid swarm", "00000001" + rec(lo, Invalid)},
		{"huge count", "ffffffff" + rec(lo, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			var a Assignment
			if err := a.UnmarshalBinary(b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("UnmarshalBinary = %v, want ErrMalformed", err)
			}
		})
	}
}

// goldenHistory is a fixed history of joins and departures: the digest of
// every assignment along it pins the whole algorithm, since any change
// would make registry replicas of different versions disagree.
func goldenHistory(t *testing.T, p Params) (digests []string, final Assignment) {
	var a Assignment
	var active []NodeKey
	next := 0
	for step := range 120 {
		// Mostly joins, in batches of 1 to 3; every fifth step loses the
		// oldest two nodes and every seventh the newest.
		for range 1 + step%3 {
			active = append(active, testKey(next))
			next++
		}
		if step%5 == 4 {
			active = active[2:]
		}
		if step%7 == 6 {
			active = active[:len(active)-1]
		}
		var err error
		if a, err = Update(a, active, testSeed(step), p); err != nil {
			t.Fatal(err)
		}
		b, _ := a.MarshalBinary()
		sum := sha256.Sum256(b)
		digests = append(digests, hex.EncodeToString(sum[:]))
	}
	return digests, a
}

func TestGoldenHistory(t *testing.T) {
	for _, p := range []Params{DefaultParams(), DevnetParams()} {
		name := fmt.Sprintf("history-min%d-ideal%d.txt", p.MinSize, p.IdealSize)
		t.Run(name, func(t *testing.T) {
			digests, final := goldenHistory(t, p)
			var buf strings.Builder
			fmt.Fprintf(&buf, "# swarm.Update over a fixed history (encoding_test.go goldenHistory), min %d ideal %d\n", p.MinSize, p.IdealSize)
			fmt.Fprintf(&buf, "# SHA-256 of MarshalBinary after each step, then the final swarms\n")
			for i, d := range digests {
				fmt.Fprintf(&buf, "step %d %s\n", i, d)
			}
			for _, id := range final.IDs() {
				fmt.Fprintf(&buf, "swarm %d size %d\n", uint64(id), len(final.Members(id)))
			}
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.WriteFile(path, []byte(buf.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(want, []byte(buf.String())) {
				t.Fatalf("assignment history differs from %s: the algorithm changed", path)
			}
		})
	}
}
