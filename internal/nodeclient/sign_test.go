package nodeclient_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/nodeclient"
)

// signVector is hand-written params (what `hush tool rpc` takes) and the
// params signed for them at a fixed time by a fixed account, as the code
// produced them before requests were typed (testdata/sign.json).
type signVector struct {
	Name   string `json:"name"`
	Method string `json:"method"`
	Params string `json:"params"`
	Signed string `json:"signed"`
}

// TestSignVectors checks that signing hand-written params still produces
// the request it always did: the same fields with the same values and the
// same signatures. A namespace of 0 and an absent one mean the same to a
// node, and so do absent and empty params of a sub-request, so the
// comparison treats them as equal.
func TestSignVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "sign.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []signVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	acct := identity.FromSeed(identity.Seed{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10})
	now := time.UnixMilli(1764000000000)
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			var params json.RawMessage
			if v.Params != "" {
				params = json.RawMessage(v.Params)
			}
			got, err := nodeclient.SignDraft(acct, "devnet", v.Method, params, now)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := normalParams(t, got), normalParams(t, json.RawMessage(v.Signed)); !reflect.DeepEqual(g, w) {
				t.Fatalf("signed\n got  %s\n want %s", got, v.Signed)
			}
		})
	}
}

// normalParams decodes params, dropping a namespace of 0 and giving
// sub-requests without params empty ones.
func normalParams(t *testing.T, b json.RawMessage) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if m["namespace"] == float64(0) {
		delete(m, "namespace")
	}
	if reqs, ok := m["requests"].([]any); ok {
		for i, r := range reqs {
			sub := r.(map[string]any)
			p, _ := json.Marshal(sub["params"])
			if sub["params"] == nil {
				p = []byte(`{}`)
			}
			sub["params"] = normalParams(t, p)
			reqs[i] = sub
		}
	}
	return m
}
