//go:build lab && linux

package lab

import (
	"testing"
	"time"
)

// Relay budgets of TestLabRelayLimit's nodes: low, so that a flood from
// one relay identity passes them whatever the machine's speed (1,000
// frames in under 180 s).
const (
	relayBurst     = 100
	relayPerSecond = 5
)

// TestLabRelayLimit checks DESIGN §4's per-relay-identity budget with
// real distinct addresses: a relay (node01, 10.77.1.1) that floods
// another node with onion frames under its own node certificate is
// refused with 429 past its bucket, while a second relay (node03,
// 10.77.2.1) sending at the same time and right after is never refused;
// the flood spent node01's identity's budget, not its address's (a
// client at 10.77.1.1 is served), and the same identity flooding from
// another address is still refused.
func TestLabRelayLimit(t *testing.T) {
	ctx := testCtx(t, 12*time.Minute)
	l := newLab(t)
	o := baseOptions([]string{"10.77.1.1", "10.77.1.2", "10.77.2.1", "10.77.3.1", "10.77.4.1", "10.77.5.1"})
	o.NodeArgs = append(o.NodeArgs, "--relay-node-burst", "100", "--relay-node-per-second", "5")
	n, err := l.StartNetwork(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	target, relayA, relayB := n.Nodes[5], n.Nodes[0], n.Nodes[2]
	dest := []helperNode{{Address: target.Host.Addr + ":" + NodePort, Key: target.Key}}
	t.Logf("target %s (%s); flooding relay %s (%s); other relay %s (%s)",
		target.Host.Name, target.Host.Addr, relayA.Host.Name, relayA.Host.Addr, relayB.Host.Name, relayB.Host.Addr)

	type result struct {
		res helperResult
		err error
	}
	flood := make(chan result, 1)
	go func() {
		res, err := runHelperErr(ctx, l, relayA.Host, helperJob{Mode: "relayflood", Nodes: dest, NodeDir: relayA.Dir, Count: 1000, Parallel: 16})
		flood <- result{res, err}
	}()
	// node03's traffic while node01 floods, paced to span the flood
	// (1,000 frames past a bucket of 100 + 5/s take seconds); and more
	// of it right after.
	during := runHelper(ctx, t, l, relayB.Host, helperJob{Mode: "relayflood", Nodes: dest, NodeDir: relayB.Dir, Count: 40, Parallel: 1, Pace: 200 * time.Millisecond})
	fr := <-flood
	if fr.err != nil {
		t.Fatal(fr.err)
	}
	after := runHelper(ctx, t, l, relayB.Host, helperJob{Mode: "relayflood", Nodes: dest, NodeDir: relayB.Dir, Count: 40, Parallel: 4})
	f := fr.res
	t.Logf("%s's identity, 1,000 frames in %v: %v", relayA.Host.Name, f.Elapsed.Round(time.Millisecond), f.Statuses)
	if during.Elapsed < f.Elapsed/2 {
		t.Logf("(the other relay's paced frames took %v, less than half the flood: a machine this fast shows less overlap)", during.Elapsed.Round(time.Millisecond))
	}
	t.Logf("%s's identity, during the flood (%v): %v; after it: %v", relayB.Host.Name, during.Elapsed.Round(time.Millisecond), during.Statuses, after.Statuses)
	if f.Statuses[429] == 0 {
		t.Errorf("1,000 frames from one relay against a budget of %d + %d/s: none refused", relayBurst, relayPerSecond)
	}
	// Admitted frames are answered 400 (junk); the bucket bounds them.
	bound := relayBurst + int(relayPerSecond*f.Elapsed.Seconds()) + 1
	if f.Statuses[400] > bound {
		t.Errorf("%d of the flood's frames admitted in %v, more than the bucket's %d", f.Statuses[400], f.Elapsed, bound)
	}
	for name, r := range map[string]helperResult{"during": during, "after": after} {
		if r.Statuses[400] != 40 {
			t.Errorf("the other relay's frames %s the flood: %v (errors %v), want all 40 admitted", name, r.Statuses, r.Errors)
		}
	}

	t.Run("identity, not address", func(t *testing.T) {
		// A client at the flooding relay's own address (no
		// certificate): its own budget, untouched by the flood.
		client := runHelper(ctx, t, l, relayA.Host, helperJob{Mode: "relayflood", Nodes: dest, Count: 10, Parallel: 1})
		t.Logf("a client at %s: %v", relayA.Host.Addr, client.Statuses)
		if client.Statuses[400] != 10 {
			t.Errorf("a client at the flooding relay's address was refused: %v", client.Statuses)
		}
		// The flooding identity from elsewhere: its bucket holds at most
		// relayBurst, so 500 frames in under 80 s pass it.
		elsewhere, err := l.AddHost("moved", "10.77.40.1")
		if err != nil {
			t.Fatal(err)
		}
		moved := runHelper(ctx, t, l, elsewhere, helperJob{Mode: "relayflood", Nodes: dest, NodeDir: relayA.Dir, Count: 500, Parallel: 16})
		t.Logf("%s's identity from %s, 500 frames in %v: %v", relayA.Host.Name, elsewhere.Addr, moved.Elapsed.Round(time.Millisecond), moved.Statuses)
		if moved.Statuses[429] == 0 {
			t.Errorf("the flooding identity from another address was not refused: %v", moved.Statuses)
		}
	})
}
