package client

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/group"
)

// testInvite makes an invitation to group a's for a member, as an admin
// would.
func testInvite(t testing.TB, a *group.Admin, name string, admin bool) []byte {
	t.Helper()
	seed := make([]byte, group.SeedSize)
	rand.Read(seed)
	mk, _ := group.NewAdmin(seed)
	inv := &group.Invite{Group: a.Group(), Name: name,
		Credential: a.Issue(group.Token{Perms: group.PermRead | group.PermWrite, Member: mk.Ed25519Public()})}
	copy(inv.MemberSeed[:], seed)
	if admin {
		inv.GroupSeed = a.Seed()
	}
	b, err := inv.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTestAdmin(t testing.TB) *group.Admin {
	seed := make([]byte, group.SeedSize)
	rand.Read(seed)
	a, err := group.NewAdmin(seed)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestGroupLocal: the group API without a network: limits, names, roles,
// and an invitation as a request that a member accepts and cannot use
// for admin actions.
func TestGroupLocal(t *testing.T) {
	ctx := context.Background()
	alice := open(t, newHome(t), Options{})
	bob := open(t, newHome(t), Options{})

	t.Run("limits", func(t *testing.T) {
		var many []identity.AccountID
		for range MaxGroupMembers {
			many = append(many, newAccountID(t))
		}
		if _, err := alice.CreateGroup(ctx, "too many", many); !errors.Is(err, ErrGroupFull) {
			t.Fatalf("101 members: %v, want ErrGroupFull", err)
		}
		for _, name := range []string{"", "   ", string(make([]byte, 101)), "0511223344556677889900aabbccddeeff"} {
			if _, err := alice.CreateGroup(ctx, name, nil); !errors.Is(err, ErrBadGroupName) {
				t.Fatalf("name %q: %v, want ErrBadGroupName", name, err)
			}
		}
		g, err := alice.CreateGroup(ctx, "full", many[:MaxGroupMembers-1])
		if err != nil || g.Members != MaxGroupMembers || !g.Admin || g.State != GroupJoined {
			t.Fatalf("create with 99 others: %+v, %v", g, err)
		}
		if err := alice.InviteToGroup(ctx, g.ID, newAccountID(t)); !errors.Is(err, ErrGroupFull) {
			t.Fatalf("invite the 101st: %v, want ErrGroupFull", err)
		}
	})

	t.Run("create", func(t *testing.T) {
		g, err := alice.CreateGroup(ctx, "friends", []identity.AccountID{bob.Account()})
		if err != nil {
			t.Fatal(err)
		}
		if !IsGroupID(g.ID) || g.Name != "friends" || g.Members != 2 || g.KeyGeneration != 1 {
			t.Fatalf("group: %+v", g)
		}
		ms, err := alice.GroupMembers(g.ID)
		if err != nil || len(ms) != 2 || ms[0].Account != alice.Account() || ms[0].Role != "admin" || ms[1].State != GroupInvited {
			t.Fatalf("members: %+v, %v", ms, err)
		}
		if id, err := alice.Resolve("friends"); err != nil || id != g.ID {
			t.Fatalf("resolve by name: %v, %v", id, err)
		}
		if id, err := alice.Resolve(g.ID.String()); err != nil || id != g.ID {
			t.Fatalf("resolve by ID: %v, %v", id, err)
		}
		convs, err := alice.Conversations()
		if err != nil || len(convs) == 0 || !convs[0].Group {
			t.Fatalf("chats: %+v, %v", convs, err)
		}
		if err := alice.RemoveFromGroup(ctx, g.ID, alice.Account()); !errors.Is(err, ErrGroupAdminFixed) {
			t.Fatalf("remove an admin: %v", err)
		}
		// Without a network the message waits in the outbox, sealed.
		m, err := alice.Send(ctx, g.ID, "hello group")
		if err != nil || m.Status != "queued" || m.Peer != g.ID {
			t.Fatalf("send: %+v, %v", m, err)
		}
	})

	t.Run("invitation", func(t *testing.T) {
		a := newTestAdmin(t)
		inv := testInvite(t, a, "their group", false)
		gid := a.Group()
		u := &envelope.GroupUpdate{Kind: envelope.GroupUpdate_KIND_INVITE, GroupId: gid[:], Invite: inv}
		if err := bob.applyGroupUpdate(NamespaceInbox, alice.Account(), u); err != nil {
			t.Fatal(err)
		}
		rs, err := bob.Requests()
		if err != nil || len(rs) != 1 || !rs[0].Group || rs[0].DisplayName != "their group" || rs[0].InvitedBy != alice.Account() {
			t.Fatalf("requests: %+v, %v", rs, err)
		}
		id := a.Group().Account()
		if _, err := bob.Send(ctx, id, "not yet"); !errors.Is(err, ErrNotGroupMember) {
			t.Fatalf("send before accepting: %v", err)
		}
		if err := bob.Accept(id); err != nil {
			t.Fatal(err)
		}
		if rs, _ := bob.Requests(); len(rs) != 0 {
			t.Fatalf("requests after accepting: %+v", rs)
		}
		for name, err := range map[string]error{
			"rename":  bob.RenameGroup(ctx, id, "mine"),
			"invite":  bob.InviteToGroup(ctx, id, newAccountID(t)),
			"remove":  bob.RemoveFromGroup(ctx, id, alice.Account()),
			"promote": bob.PromoteInGroup(ctx, id, bob.Account()),
			"delete":  bob.DeleteGroup(ctx, id),
		} {
			if !errors.Is(err, ErrNotGroupAdmin) {
				t.Errorf("a member's %s: %v, want ErrNotGroupAdmin", name, err)
			}
		}
		// A forged invitation (a credential of another group) is dropped.
		other := newTestAdmin(t)
		bad := &envelope.GroupUpdate{Kind: envelope.GroupUpdate_KIND_INVITE, GroupId: id[:], Invite: testInvite(t, other, "x", false)}
		if err := bob.applyGroupUpdate(NamespaceInbox, alice.Account(), bad); !errors.Is(err, ErrDropped) {
			t.Fatalf("an invitation for another group: %v", err)
		}
		// An own-device sync signed by someone else is dropped.
		sync := &envelope.GroupUpdate{Kind: envelope.GroupUpdate_KIND_SYNC, GroupId: id[:], Left: true}
		if err := bob.applyGroupUpdate(NamespaceSync, alice.Account(), sync); !errors.Is(err, ErrDropped) {
			t.Fatalf("a sync from another account: %v", err)
		}
		if err := bob.LeaveGroup(ctx, id); err != nil {
			t.Fatal(err)
		}
		if g, err := bob.GroupInfo(id); err != nil || g.State != GroupLeft {
			t.Fatalf("after leaving: %+v, %v", g, err)
		}
	})
}

// TestGroupKeyPrune: group keys go at their deadline.
func TestGroupKeyPrune(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	alice := open(t, newHome(t), Options{Clock: clock})
	g, err := alice.CreateGroup(context.Background(), "g", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ks, _ := alice.groupKeys(g.ID); len(ks) != 1 {
		t.Fatalf("%d keys", len(ks))
	}
	now = now.Add(groupRotation + groupKeyKeep + time.Second)
	if _, err := alice.db.PruneGroupKeys(now); err != nil {
		t.Fatal(err)
	}
	if ks, _ := alice.db.GroupKeys(g.ID); len(ks) != 0 {
		t.Fatalf("%d keys after their deadline", len(ks))
	}
}
