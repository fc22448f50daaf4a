package client

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/node/nodetest"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// trio is a Directory whose every swarm is the same three standalone
// nodes, which do not replicate: a test decides exactly which member holds
// what, as a member whose forwards are held back would.
type trio struct {
	network string
	nodes   []snapshot.Node
}

func (d *trio) NetworkID() string { return d.network }
func (d *trio) SwarmFor(context.Context, identity.AccountID) ([]snapshot.Node, error) {
	return d.nodes, nil
}
func (d *trio) Invalidate() {}

// startTrio starts three standalone nodes and returns them as one swarm.
func startTrio(t *testing.T) *trio { return startTrioWith(t, nil) }

// startTrioWith is startTrio with node i started with opts(i).
func startTrioWith(t *testing.T, opts func(i int) []node.Option) *trio {
	t.Helper()
	d := &trio{}
	for i := range 3 {
		cfg := nodetest.Standalone(t)
		cfg.NetworkID = "standalone-trio" // one network, so one signature serves every member
		var o []node.Option
		if opts != nil {
			o = opts(i)
		}
		n := nodetest.Start(t, cfg, o...)
		sd, err := NewStandaloneDirectory(context.Background(), NewDirectTransport(), n.Addr().String(), n.Identity().Ed25519Public())
		if err != nil {
			t.Fatal(err)
		}
		d.network = sd.Network
		d.nodes = append(d.nodes, sd.Node)
	}
	return d
}

// retrieveSpy is a Transport that counts the retrieves of the account
// reader each node answered.
type retrieveSpy struct {
	Transport
	mu     sync.Mutex
	reader identity.AccountID
	asked  map[identity.Ed25519PublicKey]int
}

func (s *retrieveSpy) Do(ctx context.Context, n snapshot.Node, body []byte) (int, []byte, error) {
	status, resp, err := s.Transport.Do(ctx, n, body)
	var req struct {
		Method string
		Params struct{ Pubkey string }
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if json.Unmarshal(body, &req) == nil && req.Method == rpc.MethodRetrieve && req.Params.Pubkey == s.reader.String() && status == 200 {
		s.asked[n.Ed25519]++
	}
	return status, resp, err
}

func (s *retrieveSpy) count(n snapshot.Node) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[n.Ed25519]
}

// TestLateArrivalBehindCursor (issue 23): a message reaches one member of
// the receiver's swarm only after the receiver's cursor has moved past its
// deposit time by more than the lookback — a forward held back, or an
// anti-entropy repair, carries the timestamp its sender chose, so under
// load it lands far behind the cursor. The receiver must still get it,
// exactly once, within the polls that ask that member; before issue 23's
// fix it never did (the lookback ends well after the message).
func TestLateArrivalBehindCursor(t *testing.T) {
	ctx := context.Background()
	swarm := startTrio(t)
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
	// Bob reads every member at least once (a poll asks two of three at
	// random), so he holds the late member's arrival mark, and the cursor
	// moves past "on time". (A member never read is asked for its mark
	// alone: what reached it before is the lookback's, as without marks.)
	late := swarm.nodes[2]
	onTime := 0
	for try := 0; onTime == 0 || bob.arrivalMark(NamespaceInbox, late).asked == rpc.ArrivalMarkOnly; try++ {
		if try == 30 {
			t.Fatalf("bob has %d messages after 30 polls; member asked %d times", onTime, spy.count(late))
		}
		ms, err := bob.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		onTime += len(ms)
	}
	cur, err := bob.db.Cursor(cursorName(NamespaceInbox))
	if err != nil {
		t.Fatal(err)
	}

	// The late message: sealed to bob as alice's outbox would seal it,
	// deposited on one member only, dated well before bob's cursor minus
	// his lookback, as a forward that arrives that late is.
	if _, err := alice.Queue(bob.Account(), "late"); err != nil {
		t.Fatal(err)
	}
	items, err := alice.db.DueOutbox(alice.clock().Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	dated := cur.Time.Add(-2 * DefaultLookback)
	for _, it := range items {
		if it.Namespace == int(NamespaceInbox) {
			payload, err := alice.sealItem(ctx, it)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := alice.storeOnce(withDepositTime(ctx, dated), late, bob.Account(), NamespaceInbox, it.TTL, payload); err != nil {
				t.Fatal(err)
			}
		}
		// Done: alice must not send it again on time to other members.
		if _, err := alice.db.OutboxResult(it.ID, nil, alice.clock()); err != nil {
			t.Fatal(err)
		}
	}

	// Bob polls on: each poll asks the late member with a chance of 2/3,
	// so it arrives within a few; 30 without it means it is lost (an
	// honest client misses the member 30 times with a chance of (1/3)^30).
	got := map[string]int{}
	asked := spy.count(late)
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
		t.Fatalf("the late message never arrived (the member holding it answered %d retrieves)", spy.count(late)-asked)
	}
	// And once: more polls (every member asked again) do not bring it back.
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
	var n int
	h, err := bob.History(alice.Account())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range h {
		if m.Text == "late" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("bob's history holds the late message %d times, want 1", n)
	}
}

// TestLateArrivalWakesHold (issue 23): in fast mode, a late message
// (dated behind the cursor by more than the lookback) that lands on the
// member the receiver holds a long-poll on is delivered by that
// long-poll, once: the safety-net poll is an hour away.
func TestLateArrivalWakesHold(t *testing.T) {
	ctx := context.Background()
	swarm := startTrio(t)
	spy := newHoldSpy()
	o := Options{Directory: swarm, Transport: spy, SafetyNetInterval: time.Hour, HoldWait: 2 * time.Second}
	alice := openV2(t, newHome(t), o)
	bob := openV2(t, newHome(t), o)
	if err := bob.PublishKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Send(ctx, bob.Account(), "on time"); err != nil {
		t.Fatal(err)
	}
	known := func() bool {
		for _, n := range swarm.nodes {
			if bob.arrivalMark(NamespaceInbox, n).asked == rpc.ArrivalMarkOnly {
				return false
			}
		}
		return true
	}
	for try := 0; !known(); try++ {
		if try == 30 {
			t.Fatal("bob holds no arrival mark of some member after 30 polls")
		}
		if _, err := bob.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cur, err := bob.db.Cursor(cursorName(NamespaceInbox))
	if err != nil {
		t.Fatal(err)
	}
	f := follow(t, bob)
	// Bob's loop polls once as it starts, then holds both namespaces.
	waitFor(t, "the long-polls", func() bool { return spy.inflight.Load() == 2 })

	if _, err := alice.Queue(bob.Account(), "late"); err != nil {
		t.Fatal(err)
	}
	items, err := alice.db.DueOutbox(alice.clock().Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	dated := cur.Time.Add(-2 * DefaultLookback)
	for _, it := range items {
		if it.Namespace == int(NamespaceInbox) {
			payload, err := alice.sealItem(ctx, it)
			if err != nil {
				t.Fatal(err)
			}
			// Every member gets it late, so whichever bob holds wakes.
			for _, n := range swarm.nodes {
				if _, err := alice.storeOnce(withDepositTime(ctx, dated), n, bob.Account(), NamespaceInbox, it.TTL, payload); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := alice.db.OutboxResult(it.ID, nil, alice.clock()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the late message through the long-poll", func() bool { return f.count("late") > 0 })
	// A few more held rounds (each member's mark moved past it) bring it
	// no second time.
	time.Sleep(3 * o.HoldWait)
	if n := f.count("late"); n != 1 {
		t.Errorf("the late message was delivered %d times, want 1", n)
	}
}
