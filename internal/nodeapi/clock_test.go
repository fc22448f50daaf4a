package nodeapi

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/hushnet/hush/protocol/rpc"
)

func TestClockWatch(t *testing.T) {
	ahead := rpc.Errorf(rpc.CodeClockSkew, "timestamp is 2m0s ahead of node time 1 (tolerance 1m0s); check your clock")
	behind := rpc.Errorf(rpc.CodeClockSkew, "timestamp is 2m0s behind node time 1 (tolerance 1m0s); check your clock")
	tests := []struct {
		name string
		errs []error
		want string // substring of the warning; "" means no warning
	}{
		{"all fine", repeat(nil, 50), ""},
		{"a few skewed clients", append(repeat(nil, 40), repeat(ahead, 12)...), ""},
		{"most clients ahead", append(repeat(nil, 3), repeat(ahead, 12)...), "looks behind"},
		{"most clients behind", repeat(behind, 10), "looks ahead"},
		{"other errors ignored", repeat(rpc.Errorf(rpc.CodeBadSignature, "x"), 50), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf strings.Builder
			c := newClockWatch(slog.New(slog.NewTextHandler(&buf, nil)))
			for _, err := range tt.errs {
				c.record(err)
			}
			if got := buf.String(); (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("log %q, want %q", got, tt.want)
			}
		})
	}
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}
