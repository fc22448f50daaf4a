package replication_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/rpc"
)

// year2999 is a deposit time a malicious member might use to push a
// client's cursor past every real message.
var year2999 = time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)

func storeOp(acct identity.AccountID, ns int32, data string, ts, expiry time.Time) rpc.NodeOp {
	return rpc.NodeOp{Kind: rpc.OpStore, Account: acct, Namespace: &ns, Hash: rpc.MessageHash(acct, ns, []byte(data)), Data: []byte(data),
		Timestamp: ts.UnixMilli(), Expiry: expiry.UnixMilli()}
}

func applyOps(t *testing.T, source string, nonce string, ops ...rpc.NodeOp) []byte {
	t.Helper()
	p, _ := json.Marshal(rpc.ApplyParams{Source: source, Ops: ops})
	b, _ := json.Marshal(map[string]any{"method": rpc.NodeApply, "params": json.RawMessage(p), "nonce": nonce})
	return b
}

// TestMemberCannotDateDepositsOutsideTheWindow: a genuine member's
// forwards, repairs and hand-offs are held to the time rules of a
// client's deposit: no timestamp beyond the future tolerance, no expiry
// beyond the namespace's longest TTL, so one member cannot plant a
// message dated 2999 that every other member confirms and serves.
func TestMemberCannotDateDepositsOutsideTheWindow(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.oneSwarm()
	target, member := c.nodes[0], c.nodes[1]
	c.start(target)
	acct := identity.NewAccount().ID()
	now := time.Now()
	tests := []struct {
		name    string
		source  string
		op      rpc.NodeOp
		wantErr string // "" : accepted
	}{
		{"honest forward", rpc.SourceForward, storeOp(acct, 0, "honest", now, now.Add(time.Hour)), ""},
		{"honest repair of an old message", rpc.SourceRepair, storeOp(acct, 0, "old", now.Add(-13*24*time.Hour), now.Add(time.Hour)), ""},
		{"repair of an owner-extended expiry", rpc.SourceRepair, storeOp(acct, 1, "extended", now.Add(-20*24*time.Hour), now.Add(29*24*time.Hour)), ""},
		{"forward dated 2999", rpc.SourceForward, storeOp(acct, 0, "future", year2999, year2999.Add(time.Hour)), "timestamp"},
		{"repair dated 2999", rpc.SourceRepair, storeOp(acct, 0, "future repair", year2999, year2999.Add(time.Hour)), "timestamp"},
		{"hand-off dated 2999", rpc.SourceHandoff, storeOp(acct, 0, "future handoff", year2999, year2999.Add(time.Hour)), "timestamp"},
		{"forward an hour ahead", rpc.SourceForward, storeOp(acct, 0, "hour", now.Add(time.Hour), now.Add(2*time.Hour)), "timestamp"},
		{"forward with a public TTL beyond 14 days", rpc.SourceForward, storeOp(acct, 0, "long", now, now.Add(rpc.MaxTTLPublic+time.Hour)), "expiry"},
		{"forward with a private TTL beyond 30 days", rpc.SourceForward, storeOp(acct, 1, "longer", now, now.Add(rpc.MaxTTLPrivate+time.Hour)), "expiry"},
		{"repair expiring in 2999", rpc.SourceRepair, storeOp(acct, 0, "forever", now, year2999), "expiry"},
		{"expire to 2999", rpc.SourceForward, rpc.NodeOp{Kind: rpc.OpExpire, Account: acct, Hashes: []string{rpc.MessageHash(acct, 0, []byte("honest"))},
			Expiry: year2999.UnixMilli(), Mode: rpc.ExpireExtend}, "expiry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := nodeRequest(t, target, member.key, target.pub(), time.Now(), applyOps(t, tt.source, tt.name, tt.op), nil)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			var reply rpc.ApplyReply
			if err := json.Unmarshal([]byte(body), &reply); err != nil || len(reply.Results) != 1 {
				t.Fatalf("reply %s: %v", body, err)
			}
			got := reply.Results[0]
			if tt.wantErr == "" {
				if got.Error != "" {
					t.Fatalf("refused: %s", got.Error)
				}
				return
			}
			if got.Error == "" || got.Confirmation != "" || !strings.Contains(got.Error, tt.wantErr) {
				t.Fatalf("result %+v, want a refusal naming %q", got, tt.wantErr)
			}
		})
	}
	// Nothing dated in the future and nothing living beyond its TTL.
	hs, err := target.db.Hashes(context.Background(), acct, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := target.db.Messages(context.Background(), acct, hashList(hs), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Timestamp.After(time.Now().Add(time.Minute)) || m.Expiry.After(time.Now().Add(rpc.MaxTTLPrivate)) {
			t.Errorf("stored %s dated %s expiring %s", m.Hash, m.Timestamp, m.Expiry)
		}
	}
}

// TestAntiEntropyRefusesFutureMessages: a member whose store holds a
// message dated 2999 cannot spread it by anti-entropy either (the
// fetching side checks the reply as it checks a forward).
func TestAntiEntropyRefusesFutureMessages(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.oneSwarm()
	target, liar := c.nodes[0], c.nodes[1]
	c.start(target)
	c.start(liar)
	acct := identity.NewAccount().ID()
	now := time.Now()
	honest := storeOp(acct, 0, "honest", now, now.Add(time.Hour))
	future := storeOp(acct, 0, "future", year2999, year2999.Add(time.Hour))
	var msgs []store.Message
	for _, op := range []rpc.NodeOp{honest, future} {
		msgs = append(msgs, store.Message{Account: acct, Namespace: 0, Hash: op.Hash, Data: op.Data,
			Timestamp: time.UnixMilli(op.Timestamp).UTC(), Expiry: time.UnixMilli(op.Expiry).UTC()})
	}
	// The liar's store takes anything written to it directly.
	if _, err := liar.db.PutBatch(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	if _, err := target.repl.Round(context.Background()); err != nil {
		t.Logf("round: %v", err)
	}
	got, err := target.db.Messages(context.Background(), acct, []string{honest.Hash, future.Hash}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Hash != honest.Hash {
		var hs []string
		for _, m := range got {
			hs = append(hs, m.Timestamp.String())
		}
		t.Fatalf("after a round the target holds %v, want only the honest message", hs)
	}
}

func hashList(hs []store.HashInfo) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Hash
	}
	return out
}
