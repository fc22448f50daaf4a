package nodeapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/rpc"
)

// FuzzHandler drives the HTTP handler with arbitrary bodies: every answer
// must be a 2xx or 4xx with a JSON body, the node must stay healthy, and
// every message stored before must still be there, unchanged.
func FuzzHandler(f *testing.F) {
	fx := newFixture(f, func(c *Config) {
		c.Snapshot = func() ([]byte, uint64) { return []byte(`{"epoch":3}`), 3 }
	})
	acct := identity.NewAccount()
	// The DM inbox and owner-only namespaces: the public namespaces that
	// take deposits are few (rpc.DepositNamespaces).
	nss := []int{0, 1, 2, 3, 8}
	var hashes []string
	for i, ns := range nss {
		hashes = append(hashes, fx.storeMsg(f, acct, ns, fmt.Sprintf("kept %d", i), time.Hour))
	}
	// Signed seeds come from another account: structurally valid, they
	// show the fuzzer every field, yet may not touch acct's messages.
	mallory := identity.NewAccount()
	signed := func(method, params string) []byte {
		return reqBody(method, fx.sign(f, mallory, method, params, 0))
	}
	for _, seed := range [][]byte{
		signed(rpc.MethodRetrieve, `{}`),
		signed(rpc.MethodDelete, `{"messages":["`+hashes[0]+`"]}`),
		signed(rpc.MethodDeleteAll, `{"namespace":"all"}`),
		signed(rpc.MethodExpireAll, `{"expiry":1800000001000}`),
		signed(rpc.MethodBatch, `{"requests":[{"method":"retrieve","params":{}},{"method":"get_swarm","params":{}}]}`),
		[]byte(`{"method":"store","params":{"pubkey":"` + acct.ID().String() + `","data":"aGk=","ttl":10000,"timestamp":1800000000000}}`),
		[]byte(`{"method":"get_snapshot","params":{"after":2}}`), []byte(`{"method":"snapshot","params":{"after":3}}`),
		[]byte(`{"method":"info"}`), []byte(`{}`), []byte(`[`), []byte("\x00\xff"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		status, resp := fx.post(body)
		if status == http.StatusNoContent && len(resp) == 0 {
			return // get_snapshot with nothing newer
		}
		if status >= 500 || status < 200 || !json.Valid(resp) {
			t.Fatalf("status %d for %q: %s", status, body, resp)
		}
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		if rec.Code != 200 {
			t.Fatalf("unhealthy after %q", body)
		}
		for i, h := range hashes {
			msgs, _, err := fx.db.List(context.Background(), store.Query{Account: acct.ID(), Namespace: int32(nss[i]), Now: fx.clock()})
			if err != nil {
				t.Fatal(err)
			}
			j := slices.IndexFunc(msgs, func(m store.Message) bool { return m.Hash == h })
			if j < 0 || string(msgs[j].Data) != fmt.Sprintf("kept %d", i) || !msgs[j].Expiry.Equal(msgs[j].Timestamp.Add(time.Hour)) {
				t.Fatalf("message %d changed after %q: %+v", i, body, msgs)
			}
		}
	})
}
