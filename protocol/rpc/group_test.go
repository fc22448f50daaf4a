package rpc

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/group"
)

func testGroup(t testing.TB) (*group.Admin, *group.Member) {
	t.Helper()
	admin, err := group.NewAdmin(bytes.Repeat([]byte{7}, group.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	seed := bytes.Repeat([]byte{9}, group.SeedSize)
	tok := group.Token{Perms: group.PermRead | group.PermWrite, Member: identity.Ed25519PublicKeyOf(ed25519.NewKeyFromSeed(seed))}
	m, err := group.NewMember(admin.Group(), seed, admin.Issue(tok))
	if err != nil {
		t.Fatal(err)
	}
	return admin, m
}

// TestGroupRoundTrip: requests to a group swarm, signed by the admin or
// by a member with its credential, parse back to what was built and
// verify as a node verifies them.
func TestGroupRoundTrip(t *testing.T) {
	admin, member := testGroup(t)
	g := admin.Group()
	h := MessageHash(g.Account(), group.NamespaceMessages, []byte("x"))
	ns := group.NamespaceMessages
	for _, s := range []Signer{admin, member} {
		tests := []struct {
			name string
			req  Outgoing
		}{
			{"store", &Store{Namespace: group.NamespaceMessages, TTL: time.Hour, Timestamp: testNow, Data: []byte("x")}},
			{"retrieve", &Retrieve{Namespace: group.NamespaceInfo, MaxCount: 5, MaxSize: 100}},
			{"retrieve revoked-retrievable", &Retrieve{Namespace: group.NamespaceRevokedRetrievable, MaxCount: 5, MaxSize: 100}},
			{"delete", &Delete{Hashes: []string{h}}},
			{"delete_all", &DeleteAll{Namespace: &ns}},
			{"expire", &Expire{Hashes: []string{h}, Expiry: testNow.Add(time.Hour), Mode: ExpireExtend}},
			{"get_expiries", &GetExpiries{Hashes: []string{h}}},
			{"sequence", &Batch{Sequence: true, Requests: []Outgoing{&Store{Namespace: group.NamespaceKeys, TTL: time.Hour, Timestamp: testNow, Data: []byte("k")}, &DeleteAll{}}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.req.Stamp(testNow)
				tt.req.Sign("devnet", s)
				var p map[string]any
				json.Unmarshal(tt.req.Params(), &p)
				if _, ok := p["pubkey_ed25519"]; ok {
					t.Fatalf("a group request carries pubkey_ed25519: %s", tt.req.Params())
				}
				if _, isMember := s.(*group.Member); isMember != (p["subaccount"] != nil && p["subaccount_sig"] != nil) && tt.name != "sequence" {
					t.Fatalf("credential sent %v for a member %v: %s", p["subaccount"] != nil, isMember, tt.req.Params())
				}
				if got := parseOutgoing(t, tt.req); !reflect.DeepEqual(got, tt.req) {
					t.Fatalf("parsed %+v\nbuilt %+v", got, tt.req)
				}
				checkSigned(t, tt.req, "devnet")
			})
		}
	}
}

// TestGroupAuthRefusals: the parse and Verify refusals of group
// requests, each with its code.
func TestGroupAuthRefusals(t *testing.T) {
	admin, member := testGroup(t)
	other, _ := group.NewAdmin(bytes.Repeat([]byte{8}, group.SeedSize))
	stranger := identity.NewAccount()
	signed := func(s Signer, edit func(map[string]any)) json.RawMessage {
		r := &Retrieve{Namespace: group.NamespaceMessages}
		r.Stamp(testNow)
		r.Sign("devnet", s)
		var p map[string]any
		json.Unmarshal(r.Params(), &p)
		if edit != nil {
			edit(p)
		}
		b, _ := json.Marshal(p)
		return b
	}
	otherCred := other.Issue(member.Credential().Token).Marshal()
	tests := []struct {
		name   string
		params json.RawMessage
		code   Code // "" verifies
	}{
		{"admin", signed(admin, nil), ""},
		{"member", signed(member, nil), ""},
		{"pubkey_ed25519 given", signed(admin, func(p map[string]any) { p["pubkey_ed25519"] = admin.Ed25519Public().String() }), CodeBadField},
		{"subaccount without its signature", signed(member, func(p map[string]any) { delete(p, "subaccount_sig") }), CodeMissingField},
		{"subaccount not base64", signed(member, func(p map[string]any) { p["subaccount"] = "*" }), CodeBadBase64},
		{"short subaccount_sig", signed(member, func(p map[string]any) { p["subaccount_sig"] = "AAAA" }), CodeBadField},
		{"token with unknown permission bits", signed(member, func(p map[string]any) {
			tok := member.Credential().Token.Marshal()
			tok[1] |= 0x80
			p["subaccount"] = b64(tok)
		}), CodeBadCredential},
		{"another group's signature", signed(member, func(p map[string]any) { p["subaccount_sig"] = b64(otherCred[group.TokenSize:]) }), CodeBadCredential},
		{"widened permissions", signed(member, func(p map[string]any) {
			tok := member.Credential().Token.Marshal()
			tok[1] |= byte(group.PermDelete)
			p["subaccount"] = b64(tok)
		}), CodeBadCredential},
		{"a stranger's signature", signed(stranger, func(p map[string]any) { p["pubkey"] = admin.Group().String() }), CodeBadField},
		{"the member signs without its credential", signed(member, func(p map[string]any) { delete(p, "subaccount"); delete(p, "subaccount_sig") }), CodeBadSignature},
		{"a credential on an account's request", signed(stranger, func(p map[string]any) { p["subaccount"] = b64(member.Credential().Token.Marshal()) }), CodeBadField},
		{"a group ID that is no key", signed(admin, func(p map[string]any) { p["pubkey"] = "03" + string(bytes.Repeat([]byte("ff"), 32)) }), CodeBadPubkey},
		{"namespace 0", signed(admin, func(p map[string]any) { p["namespace"] = 0 }), CodeBadNamespace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRetrieve(tt.params)
			if err == nil {
				err = r.Auth.Verify(r.SigMessage("devnet"), nil)
			}
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *Error
			if err == nil || !asError(err, &e) || e.Code != tt.code {
				t.Fatalf("err %v, want %s", err, tt.code)
			}
		})
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func asError(err error, e **Error) bool {
	x, ok := err.(*Error)
	*e = x
	return ok
}

// TestGroupObjectFitsAStore: protocol/group's object limit is the node's
// store limit.
func TestGroupObjectFitsAStore(t *testing.T) {
	if group.MaxObjectSize != MaxDataSize {
		t.Fatalf("group.MaxObjectSize %d, rpc.MaxDataSize %d", group.MaxObjectSize, MaxDataSize)
	}
}

// BenchmarkVerify compares what a node spends authenticating a request of
// an account, a group's admin and a group member (two signatures).
func BenchmarkVerify(b *testing.B) {
	admin, member := testGroup(b)
	for _, tt := range []struct {
		name string
		s    Signer
	}{{"account", testAcct}, {"group admin", admin}, {"group member", member}} {
		b.Run(tt.name, func(b *testing.B) {
			r := &Retrieve{Namespace: group.NamespaceMessages}
			r.Stamp(testNow)
			r.Sign("devnet", tt.s)
			p, err := ParseRetrieve(r.Params())
			if err != nil {
				b.Fatal(err)
			}
			// The node caches key conversions (nodeapi keyCache).
			cache := map[identity.Ed25519PublicKey]identity.AccountID{}
			derive := func(k identity.Ed25519PublicKey) (identity.AccountID, error) {
				if id, ok := cache[k]; ok {
					return id, nil
				}
				id, err := k.AccountID()
				cache[k] = id
				return id, err
			}
			msg := p.SigMessage("devnet")
			for b.Loop() {
				if err := p.Auth.Verify(msg, derive); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
