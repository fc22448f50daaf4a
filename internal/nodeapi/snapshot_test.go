package nodeapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// notReady is a membership whose view of the network has lapsed.
type notReady struct{ ownsAll }

func (notReady) Ready(time.Time) error { return errors.New("no current registry snapshot") }

func TestGetSnapshot(t *testing.T) {
	// Spaces and an ampersand survive: the bytes are the registry's, not
	// re-encoded.
	raw := []byte(`{"network_id": "testnet", "epoch": 7, "version": "a&b"}`)
	serving := func(c *Config) { c.Snapshot = func() ([]byte, uint64) { return raw, 7 } }
	empty := func(c *Config) { c.Snapshot = func() ([]byte, uint64) { return nil, 0 } }
	tests := []struct {
		name     string
		opt      fixtureOpt
		body     string
		wantCode int
		wantBody string // exact body for 200, error code otherwise
	}{
		{name: "verbatim", opt: serving, body: `{"method":"get_snapshot"}`, wantCode: 200, wantBody: string(raw) + "\n"},
		{name: "paths alias", opt: serving, body: `{"method":"snapshot"}`, wantCode: 200, wantBody: string(raw) + "\n"},
		{name: "newer than after", opt: serving, body: `{"method":"get_snapshot","params":{"after":6}}`, wantCode: 200, wantBody: string(raw) + "\n"},
		{name: "nothing newer", opt: serving, body: `{"method":"get_snapshot","params":{"after":7}}`, wantCode: 204, wantBody: ""},
		{name: "in a batch", opt: serving, body: `{"method":"batch","params":{"requests":[{"method":"get_snapshot"}]}}`, wantCode: 200,
			wantBody: `{"results":[{"code":200,"body":{"network_id":"testnet","epoch":7,"version":"a\u0026b"}}],"t":1800000000000}` + "\n"},
		{name: "bad params", opt: serving, body: `{"method":"get_snapshot","params":{"after":"x"}}`, wantCode: 400, wantBody: string(rpc.CodeBadJSON)},
		{name: "none yet", opt: empty, body: `{"method":"get_snapshot"}`, wantCode: 503, wantBody: string(rpc.CodeUnavailable)},
		{name: "standalone", opt: func(*Config) {}, body: `{"method":"get_snapshot"}`, wantCode: 400, wantBody: string(rpc.CodeUnknownMethod)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.opt)
			code, body := f.post([]byte(tt.body))
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", code, tt.wantCode, body)
			}
			if code/100 == 2 {
				if string(body) != tt.wantBody {
					t.Fatalf("body %q, want %q", body, tt.wantBody)
				}
				return
			}
			var eb rpc.ErrorBody
			if err := json.Unmarshal(body, &eb); err != nil || eb.Error == nil || string(eb.Error.Code) != tt.wantBody {
				t.Fatalf("body %s, want code %s", body, tt.wantBody)
			}
		})
	}
}

func TestNotReadyRefusesAccountRequests(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Membership = notReady{ownsAll{snapshot.Node{Ed25519: c.Ed25519}}} })
	acct := identity.NewAccount()
	var eb rpc.ErrorBody
	if code := f.call(t, acct, rpc.MethodStore, storeParams(0, "hi", time.Minute, 0), &eb); code != http.StatusServiceUnavailable {
		t.Fatalf("store: status %d, want 503", code)
	}
	if eb.Error.Code != rpc.CodeUnavailable || !strings.Contains(eb.Error.Message, "snapshot") {
		t.Fatalf("store: %+v", eb.Error)
	}
	code, body := f.post(reqBody(rpc.MethodGetSwarm, json.RawMessage(`{"pubkey":"`+acct.ID().String()+`"}`)))
	if code != http.StatusServiceUnavailable {
		t.Fatalf("get_swarm: status %d: %s", code, body)
	}
	// info does not depend on the swarms.
	if code, body := f.post(reqBody(rpc.MethodInfo, nil)); code != http.StatusOK {
		t.Fatalf("info: %d %s", code, body)
	}
}
