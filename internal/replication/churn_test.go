package replication_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

// TestChurnLosesNothing runs a network through a new swarm forming, a
// swarm dissolving and a decommission, and checks after each step that
// every message stored at the start is held by every member of the
// account's current swarm, and by no node outside it.
func TestChurnLosesNothing(t *testing.T) {
	c := newCluster(t, 4, nil)
	c.oneSwarm()
	c.startAll()
	for _, n := range c.nodes {
		runAntiEntropy(t, n)
	}
	type msg struct {
		acct identity.AccountID
		hash string
	}
	var msgs []msg
	for i := range 40 {
		a := identity.NewAccount().ID()
		res := storeMsg(t, c.nodes[i%4], a, fmt.Sprint("churn ", i), time.Now())
		msgs = append(msgs, msg{a, res.Hash})
	}
	running := func() []*testNode {
		var out []*testNode
		for _, n := range c.nodes {
			if n.db != nil {
				out = append(out, n)
			}
		}
		return out
	}
	// placed reports whether every message sits exactly on its current
	// swarm's members among the running nodes.
	placed := func() bool {
		for _, n := range running() {
			for _, m := range msgs {
				want := n.mem.Owns(m.acct)
				got, err := n.db.Messages(context.Background(), m.acct, []string{m.hash}, time.Now())
				if err != nil || (len(got) == 1) != want {
					return false
				}
			}
		}
		return true
	}
	distinct := func() int {
		seen := map[string]bool{}
		for _, n := range running() {
			for _, m := range msgs {
				if got, _ := n.db.Messages(context.Background(), m.acct, []string{m.hash}, time.Now()); len(got) == 1 {
					seen[m.hash] = true
				}
			}
		}
		return len(seen)
	}
	eventually(t, "the first swarm holds everything", placed)
	if got := distinct(); got != len(msgs) {
		t.Fatalf("%d distinct messages held before churn, want %d", got, len(msgs))
	}

	t.Run("new swarm forms", func(t *testing.T) {
		for range 3 {
			n := c.addNode(nil)
			c.start(n)
			runAntiEntropy(c.t, n) // beyond this subtest: the leavers hand off later
		}
		n := c.nodes
		c.publish(map[*testNode]uint64{n[0]: 1, n[1]: 1, n[2]: 1, n[3]: 1 << 63, n[4]: 1 << 63, n[5]: 1 << 63, n[6]: 1 << 63})
		eventually(t, "accounts of the new swarm moved there, and only there", placed)
		if got := distinct(); got != len(msgs) {
			t.Errorf("%d distinct messages after the split, want %d", got, len(msgs))
		}
		moved := 0
		for _, m := range msgs {
			if n[4].mem.Owns(m.acct) {
				moved++
			}
		}
		if moved == 0 || moved == len(msgs) {
			t.Fatalf("%d of %d accounts map to the new swarm; the test needs some on each side", moved, len(msgs))
		}
	})

	t.Run("swarm dissolves", func(t *testing.T) {
		n := c.nodes
		// Three nodes leave the registry; the fourth joins swarm 1. The
		// leavers still run and hand their data on before they stop.
		c.publish(map[*testNode]uint64{n[0]: 1, n[1]: 1, n[2]: 1, n[3]: 1})
		eventually(t, "everything is back in the remaining swarm", placed)
		for _, leaver := range n[4:7] {
			c.kill(leaver)
		}
		if got := distinct(); got != len(msgs) {
			t.Errorf("%d distinct messages after the dissolve, want %d", got, len(msgs))
		}
	})

	t.Run("decommission", func(t *testing.T) {
		n := c.nodes
		// A deadline for a hang, not a speed bound: under -race on a
		// machine whose cores are busy the hand-off took over 20 s.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if _, err := n[2].repl.Decommission(ctx); err != nil {
			t.Fatalf("Decommission: %v", err)
		}
		c.kill(n[2])
		c.publish(map[*testNode]uint64{n[0]: 1, n[1]: 1, n[3]: 1})
		eventually(t, "the three remaining members hold everything", placed)
		if got := distinct(); got != len(msgs) {
			t.Errorf("%d distinct messages after the decommission, want %d", got, len(msgs))
		}
	})
}
