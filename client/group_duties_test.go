package client

import (
	"context"
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/rpc"
)

// groupOfThree makes a group of alice (admin), bob and carol on a
// standalone node, with alice's options o, and waits until both members
// hold the key.
func groupOfThree(t *testing.T, o Options) (id identity.AccountID, alice, bob, carol *Client) {
	t.Helper()
	ctx := context.Background()
	nd := startStandalone(t)
	o.Standalone = nd
	alice = openV2(t, newHome(t), o)
	bob = openV2(t, newHome(t), Options{Standalone: nd})
	carol = openV2(t, newHome(t), Options{Standalone: nd})
	for _, c := range []*Client{alice, bob, carol} {
		if err := c.PublishKeys(ctx); err != nil {
			t.Fatal(err)
		}
	}
	g, err := alice.CreateGroup(ctx, "duties", []identity.AccountID{bob.Account(), carol.Account()})
	if err != nil {
		t.Fatal(err)
	}
	id = g.ID
	for _, c := range []*Client{bob, carol} {
		groupSync(t, c, "the invitation", func() bool {
			rs, _ := c.Requests()
			return len(rs) == 1 && rs[0].Group && rs[0].Peer == id
		})
		if err := c.AcceptGroup(ctx, id); err != nil {
			t.Fatal(err)
		}
		groupSync(t, c, "the key", func() bool {
			gi, _ := c.GroupInfo(id)
			return gi.KeyGeneration >= 1 && gi.Members == 3
		})
	}
	return id, alice, bob, carol
}

// groupObjects returns what namespace ns of group id holds, as admin c
// reads it from the start.
func groupObjects(t *testing.T, c *Client, id identity.AccountID, ns int32) []rpc.Message {
	t.Helper()
	gctx, err := groupCtx(context.Background(), mustGroup(t, c, id))
	if err != nil {
		t.Fatal(err)
	}
	members, err := c.dir.SwarmFor(gctx, id)
	if err != nil {
		t.Fatal(err)
	}
	f := c.fetchWith(gctx, members, id, ns, time.Time{}, func() *rpc.Retrieve { return &rpc.Retrieve{Namespace: ns} }, c.pollBudget(), nil)
	if f.err != nil {
		t.Fatal(f.err)
	}
	return f.msgs
}

// TestGroupRevocationRenewed (issue 21): a revocation list lives a short
// TTL here (12 s, GroupRevocationTTL); the admin, online, republishes
// the union before it lapses, so once the first list has expired the
// swarm still holds a list revoking the removed member (without it the
// nodes would take her credential again).
func TestGroupRevocationRenewed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const ttl = 12 * time.Second
	id, alice, _, carol := groupOfThree(t, Options{GroupRevocationTTL: ttl})
	if err := alice.RemoveFromGroup(ctx, id, carol.Account()); err != nil {
		t.Fatal(err)
	}
	groupSync(t, alice, "the removal's publication", func() bool {
		st := mustGroup(t, alice, id)
		return !st.Publish && !st.PublishRevoked && st.PendingGen == 0
	})
	first := groupObjects(t, alice, id, group.NamespaceRevocations)
	if len(first) != 1 {
		t.Fatalf("%d revocation lists after the removal, want 1", len(first))
	}
	lapse := time.UnixMilli(first[0].Expiration)
	if d := lapse.Sub(time.UnixMilli(first[0].Timestamp)); d > ttl+time.Second {
		t.Fatalf("the list lives %s, want the option's %s", d, ttl)
	}
	// The admin's client runs its duties until the first list has lapsed
	// and it has republished (on a loaded machine one run of the duties
	// may outlast the half-life it republishes at, so the loop waits for
	// the republication rather than ending at the lapse).
	first0 := mustGroup(t, alice, id).RevVersion
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(lapse.Add(time.Second)) || mustGroup(t, alice, id).RevVersion == first0; {
		if time.Now().After(deadline) {
			t.Fatalf("the admin did not republish the revocation list within two minutes: %s", groupDump(alice))
		}
		if _, err := alice.GroupDuties(ctx); err != nil {
			t.Logf("duties: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	carolKey := mustGroup(t, alice, id).MemberKeys
	var key identity.Ed25519PublicKey
	for _, mk := range carolKey {
		if mk.Account == carol.Account() {
			key = mk.Key
		}
	}
	now := time.Now().UnixMilli()
	covered := false
	for _, m := range groupObjects(t, alice, id, group.NamespaceRevocations) {
		if m.Hash == first[0].Hash {
			t.Fatal("the first list is served after its expiry")
		}
		data, _ := base64.StdEncoding.DecodeString(m.Data)
		r, err := group.ParseRevocations(data, group.ID(id))
		if err != nil {
			t.Fatal(err)
		}
		if m.Expiration > now && slices.Contains(r.Revoked, key) {
			covered = true
		}
	}
	if !covered {
		t.Fatal("no live revocation list names the removed member once the first lapsed")
	}
}

// TestGroupRotationPerEpoch (issue 21, docs/groups.md §6): with the
// epoch scaled down to 1.5 s (GroupRotation), an admin online rotates a
// stable group's key once per epoch, never more often, and a member gets
// each new key: a message sent after the rotations opens for him.
func TestGroupRotationPerEpoch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const epoch = 1500 * time.Millisecond
	id, alice, bob, _ := groupOfThree(t, Options{GroupRotation: epoch})
	var rotated []int64 // RotatedMS at each generation seen
	var gens []uint64
	for deadline := time.Now().Add(2 * time.Minute); len(gens) < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("generations seen in two minutes: %v", gens)
		}
		if _, err := alice.GroupDuties(ctx); err != nil {
			t.Logf("duties: %v", err)
		}
		st := mustGroup(t, alice, id)
		gi, _ := alice.GroupInfo(id)
		if len(gens) == 0 || gi.KeyGeneration != gens[len(gens)-1] {
			gens, rotated = append(gens, gi.KeyGeneration), append(rotated, st.RotatedMS)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// One run of the duties may rotate twice (before and after its poll,
	// when the poll outlasts an epoch on a loaded machine), so a step may
	// skip a generation: n rotations between two observations must be at
	// least n epochs apart.
	for i := 1; i < len(gens); i++ {
		n := gens[i] - gens[i-1]
		if n < 1 {
			t.Fatalf("generations %v: not moving forward", gens)
		}
		if d := time.Duration(rotated[i]-rotated[i-1]) * time.Millisecond; d < time.Duration(n)*epoch {
			t.Fatalf("generations %v: %d rotations in %s, more often than once per epoch (%s)", gens, n, d, epoch)
		}
	}
	last := gens[len(gens)-1]
	groupSync(t, bob, "bob gets the newest key", func() bool {
		gi, _ := bob.GroupInfo(id)
		return gi.KeyGeneration >= last
	})
	if _, err := alice.Send(ctx, id, "after the rotations"); err != nil {
		t.Fatal(err)
	}
	groupSync(t, bob, "the message under a rotated key", func() bool {
		_, ok := groupTexts(t, bob, id)["after the rotations"]
		return ok
	})
}
