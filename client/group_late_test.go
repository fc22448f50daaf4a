package client

import (
	"context"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/rpc"
)

// TestGroupLateArrivalBehindCursor is TestLateArrivalBehindCursor for a
// group swarm (issue 21): a group message reaches one member of the
// group's swarm only after the receiver's group cursor has moved past its
// deposit time by more than the lookback. The receiver must still get
// it, exactly once, within the polls that ask that member. Without
// arrival marks on group polls it never did.
func TestGroupLateArrivalBehindCursor(t *testing.T) {
	ctx := context.Background()
	swarm := startTrio(t)
	spy := &retrieveSpy{Transport: NewDirectTransport(), asked: map[identity.Ed25519PublicKey]int{}}
	o := Options{Directory: swarm, Transport: spy}
	alice := openV2(t, newHome(t), o)
	bob := openV2(t, newHome(t), o)
	for _, c := range []*Client{alice, bob} {
		if err := c.PublishKeys(ctx); err != nil {
			t.Fatal(err)
		}
	}
	g, err := alice.CreateGroup(ctx, "late", []identity.AccountID{bob.Account()})
	if err != nil {
		t.Fatal(err)
	}
	id := g.ID
	spy.mu.Lock()
	spy.reader = id
	spy.mu.Unlock()
	groupSync(t, bob, "the invitation", func() bool {
		rs, _ := bob.Requests()
		return len(rs) == 1 && rs[0].Group && rs[0].Peer == id
	})
	if err := bob.AcceptGroup(ctx, id); err != nil {
		t.Fatal(err)
	}
	groupSync(t, bob, "the group's key", func() bool {
		gi, _ := bob.GroupInfo(id)
		return gi.KeyGeneration >= 1
	})
	if _, err := alice.Send(ctx, id, "on time"); err != nil {
		t.Fatal(err)
	}
	// Bob reads every member several times (a poll asks two of three at
	// random; one never asked in 15 polls has a chance of (1/3)^15), so
	// he holds each member's arrival mark, and his cursor moves past "on
	// time".
	late := swarm.nodes[2]
	for try := 0; try < 15 || groupTexts(t, bob, id)["on time"].IsZero(); try++ {
		if try == 60 {
			t.Fatal("bob has not got \"on time\" after 60 polls")
		}
		if _, err := bob.GroupDuties(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cur, err := bob.db.Cursor(groupCursorName(id, group.NamespaceMessages))
	if err != nil {
		t.Fatal(err)
	}

	// The late message: sealed as alice's outbox would send it, deposited
	// on one member only, dated well before bob's cursor minus his
	// lookback, as a forward that arrives that late is.
	if _, err := alice.Queue(id, "late"); err != nil {
		t.Fatal(err)
	}
	items, err := alice.db.DueOutbox(alice.clock().Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	dated := cur.Time.Add(-2 * DefaultLookback)
	gctx, err := alice.groupItemCtx(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.To != id {
			continue
		}
		payload, err := alice.sealItem(ctx, it)
		if err != nil {
			t.Fatal(err)
		}
		payload = alice.withWriter(gctx, it, payload)
		if _, err := alice.storeOnce(withDepositTime(gctx, dated), late, id, group.NamespaceMessages, it.TTL, payload); err != nil {
			t.Fatal(err)
		}
		if _, err := alice.db.OutboxResult(it.ID, nil, alice.clock()); err != nil {
			t.Fatal(err)
		}
	}

	got := map[string]int{}
	asked := spy.count(late)
	for try := 0; try < 30 && got["late"] == 0; try++ {
		ms, err := bob.GroupDuties(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			got[m.Text]++
		}
	}
	if got["late"] == 0 {
		t.Fatalf("the late group message never arrived (the member holding it answered %d retrieves)", spy.count(late)-asked)
	}
	for range 10 {
		ms, err := bob.GroupDuties(ctx)
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
	if _, ok := groupTexts(t, bob, id)["late"]; !ok { // groupTexts fails on a duplicate
		t.Error("bob's history lacks the late message")
	}
}

// TestGroupLateArrivalWakesHold is TestLateArrivalWakesHold for a group
// swarm: in fast mode, a group message dated behind the receiver's group
// cursor by more than the lookback lands on the member its group
// long-poll holds; the long-poll's arrival marks deliver it, once,
// though the safety-net poll is an hour away.
func TestGroupLateArrivalWakesHold(t *testing.T) {
	ctx := context.Background()
	swarm := startTrio(t)
	spy := newHoldSpy()
	o := Options{Directory: swarm, Transport: spy, SafetyNetInterval: time.Hour, HoldWait: 2 * time.Second}
	alice := openV2(t, newHome(t), o)
	bob := openV2(t, newHome(t), o)
	id := groupOf(t, alice, bob)
	if _, err := alice.Send(ctx, id, "on time"); err != nil {
		t.Fatal(err)
	}
	ns := group.NamespaceMessages
	known := func() bool {
		for _, n := range swarm.nodes {
			if bob.groupArrivalMark(id, ns, n).asked == rpc.ArrivalMarkOnly {
				return false
			}
		}
		return !groupTexts(t, bob, id)["on time"].IsZero()
	}
	for try := 0; !known(); try++ {
		if try == 60 {
			t.Fatal("bob holds no group arrival mark of some member after 60 polls")
		}
		if _, err := bob.GroupDuties(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cur, err := bob.db.Cursor(groupCursorName(id, ns))
	if err != nil {
		t.Fatal(err)
	}
	f := follow(t, bob)
	// Bob's loop polls once as it starts, then holds his two namespaces
	// and the group's.
	waitFor(t, "the long-polls", func() bool { return spy.inflight.Load() == 3 })

	if _, err := alice.Queue(id, "late"); err != nil {
		t.Fatal(err)
	}
	items, err := alice.db.DueOutbox(alice.clock().Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	gctx, err := alice.groupItemCtx(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	dated := cur.Time.Add(-2 * DefaultLookback)
	for _, it := range items {
		if it.To != id {
			continue
		}
		payload, err := alice.sealItem(ctx, it)
		if err != nil {
			t.Fatal(err)
		}
		payload = alice.withWriter(gctx, it, payload)
		// Every member gets it late, so whichever bob holds wakes.
		for _, n := range swarm.nodes {
			if _, err := alice.storeOnce(withDepositTime(gctx, dated), n, id, ns, it.TTL, payload); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := alice.db.OutboxResult(it.ID, nil, alice.clock()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the late group message through the long-poll", func() bool { return f.count("late") > 0 })
	// A few more held rounds (the member's mark moved past it) bring it
	// no second time.
	time.Sleep(3 * o.HoldWait)
	if n := f.count("late"); n != 1 {
		t.Errorf("the late group message was delivered %d times, want 1", n)
	}
}
