package nodeapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/internal/store/sqlite"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/rpc"
)

// newAdmin returns the admin of a fresh group.
func newAdmin(t testing.TB) *group.Admin {
	t.Helper()
	seed := make([]byte, group.SeedSize)
	rand.Read(seed)
	a, err := group.NewAdmin(seed)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// newMember issues a credential with perms to a fresh member key of a's
// group.
func newMember(t testing.TB, a *group.Admin, perms group.Perm) *group.Member {
	t.Helper()
	seed := make([]byte, group.SeedSize)
	rand.Read(seed)
	tok := group.Token{Perms: perms, Member: identity.Ed25519PublicKeyOf(ed25519.NewKeyFromSeed(seed))}
	m, err := group.NewMember(a.Group(), seed, a.Issue(tok))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// send stamps r at the fixture's time, signs it for s and posts it.
func (f *fixture) send(r rpc.Outgoing, s rpc.Signer) (int, []byte) {
	r.Stamp(f.clock())
	r.Sign(testNet, s)
	f.advance(time.Millisecond)
	return f.post(reqBody(r.Method(), r.Params()))
}

func (f *fixture) groupStore(s rpc.Signer, ns int32, data []byte) (int, []byte) {
	if ns == group.NamespaceMessages {
		data = group.WithWriter(s.Ed25519Public(), data) // docs/groups.md §7
	}
	return f.send(&rpc.Store{Namespace: ns, Data: data, TTL: time.Hour, Timestamp: f.clock()}, s)
}

func (f *fixture) groupRetrieve(s rpc.Signer, ns int32) (int, []byte) {
	return f.send(&rpc.Retrieve{Namespace: ns}, s)
}

// revocationList signs a list revoking keys.
func revocationList(t testing.TB, a *group.Admin, version uint64, now time.Time, keys ...identity.Ed25519PublicKey) []byte {
	t.Helper()
	b, err := (&group.Revocations{Version: version, Created: now, Revoked: keys}).Sign(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countingStore counts List calls: what a refused request must not
// cause.
type countingStore struct {
	store.Store
	lists atomic.Int64
}

func (c *countingStore) List(ctx context.Context, q store.Query) ([]store.Message, bool, error) {
	c.lists.Add(1)
	return c.Store.List(ctx, q)
}

// TestGroupAccess: in a group swarm the admin may do everything, members
// what their credential allows, and everyone else nothing, each refusal
// with its own code; a refused request reads no storage.
func TestGroupAccess(t *testing.T) {
	var counter *countingStore
	f := newFixture(t, func(c *Config) { counter = &countingStore{Store: c.Store}; c.Store = counter })
	admin := newAdmin(t)
	g := admin.Group()
	member := newMember(t, admin, group.PermRead|group.PermWrite)
	reader := newMember(t, admin, group.PermRead)
	moderator := newMember(t, admin, group.PermRead|group.PermWrite|group.PermDelete)
	revoked := newMember(t, admin, group.PermRead|group.PermWrite)
	otherAdmin := newAdmin(t)
	stranger := identity.NewAccount()

	// A token of another group presented to g: the right key, another
	// group's signature.
	foreign := rawMemberOf(t, g, func(tok group.Token) group.Credential { return otherAdmin.Issue(tok) })
	// A credential a stranger made for itself, signed by its own key.
	forged := rawMemberOf(t, g, func(tok group.Token) group.Credential {
		c := group.Credential{Token: tok}
		copy(c.Sig[:], stranger.Sign(tok.Marshal()))
		return c
	})

	ok := func(t *testing.T, status int, body []byte) {
		t.Helper()
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
	}
	// The admin sets the group up.
	for _, ns := range []int32{group.NamespaceInfo, group.NamespaceMembers, group.NamespaceKeys, group.NamespaceMessages, group.NamespaceRevokedRetrievable} {
		st, b := f.groupStore(admin, ns, []byte("admin object"))
		ok(t, st, b)
	}
	st, b := f.groupStore(admin, group.NamespaceRevocations, revocationList(t, admin, 1, f.clock(), revoked.Ed25519Public()))
	ok(t, st, b)

	tests := []struct {
		name   string
		do     func() (int, []byte)
		status int
		code   rpc.Code
	}{
		{"admin retrieves the revocations", func() (int, []byte) { return f.groupRetrieve(admin, group.NamespaceRevocations) }, 200, ""},
		{"admin deletes all", func() (int, []byte) {
			ns := group.NamespaceMessages
			return f.send(&rpc.DeleteAll{Namespace: &ns}, admin)
		}, 200, ""},
		{"member stores a message", func() (int, []byte) { return f.groupStore(member, group.NamespaceMessages, []byte("hi")) }, 200, ""},
		{"member retrieves messages", func() (int, []byte) { return f.groupRetrieve(member, group.NamespaceMessages) }, 200, ""},
		{"member retrieves info", func() (int, []byte) { return f.groupRetrieve(member, group.NamespaceInfo) }, 200, ""},
		{"member retrieves keys", func() (int, []byte) { return f.groupRetrieve(member, group.NamespaceKeys) }, 200, ""},
		{"reader retrieves members", func() (int, []byte) { return f.groupRetrieve(reader, group.NamespaceMembers) }, 200, ""},
		{"reader stores a message", func() (int, []byte) { return f.groupStore(reader, group.NamespaceMessages, []byte("x")) }, 403, rpc.CodeForbidden},
		{"member stores info", func() (int, []byte) { return f.groupStore(member, group.NamespaceInfo, []byte("x")) }, 403, rpc.CodeForbidden},
		{"member stores members", func() (int, []byte) { return f.groupStore(member, group.NamespaceMembers, []byte("x")) }, 403, rpc.CodeForbidden},
		{"member stores keys", func() (int, []byte) { return f.groupStore(member, group.NamespaceKeys, []byte("x")) }, 403, rpc.CodeForbidden},
		{"member stores a revocation list", func() (int, []byte) {
			return f.groupStore(member, group.NamespaceRevocations, revocationList(t, admin, 9, f.clock()))
		}, 403, rpc.CodeForbidden},
		{"member stores a removal notice", func() (int, []byte) {
			return f.groupStore(member, group.NamespaceRevokedRetrievable, []byte("x"))
		}, 403, rpc.CodeForbidden},
		{"member deletes all", func() (int, []byte) {
			ns := group.NamespaceMessages
			return f.send(&rpc.DeleteAll{Namespace: &ns}, member)
		}, 403, rpc.CodeForbidden},
		{"moderator deletes a message", func() (int, []byte) {
			// A message the node holds (the group info; the messages
			// were deleted above): a member deletes only its own records.
			h := rpc.MessageHash(g.Account(), group.NamespaceInfo, []byte("admin object"))
			return f.send(&rpc.Delete{Hashes: []string{h}}, moderator)
		}, 403, rpc.CodeForbidden},
		{"member extends expiries", func() (int, []byte) {
			return f.send(&rpc.Expire{Hashes: []string{rpc.MessageHash(g.Account(), group.NamespaceMessages, []byte("hi"))}, Expiry: f.clock().Add(time.Hour), Mode: rpc.ExpireExtend}, member)
		}, 403, rpc.CodeForbidden},
		{"non-member signs as the group", func() (int, []byte) {
			return f.send(&rpc.Retrieve{Namespace: group.NamespaceMessages}, strangerAsGroup{stranger, g})
		}, 401, rpc.CodeBadSignature},
		{"forged credential", func() (int, []byte) { return f.groupRetrieve(forged, group.NamespaceMessages) }, 401, rpc.CodeBadCredential},
		{"another group's credential", func() (int, []byte) { return f.groupRetrieve(foreign, group.NamespaceMessages) }, 401, rpc.CodeBadCredential},
		{"revoked member retrieves", func() (int, []byte) { return f.groupRetrieve(revoked, group.NamespaceMessages) }, 403, rpc.CodeRevoked},
		{"revoked member stores", func() (int, []byte) { return f.groupStore(revoked, group.NamespaceMessages, []byte("spam")) }, 403, rpc.CodeRevoked},
		{"revoked member reads its notice", func() (int, []byte) {
			return f.groupRetrieve(revoked, group.NamespaceRevokedRetrievable)
		}, 200, ""},
		{"group namespace 0", func() (int, []byte) { return f.groupStore(admin, 0, []byte("x")) }, 400, rpc.CodeBadNamespace},
		{"group namespace 7, unsigned", func() (int, []byte) {
			return f.post(reqBody(rpc.MethodRetrieve, json.RawMessage(`{"pubkey":"`+g.String()+`","namespace":7,"timestamp":1}`)))
		}, 400, rpc.CodeBadNamespace},
		{"unsigned group retrieve", func() (int, []byte) {
			return f.post(reqBody(rpc.MethodRetrieve, json.RawMessage(`{"pubkey":"`+g.String()+`","namespace":11,"timestamp":1}`)))
		}, 400, rpc.CodeMissingField},
		{"unsigned deposit", func() (int, []byte) {
			return f.post(reqBody(rpc.MethodStore, json.RawMessage(`{"pubkey":"`+g.String()+`","namespace":11,"timestamp":1,"ttl":60000,"data":"eA"}`)))
		}, 400, rpc.CodeMissingField},
		{"a revocation list of another group", func() (int, []byte) {
			return f.groupStore(admin, group.NamespaceRevocations, revocationList(t, otherAdmin, 2, f.clock()))
		}, 400, rpc.CodeBadField},
		{"garbage in the revocation namespace", func() (int, []byte) {
			return f.groupStore(admin, group.NamespaceRevocations, []byte("not a list"))
		}, 400, rpc.CodeBadField},
		{"get_swarm of a group", func() (int, []byte) {
			return f.post(reqBody(rpc.MethodGetSwarm, json.RawMessage(`{"pubkey":"`+g.String()+`"}`)))
		}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := tt.do()
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if tt.code != "" && errCode(t, body) != tt.code {
				t.Fatalf("code %q, want %q: %s", errCode(t, body), tt.code, body)
			}
		})
	}

	// Refusals before the revocation check read nothing: a flood of
	// forged or forbidden requests costs no storage reads.
	before := counter.lists.Load()
	for range 20 {
		f.groupRetrieve(forged, group.NamespaceMessages)
		f.groupRetrieve(foreign, group.NamespaceMessages)
		f.groupStore(reader, group.NamespaceMessages, []byte("x"))
		f.send(&rpc.Retrieve{Namespace: group.NamespaceMessages}, strangerAsGroup{stranger, g})
		// A member's delete reads the records only once its
		// credential verified.
		f.send(&rpc.Delete{Hashes: []string{rpc.MessageHash(g.Account(), group.NamespaceInfo, []byte("admin object"))}}, forged)
	}
	if n := counter.lists.Load() - before; n != 0 {
		t.Fatalf("refused requests listed storage %d times", n)
	}
	// And a member's requests reuse the cached revocations.
	for range 5 {
		if st, b := f.groupRetrieve(member, group.NamespaceInfo); st != 200 {
			t.Fatalf("status %d: %s", st, b)
		}
	}
	if n := counter.lists.Load() - before; n != 5 {
		t.Fatalf("5 retrieves listed storage %d times, want 5 (their answers, no revocation reloads)", n)
	}
}

// TestGroupPermissionBeforeSignature: a member asking for what its
// credential does not allow is refused before any signature is checked.
func TestGroupPermissionBeforeSignature(t *testing.T) {
	f := newFixture(t)
	admin := newAdmin(t)
	reader := newMember(t, admin, group.PermRead)
	r := &rpc.Store{Namespace: group.NamespaceMessages, Data: []byte("x"), TTL: time.Hour, Timestamp: f.clock()}
	r.Stamp(f.clock())
	r.Sign(testNet, reader)
	r.Auth.Signature = make([]byte, 64) // would be bad_signature
	status, body := f.post(reqBody(r.Method(), r.Params()))
	if status != 403 || errCode(t, body) != rpc.CodeForbidden {
		t.Fatalf("status %d: %s", status, body)
	}
}

// TestGroupRevocationArrives: a revocation list that reaches the node by
// replication (not a client's store) is enforced at once, although the
// node had the group's revocations cached; lists only add up, so a stale
// list stored later revokes no less.
func TestGroupRevocationArrives(t *testing.T) {
	f := newFixture(t)
	admin := newAdmin(t)
	g := admin.Group()
	m1 := newMember(t, admin, group.PermRead|group.PermWrite)
	m2 := newMember(t, admin, group.PermRead|group.PermWrite)
	for _, m := range []*group.Member{m1, m2} {
		if st, b := f.groupRetrieve(m, group.NamespaceMessages); st != 200 {
			t.Fatalf("status %d: %s", st, b)
		}
	}
	// As replication.Server applies a forward: through the hub's replica.
	put := func(data []byte) {
		t.Helper()
		msg := store.Message{Account: g.Account(), Namespace: group.NamespaceRevocations, Hash: rpc.MessageHash(g.Account(), group.NamespaceRevocations, data),
			Data: data, Timestamp: f.clock(), Expiry: f.clock().Add(time.Hour)}
		if _, err := f.h.cfg.Arrivals.Replica(f.db).Put(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	put(revocationList(t, admin, 2, f.clock(), m1.Ed25519Public()))
	if st, b := f.groupRetrieve(m1, group.NamespaceMessages); st != 403 || errCode(t, b) != rpc.CodeRevoked {
		t.Fatalf("after a replicated revocation: status %d: %s", st, b)
	}
	if st, b := f.groupRetrieve(m2, group.NamespaceMessages); st != 200 {
		t.Fatalf("an unrevoked member: status %d: %s", st, b)
	}
	// An older list that names only m2 arrives late: both stay revoked.
	put(revocationList(t, admin, 1, f.clock(), m2.Ed25519Public()))
	for _, m := range []*group.Member{m1, m2} {
		if st, b := f.groupRetrieve(m, group.NamespaceMessages); st != 403 || errCode(t, b) != rpc.CodeRevoked {
			t.Fatalf("status %d: %s", st, b)
		}
	}
}

// TestGroupNodeLearnsNoMember: after a group's admin stores its sealed
// configs and members post messages, no member's Account ID or account key
// appears anywhere in the node's database files.
func TestGroupNodeLearnsNoMember(t *testing.T) {
	dir := t.TempDir()
	f := newFixtureAt(t, dir)
	admin := newAdmin(t)
	g := admin.Group()
	alice, bob := identity.NewAccount(), identity.NewAccount()
	key := group.Key{Generation: 1}
	rand.Read(key.Secret[:])
	ma, mb := newMember(t, admin, group.PermRead|group.PermWrite), newMember(t, admin, group.PermRead|group.PermWrite)
	sec, err := group.SealAdminSection(admin, []group.MemberKey{{Account: alice.ID(), Key: ma.Ed25519Public()}, {Account: bob.ID(), Key: mb.Ed25519Public()}})
	if err != nil {
		t.Fatal(err)
	}
	members := &group.Members{Entries: group.MergeEntries([]group.Entry{
		{Account: alice.ID(), Role: group.RoleMember, State: group.StateJoined, Changed: 1},
		{Account: bob.ID(), Role: group.RoleMember, State: group.StateJoined, Changed: 1},
	}), AdminSection: sec}
	payload, err := members.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := group.SealConfig(admin, group.KindMembers, 1, f.clock(), key, payload)
	if err != nil {
		t.Fatal(err)
	}
	if st, b := f.groupStore(admin, group.NamespaceMembers, cfg); st != 200 {
		t.Fatalf("status %d: %s", st, b)
	}
	for _, p := range []struct {
		acct *identity.Account
		m    *group.Member
	}{{alice, ma}, {bob, mb}} {
		msg, err := group.SealMessage(g, key, p.acct, f.clock(), []byte("hello from a member"))
		if err != nil {
			t.Fatal(err)
		}
		if st, b := f.groupStore(p.m, group.NamespaceMessages, msg); st != 200 {
			t.Fatalf("status %d: %s", st, b)
		}
	}
	f.db.Close()
	var files [][]byte
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			files = append(files, b)
		}
		return nil
	})
	for _, a := range []*identity.Account{alice, bob} {
		id, ed := a.ID(), a.Ed25519Public()
		for _, needle := range [][]byte{id[:], id[1:], []byte(id.String()), ed.Bytes(), []byte(ed.String()), []byte(hex.EncodeToString(id[1:]))} {
			for _, b := range files {
				if bytes.Contains(b, needle) {
					t.Fatalf("the node's files contain a member's identity (%x…)", needle[:4])
				}
			}
		}
	}
}

// rawMember is a member signer that takes any credential, as a forger
// would (group.NewMember checks it).
type rawMember struct {
	g    group.ID
	priv ed25519.PrivateKey
	cred group.Credential
}

func (m rawMember) ID() identity.AccountID                   { return m.g.Account() }
func (m rawMember) Ed25519Public() identity.Ed25519PublicKey { return m.cred.Token.Member }
func (m rawMember) Sign(msg []byte) []byte                   { return ed25519.Sign(m.priv, msg) }
func (m rawMember) Credential() group.Credential             { return m.cred }

// rawMemberOf makes a fresh member key for g whose credential issue makes.
func rawMemberOf(t testing.TB, g group.ID, issue func(group.Token) group.Credential) rawMember {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	tok := group.Token{Perms: group.PermRead | group.PermWrite, Member: identity.Ed25519PublicKeyOf(priv)}
	return rawMember{g: g, priv: priv, cred: issue(tok)}
}

// strangerAsGroup signs requests for group g with an account's own key,
// presenting no credential.
type strangerAsGroup struct {
	acct *identity.Account
	g    group.ID
}

func (s strangerAsGroup) ID() identity.AccountID                   { return s.g.Account() }
func (s strangerAsGroup) Ed25519Public() identity.Ed25519PublicKey { return s.acct.Ed25519Public() }
func (s strangerAsGroup) Sign(msg []byte) []byte                   { return s.acct.Sign(msg) }

// TestGroupHoldsPerMember: the per-account bound on held retrieves is per
// member key in a group swarm, so one member's long polls cannot use up
// the others'.
func TestGroupHoldsPerMember(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxHeldPerAccount = 1 })
	admin := newAdmin(t)
	m1, m2 := newMember(t, admin, group.PermRead), newMember(t, admin, group.PermRead)
	held := func(m *group.Member) *heldCall {
		r := &rpc.Retrieve{Namespace: group.NamespaceMessages, Wait: rpc.MaxWait}
		r.Stamp(f.clock())
		r.Sign(testNet, m)
		f.advance(time.Millisecond)
		return f.postAsync(reqBody(r.Method(), r.Params()))
	}
	c1 := held(m1)
	f.waitHeld(t, 1, c1)
	if st, b := held(m1).wait(t); st != http.StatusServiceUnavailable || errCode(t, b) != rpc.CodeHoldFull {
		t.Fatalf("a second hold of one member: %d %s", st, b)
	}
	c2 := held(m2)
	f.waitHeld(t, 2, c1, c2)
	if st, b := f.groupStore(admin, group.NamespaceMessages, []byte("wake")); st != 200 {
		t.Fatalf("store: %d %s", st, b)
	}
	for _, c := range []*heldCall{c1, c2} {
		if msgs := c.messages(t); len(msgs) != 1 {
			t.Fatalf("%d messages", len(msgs))
		}
	}
}

// TestGroupQuotaRecovery: a member that floods the message namespace is
// refused with writer_quota_exceeded once it holds its share (a quarter
// of the group's quota), while another member's store and the admin's
// revocation list still go in. Members that fill the whole quota block
// the admin's stores, and the admin's sequence of delete_before in the
// message namespace and the revocation list makes room.
func TestGroupQuotaRecovery(t *testing.T) {
	const quota = 20 // messages; a writer's share is 5
	f := newFixture(t, func(c *Config) {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "quota.db"), sqlite.WithAccountQuota(1<<20, quota))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		c.Store = c.Arrivals.Store(db)
	})
	admin := newAdmin(t)
	members := make([]*group.Member, 5)
	for i := range members {
		members[i] = newMember(t, admin, group.PermRead|group.PermWrite)
	}
	spammer := members[0]
	if st, b := f.groupStore(admin, group.NamespaceInfo, []byte("info")); st != 200 {
		t.Fatalf("%d %s", st, b)
	}
	flood := func(m *group.Member, tag byte) (stored int, code rpc.Code) {
		for i := 0; ; i++ {
			st, b := f.groupStore(m, group.NamespaceMessages, []byte{tag, byte(i)})
			if st != 200 {
				return i, errCode(t, b)
			}
		}
	}
	if n, code := flood(spammer, 0); n != quota/4 || code != rpc.CodeWriterQuota {
		t.Fatalf("the flooder stored %d, then %s; want %d, then %s", n, code, quota/4, rpc.CodeWriterQuota)
	}
	if st, b := f.groupStore(members[1], group.NamespaceMessages, []byte("still room")); st != 200 {
		t.Fatalf("another member after the flood: %d %s", st, b)
	}
	list := revocationList(t, admin, 1, f.clock(), spammer.Ed25519Public())
	if st, b := f.groupStore(admin, group.NamespaceRevocations, list); st != 200 {
		t.Fatalf("the admin's list after the flood: %d %s", st, b)
	}
	if st, b := f.groupStore(spammer, group.NamespaceMessages, []byte("more")); errCode(t, b) != rpc.CodeRevoked {
		t.Fatalf("the spammer after its revocation: %d %s", st, b)
	}

	// Members together fill the group's quota: the whole bucket refuses.
	var code rpc.Code
	for _, m := range members[1:] {
		if _, code = flood(m, 1); code == rpc.CodeQuota {
			break
		}
	}
	if code != rpc.CodeQuota {
		t.Fatalf("the members filled the group and got %s, want %s", code, rpc.CodeQuota)
	}
	list2 := revocationList(t, admin, 2, f.clock(), spammer.Ed25519Public(), members[1].Ed25519Public())
	if st, b := f.groupStore(admin, group.NamespaceRevocations, list2); errCode(t, b) != rpc.CodeQuota {
		t.Fatalf("with the quota full: %d %s", st, b)
	}
	ns := group.NamespaceMessages
	seq := &rpc.Batch{Sequence: true, Requests: []rpc.Outgoing{
		&rpc.DeleteBefore{Namespace: &ns, Before: f.clock()},
		&rpc.Store{Namespace: group.NamespaceRevocations, Data: list2, TTL: time.Hour, Timestamp: f.clock()},
	}}
	st, b := f.send(seq, admin)
	var res rpc.BatchResult
	if st != 200 || json.Unmarshal(b, &res) != nil || len(res.Results) != 2 || res.Results[0].Code != 200 || res.Results[1].Code != 200 {
		t.Fatalf("sequence: %d %s", st, b)
	}
	// The deletes emptied the writers' buckets too.
	if st, b := f.groupStore(members[2], group.NamespaceMessages, []byte("after the clean-up")); st != 200 {
		t.Fatalf("a member after the clean-up: %d %s", st, b)
	}
}

// TestGroupRevocationsConcurrent: members' requests and new lists at once
// (run with -race): every answer is a success or a revocation, and once
// the last list is stored every listed member is refused.
func TestGroupRevocationsConcurrent(t *testing.T) {
	f := newFixture(t)
	admin := newAdmin(t)
	members := make([]*group.Member, 6)
	for i := range members {
		members[i] = newMember(t, admin, group.PermRead|group.PermWrite)
	}
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Go(func() {
			for range 15 {
				st, b := f.groupRetrieve(m, group.NamespaceMessages)
				if st != 200 && errCode(t, b) != rpc.CodeRevoked {
					t.Errorf("%d %s", st, b)
				}
			}
		})
	}
	var revoked []identity.Ed25519PublicKey
	for i, m := range members[:3] {
		revoked = append(revoked, m.Ed25519Public())
		if st, b := f.groupStore(admin, group.NamespaceRevocations, revocationList(t, admin, uint64(i+1), f.clock(), revoked...)); st != 200 {
			t.Fatalf("%d %s", st, b)
		}
	}
	wg.Wait()
	for i, m := range members {
		st, b := f.groupRetrieve(m, group.NamespaceMessages)
		if (i < 3) != (st == 403 && errCode(t, b) == rpc.CodeRevoked) {
			t.Fatalf("member %d: %d %s", i, st, b)
		}
	}
}

// TestGroupWriterPrefix: a store into a group's message namespace must
// carry the signer's own key as its writer prefix, so that a member
// cannot charge another's share of the quota.
func TestGroupWriterPrefix(t *testing.T) {
	f := newFixture(t)
	admin := newAdmin(t)
	m1 := newMember(t, admin, group.PermRead|group.PermWrite)
	m2 := newMember(t, admin, group.PermRead|group.PermWrite)
	for _, tc := range []struct {
		name   string
		signer rpc.Signer
		data   []byte
		code   rpc.Code
	}{
		{"own key", m1, group.WithWriter(m1.Ed25519Public(), []byte("x")), ""},
		{"admin as the group", admin, group.WithWriter(admin.Ed25519Public(), []byte("x")), ""},
		{"another member's key", m1, group.WithWriter(m2.Ed25519Public(), []byte("x")), rpc.CodeBadField},
		{"the group key by a member", m1, group.WithWriter(admin.Ed25519Public(), []byte("y")), rpc.CodeBadField},
		{"no room for a prefix", m1, []byte("short"), rpc.CodeBadField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b := f.send(&rpc.Store{Namespace: group.NamespaceMessages, Data: tc.data, TTL: time.Hour, Timestamp: f.clock()}, tc.signer)
			if tc.code == "" && st != 200 || tc.code != "" && errCode(t, b) != tc.code {
				t.Fatalf("%d %s, want %q", st, b, tc.code)
			}
		})
	}
}

// groupRecord signs a push subscription record for a's group with s.
func groupRecord(t *testing.T, a *group.Admin, s push.GroupSigner, now time.Time, namespaces ...int32) []byte {
	t.Helper()
	r := &push.Record{Namespaces: namespaces, Expiry: now.Add(24 * time.Hour)}
	r.Server[0] = 9 // any valid X25519 key
	rand.Read(r.SubID[:])
	if err := push.SignGroupRecord(r, a.ID(), s); err != nil {
		t.Fatal(err)
	}
	return r.Marshal()
}

// TestGroupPushRecords (docs/groups.md §12): a member, even read-only,
// stores push subscription records in the group swarm's namespace 4,
// signed by its own member key, naming only the messages namespace, at
// most push.MaxRecordsPerGroupKey live ones per key; a non-member stores
// none.
func TestGroupPushRecords(t *testing.T) {
	f := newFixture(t)
	admin := newAdmin(t)
	writer := newMember(t, admin, group.PermRead|group.PermWrite)
	reader := newMember(t, admin, group.PermRead)
	now := f.clock()
	store := func(s rpc.Signer, data []byte) (int, []byte) {
		return f.send(&rpc.Store{Namespace: push.Namespace, Data: data, TTL: time.Hour, Timestamp: f.clock()}, s)
	}
	for _, tc := range []struct {
		name   string
		signer rpc.Signer
		data   []byte
		code   rpc.Code
	}{
		{"a member's own record", writer, groupRecord(t, admin, writer, now, group.NamespaceMessages), ""},
		{"a reader's own record", reader, groupRecord(t, admin, reader, now, group.NamespaceMessages), ""},
		{"the admin's", admin, groupRecord(t, admin, admin, now, group.NamespaceMessages), ""},
		{"signed by another member", writer, groupRecord(t, admin, reader, now, group.NamespaceMessages), rpc.CodeBadField},
		{"naming the keys namespace", writer, groupRecord(t, admin, writer, now, group.NamespaceKeys), rpc.CodeBadField},
		{"signed for another group", writer, groupRecord(t, newAdmin(t), writer, now, group.NamespaceMessages), rpc.CodeBadField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b := store(tc.signer, tc.data)
			if tc.code == "" && st != 200 || tc.code != "" && errCode(t, b) != tc.code {
				t.Fatalf("%d %s, want %q", st, b, tc.code)
			}
		})
	}
	for i := 1; i < push.MaxRecordsPerGroupKey; i++ {
		if st, b := store(writer, groupRecord(t, admin, writer, now, group.NamespaceMessages)); st != 200 {
			t.Fatalf("record %d: %d %s", i+1, st, b)
		}
	}
	if st, b := store(writer, groupRecord(t, admin, writer, now, group.NamespaceMessages)); errCode(t, b) != rpc.CodeQuota {
		t.Fatalf("one record past the key's limit: %d %s", st, b)
	}
	if st, b := store(reader, groupRecord(t, admin, reader, now, group.NamespaceMessages)); st != 200 {
		t.Fatalf("another key still stores: %d %s", st, b)
	}
}

// TestGroupMemberDeletesOwnRecords (docs/groups.md §12): a member deletes
// exactly the push subscription records its own member key signed; a
// request naming anything else (another member's record, a message of
// another namespace) is refused whole, a revoked credential deletes
// nothing, and the admin still deletes any record.
func TestGroupMemberDeletesOwnRecords(t *testing.T) {
	f := newFixture(t)
	admin := newAdmin(t)
	g := admin.Group()
	alice := newMember(t, admin, group.PermRead)
	bob := newMember(t, admin, group.PermRead|group.PermWrite)
	gone := newMember(t, admin, group.PermRead)
	now := f.clock()
	record := func(s rpc.Signer) string {
		t.Helper()
		data := groupRecord(t, admin, s.(push.GroupSigner), now, group.NamespaceMessages)
		if st, b := f.send(&rpc.Store{Namespace: push.Namespace, Data: data, TTL: time.Hour, Timestamp: f.clock()}, s); st != 200 {
			t.Fatalf("storing a record: %d %s", st, b)
		}
		return rpc.MessageHash(g.Account(), push.Namespace, data)
	}
	aliceRec, aliceRec2, bobRec, goneRec, adminRec := record(alice), record(alice), record(bob), record(gone), record(admin)
	if st, b := f.groupStore(bob, group.NamespaceMessages, []byte("bob's message")); st != 200 {
		t.Fatalf("%d %s", st, b)
	}
	bobMsg := rpc.MessageHash(g.Account(), group.NamespaceMessages, group.WithWriter(bob.Ed25519Public(), []byte("bob's message")))
	if st, b := f.groupStore(admin, group.NamespaceRevocations, revocationList(t, admin, 1, f.clock(), gone.Ed25519Public())); st != 200 {
		t.Fatalf("%d %s", st, b)
	}
	unknown := rpc.MessageHash(g.Account(), push.Namespace, []byte("never stored"))

	del := func(s rpc.Signer, hashes ...string) (int, []byte) {
		return f.send(&rpc.Delete{Hashes: hashes}, s)
	}
	deleted := func(t *testing.T, body []byte) []string {
		t.Helper()
		var r rpc.DeleteResult
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return r.Deleted
	}
	held := func(h string) bool {
		t.Helper()
		ex, err := f.db.Expiries(context.Background(), g.Account(), []string{h}, f.clock())
		if err != nil {
			t.Fatal(err)
		}
		_, ok := ex[h]
		return ok
	}
	for _, tc := range []struct {
		name   string
		signer rpc.Signer
		hashes []string
		code   rpc.Code
	}{
		{"another member's record", alice, []string{bobRec}, rpc.CodeForbidden},
		{"its own and another's", alice, []string{aliceRec, bobRec}, rpc.CodeForbidden},
		{"the admin's record", alice, []string{adminRec}, rpc.CodeForbidden},
		{"a namespace-11 message", bob, []string{bobMsg}, rpc.CodeForbidden},
		{"its own record, revoked", gone, []string{goneRec}, rpc.CodeRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b := del(tc.signer, tc.hashes...)
			if st != http.StatusForbidden || errCode(t, b) != tc.code {
				t.Fatalf("%d %s, want 403 %q", st, b, tc.code)
			}
			for _, h := range tc.hashes {
				if !held(h) {
					t.Fatalf("refused, yet %s was deleted", h)
				}
			}
		})
	}
	t.Run("its own records", func(t *testing.T) {
		st, b := del(alice, aliceRec, unknown, aliceRec2)
		if st != 200 {
			t.Fatalf("%d %s", st, b)
		}
		want := []string{aliceRec, aliceRec2}
		slices.Sort(want)
		if got := deleted(t, b); !slices.Equal(got, want) {
			t.Fatalf("deleted %v, want %v", got, want)
		}
		if held(aliceRec) || held(aliceRec2) || !held(bobRec) {
			t.Fatal("the wrong records are left")
		}
		// The hash it could not show was its own left no tombstone.
		if gone, err := f.db.Deleted(context.Background(), g.Account(), unknown); err != nil || gone {
			t.Fatalf("a tombstone for a message the member never showed: %v %v", gone, err)
		}
	})
	t.Run("the admin deletes any record", func(t *testing.T) {
		st, b := del(admin, bobRec, goneRec)
		if st != 200 || len(deleted(t, b)) != 2 {
			t.Fatalf("%d %s", st, b)
		}
	})
}
