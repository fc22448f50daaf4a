package client

import (
	"context"
	"fmt"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/misbehave"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/node/nodetest"
)

// startTrioLiar is startTrio with the first node's storage RPC behind
// liar.
func startTrioLiar(t *testing.T, liar *misbehave.Node) *trio {
	t.Helper()
	d := &trio{}
	for i := range 3 {
		cfg := nodetest.Standalone(t)
		cfg.NetworkID = "standalone-trio"
		var opts []node.Option
		if i == 0 {
			opts = append(opts, node.WithRPCWrapper(liar.Wrap))
		}
		n := nodetest.Start(t, cfg, opts...)
		sd, err := NewStandaloneDirectory(context.Background(), NewDirectTransport(), n.Addr().String(), n.Identity().Ed25519Public())
		if err != nil {
			t.Fatal(err)
		}
		d.network = sd.Network
		d.nodes = append(d.nodes, sd.Node)
	}
	return d
}

// TestGroupMisbehavingNode (issue 21): one node of a group's swarm (of
// three) lies in turn in every group-relevant way while the admin
// renames the group, removes a member (a rotation, a longer revocation
// list, a new member list) and members send: it serves the group's
// namespaces frozen from before the change (stale info, member list,
// revocation list and key chunk, and no new messages), swallows stores,
// withholds, garbles. The members still get every message exactly once,
// and no stale object ever rolls back what a member has seen: the name,
// the member list and the key generation only move forward.
func TestGroupMisbehavingNode(t *testing.T) {
	ctx := context.Background()
	liar := &misbehave.Node{}
	swarm := startTrioLiar(t, liar)
	o := Options{Directory: swarm, Transport: NewDirectTransport()}
	alice := openV2(t, newHome(t), o)
	bob := openV2(t, newHome(t), o)
	carol := openV2(t, newHome(t), o)
	for _, c := range []*Client{alice, bob, carol} {
		if err := c.PublishKeys(ctx); err != nil {
			t.Fatal(err)
		}
	}
	g, err := alice.CreateGroup(ctx, "before", []identity.AccountID{bob.Account(), carol.Account()})
	if err != nil {
		t.Fatal(err)
	}
	id := g.ID
	for _, c := range []*Client{bob, carol} {
		groupSync(t, c, "the invitation", func() bool {
			rs, _ := c.Requests()
			return len(rs) == 1 && rs[0].Group && rs[0].Peer == id
		})
		if err := c.AcceptGroup(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*Client{alice, bob, carol} {
		groupSync(t, c, "the group's key and members", func() bool {
			gi, _ := c.GroupInfo(id)
			return gi.KeyGeneration >= 1 && gi.Members == 3
		})
	}

	// The liar freezes the group as it is now: bob polls until it served
	// him once in that mode.
	liar.Set(misbehave.StaleGroup)
	for try := 0; liar.Requests.Load() == 0; try++ {
		if try == 30 {
			t.Fatal("the liar was never asked")
		}
		bob.GroupDuties(ctx)
	}

	// The change: rename, remove carol (rotation, revocation, members).
	if err := alice.RenameGroup(ctx, id, "after"); err != nil {
		t.Fatal(err)
	}
	if err := alice.RemoveFromGroup(ctx, id, carol.Account()); err != nil {
		t.Fatal(err)
	}
	groupSync(t, alice, "the removal's publication", func() bool {
		st := mustGroup(t, alice, id)
		return !st.Publish && !st.PublishRevoked && st.PendingGen == 0
	})
	after, err := alice.GroupInfo(id)
	if err != nil {
		t.Fatal(err)
	}
	if after.Name != "after" || after.Members != 2 || after.KeyGeneration < 2 {
		t.Fatalf("alice after the change: %+v", after)
	}

	// Bob must reach the new state and never leave it, whatever the liar
	// serves; every poll checks.
	reached := false
	check := func(what string) {
		t.Helper()
		gi, err := bob.GroupInfo(id)
		if err != nil {
			t.Fatal(err)
		}
		now := gi.Name == "after" && gi.Members == 2 && gi.KeyGeneration >= after.KeyGeneration
		if reached && !now {
			t.Fatalf("%s: bob's group rolled back to %+v (mode %v)", what, gi, liar.Mode())
		}
		reached = reached || now
	}
	poll := func(c *Client) {
		t.Helper()
		c.GroupDuties(ctx) // errors: a node that lied, the next member answers
		if c == bob {
			check("a poll")
		}
	}
	groupSync(t, bob, "bob sees the change", func() bool { check("sync"); return reached })

	modes := append([]misbehave.Mode{misbehave.StaleGroup}, append(misbehave.GroupModes()[1:], misbehave.Withhold, misbehave.Garbage, misbehave.Future)...)
	want := map[string]identity.AccountID{}
	for i, mode := range modes {
		liar.Set(mode)
		for _, c := range []*Client{alice, bob} {
			text := fmt.Sprintf("%v %d from %s", mode, i, c.Account().Short())
			// Send stores it with two confirmations or leaves it queued;
			// the outbox retries until it is stored.
			if _, err := c.Send(ctx, id, text); err != nil {
				t.Fatal(err)
			}
			groupSync(t, c, "the send", func() bool {
				ob, err := c.db.Outbox()
				return err == nil && len(ob) == 0
			})
			want[text] = c.Account()
			poll(bob)
			poll(alice)
		}
	}
	liar.Set(misbehave.StaleGroup) // the final reads meet a stale node too
	for _, c := range []*Client{alice, bob} {
		groupSync(t, c, "every message", func() bool {
			poll(c)
			got := groupTexts(t, c, id) // fails on a message stored twice
			for text, from := range want {
				if got[text] != from {
					return false
				}
			}
			return true
		})
	}
	for range 5 {
		poll(bob)
	}
	check("the end")
	if !reached {
		t.Fatal("bob never reached the new state")
	}
	// Carol reads nothing sent after her removal, stale node or not.
	for range 5 {
		carol.GroupDuties(ctx)
	}
	for text := range groupTexts(t, carol, id) {
		if _, ok := want[text]; ok {
			t.Fatalf("carol read %q, sent after her removal", text)
		}
	}
	// Nor does she hold the new key, and she learns her removal from the
	// group-signed list, whatever the stale liar serves her.
	if gi, _ := carol.GroupInfo(id); gi.KeyGeneration >= after.KeyGeneration {
		t.Fatalf("carol holds key generation %d after her removal", gi.KeyGeneration)
	}
	groupSync(t, carol, "carol learns her removal", func() bool {
		gi, _ := carol.GroupInfo(id)
		return gi.State == GroupRemoved
	})
	t.Logf("the liar answered %d requests in its modes", liar.Requests.Load())
}

// TestGroupFalseRevocation: one node of a group's swarm (of three)
// answers every member request with "revoked" although no list names
// the member. A member served by it does not take itself for removed
// (only a list the group key signed, naming its key, says so), keeps
// sending and receiving through the honest members, and its poll never
// stops; a member the admin really removes learns it, liar or not.
func TestGroupFalseRevocation(t *testing.T) {
	ctx := context.Background()
	liar := &misbehave.Node{}
	swarm := startTrioLiar(t, liar)
	o := Options{Directory: swarm, Transport: NewDirectTransport()}
	alice := openV2(t, newHome(t), o)
	bob := openV2(t, newHome(t), o)
	carol := openV2(t, newHome(t), o)
	id := groupOf(t, alice, bob, carol)

	liar.Set(misbehave.RevokedGroup)
	joined := func(what string) {
		t.Helper()
		if gi, err := bob.GroupInfo(id); err != nil || gi.State != GroupJoined {
			t.Fatalf("%s: bob's group is %+v (%v) after a node's false revocation", what, gi, err)
		}
	}
	// Bob meets the liar: every poll asks two of the three members.
	for try := 0; liar.Requests.Load() == 0; try++ {
		if try == 30 {
			t.Fatal("the liar was never asked")
		}
		bob.GroupDuties(ctx)
		joined("a poll")
	}
	want := map[string]identity.AccountID{}
	for i := range 3 {
		for _, c := range []*Client{alice, bob} {
			text := fmt.Sprintf("%d from %s", i, c.Account().Short())
			if _, err := c.Send(ctx, id, text); err != nil {
				t.Fatal(err)
			}
			groupSync(t, c, "the send", func() bool {
				ob, err := c.db.Outbox()
				return err == nil && len(ob) == 0
			})
			want[text] = c.Account()
			bob.GroupDuties(ctx)
			joined("a poll after a send")
		}
	}
	groupSync(t, bob, "every message", func() bool {
		joined("a sync")
		got := groupTexts(t, bob, id)
		for text, from := range want {
			if got[text] != from {
				return false
			}
		}
		return true
	})

	// A real removal, while the liar still lies: carol learns it from
	// the group-signed list; bob stays.
	if err := alice.RemoveFromGroup(ctx, id, carol.Account()); err != nil {
		t.Fatal(err)
	}
	groupSync(t, alice, "the removal's publication", func() bool {
		st := mustGroup(t, alice, id)
		return !st.Publish && !st.PublishRevoked && st.PendingGen == 0
	})
	groupSync(t, carol, "carol learns her removal", func() bool {
		gi, _ := carol.GroupInfo(id)
		return gi.State == GroupRemoved
	})
	if _, err := alice.Send(ctx, id, "after carol"); err != nil {
		t.Fatal(err)
	}
	groupSync(t, bob, "the message after the removal", func() bool {
		joined("a sync after the removal")
		_, ok := groupTexts(t, bob, id)["after carol"]
		return ok
	})
	joined("the end")
	t.Logf("the liar refused %d requests", liar.Requests.Load())
}
