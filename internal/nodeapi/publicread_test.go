package nodeapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
)

// TestPublicReadNamespace: anyone reads the key namespace without a
// signature; only the owner writes it; every other namespace still needs
// the owner's signature to read.
func TestPublicReadNamespace(t *testing.T) {
	f := newFixture(t)
	owner, stranger := identity.NewAccount(), identity.NewAccount()
	keys := int(rpc.NamespaceKeys)
	hash := f.storeMsg(t, owner, keys, "record", time.Hour)
	f.storeMsg(t, owner, int(rpc.NamespaceSyncKeys), "sync record", time.Hour)
	f.storeMsg(t, owner, 0, "dm", time.Hour)

	unsigned := func(ns int) (int, rpc.RetrieveResult, string) {
		body := fmt.Sprintf(`{"method":"retrieve","params":{"pubkey":%q,"namespace":%d,"timestamp":%d}}`,
			owner.ID().String(), ns, f.clock().UnixMilli())
		status, b := f.post([]byte(body))
		var res rpc.RetrieveResult
		json.Unmarshal(b, &res)
		return status, res, string(b)
	}
	tests := []struct {
		name   string
		ns     int
		wantOK bool
	}{
		{name: "key namespace", ns: keys, wantOK: true},
		{name: "sync key namespace", ns: int(rpc.NamespaceSyncKeys)},
		{name: "public inbox", ns: 0},
		{name: "owner-only", ns: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, res, body := unsigned(tc.ns)
			if (status == http.StatusOK) != tc.wantOK {
				t.Fatalf("status %d, want success %v: %s", status, tc.wantOK, body)
			}
			if tc.wantOK && (len(res.Messages) != 1 || res.Messages[0].Hash != hash) {
				t.Fatalf("messages %+v, want the record", res.Messages)
			}
			if !tc.wantOK && len(res.Messages) != 0 {
				t.Fatalf("unsigned retrieve of namespace %d returned messages", tc.ns)
			}
		})
	}
	t.Run("stranger cannot write", func(t *testing.T) {
		// Signed by the stranger for the owner's account: the key check
		// refuses it.
		p := fmt.Sprintf(`{"pubkey":%q,"namespace":%d,"data":%q,"ttl":3600000}`, owner.ID().String(), keys, b64("forged"))
		signed := f.sign(t, stranger, rpc.MethodStore, p, 0)
		var m map[string]any
		json.Unmarshal(signed, &m)
		m["pubkey"] = owner.ID().String()
		b, _ := json.Marshal(m)
		if status, body := f.post(reqBody(rpc.MethodStore, b)); status == http.StatusOK {
			t.Fatalf("stranger's store accepted: %s", body)
		}
		unsignedStore := fmt.Sprintf(`{"method":"store","params":{"pubkey":%q,"namespace":%d,"data":%q,"ttl":3600000,"timestamp":%d}}`,
			owner.ID().String(), keys, b64("forged"), f.clock().UnixMilli())
		if status, body := f.post([]byte(unsignedStore)); status == http.StatusOK {
			t.Fatalf("unsigned store accepted: %s", body)
		}
		if _, res, _ := unsigned(keys); len(res.Messages) != 1 {
			t.Fatalf("key namespace holds %d messages, want only the owner's", len(res.Messages))
		}
	})
	t.Run("signed retrieve still works", func(t *testing.T) {
		if got := f.retrieveAll(t, owner, keys); len(got) != 1 {
			t.Fatalf("owner's signed retrieve: %d messages", len(got))
		}
	})
	t.Run("stale clock is no matter when nothing is signed", func(t *testing.T) {
		body := fmt.Sprintf(`{"method":"retrieve","params":{"pubkey":%q,"namespace":%d,"timestamp":%d}}`,
			owner.ID().String(), keys, f.clock().Add(-time.Hour).UnixMilli())
		if status, b := f.post([]byte(body)); status != http.StatusOK {
			t.Fatalf("status %d: %s", status, b)
		}
	})
}
