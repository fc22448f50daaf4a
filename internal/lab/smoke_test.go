//go:build lab && linux

package lab

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/devnet"
)

// sender sends numbered messages from one client to another and
// records each in the ledger.
type sender struct {
	t        *testing.T
	from, to *Client
	ledger   *Ledger
	n        int
}

func (s *sender) send(ctx context.Context, phase string, count int) {
	for range count {
		s.n++
		text := fmt.Sprintf("%s %d", phase, s.n)
		t0 := time.Now()
		status, err := s.from.Send(ctx, s.to.ID, text)
		s.t.Logf("send %q: %s in %v", text, status, time.Since(t0).Round(time.Millisecond))
		if err != nil {
			s.t.Logf("send %q: %v", text, err)
		}
		acked := err == nil && status != "queued" && status != "failed"
		s.ledger.Sent(s.to.ID, text, acked)
	}
}

// epochs tracks the newest epoch the network showed: it must never go
// back (no rollback reaches a node or a client).
type epochs struct {
	t    *testing.T
	seen uint64
}

func (e *epochs) check(st *devnet.Status) {
	if st.Epoch < e.seen {
		e.t.Errorf("epoch went back from %d to %d", e.seen, st.Epoch)
	}
	e.seen = max(e.seen, st.Epoch)
}

// TestLabSmoke is the short lab run for CI: 3 registry hosts, 6 nodes in
// 4 /24s, two clients; the registry leader is killed -9 while a node
// registers, then a member of the recipient's swarm is partitioned away
// while messages are stored and healed, and anti-entropy must repair
// it. The ledger must balance.
func TestLabSmoke(t *testing.T) {
	ctx := testCtx(t, 10*time.Minute)
	l := newLab(t)
	o := baseOptions([]string{"10.77.1.1", "10.77.1.2", "10.77.2.1", "10.77.2.2", "10.77.3.1", "10.77.4.1"})
	// A partitioned member stays in its swarm: this test is about
	// anti-entropy, not about the registry dropping it.
	o.UnreachableAfter = 10 * time.Minute
	start := time.Now()
	n, err := l.StartNetwork(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("network formed in %v", time.Since(start).Round(time.Millisecond))
	alice, bob := addPair(t, ctx, n)
	ledger := NewLedger()
	s := &sender{t: t, from: alice, to: bob, ledger: ledger}
	ep := &epochs{t: t}
	s.send(ctx, "warm-up", 2)

	// The leader dies (kill -9) while a new node registers.
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
	late, err := n.AddNode("10.77.5.1")
	if err != nil {
		t.Fatal(err)
	}
	n.Regs[leader].Kill()
	t.Logf("killed registry leader reg%d at epoch %d", leader+1, before)
	s.send(ctx, "leader-kill", 3)
	err = n.WaitFor(ctx, func(st *devnet.Status) (bool, string) {
		ep.check(st)
		formed, line := n.formed(st)
		nl, _ := n.Leader(st)
		return formed && nl >= 0 && nl != leader && st.Epoch > before+2, fmt.Sprintf("%s, leader reg%d", line, nl+1)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("new leader elected; %s registered; epoch %d", late.Host.Name, ep.seen)

	// A member of bob's swarm is cut off while messages are stored.
	st, err = n.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	members := swarmOf(t, st, bob.ID)
	// Not a seed, nor on the clients' paths: a partitioned relay makes
	// every send wait for the client to give up on its path, which
	// TestLabGuardPartition measures; here the repair is the point.
	onPaths := map[string]bool{}
	for _, c := range []*Client{alice, bob} {
		rs, err := c.Relays(ctx)
		if err != nil {
			t.Fatal(err)
		}
		maps.Copy(onPaths, rs)
	}
	victim := n.Node(members[len(members)-1])
	for _, m := range members {
		if s := n.Node(m); !onPaths[m] && !slices.Contains(n.Nodes[:3], s) {
			victim = s
			break
		}
	}
	if err := l.Partition(victim.Host); err != nil {
		t.Fatal(err)
	}
	t.Logf("partitioned %s (%s), one of %d members of bob's swarm", victim.Host.Name, victim.Host.Addr, len(members))
	s.send(ctx, "partition", 2)
	st, err = n.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("during the partition: %s", counts(n, st, members))
	if err := l.Heal(victim.Host); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	err = n.WaitFor(ctx, func(st *devnet.Status) (bool, string) {
		ep.check(st)
		return repaired(st, members, victim.Key), counts(n, st, members)
	})
	if err != nil {
		t.Fatal(err)
	}
	st, _ = n.Status(ctx)
	t.Logf("repaired %v after the heal: %s", time.Since(healed).Round(time.Millisecond), counts(n, st, members))

	receiveAll(ctx, t, bob, ledger, 20)
	ms, err := bob.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ledger.Received(bob.ID, ms)
	checkLedger(t, ledger)
	t.Logf("smoke run took %v", time.Since(start).Round(time.Second))
}

// repaired reports whether victim holds as many messages as the most
// any other member of its swarm holds.
func repaired(st *devnet.Status, members []string, victim string) bool {
	most := int64(0)
	for _, m := range members {
		if m != victim {
			most = max(most, Messages(st, m))
		}
	}
	return most > 0 && Messages(st, victim) == most
}

// counts describes the stored messages of each member.
func counts(n *Network, st *devnet.Status, members []string) string {
	out := ""
	for _, m := range slices.Sorted(slices.Values(members)) {
		name := m[:8]
		if s := n.Node(m); s != nil {
			name = s.Host.Name
		}
		out += fmt.Sprintf("%s=%d ", name, Messages(st, m))
	}
	return out
}
