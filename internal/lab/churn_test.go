//go:build lab && linux

package lab

import (
	"fmt"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/devnet"
)

// TestLabChurn: of 10 nodes, 2 (20%) leave for good (kill -9, then
// voted unreachable and dropped) and 2 join, one at a time, while alice
// and bob message each other; swarms re-form, the leavers' messages
// live on in their peers and are handed to the joiners, and the ledger
// balances.
func TestLabChurn(t *testing.T) {
	ctx := testCtx(t, 15*time.Minute)
	l := newLab(t)
	o := baseOptions([]string{"10.77.1.1", "10.77.1.2", "10.77.1.3", "10.77.2.1", "10.77.2.2",
		"10.77.3.1", "10.77.3.2", "10.77.4.1", "10.77.4.2", "10.77.5.1"})
	n, alice, bob := startPair(t, ctx, l, o)
	ledger := NewLedger()
	ab := &sender{t: t, from: alice, to: bob, ledger: ledger}
	ba := &sender{t: t, from: bob, to: alice, ledger: ledger, n: 1000}
	exchange := func(phase string) {
		ab.send(ctx, phase, 2)
		ba.send(ctx, phase, 2)
	}
	exchange("start")
	st, err := n.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("epoch %d: %d swarms", st.Epoch, len(st.Swarms))
	// The leavers are not seeds, so the observer keeps its view.
	for i, leaver := range []*Server{n.Nodes[8], n.Nodes[9]} {
		leaver.Kill()
		exchange(fmt.Sprintf("after %s left", leaver.Host.Name))
		joiner, err := n.AddNode(fmt.Sprintf("10.77.6.%d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		exchange(fmt.Sprintf("after %s joined", joiner.Host.Name))
		start := time.Now()
		err = n.WaitFor(ctx, func(st *devnet.Status) (bool, string) {
			formed, line := n.formed(st)
			for _, ns := range st.Nodes {
				if ns.PubkeyEd25519 == leaver.Key {
					return false, line + "; the leaver is still listed"
				}
			}
			return formed, line
		})
		if err != nil {
			t.Fatal(err)
		}
		st, _ := n.Status(ctx)
		t.Logf("%s left, %s joined; re-formed in %v: epoch %d, %d swarms", leaver.Host.Name, joiner.Host.Name,
			time.Since(start).Round(time.Millisecond), st.Epoch, len(st.Swarms))
	}
	exchange("end")
	receiveAll(ctx, t, bob, ledger, 20)
	receiveAll(ctx, t, alice, ledger, 20)
	checkLedger(t, ledger)
}
