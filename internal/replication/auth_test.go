package replication_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/protocol/rpc"
)

func applyBody(t *testing.T, acct identity.AccountID, data string) []byte {
	t.Helper()
	now := time.Now()
	op := rpc.NodeOp{Kind: rpc.OpStore, Account: acct, Hash: rpc.MessageHash(acct, 0, []byte(data)), Data: []byte(data),
		Timestamp: now.UnixMilli(), Expiry: now.Add(time.Hour).UnixMilli()}
	p, _ := json.Marshal(rpc.ApplyParams{Source: rpc.SourceForward, Ops: []rpc.NodeOp{op}})
	b, _ := json.Marshal(map[string]any{"method": rpc.NodeApply, "params": json.RawMessage(p), "nonce": data})
	return b
}

func TestForgedForwardsRefused(t *testing.T) {
	c := newCluster(t, 4, nil)
	// Nodes 0-2 form swarm 1; node 3 is registered in another swarm.
	c.publish(map[*testNode]uint64{c.nodes[0]: 1, c.nodes[1]: 1, c.nodes[2]: 1, c.nodes[3]: 1 << 63})
	target, member, outsider := c.nodes[0], c.nodes[1], c.nodes[3]
	c.start(target)
	// An account that swarm 1 stores.
	var acct identity.AccountID
	for {
		acct = identity.NewAccount().ID()
		if target.mem.Owns(acct) {
			break
		}
	}
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	replayed := applyBody(t, acct, "replayed")
	if status, body := nodeRequest(t, target, member.key, target.pub(), now, replayed, nil); status != http.StatusOK || strings.Contains(body, "error") {
		t.Fatalf("a member's genuine forward: %d %s", status, body)
	}
	tests := []struct {
		name       string
		key        ed25519.PrivateKey
		recipient  identity.Ed25519PublicKey
		ts         time.Time
		body       []byte
		badSig     bool
		wantStatus int
		wantErr    string // per-op error in a 200 reply
	}{
		{name: "unregistered node", key: stranger, recipient: target.pub(), ts: now, body: applyBody(t, acct, "a"), wantStatus: http.StatusForbidden},
		{name: "registered non-member", key: outsider.key, recipient: target.pub(), ts: now, body: applyBody(t, acct, "b"), wantStatus: http.StatusOK, wantErr: "not a member"},
		{name: "bad signature", key: member.key, recipient: target.pub(), ts: now, body: applyBody(t, acct, "c"), badSig: true, wantStatus: http.StatusUnauthorized},
		{name: "signed for another node", key: member.key, recipient: c.nodes[2].pub(), ts: now, body: applyBody(t, acct, "d"), wantStatus: http.StatusUnauthorized},
		{name: "stale timestamp", key: member.key, recipient: target.pub(), ts: now.Add(-2 * rpc.SigTolerance), body: applyBody(t, acct, "e"), wantStatus: http.StatusUnauthorized},
		{name: "replay", key: member.key, recipient: target.pub(), ts: now, body: replayed, wantStatus: http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sig []byte
			if tt.badSig {
				sig = make([]byte, ed25519.SignatureSize)
			}
			before := holds(t, target, acct)
			status, body := nodeRequest(t, target, tt.key, tt.recipient, tt.ts, tt.body, sig)
			if status != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", status, body, tt.wantStatus)
			}
			if tt.wantErr != "" && !strings.Contains(body, tt.wantErr) {
				t.Errorf("reply %s lacks %q", body, tt.wantErr)
			}
			if got := holds(t, target, acct); got != before {
				t.Errorf("a refused forward changed the store: %d messages, had %d", got, before)
			}
		})
	}
}

func TestPeerRateLimitIsPerNodeIdentity(t *testing.T) {
	c := newCluster(t, 3, func(cfg *replication.Config) { cfg.PeerRate, cfg.PeerBurst = 0.001, 2 })
	c.oneSwarm()
	target := c.nodes[0]
	c.start(target)
	acct := identity.NewAccount().ID()
	send := func(n *testNode, data string) int {
		status, _ := nodeRequest(t, target, n.key, target.pub(), time.Now(), applyBody(t, acct, data), nil)
		return status
	}
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		if got := send(c.nodes[1], string(rune('a'+i))); got != want {
			t.Fatalf("request %d from node 1: status %d, want %d", i, got, want)
		}
	}
	// Same IP, other identity: its own bucket.
	if got := send(c.nodes[2], "z"); got != http.StatusOK {
		t.Errorf("node 2 from the same address: status %d, want 200", got)
	}
}
