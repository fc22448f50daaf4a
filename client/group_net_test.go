package client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/rpc"
)

// groupSync runs c's background duties until cond holds or a deadline
// passes. When it gives up it prints the last sync error and what show
// returns (the state that explains why).
func groupSync(t testing.TB, c *Client, what string, cond func() bool, show ...func() string) {
	t.Helper()
	ctx := context.Background()
	var last error
	for deadline := time.Now().Add(2 * time.Minute); !cond(); {
		if _, err := c.Sync(ctx); err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			state := []string{groupDump(c)}
			for _, f := range show {
				state = append(state, f())
			}
			t.Fatalf("%s: not within two minutes (last sync error: %v; %s)", what, last, strings.Join(state, "; "))
		}
	}
}

// groupDump describes c's groups and outbox for a test that gives up.
func groupDump(c *Client) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", c.Account().Short())
	rows, err := c.db.Groups()
	if err != nil {
		return b.String() + err.Error()
	}
	for _, r := range rows {
		g, err := c.loadGroup(r.ID)
		if err != nil {
			fmt.Fprintf(&b, "group %s: %v; ", r.ID.Short(), err)
			continue
		}
		var gens []uint64
		ks, _ := c.db.GroupKeys(r.ID)
		for _, k := range ks {
			gens = append(gens, k.Generation)
		}
		fmt.Fprintf(&b, "group %s: %s admin=%v entries=%v keys=%v publish=%v rotate=%v revoke=%v pending=%d supplement=%d leaving=%v; ",
			r.ID.Short(), g.Status, g.isAdmin(), g.Entries, gens, g.Publish, g.Rotate, g.PublishRevoked, g.PendingGen, len(g.Supplement), len(g.LeaveSeed) > 0)
	}
	ob, _ := c.db.Outbox()
	for _, it := range ob {
		fmt.Fprintf(&b, "outbox: to %s ns %d attempts %d: %s; ", it.To.Short(), it.Namespace, it.Attempts, it.LastError)
	}
	fmt.Fprintf(&b, "stats %+v", c.Stats())
	return b.String()
}

// groupTexts returns the texts of group id's chat at c with their
// senders.
func groupTexts(t testing.TB, c *Client, id identity.AccountID) map[string]identity.AccountID {
	t.Helper()
	h, err := c.History(id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	out := map[string]identity.AccountID{}
	for _, m := range h {
		if _, dup := out[m.Text]; dup {
			t.Fatalf("%q stored twice", m.Text)
		}
		out[m.Text] = m.Sender
	}
	return out
}

// TestGroupStandalone: a group on a real standalone node. Invitations
// arrive as requests; members read each other's messages with the right
// sender, once; a member's second device gets the group, its history
// and key; a removed member is refused by the node and cannot open what
// is sent after, even given the ciphertexts.
func TestGroupStandalone(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	bobSeed := identity.NewSeed()
	alice := openV2(t, newHome(t), Options{Standalone: nd})
	bob := openV2(t, homeFromSeed(t, bobSeed), Options{Standalone: nd})
	bob2 := openV2(t, homeFromSeed(t, bobSeed), Options{Standalone: nd})
	carol := openV2(t, newHome(t), Options{Standalone: nd})
	for _, c := range []*Client{alice, bob, bob2, carol} {
		if err := c.PublishKeys(ctx); err != nil {
			t.Fatal(err)
		}
	}
	g, err := alice.CreateGroup(ctx, "team", []identity.AccountID{bob.Account(), carol.Account()})
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
		groupSync(t, c, "the group's key and members", func() bool {
			gi, _ := c.GroupInfo(id)
			return gi.KeyGeneration == 1 && gi.Members == 3 && gi.State == GroupJoined
		})
	}
	for _, p := range []struct {
		from *Client
		text string
	}{{alice, "from alice"}, {bob, "from bob"}, {carol, "from carol"}} {
		m, err := p.from.Send(ctx, id, p.text)
		if err != nil {
			t.Fatalf("%s: %v", p.text, err)
		}
		// Sent at once, or (a store that timed out on a loaded machine)
		// by the outbox's next flush.
		groupSync(t, p.from, p.text+" sent", func() bool {
			m2, err := p.from.Message(m.ID)
			return err == nil && m2.Status == "sent"
		})
	}
	want := map[string]identity.AccountID{"from alice": alice.Account(), "from bob": bob.Account(), "from carol": carol.Account()}
	for _, c := range []*Client{alice, bob, carol, bob2} {
		groupSync(t, c, "every message", func() bool { return len(groupTexts(t, c, id)) == 3 })
		got := groupTexts(t, c, id)
		for text, from := range want {
			if got[text] != from {
				t.Fatalf("%s got %q from %v, want %v", c.Account().Short(), text, got[text], from)
			}
		}
		if c.Stats().Dropped != 0 {
			t.Fatalf("%s dropped %d", c.Account().Short(), c.Stats().Dropped)
		}
	}
	if gi, _ := bob2.GroupInfo(id); gi.State != GroupJoined || gi.KeyGeneration != 1 {
		t.Fatalf("bob's second device: %+v", gi)
	}

	// Removal: a new key for alice and bob, carol's credential revoked.
	carolState, err := carol.loadGroup(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.RemoveFromGroup(ctx, id, carol.Account()); err != nil {
		t.Fatal(err)
	}
	if gi, _ := alice.GroupInfo(id); gi.KeyGeneration != 2 || gi.Members != 2 {
		t.Fatalf("after the removal: %+v", gi)
	}
	if _, err := alice.Send(ctx, id, "after carol"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Client{bob, bob2} {
		groupSync(t, c, "the message after the removal", func() bool { _, ok := groupTexts(t, c, id)["after carol"]; return ok })
	}
	groupSync(t, carol, "carol learns she was removed", func() bool {
		gi, _ := carol.GroupInfo(id)
		return gi.State == GroupRemoved
	})
	if _, ok := groupTexts(t, carol, id)["after carol"]; ok {
		t.Fatal("carol read a message sent after her removal")
	}
	// The node refuses carol's credential.
	cctx, err := groupCtx(ctx, carolState)
	if err != nil {
		t.Fatal(err)
	}
	n := standaloneNode(t, alice)
	_, err = carol.signed(cctx, n, &rpc.Retrieve{Namespace: group.NamespaceMessages})
	var ne *NodeError
	if !errors.As(err, &ne) || ne.Code != rpc.CodeRevoked {
		t.Fatalf("carol's retrieve: %v, want %s", err, rpc.CodeRevoked)
	}
	// Given every ciphertext of the swarm, carol opens none sent after.
	actx, _ := groupCtx(ctx, mustGroup(t, alice, id))
	raw, err := alice.retrieveAll(actx, n, &rpc.Retrieve{Namespace: group.NamespaceMessages})
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, m := range raw {
		stored, _ := base64.StdEncoding.DecodeString(m.Data)
		_, data, _ := group.SplitWriter(stored)
		gen, kid, _ := group.PeekKey(data)
		if k, ok := carol.groupKey(group.ID(id), gen, kid); ok {
			if gm, err := group.OpenMessage(group.ID(id), k, data); err == nil && gen >= 2 {
				t.Fatalf("carol opened a message of generation %d: %+v", gen, gm)
			}
			opened++
		}
	}
	if opened != 3 || len(raw) != 4 {
		t.Fatalf("carol holds keys for %d of %d messages, want 3 of 4", opened, len(raw))
	}

	// A device of bob's added now gets the group with its keys when bob
	// shares history, and reads the group's history from its swarm.
	bob3 := openV2(t, homeFromSeed(t, bobSeed), Options{Standalone: nd})
	if err := bob3.PublishKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.ShareHistoryTo(ctx, []prekey.DeviceID{bob3.ThisDevice()}); err != nil {
		t.Fatal(err)
	}
	groupSync(t, bob3, "the group's history on a new device", func() bool {
		return len(groupTexts(t, bob3, id)) == 4
	})
	if gi, _ := bob3.GroupInfo(id); gi.State != GroupJoined || gi.KeyGeneration != 2 || gi.Members != 2 {
		t.Fatalf("bob's new device: %+v", gi)
	}
}

func mustGroup(t testing.TB, c *Client, id identity.AccountID) *groupState {
	t.Helper()
	g, err := c.loadGroup(id)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// groupOf sets up a group of alice (admin) and the others on a
// standalone node, every member joined and holding the first key.
func groupOf(t *testing.T, alice *Client, others ...*Client) identity.AccountID {
	t.Helper()
	ctx := context.Background()
	for _, c := range append([]*Client{alice}, others...) {
		if err := c.PublishKeys(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var ids []identity.AccountID
	for _, c := range others {
		ids = append(ids, c.Account())
	}
	g, err := alice.CreateGroup(ctx, "g", ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range others {
		groupSync(t, c, "the invitation", func() bool { _, err := c.GroupInfo(g.ID); return err == nil })
		if err := c.AcceptGroup(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		groupSync(t, c, "the group's key and members", func() bool {
			gi, _ := c.GroupInfo(g.ID)
			return gi.KeyGeneration >= 1 && gi.Members == 1+len(others)
		})
	}
	return g.ID
}

// TestGroupBadInput: a malformed config and a message signed by an
// account that is not a member are dropped and counted, and change
// nothing.
func TestGroupBadInput(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	alice := openV2(t, newHome(t), Options{Standalone: nd})
	bob := openV2(t, newHome(t), Options{Standalone: nd})
	mallory := openV2(t, newHome(t), Options{Standalone: nd})
	id := groupOf(t, alice, bob)
	ga := mustGroup(t, alice, id)
	actx, _ := groupCtx(ctx, ga)
	before := bob.Stats().Dropped
	k, _ := alice.currentKey(group.ID(id))
	forged, err := group.SealMessage(group.ID(id), k, mallory.acct, time.Now(), []byte("not content at all"))
	if err != nil {
		t.Fatal(err)
	}
	a := ga.admin()
	// A config signed by the group key whose sealed payload is garbage,
	// and one signed by another key.
	badPayload, err := group.SealConfig(a, group.KindMembers, 99, time.Now(), k, []byte{0xff, 0xff})
	if err != nil {
		t.Fatal(err)
	}
	other := newTestAdmin(t)
	foreign, err := group.SealConfig(other, group.KindInfo, 99, time.Now(), k, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		ns   int32
		data []byte
	}{{group.NamespaceMessages, group.WithWriter(a.Ed25519Public(), forged)}, {group.NamespaceMembers, badPayload}, {group.NamespaceInfo, foreign}, {group.NamespaceInfo, []byte("garbage")}} {
		if _, err := alice.store(actx, id, p.ns, time.Hour, p.data); err != nil {
			t.Fatalf("namespace %d: %v", p.ns, err)
		}
	}
	groupSync(t, bob, "four dropped", func() bool { return bob.Stats().Dropped-before >= 4 })
	if d := bob.Stats().Dropped - before; d != 4 {
		t.Fatalf("dropped %d, want 4", d)
	}
	gi, _ := bob.GroupInfo(id)
	if gi.Name != "g" || gi.Members != 2 {
		t.Fatalf("bob's group after the bad input: %+v", gi)
	}
	if h := groupTexts(t, bob, id); len(h) != 0 {
		t.Fatalf("bob stored %v", h)
	}
}

// TestGroupConcurrentAdmins: two admins change the member list at once
// without seeing each other's change; every member ends with both. A
// replayed old member or info config rolls nothing back.
func TestGroupConcurrentAdmins(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	alice := openV2(t, newHome(t), Options{Standalone: nd})
	bob := openV2(t, newHome(t), Options{Standalone: nd})
	carol := openV2(t, newHome(t), Options{Standalone: nd})
	dan, erin := newAccountID(t), newAccountID(t)
	id := groupOf(t, alice, bob, carol)
	oldMembers, oldInfo := mustGroup(t, alice, id).MembersCfg, mustGroup(t, alice, id).InfoCfg
	if err := alice.PromoteInGroup(ctx, id, bob.Account()); err != nil {
		t.Fatal(err)
	}
	groupSync(t, bob, "the promotion", func() bool { gi, _ := bob.GroupInfo(id); return gi.Admin })
	// At once: alice invites dan and removes carol; bob invites erin.
	if err := alice.InviteToGroup(ctx, id, dan); err != nil {
		t.Fatal(err)
	}
	if err := alice.RemoveFromGroup(ctx, id, carol.Account()); err != nil {
		t.Fatal(err)
	}
	if err := bob.InviteToGroup(ctx, id, erin); err != nil {
		t.Fatal(err)
	}
	want := map[identity.AccountID]bool{alice.Account(): true, bob.Account(): true, dan: true, erin: true}
	same := func(c *Client) bool {
		ms, _ := c.GroupMembers(id)
		if len(ms) != len(want) {
			return false
		}
		for _, m := range ms {
			if !want[m.Account] {
				return false
			}
		}
		return true
	}
	for _, c := range []*Client{alice, bob, alice} {
		groupSync(t, c, "the merged member list", func() bool { return same(c) })
	}
	// Replays of the first configs, as a node might serve them.
	for _, c := range []*Client{alice, bob} {
		err := c.updateGroup(id, func(g *groupState) error {
			if err := c.takeMembers(g, oldMembers); err != nil {
				return err
			}
			return c.takeInfo(g, oldInfo)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !same(c) {
			ms, _ := c.GroupMembers(id)
			t.Fatalf("a replayed member config rolled back %s's list: %+v", c.Account().Short(), ms)
		}
	}
	if gi, _ := bob.GroupInfo(id); gi.Members != 4 {
		t.Fatalf("bob: %+v", gi)
	}
}

// TestGroupFast: in fast mode a member's receive loop long-polls the
// group's swarm, so a group message arrives long before the safety-net
// poll (an hour here) would fetch it.
func TestGroupFast(t *testing.T) {
	nd := startStandalone(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	alice := openV2(t, newHome(t), Options{Standalone: nd})
	bob := openV2(t, newHome(t), Options{Standalone: nd, SafetyNetInterval: time.Hour})
	id := groupOf(t, alice, bob)
	got := make(chan Message, 8)
	done := make(chan error, 1)
	go func() {
		done <- bob.Receive(ctx, func(ms []Message) error {
			for _, m := range ms {
				got <- m
			}
			return nil
		})
	}()
	// Whether or not the long-poll is held yet, it starts from the saved
	// cursor, so it finds the message either way.
	if _, err := alice.Send(ctx, id, "fast"); err != nil {
		t.Fatal(err)
	}
	m := waitGroupMessage(t, got, alice, bob, id, "no group message through the long-poll")
	if m.Text != "fast" || m.Sender != alice.Account() {
		t.Fatalf("got %+v", m)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestGroupJoinedWhileHeld: a group joined while fast mode runs is
// long-polled at once, not from the next safety-net poll (an hour here):
// its first message arrives through the hold.
func TestGroupJoinedWhileHeld(t *testing.T) {
	nd := startStandalone(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	alice := openV2(t, newHome(t), Options{Standalone: nd})
	bob := openV2(t, newHome(t), Options{Standalone: nd, SafetyNetInterval: time.Hour})
	got := make(chan Message, 8)
	done := make(chan error, 1)
	go func() {
		done <- bob.Receive(ctx, func(ms []Message) error {
			for _, m := range ms {
				if m.Peer != alice.Account() { // the invitation's own line is 1:1
					got <- m
				}
			}
			return nil
		})
	}()
	id := groupOf(t, alice, bob) // bob accepts while Receive runs
	if _, err := alice.Send(ctx, id, "first"); err != nil {
		t.Fatal(err)
	}
	m := waitGroupMessage(t, got, alice, bob, id, "the group joined while Receive ran was not long-polled")
	if m.Text != "first" || m.Sender != alice.Account() {
		t.Fatalf("got %+v", m)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// waitGroupMessage returns the first message of group id that reaches
// got (bob's Receive), flushing alice's outbox meanwhile (a send whose
// store timed out waits there). It fails with both clients' state after
// two minutes: bob's safety-net poll is an hour away, so only his
// group long-poll can bring it.
func waitGroupMessage(t *testing.T, got <-chan Message, alice, bob *Client, id identity.AccountID, what string) Message {
	t.Helper()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case m := <-got:
			if m.Peer == id {
				return m
			}
		case <-tick.C:
			if time.Now().After(deadline) {
				t.Fatalf("%s: no message within two minutes (alice: %s) (bob: %s)", what, groupDump(alice), groupDump(bob))
			}
			alice.FlushOutbox(context.Background())
		}
	}
}
