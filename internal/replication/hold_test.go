package replication_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
)

// heldRetrieves reads n's gauge of held retrieves.
func heldRetrieves(t testing.TB, n *testNode) float64 {
	t.Helper()
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "hush_rpc_held_retrieves" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no hush_rpc_held_retrieves")
	return 0
}

// TestHeldRetrieveWakesOnReplication holds a retrieve on one member of a
// swarm and stores through another: the message arrives by the store's
// forward, or, when the holder refuses forwards, by anti-entropy, and
// either wakes the hold (fast mode, issue 15).
func TestHeldRetrieveWakesOnReplication(t *testing.T) {
	tests := []struct {
		name         string
		dropForwards bool
	}{
		{"by forward", false},
		{"by anti-entropy repair", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 3, nil)
			c.oneSwarm()
			c.startAll()
			holder, writer := c.nodes[0], c.nodes[1]
			holder.fault.Store(tc.dropForwards)
			acct := identity.NewAccount()
			type answer struct {
				body []byte
				err  error
			}
			done := make(chan answer, 1)
			go func() {
				b, err := holder.client.Signed(context.Background(), acct, rpc.MethodRetrieve, json.RawMessage(`{"wait":25000}`))
				done <- answer{b, err}
			}()
			eventually(t, "the retrieve is held", func() bool {
				select {
				case a := <-done:
					t.Fatalf("answered instead of held: %s %v", a.body, a.err)
				default:
				}
				return heldRetrieves(t, holder) == 1
			})
			storeMsg(t, writer, acct.ID(), "from another member", time.Now())
			if tc.dropForwards {
				runAntiEntropy(t, holder)
			}
			select {
			case a := <-done:
				var res rpc.RetrieveResult
				if a.err != nil || json.Unmarshal(a.body, &res) != nil || len(res.Messages) != 1 {
					t.Fatalf("held retrieve answered %s, %v; want the message", a.body, a.err)
				}
			case <-time.After(time.Minute):
				t.Fatal("the held retrieve never woke")
			}
			if n := heldRetrieves(t, holder); n != 0 {
				t.Fatalf("%v still held", n)
			}
		})
	}
}
