package client

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/push"
)

// groupRecords returns the push records in group id's namespace 4 as c
// reads them (with its member credential or the group key): those of
// every member of the swarm, once each, parsed.
func groupRecords(t *testing.T, c *Client, id identity.AccountID) []*push.Record {
	t.Helper()
	ctx, err := groupCtx(context.Background(), mustGroup(t, c, id))
	if err != nil {
		t.Fatal(err)
	}
	members, err := c.dir.SwarmFor(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []*push.Record
	for _, n := range members {
		msgs, err := c.retrieve(ctx, n, push.Namespace, time.Time{}, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if seen[m.Hash] {
				continue
			}
			seen[m.Hash] = true
			data, _ := base64.StdEncoding.DecodeString(m.Data)
			r, err := push.ParseRecord(data, id, time.Now())
			if err != nil {
				t.Fatalf("a record in the group's namespace 4 does not parse: %v", err)
			}
			out = append(out, r)
		}
	}
	return out
}

// keyRecords counts the records in group id's namespace 4 signed by k,
// as reader reads them.
func keyRecords(t *testing.T, reader *Client, id identity.AccountID, k identity.Ed25519PublicKey) int {
	t.Helper()
	n := 0
	for _, r := range groupRecords(t, reader, id) {
		if r.Ed25519.Equal(k) {
			n++
		}
	}
	return n
}

// waitKeyRecords waits until reader counts want records of k in group
// id's namespace 4: a delete reaches each swarm member by the client or
// by replication, in no set time.
func waitKeyRecords(t *testing.T, reader *Client, id identity.AccountID, k identity.Ed25519PublicKey, want int, what string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; {
		n := keyRecords(t, reader, id, k)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d records of the key in the group swarm, want %d", what, n, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ageGroupSubs moves c's group subscriptions' dates back by d.
func ageGroupSubs(t *testing.T, c *Client, d time.Duration) {
	t.Helper()
	st, err := c.loadGroupPush()
	if err != nil || len(st.Subs) == 0 {
		t.Fatalf("no group subscriptions: %v", err)
	}
	for _, s := range st.Subs {
		s.Created -= d.Milliseconds()
		s.Expiry -= d.Milliseconds()
	}
	if err := c.saveGroupPush(st); err != nil {
		t.Fatal(err)
	}
}

// TestGroupPush (docs/groups.md §12): in push mode a member gets a
// subscription of its own for each joined group (never the account's
// secrets), with a record in the group swarm signed by its member key;
// a push sealed with it opens naming the group; the duties renew it;
// a member deletes the record it superseded; promoted, it stores it
// again under the group key and deletes the old one; leaving a group, a
// removal and leaving push mode cancel the groups' subscriptions at the
// push server, and a member leaving push mode or the group deletes its
// records (docs/groups.md §12).
func TestGroupPush(t *testing.T) {
	_, nf, p := pushNetwork(t)
	ctx := context.Background()
	o := Options{Network: nf}
	alice, bob, carol, dave := openV2(t, newHome(t), o), openV2(t, newHome(t), o), openV2(t, newHome(t), o), openV2(t, newHome(t), o)
	id := groupOf(t, alice, bob, carol, dave)

	if err := bob.SubscribePush(ctx, PushTarget{FCM: "bob-token"}); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpRegister) // the account's
	expectOp(t, p, push.OpRegister) // the group's
	st, err := bob.Notifications()
	if err != nil || st.Push == nil || len(st.Push.Groups) != 1 {
		t.Fatalf("status %+v, %v", st.Push, err)
	}
	gs := st.Push.Groups[0]
	if gs.Group != id || gs.SubID == st.Push.SubID || gs.State != "active" || gs.Problem != "" {
		t.Fatalf("bob's group subscription %+v (the account's sub_id %s)", gs, st.Push.SubID)
	}
	member := mustGroup(t, bob, id).memberSigner().Ed25519Public()
	recs := groupRecords(t, bob, id)
	if len(recs) != 1 || !recs[0].Ed25519.Equal(member) || len(recs[0].Namespaces) != 1 || recs[0].Namespaces[0] != group.NamespaceMessages {
		t.Fatalf("group records %+v", recs)
	}
	rec := recs[0]
	own := ownRecords(t, bob)
	if len(own) != 1 || own[0].SubID == rec.SubID || own[0].EncKey == rec.EncKey || own[0].NotifySecret == rec.NotifySecret {
		t.Fatal("the group's subscription reuses the account's secrets")
	}

	// A node's push for a group message opens naming the group; the
	// account's still opens as the account's.
	hash := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	payload, err := push.SealPayload(rec.EncKey, push.Inner{Namespace: group.NamespaceMessages, Hash: hash, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if in, err := bob.OpenPush(payload); err != nil || in.Group != id || in.Namespace != group.NamespaceMessages || in.Hash != hash {
		t.Fatalf("OpenPush of the group's push: %+v, %v", in, err)
	}
	payload, _ = push.SealPayload(own[0].EncKey, push.Inner{Namespace: NamespaceInbox, Hash: hash, Count: 1})
	if in, err := bob.OpenPush(payload); err != nil || !in.Group.IsZero() || in.Hash != hash {
		t.Fatalf("OpenPush of the account's push: %+v, %v", in, err)
	}

	// Two thirds of its life later the duties renew it, with a record of
	// the new expiry; bob, a member, deletes the one it supersedes.
	ageGroupSubs(t, bob, 10*24*time.Hour)
	if err := bob.pushDuties(ctx); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpRenew)
	waitKeyRecords(t, bob, id, member, 1, "bob's renewal")
	if recs := groupRecords(t, bob, id); len(recs) != 1 || recs[0].SubID != rec.SubID || time.Until(recs[0].Expiry) < 13*24*time.Hour {
		t.Fatalf("after the renewal the group swarm holds %d records, want the renewed one only", len(recs))
	}

	// Promoted, bob signs as the group: the record is stored again under
	// the group key, and as an admin he deletes the member key's.
	if err := alice.PromoteInGroup(ctx, id, bob.Account()); err != nil {
		t.Fatal(err)
	}
	groupSync(t, bob, "bob's promotion and his record under the group key", func() bool {
		if !mustGroup(t, bob, id).isAdmin() {
			return false
		}
		recs := groupRecords(t, bob, id)
		return len(recs) == 1 && recs[0].Ed25519.Equal(group.ID(id).Key())
	})

	// Carol, a member, toggles push mode: leaving it deletes her group
	// record, so toggling more often than records expire never fills
	// her key's quota (push.MaxRecordsPerGroupKey).
	carolKey := mustGroup(t, carol, id).memberSigner().Ed25519Public()
	for i := range push.MaxRecordsPerGroupKey + 1 {
		if err := carol.SubscribePush(ctx, PushTarget{FCM: "carol-token"}); err != nil {
			t.Fatal(err)
		}
		expectOp(t, p, push.OpRegister)
		expectOp(t, p, push.OpRegister)
		waitKeyRecords(t, alice, id, carolKey, 1, fmt.Sprintf("carol's subscription %d", i+1))
		if i == push.MaxRecordsPerGroupKey {
			break // subscribed, for the leave below
		}
		if err := carol.SwitchNotifications(ctx, NotifyFast); err != nil {
			t.Fatal(err)
		}
		expectOp(t, p, push.OpUnsubscribe)
		expectOp(t, p, push.OpUnsubscribe)
		waitKeyRecords(t, alice, id, carolKey, 0, "carol left push mode")
	}

	// Carol leaves: her group subscription goes at once, and her record
	// with it.
	if err := carol.LeaveGroup(ctx, id); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpUnsubscribe)
	waitKeyRecords(t, alice, id, carolKey, 0, "carol left the group")
	if st, _ := carol.Notifications(); st.Push == nil || len(st.Push.Groups) != 0 || st.Push.State != "active" {
		t.Fatalf("carol after leaving: %+v", st.Push)
	}

	// Dave subscribes and is removed: his group subscription goes when
	// he learns it (the duties that read the group-signed list).
	if err := dave.SubscribePush(ctx, PushTarget{FCM: "dave-token"}); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpRegister)
	expectOp(t, p, push.OpRegister)
	if err := alice.RemoveFromGroup(ctx, id, dave.Account()); err != nil {
		t.Fatal(err)
	}
	groupSync(t, alice, "the removal's publication", func() bool {
		st := mustGroup(t, alice, id)
		return !st.Publish && !st.PublishRevoked && st.PendingGen == 0
	})
	groupSync(t, dave, "dave learns his removal", func() bool {
		gi, _ := dave.GroupInfo(id)
		return gi.State == GroupRemoved
	})
	// The duties of the sync that learnt it cancel at the push server;
	// one whose unsubscribe timed out on a loaded machine is finished by
	// the next duties.
	expectOpWhile(t, p, push.OpUnsubscribe, func() { dave.pushDuties(ctx) }, func() string { st, _ := dave.Notifications(); return fmt.Sprintf("%+v", st.Push) })
	if st, _ := dave.Notifications(); st.Push == nil || len(st.Push.Groups) != 0 {
		t.Fatalf("dave after his removal: %+v", st.Push)
	}

	// A group joined while the push server is down: its subscription
	// shows as failed, and is made once the server answers again (the
	// duties wait groupPushRetry; an explicit run does not).
	g2, err := alice.CreateGroup(ctx, "second", []identity.AccountID{bob.Account()})
	if err != nil {
		t.Fatal(err)
	}
	groupSync(t, bob, "the second invitation", func() bool { _, err := bob.GroupInfo(g2.ID); return err == nil })
	p.set(func() { p.down = true })
	if err := bob.AcceptGroup(ctx, g2.ID); err != nil {
		t.Fatal(err)
	}
	second := func() GroupPushStatus {
		st, _ := bob.Notifications()
		for _, g := range st.Push.Groups {
			if g.Group == g2.ID {
				return g
			}
		}
		return GroupPushStatus{}
	}
	if gs := second(); gs.State != "failed" || gs.Problem == "" {
		t.Fatalf("the second group's subscription with the push server down: %+v", gs)
	}
	p.set(func() { p.down = false })
	if err := bob.pushDuties(ctx); err != nil {
		t.Fatal(err)
	}
	if gs := second(); gs.State != "failed" {
		t.Fatalf("retried before its pause: %+v", gs)
	}
	if err := bob.groupPushDuties(ctx, groupPushAll, true); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpRegister)
	if gs := second(); gs.State != "active" || gs.Problem != "" {
		t.Fatalf("the second group's subscription once the server is back: %+v", gs)
	}

	// Leaving push mode cancels the account's and the groups'; bob, an
	// admin now, deletes the group record too.
	if err := bob.SwitchNotifications(ctx, NotifyFast); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpUnsubscribe)
	expectOp(t, p, push.OpUnsubscribe)
	expectOp(t, p, push.OpUnsubscribe)
	if st, _ := bob.Notifications(); st.Push != nil {
		t.Fatalf("bob after leaving push mode: %+v", st.Push)
	}
	if gst, _ := bob.loadGroupPush(); len(gst.Subs) != 0 {
		t.Fatalf("bob keeps %d group subscriptions", len(gst.Subs))
	}
	for _, r := range groupRecords(t, bob, id) {
		if r.Ed25519.Equal(group.ID(id).Key()) || r.Ed25519.Equal(member) || r.Ed25519.Equal(carolKey) {
			t.Fatal("a cancelled record is left in the group swarm")
		}
	}
	if n := p.count(); n != 2 { // carol's and dave's account subscriptions
		t.Fatalf("the push server keeps %d subscriptions, want 2", n)
	}
}

// expectOpWhile is expectOp that runs again, every half second, until
// the push server gets the op: the duties that retry what failed. It
// prints show's state when it gives up after two minutes.
func expectOpWhile(t *testing.T, p *standInPush, want string, again func(), show func() string) {
	t.Helper()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case op := <-p.Ops:
			if op != want {
				t.Fatalf("push server got %s, want %s", op, want)
			}
			return
		case <-tick.C:
			if time.Now().After(deadline) {
				t.Fatalf("push server got no %s within two minutes: %s", want, show())
			}
			again()
		}
	}
}
