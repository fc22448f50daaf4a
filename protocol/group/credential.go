package group

import (
	"crypto/ed25519"
	"fmt"

	"github.com/hushnet/hush/identity"
)

// Perm is a credential's permission bits (Session's subaccount flags).
type Perm uint8

// Permissions. Every other bit of a token's permission byte is zero.
const (
	PermRead   Perm = 0x01 // retrieve, get_expiries
	PermWrite  Perm = 0x02 // store into the message namespace
	PermDelete Perm = 0x04 // delete messages of the message namespace

	permAll = PermRead | PermWrite | PermDelete
)

// Has reports whether p includes every bit of q.
func (p Perm) Has(q Perm) bool { return p&q == q }

// TokenSize and CredentialSize are the encoded sizes.
const (
	TokenSize      = 36
	CredentialSize = TokenSize + ed25519.SignatureSize
)

// Labels of the group key's signatures; nothing else hush signs starts
// with them.
const (
	credentialLabel = "hush/1 group credential"
	objectLabel     = "hush/1 group object"
	messageLabel    = "hush/1 group message"
)

// Token names a member key and what it may do: 0x03 ‖ perms ‖ 0x00 0x00 ‖
// member Ed25519 key (Session's 36-byte subaccount token).
type Token struct {
	Perms  Perm
	Member identity.Ed25519PublicKey
}

// Marshal returns the 36 bytes.
func (t Token) Marshal() []byte {
	b := make([]byte, TokenSize)
	b[0] = IDPrefix
	b[1] = byte(t.Perms)
	raw := t.Member.Raw32()
	copy(b[4:], raw[:])
	return b
}

// ParseToken parses 36 bytes. It checks the form and that the member key
// is a valid Ed25519 key (canonical, prime order), so a key with a torsion
// part cannot stand for another.
func ParseToken(b []byte) (Token, error) {
	if len(b) != TokenSize {
		return Token{}, fmt.Errorf("%w: token: want %d bytes, got %d", ErrMalformed, TokenSize, len(b))
	}
	if b[0] != IDPrefix {
		return Token{}, fmt.Errorf("%w: token: must start with 03", ErrMalformed)
	}
	p := Perm(b[1])
	if p&^permAll != 0 || p == 0 {
		return Token{}, fmt.Errorf("%w: token: permissions %#02x", ErrMalformed, b[1])
	}
	if b[2] != 0 || b[3] != 0 {
		return Token{}, fmt.Errorf("%w: token: reserved bytes not zero", ErrMalformed)
	}
	k, _ := identity.Ed25519PublicKeyFromBytes(b[4:])
	if err := checkKey(k); err != nil {
		return Token{}, fmt.Errorf("%w: token: member key: %v", ErrMalformed, err)
	}
	return Token{Perms: p, Member: k}, nil
}

// Credential is a token with the group key's signature: what a member
// presents to the nodes (params subaccount and subaccount_sig).
type Credential struct {
	Token Token
	Sig   [ed25519.SignatureSize]byte
}

// Marshal returns token ‖ signature (100 bytes).
func (c Credential) Marshal() []byte { return append(c.Token.Marshal(), c.Sig[:]...) }

// ParseCredential parses 100 bytes. It does not verify the signature.
func ParseCredential(b []byte) (Credential, error) {
	if len(b) != CredentialSize {
		return Credential{}, fmt.Errorf("%w: credential: want %d bytes, got %d", ErrMalformed, CredentialSize, len(b))
	}
	t, err := ParseToken(b[:TokenSize])
	if err != nil {
		return Credential{}, err
	}
	c := Credential{Token: t}
	copy(c.Sig[:], b[TokenSize:])
	return c, nil
}

// credentialMessage is what the group key signs for a token.
func credentialMessage(g ID, t Token) []byte {
	m := make([]byte, 0, len(credentialLabel)+IDSize+TokenSize)
	m = append(m, credentialLabel...)
	m = append(m, g[:]...)
	return append(m, t.Marshal()...)
}

// Verify checks that g's key signed c: a credential issued by another
// group, or altered, fails with ErrBadSignature.
func (c Credential) Verify(g ID) error {
	if !g.verify(credentialMessage(g, c.Token), c.Sig[:]) {
		return fmt.Errorf("%w: credential is not the group's", ErrBadSignature)
	}
	return nil
}
