package group

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"github.com/hushnet/hush/identity"
)

// SeedSize is the size of a group's or a member key's private seed.
const SeedSize = ed25519.SeedSize

// Admin holds a group's private key: it signs the group's objects, issues
// credentials, and signs requests to the group swarm (it is a
// protocol/rpc Signer whose ID is the group's). Whoever holds the seed is
// an admin for ever.
type Admin struct {
	priv ed25519.PrivateKey
	id   ID
}

// NewAdmin returns the admin of the group whose key has this 32-byte seed.
// A new group's seed comes from crypto/rand; the caller draws it.
func NewAdmin(seed []byte) (*Admin, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("%w: group seed: want %d bytes, got %d", ErrMalformed, SeedSize, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &Admin{priv: priv, id: IDOf(identity.Ed25519PublicKeyOf(priv))}, nil
}

// Seed returns a copy of the group's private seed (for a promotion).
func (a *Admin) Seed() []byte { return append([]byte(nil), a.priv.Seed()...) }

// Group returns the group's ID.
func (a *Admin) Group() ID { return a.id }

// ID returns the group's storage address (protocol/rpc Signer).
func (a *Admin) ID() identity.AccountID { return a.id.Account() }

// Ed25519Public returns the group's public key (protocol/rpc Signer).
func (a *Admin) Ed25519Public() identity.Ed25519PublicKey { return a.id.Key() }

// Sign signs msg with the group key (protocol/rpc Signer).
func (a *Admin) Sign(msg []byte) []byte { return ed25519.Sign(a.priv, msg) }

// Issue signs a credential for t.
func (a *Admin) Issue(t Token) Credential {
	c := Credential{Token: t}
	copy(c.Sig[:], a.Sign(credentialMessage(a.id, t)))
	return c
}

// adminKey is the key of the member config's admin section: only the
// group seed's holders derive it.
func (a *Admin) adminKey() []byte {
	k, err := hkdf.Key(sha256.New, a.priv.Seed(), nil, "hush/1 group admin"+string(a.id[:]), 32)
	if err != nil {
		panic("group: hkdf: " + err.Error()) // 32 bytes of SHA-256: cannot fail
	}
	return k
}

// Member signs requests to a group swarm with a member key and presents
// its credential: a protocol/rpc Signer whose ID is the group's.
type Member struct {
	group ID
	priv  ed25519.PrivateKey
	cred  Credential
}

// NewMember checks that cred is g's and names seed's public key.
func NewMember(g ID, seed []byte, cred Credential) (*Member, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("%w: member seed: want %d bytes, got %d", ErrMalformed, SeedSize, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if identity.Ed25519PublicKeyOf(priv) != cred.Token.Member {
		return nil, fmt.Errorf("%w: the credential names another member key", ErrMalformed)
	}
	if err := cred.Verify(g); err != nil {
		return nil, err
	}
	return &Member{group: g, priv: priv, cred: cred}, nil
}

// Group returns the group's ID.
func (m *Member) Group() ID { return m.group }

// ID returns the group's storage address (protocol/rpc Signer).
func (m *Member) ID() identity.AccountID { return m.group.Account() }

// Ed25519Public returns the member key (protocol/rpc Signer).
func (m *Member) Ed25519Public() identity.Ed25519PublicKey { return m.cred.Token.Member }

// Sign signs msg with the member key (protocol/rpc Signer).
func (m *Member) Sign(msg []byte) []byte { return ed25519.Sign(m.priv, msg) }

// Credential returns the credential the member presents.
func (m *Member) Credential() Credential { return m.cred }

// NewKey draws a new group key of generation gen from crypto/rand.
func NewKey(gen uint64) Key {
	k := Key{Generation: gen}
	rand.Read(k.Secret[:])
	return k
}

// NewInvite draws a fresh member key for an invitee, issues its credential
// with perms, and returns the invitation to seal to the invitee (with the
// group seed when asAdmin). The caller keeps Credential().Token.Member
// in the admin section, to revoke it later.
func (a *Admin) NewInvite(name string, perms Perm, asAdmin bool) (*Invite, error) {
	v := &Invite{Group: a.id, Name: name}
	rand.Read(v.MemberSeed[:])
	v.Credential = a.Issue(Token{Perms: perms, Member: identity.Ed25519PublicKeyOf(ed25519.NewKeyFromSeed(v.MemberSeed[:]))})
	if asAdmin {
		v.GroupSeed = a.Seed()
	}
	if _, err := v.Marshal(); err != nil {
		return nil, err
	}
	return v, nil
}

// Member returns the signer of an invitation's member key.
func (v *Invite) Member() (*Member, error) { return NewMember(v.Group, v.MemberSeed[:], v.Credential) }
