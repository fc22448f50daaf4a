package replication_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
)

// TestApplyConfirmsWithOneSignature: a member confirms the stores of one
// apply with one signature (over a Merkle root), and each confirmation
// still verifies for its own message, the way a client counts them; an
// op the member refuses gets none.
func TestApplyConfirmsWithOneSignature(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.oneSwarm()
	target, member := c.nodes[0], c.nodes[1]
	c.start(target)
	now := time.Now()
	var ops []rpc.NodeOp
	for i := range 7 {
		ops = append(ops, storeOp(identity.NewAccount().ID(), 0, fmt.Sprint("batched ", i), now, now.Add(time.Hour)))
	}
	refused := storeOp(identity.NewAccount().ID(), 0, "from 2999", year2999, year2999.Add(time.Hour))
	ops = append(ops[:3], append([]rpc.NodeOp{refused}, ops[3:]...)...)
	status, body := nodeRequest(t, target, member.key, target.pub(), time.Now(), applyOps(t, rpc.SourceForward, "batch", ops...), nil)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var reply rpc.ApplyReply
	if err := json.Unmarshal([]byte(body), &reply); err != nil || len(reply.Results) != len(ops) {
		t.Fatalf("reply %s: %v", body, err)
	}
	sigs := map[string]bool{}
	for i, res := range reply.Results {
		op := ops[i]
		if i == 3 {
			if res.Error == "" || res.Confirmation != "" {
				t.Errorf("the refused op got %+v", res)
			}
			continue
		}
		sigs[res.Confirmation] = true
		conf := rpc.StoreResult{Hash: op.Hash, Swarm: map[string]rpc.Confirmation{target.pub().String(): {Hash: op.Hash, Signature: res.Confirmation, Proof: res.Proof}}}
		if got := c.confirmations(op.Account, conf); got != 1 {
			t.Errorf("op %d: the confirmation does not verify (%+v)", i, res)
		}
	}
	if len(sigs) != 1 {
		t.Errorf("%d signatures for one apply's stores, want 1", len(sigs))
	}
}
