package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/protocol/rpc"
)

// TestReplayedSignatureSignsAgain: two devices of one account that sign
// the same request in the same millisecond make the same signature
// (Ed25519 is deterministic), and the node refuses the second as a
// replay. The device whose request was refused signs again with a later
// stamp, so its read goes through instead of failing.
func TestReplayedSignatureSignsAgain(t *testing.T) {
	var refused atomic.Int32
	// The node answers the first signed retrieve as a replay, as it does
	// for the second of two devices that signed it alike.
	replayOnce := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte(`"method":"retrieve"`)) && refused.CompareAndSwap(0, 1) {
				e := rpc.Errorf(rpc.CodeReplayed, "this signature was already used; sign the request again with a new timestamp")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(e.Code.Status())
				json.NewEncoder(w).Encode(rpc.ErrorBody{Error: e, T: time.Now().UnixMilli()})
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	nd := startStandaloneWith(t, node.WithRPCWrapper(replayOnce))
	c := open(t, newHome(t), Options{Standalone: nd})
	if _, err := c.retrieve(context.Background(), *nd, NamespaceInbox, time.Time{}, ""); err != nil {
		t.Fatalf("retrieve after a replay answer: %v", err)
	}
	if refused.Load() != 1 {
		t.Fatal("the node never answered a replay: the test tested nothing")
	}
}
