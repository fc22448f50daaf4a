//go:build lab && linux

package lab

import (
	"testing"
	"time"
)

// TestLabGuardPartition cuts the guard of alice's first path off the
// network (its packets go nowhere, as when a node's uplink dies) while
// she sends: the sends complete around it and the ledger balances. The
// log shows what each send costs while the client finds out.
func TestLabGuardPartition(t *testing.T) {
	ctx := testCtx(t, 15*time.Minute)
	l := newLab(t)
	o := baseOptions([]string{"10.77.1.1", "10.77.1.2", "10.77.2.1", "10.77.2.2", "10.77.3.1", "10.77.4.1", "10.77.5.1"})
	n, alice, bob := startPair(t, ctx, l, o)
	ledger := NewLedger()
	s := &sender{t: t, from: alice, to: bob, ledger: ledger}
	s.send(ctx, "before", 2)
	ps, err := alice.Paths(ctx)
	if err != nil || len(ps) == 0 {
		t.Fatalf("alice's paths: %v, %v", ps, err)
	}
	guard := n.Node(ps[0].Hops[0].Ed25519.String())
	if err := l.Partition(guard.Host); err != nil {
		t.Fatal(err)
	}
	t.Logf("partitioned alice's guard %s", guard.Host.Name)
	s.send(ctx, "guard cut off", 4)
	if err := l.Heal(guard.Host); err != nil {
		t.Fatal(err)
	}
	receiveAll(ctx, t, bob, ledger, 20)
	checkLedger(t, ledger)
}
