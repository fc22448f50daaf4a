package registryapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hushnet/hush/internal/registry/entry"
)

type fakeBackend struct {
	err       error
	got       *entry.Command
	forwarded bool
	snap      []byte
}

func (b *fakeBackend) Submit(ctx context.Context, c *entry.Command) error {
	b.got, b.forwarded = c, Forwarded(ctx)
	return b.err
}

func (b *fakeBackend) Snapshot(ctx context.Context, after uint64) ([]byte, error) {
	if after >= 7 {
		<-ctx.Done() // nothing newer than epoch 7
		return nil, nil
	}
	return b.snap, nil
}

func (b *fakeBackend) Status() Status { return Status{NetworkID: "testnet"} }

func TestAPI(t *testing.T) {
	tick := `{"type":"tick","tick":{"nonce":"` + strings.Repeat("00", 32) + `","issued_at_ms":1,"expires_at_ms":2}}`
	tests := []struct {
		name       string
		method     string
		path, body string
		header     string
		backendErr error
		wantStatus int
		wantCode   string
		wantType   entry.Type
	}{
		{"admit", "POST", "/v1/admit", `{"node":"` + strings.Repeat("00", 32) + `","steward":"` + strings.Repeat("00", 32) + `","issued_at_ms":1,"signature":"` + strings.Repeat("00", 64) + `"}`, "", nil, 204, "", entry.TypeAdmit},
		{"admit with an unknown field", "POST", "/v1/admit", `{"nod":"x"}`, "", nil, 400, "malformed", ""},
		{"register refused by the registry", "POST", "/v1/register", `{"descriptor":{"pubkey_ed25519":"` + strings.Repeat("00", 32) + `","pubkey_x25519":"` + strings.Repeat("00", 32) + `","address":"a:1","version":"1","timestamp_ms":1,"signature":"` + strings.Repeat("00", 64) + `"},"received_at_ms":0}`, "", fmt.Errorf("%w: x", entry.ErrNotAdmitted), 403, "not_admitted", entry.TypeRegister},
		{"command", "POST", "/v1/commands", `{"type":"vote","vote":{"host":"` + strings.Repeat("00", 32) + `","node":"` + strings.Repeat("00", 32) + `","registration_ms":1,"unreachable":true,"timestamp_ms":1,"signature":"` + strings.Repeat("00", 64) + `"}}`, "", fmt.Errorf("%w: x", entry.ErrUnknownNode), 404, "unknown_node", entry.TypeVote},
		{"deregister", "POST", "/v1/deregister", `{"node":"` + strings.Repeat("00", 32) + `","timestamp_ms":1,"signature":"` + strings.Repeat("00", 64) + `"}`, "", nil, 204, "", entry.TypeDeregister},
		{"deregister refused as stale", "POST", "/v1/deregister", `{"node":"` + strings.Repeat("00", 32) + `","timestamp_ms":1,"signature":"` + strings.Repeat("00", 64) + `"}`, "", fmt.Errorf("%w: x", entry.ErrStale), 409, "stale", entry.TypeDeregister},
		{"deregister with an unknown field", "POST", "/v1/deregister", `{"node":"` + strings.Repeat("00", 32) + `","ts":1}`, "", nil, 400, "malformed", ""},
		{"tick from outside", "POST", "/v1/commands", tick, "", nil, 403, "forbidden", ""},
		{"internal error hides detail", "POST", "/v1/commands", `{"type":"epoch_sig","epoch_sig":{"epoch":1,"host":"` + strings.Repeat("00", 32) + `","signature":"` + strings.Repeat("00", 64) + `"}}`, "", fmt.Errorf("disk on fire"), 500, "internal", entry.TypeEpochSig},
		{"unavailable", "POST", "/v1/commands", `{"type":"epoch_sig","epoch_sig":{"epoch":1,"host":"` + strings.Repeat("00", 32) + `","signature":"` + strings.Repeat("00", 64) + `"}}`, ForwardedHeader, entry.ErrUnavailable, 503, "unavailable", entry.TypeEpochSig},
		{"snapshot", "GET", "/v1/snapshot", "", "", nil, 200, "", ""},
		{"nothing newer", "GET", "/v1/snapshot?after=7&wait=1ms", "", "", nil, 204, "", ""},
		{"bad after", "GET", "/v1/snapshot?after=x", "", "", nil, 400, "malformed", ""},
		{"status", "GET", "/v1/status", "", "", nil, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{err: tt.backendErr, snap: []byte(`{}`)}
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.header != "" {
				req.Header.Set(tt.header, "1")
			}
			w := httptest.NewRecorder()
			New(b, slog.New(slog.DiscardHandler), Limits{}).ServeHTTP(w, req)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.wantStatus, w.Body)
			}
			if tt.wantCode != "" {
				var eb ErrorBody
				if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error.Code != tt.wantCode {
					t.Fatalf("error body %s, want code %s", w.Body, tt.wantCode)
				}
				if tt.wantCode == "internal" && strings.Contains(w.Body.String(), "fire") {
					t.Fatal("internal detail leaked")
				}
			}
			if tt.wantType != "" && (b.got == nil || b.got.Type != tt.wantType) {
				t.Fatalf("backend got %+v, want a %s command", b.got, tt.wantType)
			}
			if b.forwarded != (tt.header != "") {
				t.Fatalf("forwarded = %v", b.forwarded)
			}
		})
	}
}

var _ http.Handler = New(&fakeBackend{}, slog.New(slog.DiscardHandler), Limits{})
