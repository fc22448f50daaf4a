package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/rpc"
)

// TestGroupSwarm runs a group on a three-node devnet (one swarm): the
// admin stores the group's sealed member list and members post through
// any node; a revocation stored on one node is enforced by the others as
// soon as replication carries it there, while the other member carries
// on; and afterwards no node's files name a member's account.
func TestGroupSwarm(t *testing.T) {
	// A bound for a hang, not a speed: a devnet's in-process nodes take
	// over ten seconds each to start under -race on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	d, err := devnet.Up(ctx, devnet.Options{Dir: t.TempDir(), Nodes: 3, Timeout: 6 * time.Minute, EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond, UnreachableAfter: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	netID := d.Network().ID
	_, snap, err := devnet.FetchSnapshot(ctx, d.Network())
	if err != nil {
		t.Fatal(err)
	}
	seed := make([]byte, group.SeedSize)
	rand.Read(seed)
	admin, _ := group.NewAdmin(seed)
	g := admin.Group()
	_, nodes, ok := snap.SwarmOf(g.Account())
	if !ok || len(nodes) != 3 {
		t.Fatalf("group swarm of %d nodes", len(nodes))
	}
	clients := make([]*nodeclient.Client, len(nodes))
	for i, n := range nodes {
		if clients[i], err = nodeclient.New("https://"+n.Address, n.Ed25519); err != nil {
			t.Fatal(err)
		}
	}
	send := func(c *nodeclient.Client, r rpc.Outgoing, s rpc.Signer) (int, []byte) {
		t.Helper()
		r.Stamp(c.Now())
		r.Sign(netID, s)
		body, _ := json.Marshal(rpc.Request{Method: r.Method(), Params: r.Params()})
		status, reply, err := c.Post(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		return status, reply
	}
	store := func(c *nodeclient.Client, s rpc.Signer, ns int32, data []byte) {
		t.Helper()
		if st, b := send(c, &rpc.Store{Namespace: ns, Data: data, TTL: time.Hour, Timestamp: c.Now()}, s); st != 200 {
			t.Fatalf("store in %d: %d %s", ns, st, b)
		}
	}
	// retrieve answers the status and the number of messages.
	retrieve := func(c *nodeclient.Client, s rpc.Signer, ns int32) (int, int, []byte) {
		st, b := send(c, &rpc.Retrieve{Namespace: ns}, s)
		var res rpc.RetrieveResult
		json.Unmarshal(b, &res)
		return st, len(res.Messages), b
	}
	// until waits for cond, polling: replication has no event a client
	// can wait on.
	until := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("%s: not before the deadline", what)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}

	alice, bob := identity.NewAccount(), identity.NewAccount()
	key := group.Key{Generation: 1}
	rand.Read(key.Secret[:])
	member := func(acct *identity.Account) *group.Member {
		s := make([]byte, group.SeedSize)
		rand.Read(s)
		tok := group.Token{Perms: group.PermRead | group.PermWrite, Member: identity.Ed25519PublicKeyOf(ed25519.NewKeyFromSeed(s))}
		m, err := group.NewMember(g, s, admin.Issue(tok))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ma, mb := member(alice), member(bob)
	sec, _ := group.SealAdminSection(admin, []group.MemberKey{{Account: alice.ID(), Key: ma.Ed25519Public()}, {Account: bob.ID(), Key: mb.Ed25519Public()}})
	payload, err := (&group.Members{Entries: group.MergeEntries([]group.Entry{
		{Account: alice.ID(), Role: group.RoleMember, State: group.StateJoined, Changed: 1},
		{Account: bob.ID(), Role: group.RoleAdmin, State: group.StateJoined, Changed: 1},
	}), AdminSection: sec}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := group.SealConfig(admin, group.KindMembers, 1, time.Now(), key, payload)
	store(clients[0], admin, group.NamespaceMembers, cfg)
	for _, p := range []struct {
		acct *identity.Account
		m    *group.Member
	}{{alice, ma}, {bob, mb}} {
		msg, _ := group.SealMessage(g, key, p.acct, time.Now(), []byte("hello"))
		store(clients[0], p.m, group.NamespaceMessages, group.WithWriter(p.m.Ed25519Public(), msg))
	}
	// Both members read through the other nodes, which caches the
	// group's (empty) revocations there.
	for _, c := range clients[1:] {
		until("messages replicated", func() bool {
			st, n, _ := retrieve(c, ma, group.NamespaceMessages)
			return st == 200 && n == 2
		})
		if st, _, b := retrieve(c, mb, group.NamespaceMembers); st != 200 {
			t.Fatalf("bob: %d %s", st, b)
		}
	}

	// The admin removes alice on node 0; nodes 1 and 2 refuse her once the
	// list reaches them, and keep serving bob.
	list, _ := (&group.Revocations{Version: 1, Created: time.Now(), Revoked: []identity.Ed25519PublicKey{ma.Ed25519Public()}}).Sign(admin)
	store(clients[0], admin, group.NamespaceRevocations, list)
	for i, c := range clients {
		until("revocation enforced", func() bool {
			st, _, b := retrieve(c, ma, group.NamespaceMessages)
			if st == 200 {
				return false
			}
			var eb rpc.ErrorBody
			if json.Unmarshal(b, &eb) != nil || eb.Error == nil || eb.Error.Code != rpc.CodeRevoked {
				t.Fatalf("node %d: %d %s", i, st, b)
			}
			return true
		})
		if st, _, b := retrieve(c, mb, group.NamespaceMessages); st != 200 {
			t.Fatalf("node %d refused bob: %d %s", i, st, b)
		}
	}

	// No node's files name alice or bob.
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, n := range d.Nodes() {
		filepath.WalkDir(n.Dir, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, a := range []*identity.Account{alice, bob} {
				id, ed := a.ID(), a.Ed25519Public()
				for _, needle := range [][]byte{id[:], id[1:], []byte(id.String()), []byte(hex.EncodeToString(id[1:])), ed.Bytes(), []byte(ed.String())} {
					if bytes.Contains(b, needle) {
						t.Errorf("%s names a member (%x…)", p, needle[:4])
					}
				}
			}
			return nil
		})
	}
}
