package paths

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

func TestShow(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	then := now.Add(-3 * time.Minute)
	var k [3]identity.Ed25519PublicKey
	for i := range k {
		var raw [32]byte
		raw[0], raw[31] = byte(0xa0+i), byte(i)
		k[i] = identity.Ed25519PublicKeyFromRaw32(raw)
	}
	ps := []PathInfo{
		{Hops: []HopInfo{{k[0], "10.0.0.1:1"}, {k[1], "10.0.1.1:1"}, {k[2], "10.0.2.1:1"}}, LastOK: &then},
		{Hops: []HopInfo{{k[2], "10.0.2.1:1"}, {k[1], "10.0.1.1:1"}, {k[0], "10.0.0.1:1"}}},
	}
	tests := []struct {
		name  string
		ps    []PathInfo
		lines []string
	}{
		{"two paths", ps, []string{
			"guard a000…0000 (10.0.0.1:1) → a100…0001 (10.0.1.1:1) → a200…0002 (10.0.2.1:1)   last worked 3m ago",
			"guard a200…0002 (10.0.2.1:1) → a100…0001 (10.0.1.1:1) → a000…0000 (10.0.0.1:1)   never used",
		}},
		{"none", nil, []string{"no onion paths yet: they are built on the first request"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, tc.ps, now); err != nil {
				t.Fatal(err)
			}
			if got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(tc.lines, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", b.String(), strings.Join(tc.lines, "\n"))
			}
			b.Reset()
			if err := WriteJSON(&b, tc.ps); err != nil {
				t.Fatal(err)
			}
			var back map[string][]map[string]json.RawMessage
			if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back["paths"]) != len(tc.ps) {
				t.Fatalf("JSON %s: %v", b.String(), err)
			}
			for i, p := range back["paths"] {
				var hops []map[string]string
				json.Unmarshal(p["hops"], &hops)
				if len(hops) != 3 || hops[0]["pubkey_ed25519"] != tc.ps[i].Hops[0].Ed25519.String() || hops[0]["address"] == "" {
					t.Fatalf("path %d hops %s", i, p["hops"])
				}
				if want := tc.ps[i].LastOK == nil; (string(p["last_ok"]) == "null") != want {
					t.Fatalf("path %d last_ok %s", i, p["last_ok"])
				}
			}
		})
	}
}
