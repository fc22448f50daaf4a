package client

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/group"
)

// TestGroupLeaveOffline: a member that leaves while its device cannot
// reach the group's swarm forgets the group's keys and credential at
// once, except the member key that signs the leave notice's store, kept
// for the outbox alone until the notice is sent. Back online, the notice
// goes out, the admin removes the member and rotates the key, and the
// device forgets that key too.
func TestGroupLeaveOffline(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	net := &switchable{Transport: NewDirectTransport()} // client_test.go: down while set
	alice := openV2(t, newHome(t), Options{Standalone: nd})
	bob := openV2(t, newHome(t), Options{Standalone: nd, Transport: net,
		OutboxBackoff: Backoff{Base: time.Millisecond, Max: time.Millisecond}})
	id := groupOf(t, alice, bob)
	state := func(c *Client) string {
		g, err := c.loadGroup(id)
		if err != nil {
			return err.Error()
		}
		ob, _ := c.db.Outbox()
		ks, _ := c.db.GroupKeys(id)
		return fmt.Sprintf("status %s, members %v, leave key kept %v, %d keys, %d outbox items", g.Status, g.Entries, len(g.LeaveSeed) > 0, len(ks), len(ob))
	}

	net.down.Store(true)
	if err := bob.LeaveGroup(ctx, id); err != nil {
		t.Fatal(err)
	}
	g := mustGroup(t, bob, id)
	if g.Status != GroupLeft || g.MemberSeed != nil || g.Credential != nil || g.AdminSeed != nil {
		t.Fatalf("bob after leaving offline: %s", state(bob))
	}
	if ks, _ := bob.db.GroupKeys(id); len(ks) != 0 {
		t.Fatalf("bob keeps %d group keys after leaving", len(ks))
	}
	if len(g.LeaveSeed) == 0 {
		t.Fatalf("bob forgot the key that signs his leave notice before it was sent: %s", state(bob))
	}

	net.down.Store(false)
	groupSync(t, bob, "bob's leave notice sent and its key forgotten", func() bool {
		ob, _ := bob.db.Outbox()
		return len(ob) == 0 && len(mustGroup(t, bob, id).LeaveSeed) == 0
	}, func() string { return state(bob) })
	groupSync(t, alice, "alice learns bob left and rotates", func() bool {
		gi, _ := alice.GroupInfo(id)
		return gi.Members == 1 && gi.KeyGeneration >= 2
	}, func() string { return state(alice) })
	if gi, _ := bob.GroupInfo(id); gi.State != GroupLeft || gi.KeyGeneration != 0 {
		t.Fatalf("bob at the end: %+v", gi)
	}
}

// TestGroupLeaveDuringPoll: a member that leaves while a poll of the
// group waits on the network keeps none of the keys that poll brings
// back (it fetched a key message of a rotation): leaving forgets the
// group's keys for good.
func TestGroupLeaveDuringPoll(t *testing.T) {
	id, alice, bob, carol, hk := groupOfThreeHooked(t)
	ctx := context.Background()
	if err := alice.RemoveFromGroup(ctx, id, carol.Account()); err != nil {
		t.Fatal(err)
	}
	groupSync(t, alice, "the removal's publication", func() bool {
		st := mustGroup(t, alice, id)
		return !st.Publish && !st.PublishRevoked && st.PendingGen == 0
	})
	hk.arm(func() { // bob leaves while his poll fetches the rotation
		if err := bob.LeaveGroup(ctx, id); err != nil {
			t.Error(err)
		}
	})
	if _, err := bob.GroupDuties(ctx); err != nil {
		t.Logf("duties: %v", err)
	}
	if gi, _ := bob.GroupInfo(id); gi.State != GroupLeft {
		t.Fatalf("bob did not leave: %s", groupDump(bob))
	}
	if ks, _ := bob.db.GroupKeys(id); len(ks) != 0 {
		t.Fatalf("bob keeps %d group keys after leaving: %s", len(ks), groupDump(bob))
	}
}

// groupOfThreeHooked is groupOfThree on a standalone node with bob's
// requests through a hookOnce.
func groupOfThreeHooked(t *testing.T) (id identity.AccountID, alice, bob, carol *Client, hk *hookOnce) {
	t.Helper()
	nd := startStandalone(t)
	hk = &hookOnce{Transport: NewDirectTransport()}
	alice = openV2(t, newHome(t), Options{Standalone: nd})
	bob = openV2(t, newHome(t), Options{Standalone: nd, Transport: hk})
	carol = openV2(t, newHome(t), Options{Standalone: nd})
	return groupOf(t, alice, bob, carol), alice, bob, carol, hk
}

// TestGroupDeleteAfterConcurrentInfo: an info config newer than the one
// the admin held when it began deleting the group (another admin's
// rename, merged by a poll while the delete waited on the network) does
// not hide the deletion: the deleted info outranks it, so a member that
// took the rename learns the group is deleted.
func TestGroupDeleteAfterConcurrentInfo(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	hk := &hookOnce{Transport: NewDirectTransport()}
	alice := openV2(t, newHome(t), Options{Standalone: nd, Transport: hk})
	bob := openV2(t, newHome(t), Options{Standalone: nd})
	id := groupOf(t, alice, bob)
	hk.arm(func() { // while alice's delete is on its way to the swarm
		ga := mustGroup(t, alice, id)
		k, _ := alice.currentKey(group.ID(id))
		payload, err := (&group.Info{Name: "renamed"}).Marshal()
		if err != nil {
			t.Error(err)
			return
		}
		cfg, err := group.SealConfig(ga.admin(), group.KindInfo, ga.Info.Version+3, time.Now(), k, payload)
		if err != nil {
			t.Error(err)
			return
		}
		actx, _ := groupCtx(ctx, ga)
		if _, err := alice.store(actx, id, group.NamespaceInfo, time.Hour, cfg); err != nil {
			t.Error(err)
		}
		if err := alice.updateGroup(id, func(g *groupState) error { return alice.takeInfo(g, cfg) }); err != nil {
			t.Error(err)
		}
		groupSync(t, bob, "bob takes the rename", func() bool { gi, _ := bob.GroupInfo(id); return gi.Name == "renamed" })
	})
	if err := alice.DeleteGroup(ctx, id); err != nil {
		t.Fatal(err)
	}
	groupSync(t, bob, "bob learns the group was deleted", func() bool {
		gi, _ := bob.GroupInfo(id)
		return gi.State == GroupDeleted
	})
}
