package group

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

func memberKey(seed []byte) identity.Ed25519PublicKey {
	return identity.Ed25519PublicKeyOf(ed25519.NewKeyFromSeed(seed))
}

func TestID(t *testing.T) {
	a, _ := vectorAdmin(t)
	g := a.Group()
	got, err := ParseID(g.String())
	if err != nil || got != g {
		t.Fatalf("ParseID(%s) = %s, %v", g, got, err)
	}
	if !IsGroup(g.Account()) || IsGroup(vecAlice.ID()) {
		t.Fatal("IsGroup")
	}
	bad := []string{
		"", g.String()[:64], "05" + g.String()[2:], "03" + "zz" + g.String()[4:],
		"03" + string(bytes.Repeat([]byte("00"), 32)),               // the identity point: small order
		"03" + "ec" + string(bytes.Repeat([]byte("ff"), 30)) + "7f", // y ≥ p: not canonical
	}
	for _, s := range bad {
		if _, err := ParseID(s); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseID(%q): %v, want ErrBadID", s, err)
		}
	}
}

func TestCredential(t *testing.T) {
	a, m := vectorAdmin(t)
	c := m.Credential()
	got, err := ParseCredential(c.Marshal())
	if err != nil || got != c {
		t.Fatalf("round trip: %v", err)
	}
	if err := c.Verify(a.Group()); err != nil {
		t.Fatal(err)
	}
	other, _ := NewAdmin(bytes.Repeat([]byte{5}, SeedSize))
	if err := c.Verify(other.Group()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another group verified the credential: %v", err)
	}
	if _, err := NewMember(a.Group(), bytes.Repeat([]byte{1}, SeedSize), c); !errors.Is(err, ErrMalformed) {
		t.Fatalf("NewMember with another key's credential: %v", err)
	}
	if _, err := NewMember(other.Group(), vecMemberSeed, c); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("NewMember with another group's credential: %v", err)
	}
	if !PermRead.Has(PermRead) || PermRead.Has(PermWrite) || !(PermRead | PermWrite).Has(PermWrite) {
		t.Fatal("Perm.Has")
	}
}

func TestRevocations(t *testing.T) {
	a, m := vectorAdmin(t)
	keys := []identity.Ed25519PublicKey{a.Ed25519Public(), m.Ed25519Public(), a.Ed25519Public()}
	r := &Revocations{Version: 4, Created: vecNow, Revoked: keys}
	b, err := r.Sign(a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseRevocations(b, a.Group())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Revoked) != 2 || !got.Contains(m.Ed25519Public()) || !got.Contains(a.Ed25519Public()) || got.Contains(memberKey(bytes.Repeat([]byte{0x55}, SeedSize))) {
		t.Fatalf("revoked %v", got.Revoked)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("parsed %+v, signed %+v", got, r)
	}
	many := make([]identity.Ed25519PublicKey, MaxRevoked+1)
	for i := range many {
		var raw [32]byte
		rand.Read(raw[:])
		many[i] = identity.Ed25519PublicKeyFromRaw32(raw)
	}
	if _, err := (&Revocations{Version: 1, Created: vecNow, Revoked: many}).Sign(a); !errors.Is(err, ErrMalformed) {
		t.Fatalf("%d keys: %v", len(many), err)
	}
	full, err := (&Revocations{Version: 1, Created: vecNow, Revoked: many[:MaxRevoked]}).Sign(a)
	if err != nil || len(full) > MaxObjectSize {
		t.Fatalf("a full list: %d bytes, %v", len(full), err)
	}
	if _, err := ParseKeyMessage(b, a.Group()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a revocation list parsed as a key message: %v", err)
	}
}

func TestConfigs(t *testing.T) {
	a, m := vectorAdmin(t)
	g := a.Group()
	key := Key{Generation: 7}
	rand.Read(key.Secret[:])
	info := &Info{Name: "Ünïcode name", Description: "", Disappear: DisappearAfterRead, Timer: 5 * time.Minute, Deleted: true}
	p, err := info.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b, err := SealConfig(a, KindInfo, 12, vecNow, key, p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(b, g)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 12 || c.Generation != 7 || c.KeyID != key.ID(g) || c.Kind != KindInfo || !c.Created.Equal(vecNow) {
		t.Fatalf("config %+v", c)
	}
	plain, err := c.Open(key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseInfo(plain)
	if err != nil || !reflect.DeepEqual(got, info) {
		t.Fatalf("info %+v, %v", got, err)
	}
	other := key
	other.Secret[0] ^= 1
	if _, err := c.Open(other); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("opened with another key: %v", err)
	}
	other.Generation = 8
	if _, err := c.Open(other); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("opened with another generation: %v", err)
	}
	// Members, with the admin section only the group seed opens.
	sec, err := SealAdminSection(a, []MemberKey{{Account: vecBob.ID(), Key: m.Ed25519Public()}, {Account: vecAlice.ID(), Key: a.Ed25519Public()}})
	if err != nil {
		t.Fatal(err)
	}
	ms := &Members{Entries: MergeEntries([]Entry{{Account: vecAlice.ID(), Role: RoleAdmin, State: StateInvited, Changed: 1}, {Account: vecBob.ID(), Role: RoleMember, State: StateLeft, Changed: 3}}), AdminSection: sec}
	mp, err := ms.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	gotm, err := ParseMembers(mp)
	if err != nil || !reflect.DeepEqual(gotm, ms) {
		t.Fatalf("members %+v, %v", gotm, err)
	}
	keys, err := OpenAdminSection(a, gotm.AdminSection)
	if err != nil || len(keys) != 2 || keys[0].Account.String() > keys[1].Account.String() {
		t.Fatalf("admin section %v, %v", keys, err)
	}
	otherAdmin, _ := NewAdmin(bytes.Repeat([]byte{3}, SeedSize))
	if _, err := OpenAdminSection(otherAdmin, sec); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("another group opened the admin section: %v", err)
	}
	// Limits.
	if _, err := (&Info{Name: string(bytes.Repeat([]byte("x"), MaxNameBytes+1))}).Marshal(); !errors.Is(err, ErrMalformed) {
		t.Fatal("long name")
	}
	if _, err := (&Info{Name: "x", Disappear: DisappearAfterSend}).Marshal(); !errors.Is(err, ErrMalformed) {
		t.Fatal("mode without a timer")
	}
	if _, err := (&Info{Name: "\xff"}).Marshal(); !errors.Is(err, ErrMalformed) {
		t.Fatal("invalid UTF-8")
	}
	var current []Entry
	for range MaxMembers + 1 {
		current = append(current, Entry{Account: identity.NewAccount().ID(), Role: RoleMember, State: StateJoined, Changed: 1})
	}
	if _, err := (&Members{Entries: MergeEntries(current)}).Marshal(); !errors.Is(err, ErrTooManyMembers) {
		t.Fatalf("%d members: %v", len(current), err)
	}
	current[0].State = StateRemoved
	big := &Members{Entries: MergeEntries(current)}
	bp, err := big.Marshal()
	if err != nil {
		t.Fatalf("100 members and a tombstone: %v", err)
	}
	if _, err := SealConfig(a, KindMembers, 1, vecNow, key, bp); err != nil {
		t.Fatalf("sealing 101 entries: %v", err)
	}
}

// randomEntries returns n entries over a few accounts.
func randomEntries(r *mrand.Rand, accts []identity.AccountID, n int) []Entry {
	out := make([]Entry, n)
	for i := range out {
		out[i] = Entry{Account: accts[r.IntN(len(accts))], Role: Role(1 + r.IntN(2)), State: State(1 + r.IntN(4)), Changed: uint64(r.IntN(5))}
	}
	return out
}

// TestMergeConverges: the member merge is commutative, associative and
// idempotent, so two admins' concurrent lists converge in any order; a
// replayed old list rolls nothing back.
func TestMergeConverges(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	accts := make([]identity.AccountID, 6)
	for i := range accts {
		accts[i] = identity.NewAccount().ID()
	}
	for range 500 {
		a, b, c := randomEntries(r, accts, 5), randomEntries(r, accts, 5), randomEntries(r, accts, 5)
		ab := MergeEntries(a, b)
		if !reflect.DeepEqual(ab, MergeEntries(b, a)) {
			t.Fatal("not commutative")
		}
		if !reflect.DeepEqual(MergeEntries(ab, c), MergeEntries(a, MergeEntries(b, c))) {
			t.Fatal("not associative")
		}
		if !reflect.DeepEqual(MergeEntries(ab, ab), ab) || !reflect.DeepEqual(MergeEntries(ab, a), ab) {
			t.Fatal("not idempotent")
		}
	}
	// Two admins, concurrently: one removes carol, the other promotes her
	// and adds dave. Every order gives one list; removal wins the tie.
	carol, dave := accts[0], accts[1]
	base := []Entry{{Account: carol, Role: RoleMember, State: StateJoined, Changed: 1}}
	removeByA := []Entry{{Account: carol, Role: RoleMember, State: StateRemoved, Changed: MaxChanged(base) + 1}}
	promoteByB := []Entry{{Account: carol, Role: RoleAdmin, State: StateJoined, Changed: MaxChanged(base) + 1}, {Account: dave, Role: RoleMember, State: StateInvited, Changed: MaxChanged(base) + 1}}
	m1 := MergeEntries(base, removeByA, promoteByB)
	m2 := MergeEntries(promoteByB, base, removeByA)
	if !reflect.DeepEqual(m1, m2) || m1[slices.IndexFunc(m1, func(e Entry) bool { return e.Account == carol })].State != StateRemoved || len(m1) != 2 {
		t.Fatalf("merged %+v and %+v", m1, m2)
	}
	// The old list replayed after the merge changes nothing.
	if !reflect.DeepEqual(MergeEntries(m1, base), m1) {
		t.Fatal("a replayed old list rolled back the merge")
	}
}

// TestInfoNewer: the newer info wins in any order; a replayed old one
// never does.
func TestInfoNewer(t *testing.T) {
	a, _ := vectorAdmin(t)
	key := Key{Generation: 1}
	mk := func(version uint64, name string) *Config {
		p, _ := (&Info{Name: name}).Marshal()
		b, err := SealConfig(a, KindInfo, version, vecNow, key, p)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseConfig(b, a.Group())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	old, cur := mk(1, "old"), mk(2, "new")
	if !cur.Newer(old) || old.Newer(cur) {
		t.Fatal("version order")
	}
	x, y := mk(3, "x"), mk(3, "y")
	if x.Newer(y) == y.Newer(x) {
		t.Fatal("a tie is not broken one way")
	}
}

// TestKeyMessagesSplit: a rotation for 100 members of two devices each
// (v2 items of their real size) is split into key messages under the store
// limit that parse back to every item, in order.
func TestKeyMessagesSplit(t *testing.T) {
	a, _ := vectorAdmin(t)
	g := a.Group()
	const perMember = 165 + 1184*2 + GrantSize // sealv2 size for two devices
	items := make([][]byte, MaxMembers)
	for i := range items {
		items[i] = make([]byte, perMember)
		rand.Read(items[i])
	}
	msgs, err := SplitKeyMessages(vecKey.Generation, vecKey.ID(g), vecNow, items)
	if err != nil {
		t.Fatal(err)
	}
	var back [][]byte
	for _, m := range msgs {
		b, err := m.Sign(a)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > MaxObjectSize {
			t.Fatalf("key message of %d bytes", len(b))
		}
		got, err := ParseKeyMessage(b, g)
		if err != nil {
			t.Fatal(err)
		}
		if got.Generation != vecKey.Generation || got.KeyID != vecKey.ID(g) {
			t.Fatalf("key message %+v", got)
		}
		back = append(back, got.Sealed...)
	}
	if !reflect.DeepEqual(back, items) {
		t.Fatal("items changed")
	}
	t.Logf("100 members × 2 devices: %d key messages", len(msgs))
	if len(msgs) != 4 {
		t.Fatalf("%d key messages, want 4", len(msgs))
	}
	if _, err := SplitKeyMessages(1, KeyID{}, vecNow, [][]byte{make([]byte, MaxObjectSize)}); !errors.Is(err, ErrMalformed) {
		t.Fatal("an item too big for any key message")
	}
}

func TestGrant(t *testing.T) {
	a, _ := vectorAdmin(t)
	gr := Grant{Group: a.Group(), Key: vecKey, Created: vecNow}
	got, err := ParseGrant(gr.Marshal())
	if err != nil || !reflect.DeepEqual(got, gr) {
		t.Fatalf("grant %+v, %v", got, err)
	}
}

func TestMessage(t *testing.T) {
	a, _ := vectorAdmin(t)
	g := a.Group()
	for _, n := range []int{0, 1, 211, 212, 213, 5000} {
		content := bytes.Repeat([]byte{'m'}, n)
		b, err := SealMessage(g, vecKey, vecBob, vecNow, content)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < MessageOverhead+n || (len(b)-messageHeader-ed25519.SignatureSize-16)%padBlock != 0 {
			t.Fatalf("%d-byte content: %d-byte message is not padded", n, len(b))
		}
		gen, id, err := PeekKey(b)
		if err != nil || gen != vecKey.Generation || id != vecKey.ID(g) {
			t.Fatalf("PeekKey: %d %x %v", gen, id, err)
		}
		m, err := OpenMessage(g, vecKey, b)
		if err != nil {
			t.Fatal(err)
		}
		if m.Sender != vecBob.ID() || !m.Time.Equal(vecNow) || !bytes.Equal(m.Content, content) {
			t.Fatalf("message %+v", m)
		}
		other, _ := NewAdmin(bytes.Repeat([]byte{4}, SeedSize))
		if _, err := OpenMessage(other.Group(), vecKey, b); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("opened as another group's: %v", err)
		}
	}
	if _, err := SealMessage(g, vecKey, vecBob, vecNow, make([]byte, MaxObjectSize)); !errors.Is(err, ErrMalformed) {
		t.Fatal("oversized content sealed")
	}
}

func TestInvite(t *testing.T) {
	a, m := vectorAdmin(t)
	v := &Invite{Group: a.Group(), MemberSeed: [SeedSize]byte(vecMemberSeed), Credential: m.Credential(), Name: "Hikers", GroupSeed: a.Seed()}
	b, err := v.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseInvite(b)
	if err != nil || !reflect.DeepEqual(got, v) {
		t.Fatalf("invite %+v, %v", got, err)
	}
}

func TestNewInvite(t *testing.T) {
	a, _ := vectorAdmin(t)
	for _, asAdmin := range []bool{false, true} {
		v, err := a.NewInvite("Hikers", PermRead|PermWrite, asAdmin)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := v.Marshal()
		got, err := ParseInvite(b)
		if err != nil {
			t.Fatal(err)
		}
		m, err := got.Member()
		if err != nil || m.Credential() != v.Credential || (got.GroupSeed != nil) != asAdmin {
			t.Fatalf("invite %+v: %v", got, err)
		}
	}
	if k1, k2 := NewKey(1), NewKey(1); k1 == k2 {
		t.Fatal("NewKey drew the same key twice")
	}
}
