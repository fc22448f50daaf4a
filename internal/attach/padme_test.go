package attach

import (
	"math"
	"testing"
)

func TestPadme(t *testing.T) {
	tests := []struct {
		name string
		n    uint64
		want uint64
	}{
		{"zero", 0, 0},
		{"one", 1, 1},
		{"small lengths are kept", 7, 7},
		{"8..15 round to even", 9, 10},
		{"16..31 round to even", 17, 18},
		{"32..63 round to 4", 33, 36},
		{"64..127 round to 8", 65, 72},
		{"128..255 round to 16", 129, 144},
		{"256..511 round to 16", 257, 272},
		{"1000 rounds to 32", 1000, 1024},
		{"powers of two are kept", 1 << 20, 1 << 20},
		{"1 MiB + 1 rounds to 32 KiB", 1<<20 + 1, 1<<20 + 1<<15},
		{"a 2.4 MB photo's stream", 2_400_592, 2_424_832},
		{"10 MB rounds to 256 KiB", 10_000_000, 39 << 18},
		{"the top saturates", math.MaxUint64 - 5, math.MaxUint64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Padme(tc.n); got != tc.want {
				t.Fatalf("Padme(%d) = %d, want %d", tc.n, got, tc.want)
			}
		})
	}
}

// TestPadmeProperties checks what the paper proves: never shorter,
// idempotent, monotone, overhead at most 12%.
func TestPadmeProperties(t *testing.T) {
	check := func(n uint64) {
		p := Padme(n)
		if p < n {
			t.Fatalf("Padme(%d) = %d is shorter", n, p)
		}
		if Padme(p) != p {
			t.Fatalf("Padme not idempotent at %d", n)
		}
		if n > 0 && float64(p-n)/float64(n) > 0.12 {
			t.Fatalf("Padme(%d) = %d: overhead above 12%%", n, p)
		}
		if n > 0 && Padme(n-1) > p {
			t.Fatalf("Padme not monotone at %d", n)
		}
	}
	for n := uint64(0); n < 1<<16; n++ {
		check(n)
	}
	for n := uint64(1 << 16); n < 1<<34; n = n*9/8 + 7 {
		check(n)
	}
}
