package cli

import (
	"testing"
	"time"
)

func TestSummarise(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // reversed: summarise sorts
	}
	tests := []struct {
		name string
		in   []time.Duration
		want percentiles
	}{
		{"none", nil, percentiles{}},
		{"one", ms(7), percentiles{N: 1, P50: 7, P90: 7, P99: 7, Max: 7}},
		{"two", ms(9, 1), percentiles{N: 2, P50: 1, P90: 9, P99: 9, Max: 9}},
		{"a hundred", ms(hundred...), percentiles{N: 100, P50: 50, P90: 90, P99: 99, Max: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarise(tt.in); got != tt.want {
				t.Fatalf("summarise = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFirstLine(t *testing.T) {
	long := make([]byte, 200)
	for i := range long {
		long[i] = 'a'
	}
	for _, tt := range []struct{ in, want string }{
		{"one", "one"},
		{"one\ntwo", "one"},
		{string(long), string(long[:160]) + "…"},
	} {
		if got := firstLine(tt.in); got != tt.want {
			t.Errorf("firstLine(%.20q) = %.20q", tt.in, got)
		}
	}
}
