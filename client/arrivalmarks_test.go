package client

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/misbehave"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/node/nodetest"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// TestLateArrivalLyingMember (issue 23): one member of the receiver's
// swarm lies in the arrival-mark exchange — it answers a mark far ahead
// of its true one and no late messages (LieArrival), or its true mark
// without the late messages (WithholdLate). A message that reaches the
// swarm late, dated far behind the receiver's cursor, lands on that
// member and one honest one, as a store confirmed by two members does.
// The receiver still gets it, once, from the honest member's own mark:
// a mark is trusted for its node only. (A message that reached the liar
// alone was never confirmed by two members; the liar can hide that.)
func TestLateArrivalLyingMember(t *testing.T) {
	for _, mode := range []misbehave.Mode{misbehave.LieArrival, misbehave.WithholdLate} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx := context.Background()
			liar := &misbehave.Node{}
			liar.Set(mode)
			swarm := startTrioWith(t, func(i int) []node.Option {
				if i == 0 {
					return []node.Option{node.WithRPCWrapper(liar.Wrap)}
				}
				return nil
			})
			lying, honest := swarm.nodes[0], swarm.nodes[1]
			spy := &retrieveSpy{Transport: NewDirectTransport(), asked: map[identity.Ed25519PublicKey]int{}}
			o := Options{Directory: swarm, Transport: spy}
			alice := openV2(t, newHome(t), o)
			bob := openV2(t, newHome(t), o)
			spy.mu.Lock()
			spy.reader = bob.Account()
			spy.mu.Unlock()
			if err := bob.PublishKeys(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := alice.Send(ctx, bob.Account(), "on time"); err != nil {
				t.Fatal(err)
			}
			// Bob reads every member, so he holds a mark of each (the
			// liar's a lie), and his cursor passes "on time".
			onTime := 0
			for try := 0; onTime == 0 || !holdsMarks(bob, swarm.nodes); try++ {
				if try == 30 {
					t.Fatalf("bob has %d messages and not every mark after 30 polls", onTime)
				}
				ms, err := bob.Poll(ctx)
				if err != nil {
					t.Fatal(err)
				}
				onTime += len(ms)
			}
			if mode == misbehave.LieArrival {
				for _, n := range swarm.nodes {
					got := bob.arrivalMark(NamespaceInbox, n).asked
					if lie := got >= misbehave.ArrivalLie; lie != (n.Ed25519 == lying.Ed25519) {
						t.Fatalf("bob's mark of %s is %d: the lie must stay with the liar", n.Ed25519.String()[:8], got)
					}
				}
			}
			cur, err := bob.db.Cursor(cursorName(NamespaceInbox))
			if err != nil {
				t.Fatal(err)
			}
			depositLate(t, alice, bob, cur.Time.Add(-2*DefaultLookback), lying, honest)

			got := map[string]int{}
			liarAsked := spy.count(lying)
			for try := 0; try < 30 && got["late"] == 0; try++ {
				ms, err := bob.Poll(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					got[m.Text]++
				}
			}
			if got["late"] == 0 {
				t.Fatalf("the late message never arrived (the honest member answered %d retrieves)", spy.count(honest))
			}
			for range 10 {
				ms, err := bob.Poll(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					got[m.Text]++
				}
			}
			if got["late"] != 1 || got["on time"] != 0 {
				t.Errorf("deliveries after the late deposit: %v, want late once and nothing else", got)
			}
			// The liar was asked along the way: its lie was in play.
			if spy.count(lying) == liarAsked || liar.Requests.Load() == 0 {
				t.Errorf("the lying member answered no retrieve after the deposit")
			}
		})
	}
}

// holdsMarks reports whether c holds an arrival mark of every node in ns
// 0 (each was read at least once).
func holdsMarks(c *Client, nodes []snapshot.Node) bool {
	for _, n := range nodes {
		if c.arrivalMark(NamespaceInbox, n).asked == rpc.ArrivalMarkOnly {
			return false
		}
	}
	return true
}

// depositLate seals a message "late" from alice to bob as her outbox
// would and stores it, dated at dated, on the given members only, as
// forwards that arrive that late do.
func depositLate(t *testing.T, alice, bob *Client, dated time.Time, on ...snapshot.Node) {
	t.Helper()
	ctx := context.Background()
	if _, err := alice.Queue(bob.Account(), "late"); err != nil {
		t.Fatal(err)
	}
	items, err := alice.db.DueOutbox(alice.clock().Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Namespace == int(NamespaceInbox) {
			payload, err := alice.sealItem(ctx, it)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range on {
				if _, err := alice.storeOnce(withDepositTime(ctx, dated), n, bob.Account(), NamespaceInbox, it.TTL, payload); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := alice.db.OutboxResult(it.ID, nil, alice.clock()); err != nil {
			t.Fatal(err)
		}
	}
}

// movingSwarm is a Directory whose one swarm a test changes.
type movingSwarm struct {
	network string
	mu      sync.Mutex
	nodes   []snapshot.Node
}

func (d *movingSwarm) NetworkID() string { return d.network }
func (d *movingSwarm) SwarmFor(context.Context, identity.AccountID) ([]snapshot.Node, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.nodes), nil
}
func (d *movingSwarm) Invalidate() {}

func (d *movingSwarm) set(nodes []snapshot.Node) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nodes = slices.Clone(nodes)
}

// TestArrivalMarksOfDepartedNodesPruned (issue 23): when a member leaves
// the account's swarm, the next poll drops the mark it gave, in every
// namespace, and keeps the others'; the record holds the current members'
// marks only, however many nodes came and went.
func TestArrivalMarksOfDepartedNodesPruned(t *testing.T) {
	ctx := context.Background()
	trio := startTrio(t)
	cfg := nodetest.Standalone(t)
	cfg.NetworkID = "standalone-trio"
	n4 := nodetest.Start(t, cfg)
	sd, err := NewStandaloneDirectory(ctx, NewDirectTransport(), n4.Addr().String(), n4.Identity().Ed25519Public())
	if err != nil {
		t.Fatal(err)
	}
	fourth := sd.Node
	swarm := &movingSwarm{network: trio.network, nodes: trio.nodes}
	bob := openV2(t, newHome(t), Options{Directory: swarm, Transport: NewDirectTransport()})
	marked := func(ns int32) []string {
		return slices.Sorted(maps.Keys(bob.loadArrivalMarks(ns)))
	}
	keys := func(nodes ...snapshot.Node) []string {
		var out []string
		for _, n := range nodes {
			out = append(out, n.Ed25519.String())
		}
		slices.Sort(out)
		return out
	}
	namespaces := []int32{NamespaceInbox, NamespaceSync}
	until := func(want []string) {
		t.Helper()
		for try := 0; ; try++ {
			done := true
			for _, ns := range namespaces {
				done = done && slices.Equal(marked(ns), want)
			}
			if done {
				return
			}
			if try == 30 {
				t.Fatalf("marks after 30 polls: inbox %v, sync %v; want %v", marked(NamespaceInbox), marked(NamespaceSync), want)
			}
			if _, err := bob.Poll(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	until(keys(trio.nodes...))
	gone := trio.nodes[2]
	now := []snapshot.Node{trio.nodes[0], trio.nodes[1], fourth}
	swarm.set(now)
	// Polls ask two members each: the departed mark goes with the first,
	// the newcomer's comes once it is read.
	until(keys(now...))
	if got := bob.arrivalMark(NamespaceInbox, gone).asked; got != rpc.ArrivalMarkOnly {
		t.Errorf("the departed node's mark is still asked: %d", got)
	}
}
