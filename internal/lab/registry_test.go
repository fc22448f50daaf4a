//go:build lab && linux

package lab

import (
	"fmt"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/devnet"
)

// TestLabRegistryLeaderKill kills the Raft leader of 3 registry hosts
// (kill -9) three times, each time right after a new node started
// registering and while messages are sent; the killed host comes back
// before the next round. Registrations complete, epochs keep ticking
// under a majority's signatures (the observer verifies every snapshot
// against the network file), no epoch ever goes back, and the ledger
// balances.
func TestLabRegistryLeaderKill(t *testing.T) {
	ctx := testCtx(t, 15*time.Minute)
	l := newLab(t)
	o := baseOptions([]string{"10.77.1.1", "10.77.1.2", "10.77.2.1", "10.77.2.2", "10.77.3.1", "10.77.4.1"})
	n, alice, bob := startPair(t, ctx, l, o)
	ledger := NewLedger()
	s := &sender{t: t, from: alice, to: bob, ledger: ledger}
	ep := &epochs{t: t}
	for round := range 3 {
		st, err := n.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ep.check(st)
		leader, err := n.Leader(st)
		if err != nil {
			t.Fatal(err)
		}
		before := st.Epoch
		late, err := n.AddNode(fmt.Sprintf("10.77.%d.1", 5+round))
		if err != nil {
			t.Fatal(err)
		}
		n.Regs[leader].Kill()
		killed := time.Now()
		s.send(ctx, fmt.Sprintf("round %d", round), 2)
		err = n.WaitFor(ctx, func(st *devnet.Status) (bool, string) {
			ep.check(st)
			formed, line := n.formed(st)
			nl, _ := n.Leader(st)
			return formed && nl >= 0 && nl != leader && st.Epoch > before+2, fmt.Sprintf("%s, leader reg%d", line, nl+1)
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed reg%d at epoch %d; %s registered and epoch %d signed %v later",
			round, leader+1, before, late.Host.Name, ep.seen, time.Since(killed).Round(time.Millisecond))
		if err := n.Regs[leader].Start(l); err != nil {
			t.Fatal(err)
		}
		err = n.WaitFor(ctx, func(st *devnet.Status) (bool, string) {
			ep.check(st)
			r := st.Registries[leader]
			return r.Up && r.Epoch >= ep.seen, fmt.Sprintf("reg%d up=%v at epoch %d of %d", leader+1, r.Up, r.Epoch, ep.seen)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	receiveAll(ctx, t, bob, ledger, 20)
	checkLedger(t, ledger)
}
