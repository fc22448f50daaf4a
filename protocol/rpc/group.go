package rpc

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/group"
)

// Group swarms (docs/groups.md). A request whose pubkey is a group ID
// (03…) is signed by the group key (an admin) or by a member key whose
// credential it presents as subaccount (the 36-byte token, base64) and
// subaccount_sig (the group key's 64-byte signature of it, base64), the
// parameter names of Session's subaccount authentication. It never
// carries pubkey_ed25519: the group key is in the ID, the member key in
// the token. The signed strings are the same as an account's.

// CredentialSigner is a [Signer] that presents a group credential:
// *group.Member is one. [Outgoing.Sign] adds the credential of such a
// signer to the request.
type CredentialSigner interface {
	Signer
	Credential() group.Credential
}

var (
	_ Signer           = (*group.Admin)(nil)
	_ CredentialSigner = (*group.Member)(nil)
)

// isGroupPubkey reports whether a pubkey parameter names a group: it
// starts with "03" (the rest is checked by the caller's parse).
func isGroupPubkey(p *string) bool {
	return p != nil && len(*p) >= 2 && (*p)[:2] == "03"
}

// groupAuth checks the form of a group request's auth parameters. The
// group key is checked as a curve point in Verify (once, cached by the
// node), the member key when the token is parsed.
func (f authFields) groupAuth() (*Auth, error) {
	var a Auth
	if len(*f.Pubkey) != 2*identity.AccountIDSize {
		return nil, Errorf(CodeBadPubkey, "pubkey: want %d hex characters, got %d", 2*identity.AccountIDSize, len(*f.Pubkey))
	}
	if _, err := hex.Decode(a.Account[:], []byte(*f.Pubkey)); err != nil {
		return nil, Errorf(CodeBadPubkey, "pubkey: not hex")
	}
	if f.PubkeyEd25519 != nil {
		return nil, Errorf(CodeBadField, "pubkey_ed25519: not used for a group (03): the admin signs with the group key, a member presents subaccount and subaccount_sig")
	}
	if (f.Subaccount == nil) != (f.SubaccountSig == nil) {
		return nil, Errorf(CodeMissingField, "subaccount and subaccount_sig go together")
	}
	a.Ed25519 = group.ID(a.Account).Key()
	if f.Subaccount != nil {
		tok, err := decodeBase64(*f.Subaccount)
		if err != nil {
			return nil, Errorf(CodeBadBase64, "subaccount: not base64")
		}
		sig, err := decodeBase64(*f.SubaccountSig)
		if err != nil {
			return nil, Errorf(CodeBadBase64, "subaccount_sig: not base64")
		}
		if len(sig) != ed25519.SignatureSize {
			return nil, Errorf(CodeBadField, "subaccount_sig: want %d bytes, got %d", ed25519.SignatureSize, len(sig))
		}
		c, err := group.ParseCredential(append(tok, sig...))
		if err != nil {
			return nil, Errorf(CodeBadCredential, "subaccount: %v", err)
		}
		a.Credential = &c
		a.Ed25519 = c.Token.Member
	}
	if f.Signature == nil {
		return nil, Errorf(CodeMissingField, "signature is required")
	}
	var err error
	if a.Signature, err = decodeBase64(*f.Signature); err != nil {
		return nil, Errorf(CodeBadBase64, "signature: not base64")
	}
	if len(a.Signature) != ed25519.SignatureSize {
		return nil, Errorf(CodeBadField, "signature: want %d bytes, got %d", ed25519.SignatureSize, len(a.Signature))
	}
	return &a, nil
}

// verifyGroup is Verify for a group request.
func (a *Auth) verifyGroup(msg []byte, derive DeriveFunc) error {
	g := group.ID(a.Account)
	if _, err := derive(g.Key()); err != nil {
		return Errorf(CodeBadPubkey, "pubkey: not a valid group ID: %v", err)
	}
	if a.Credential != nil {
		if a.Credential.Token.Member != a.Ed25519 {
			return Errorf(CodeBadCredential, "the signing key is not the credential's")
		}
		if err := a.Credential.Verify(g); err != nil {
			return Errorf(CodeBadCredential, "subaccount_sig: the credential is not this group's (forged, or issued by another group)")
		}
	} else if a.Ed25519 != g.Key() {
		return Errorf(CodeBadSignature, "signature: a group request is signed by the group key, or by a member key with its credential")
	}
	if !ed25519.Verify(a.Ed25519.Bytes(), msg, a.Signature) {
		if a.Credential == nil {
			return Errorf(CodeBadSignature, "signature does not verify for the group key; a member presents its credential (subaccount, subaccount_sig)")
		}
		return Errorf(CodeBadSignature, "signature does not verify for the credential's member key")
	}
	return nil
}

// checkGroupNamespace refuses a namespace a group swarm does not have.
func checkGroupNamespace(ns int32) error {
	if !group.IsNamespace(ns) {
		return Errorf(CodeBadNamespace, "namespace %d: a group (03) swarm has only namespaces %v", ns, group.Namespaces)
	}
	return nil
}

// ParseStorageAccount parses the hex address of what a node stores: an
// 05 Account ID or an 03 group ID. It checks the form only (prefix, hex,
// length), as forwards between swarm members do: the client-facing path
// made the full checks.
func ParseStorageAccount(s string) (identity.AccountID, error) {
	var a identity.AccountID
	if len(s) != 2*identity.AccountIDSize {
		return identity.AccountID{}, fmt.Errorf("account: want %d hex digits", 2*identity.AccountIDSize)
	}
	if _, err := hex.Decode(a[:], []byte(s)); err != nil || (a[0] != identity.AccountPrefix && a[0] != group.IDPrefix) {
		return identity.AccountID{}, fmt.Errorf("account: not an 05 Account ID or an 03 group ID in hex")
	}
	return a, nil
}
