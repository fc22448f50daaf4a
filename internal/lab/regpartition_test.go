//go:build lab && linux

package lab

import (
	"strings"
	"testing"
	"time"
)

// TestLabRegistryPartition cuts the registry hosts off from half the
// nodes (blackhole routes both ways; the nodes still reach each other
// and the clients) until those nodes' snapshots expire: they answer
// account requests with 503, the clients' sends go around them, and
// after the heal they serve again; the ledger balances.
func TestLabRegistryPartition(t *testing.T) {
	ctx := testCtx(t, 15*time.Minute)
	l := newLab(t)
	o := baseOptions([]string{"10.77.1.1", "10.77.1.2", "10.77.2.1", "10.77.2.2", "10.77.3.1", "10.77.4.1"})
	o.SnapshotLifetime = 15 * time.Second
	// The registry keeps the cut-off nodes listed: the scenario is the
	// expiry, not a deregistration.
	o.UnreachableAfter = 10 * time.Minute
	n, err := l.StartNetwork(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	loader, err := l.AddHost("load", "10.77.30.1")
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := addPair(t, ctx, n)
	ledger := NewLedger()
	s := &sender{t: t, from: alice, to: bob, ledger: ledger}
	s.send(ctx, "before", 2)

	cut := n.Nodes[3:] // not the seeds, which the observer asks
	var regHosts []*Host
	for _, r := range n.Regs {
		regHosts = append(regHosts, r.Host)
	}
	for _, c := range cut {
		if err := l.Block(c.Host, regHosts...); err != nil {
			t.Fatal(err)
		}
	}
	blocked := time.Now()
	// A store at each cut-off node is refused with 503 once its
	// snapshot has expired.
	seed := strings.Repeat("ab", 16)
	for _, c := range cut {
		for i := 0; ; i++ {
			res := runHelper(ctx, t, l, loader, helperJob{Mode: "store", Seed: seed, Count: 1, Prefix: "probe",
				Nodes: []helperNode{{Address: c.Host.Addr + ":" + NodePort, Key: c.Key}}})
			if res.Failed == 1 && len(res.Errors) == 1 && strings.Contains(res.Errors[0], "503") {
				t.Logf("%s answers 503 %v after the cut: %s", c.Host.Name, time.Since(blocked).Round(time.Second), res.Errors[0])
				break
			}
			if i == 60 || ctx.Err() != nil {
				t.Fatalf("%s never refused: %+v", c.Host.Name, res)
			}
			time.Sleep(time.Second)
		}
	}
	s.send(ctx, "expired half", 4)
	for _, c := range cut {
		if err := l.Unblock(c.Host, regHosts...); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.WaitFormed(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range cut {
		for i := 0; ; i++ {
			res := runHelper(ctx, t, l, loader, helperJob{Mode: "store", Seed: seed, Count: 1, Prefix: "after",
				Nodes: []helperNode{{Address: c.Host.Addr + ":" + NodePort, Key: c.Key}}})
			// Served again: stored, or a 421 naming the right swarm.
			if res.Failed == 0 || (len(res.Errors) == 1 && !strings.Contains(res.Errors[0], "503")) {
				break
			}
			if i == 60 || ctx.Err() != nil {
				t.Fatalf("%s still refuses after the heal: %+v", c.Host.Name, res)
			}
			time.Sleep(time.Second)
		}
	}
	s.send(ctx, "healed", 2)
	receiveAll(ctx, t, bob, ledger, 20)
	checkLedger(t, ledger)
}
