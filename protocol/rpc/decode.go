package rpc

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/strictjson"
)

// Request is the body of POST /storage_rpc/v1 and one sub-request of a
// batch or sequence.
type Request struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

// Method names.
const (
	MethodStore        = "store"
	MethodRetrieve     = "retrieve"
	MethodDelete       = "delete"
	MethodDeleteAll    = "delete_all"
	MethodDeleteBefore = "delete_before"
	MethodExpire       = "expire"
	MethodExpireAll    = "expire_all"
	MethodGetExpiries  = "get_expiries"
	MethodGetSwarm     = "get_swarm"
	MethodInfo         = "info"
	MethodBatch        = "batch"
	MethodSequence     = "sequence"
)

// Methods lists every method name, for metrics labels and documentation.
var Methods = []string{
	MethodStore, MethodRetrieve, MethodDelete, MethodDeleteAll, MethodDeleteBefore,
	MethodExpire, MethodExpireAll, MethodGetExpiries, MethodGetSwarm, MethodInfo,
	MethodBatch, MethodSequence,
}

// IsPublicNamespace reports whether ns is public by Session's rule,
// divisible by 10: a deposit there needs no signature and lives at most
// [MaxTTLPublic]. Only the public namespaces in [DepositNamespaces] take
// deposits at all.
func IsPublicNamespace(ns int32) bool { return ns%10 == 0 }

// DepositNamespaces are the public namespaces with a defined use, and what
// each holds. A store into any other public namespace is refused
// ([CodeBadNamespace]), signed or not: a node gives every public namespace
// an account uses a storage quota of its own (so that strangers' deposits
// never use up the owner's room), and an open set of namespaces would let
// a flood claim thousands of quotas. A feature that needs one (a group's
// public inbox, say) adds a row here and to the namespace list in
// DESIGN.md §4.
var DepositNamespaces = map[int32]string{
	0: "direct messages",
}

// TakesDeposits reports whether a store into ns may be accepted: any
// owner-only namespace (the owner signs), and the public ones in
// [DepositNamespaces].
func TakesDeposits(ns int32) bool {
	if !IsPublicNamespace(ns) {
		return true
	}
	_, ok := DepositNamespaces[ns]
	return ok
}

// DecodeRequest parses a request body strictly: one JSON object with a
// string "method" and an optional "params", nothing else.
func DecodeRequest(body []byte) (Request, error) {
	var raw struct {
		Method *string         `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if err := decodeStrict(body, &raw, "request"); err != nil {
		return Request{}, err
	}
	if raw.Method == nil {
		return Request{}, Errorf(CodeMissingField, "method is required")
	}
	return Request{Method: *raw.Method, Params: raw.Params}, nil
}

// decodeStrict decodes one JSON object into v with [strictjson.Decode]
// (no unknown, duplicate or case-folded keys, no trailing data) and turns
// its errors into coded errors that name the wire key.
func decodeStrict(b []byte, v any, what string) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return Errorf(CodeMissingField, "%s is required", what)
	}
	if b[0] != '{' {
		return Errorf(CodeBadJSON, "%s must be a JSON object", what)
	}
	return jsonError(strictjson.Decode(b, v), what)
}

func jsonError(err error, what string) error {
	var e *strictjson.Error
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &e):
		return Errorf(CodeBadJSON, "%s: malformed JSON", what)
	case errors.Is(err, strictjson.ErrType):
		return Errorf(CodeBadField, "%s: field %q must be %s", what, e.Path, e.Want)
	case errors.Is(err, strictjson.ErrUnknownKey):
		return Errorf(CodeBadField, "%s: unknown field %q", what, e.Path)
	case errors.Is(err, strictjson.ErrDuplicateKey):
		return Errorf(CodeBadJSON, "%s: duplicate key %q", what, e.Path)
	case errors.Is(err, strictjson.ErrNotObject):
		if e.Path == "" {
			return Errorf(CodeBadJSON, "%s must be a JSON object", what)
		}
		return Errorf(CodeBadField, "%s: field %q must be a JSON object", what, e.Path)
	case errors.Is(err, strictjson.ErrTrailing):
		return Errorf(CodeBadJSON, "%s: trailing data after the JSON object", what)
	case errors.Is(err, strictjson.ErrValue):
		return Errorf(CodeBadField, "%s: %v", what, err)
	case errors.Is(err, strictjson.ErrTooDeep):
		return Errorf(CodeBadJSON, "%s: nested too deeply", what)
	}
	return Errorf(CodeBadJSON, "%s: malformed JSON", what)
}

// Auth is the identity and signature of a signed request, as sent: the
// parsers check only their form. [Auth.Verify] checks that the keys belong
// together and that the signature is valid; a request is authenticated
// only after it returns nil.
//
// For a group (pubkey 03…, docs/groups.md §3.3) Account holds the group ID
// and Ed25519 the key that signed: the group key (from the ID) for an
// admin, the member key of Credential for a member.
type Auth struct {
	Account   identity.AccountID        // from pubkey: 05 and 32 bytes, or a group's 03 and 32 bytes
	Ed25519   identity.Ed25519PublicKey // from pubkey_ed25519: 32 bytes
	Signature []byte                    // 64 bytes
	// Credential is set for a group member's request (subaccount,
	// subaccount_sig), nil otherwise.
	Credential *group.Credential
}

// IsGroup reports whether the request acts on a group swarm.
func (a *Auth) IsGroup() bool { return group.IsGroup(a.Account) }

// IsGroupAdmin reports whether the request acts on a group swarm as its
// admin (signed by the group key, no credential).
func (a *Auth) IsGroupAdmin() bool { return a.IsGroup() && a.Credential == nil }

// DeriveFunc converts an Ed25519 key to the Account ID it controls. nil
// means [identity.Ed25519PublicKey.AccountID]; a node may pass a cached
// version, since that conversion costs more than the signature check.
type DeriveFunc func(identity.Ed25519PublicKey) (identity.AccountID, error)

// Verify authenticates a request: pubkey_ed25519 must convert to the 05
// Account ID in pubkey (an X25519 key cannot verify a signature, so the
// client names the Ed25519 key it derives from), and the signature must be
// valid for msg. It returns a *Error with CodeBadPubkey, CodeKeyMismatch or
// CodeBadSignature.
//
// For a group it checks the group key (through derive, which proves it a
// valid key), then a member's credential under the group key
// (CodeBadCredential), then the signature under the signing key. Whether
// the credential is revoked, and whether it allows the request, is the
// node's to check afterwards.
func (a *Auth) Verify(msg []byte, derive DeriveFunc) error {
	if derive == nil {
		derive = identity.Ed25519PublicKey.AccountID
	}
	if a.IsGroup() {
		return a.verifyGroup(msg, derive)
	}
	derived, err := derive(a.Ed25519)
	if err != nil {
		return Errorf(CodeBadPubkey, "pubkey_ed25519: %v", err)
	}
	// The derived ID passed identity's checks (a prime-order point), so an
	// equal pubkey needs no X25519 checks of its own.
	if !derived.Equal(a.Account) {
		return Errorf(CodeKeyMismatch, "pubkey_ed25519 does not belong to pubkey")
	}
	if !ed25519.Verify(a.Ed25519.Bytes(), msg, a.Signature) {
		return Errorf(CodeBadSignature, "signature does not verify for pubkey_ed25519")
	}
	return nil
}

// authFields are the parameters every signed request carries.
type authFields struct {
	Pubkey        *string `json:"pubkey"`
	PubkeyEd25519 *string `json:"pubkey_ed25519"`
	Signature     *string `json:"signature"`
	// A group member's credential (docs/groups.md §3.3).
	Subaccount    *string `json:"subaccount"`
	SubaccountSig *string `json:"subaccount_sig"`
}

func parseAccount(p *string) (identity.AccountID, error) {
	if p == nil {
		return identity.AccountID{}, Errorf(CodeMissingField, "pubkey is required")
	}
	if isGroupPubkey(p) {
		return identity.AccountID{}, Errorf(CodeMissingField, "signature is required: a group (03) swarm answers only its admin and members")
	}
	id, err := identity.ParseAccountID(*p)
	if err != nil {
		return id, Errorf(CodeBadPubkey, "pubkey: %v", err)
	}
	return id, nil
}

// auth checks the form of a signed request's keys and signature; the
// curve checks happen in [Auth.Verify], once, on the derived key.
func (f authFields) auth() (*Auth, error) {
	if f.Pubkey == nil {
		return nil, Errorf(CodeMissingField, "pubkey is required")
	}
	if isGroupPubkey(f.Pubkey) {
		return f.groupAuth()
	}
	if f.Subaccount != nil || f.SubaccountSig != nil {
		return nil, Errorf(CodeBadField, "subaccount: only a request to a group (03) swarm carries a credential")
	}
	var a Auth
	if len(*f.Pubkey) != 2*identity.AccountIDSize {
		return nil, Errorf(CodeBadPubkey, "pubkey: want %d hex characters, got %d", 2*identity.AccountIDSize, len(*f.Pubkey))
	}
	if _, err := hex.Decode(a.Account[:], []byte(*f.Pubkey)); err != nil {
		return nil, Errorf(CodeBadPubkey, "pubkey: not hex")
	}
	if a.Account[0] != identity.AccountPrefix {
		return nil, Errorf(CodeBadPubkey, "pubkey: must start with 05")
	}
	if f.PubkeyEd25519 == nil {
		return nil, Errorf(CodeMissingField, "pubkey_ed25519 is required for a signed request")
	}
	ed, err := hex.DecodeString(*f.PubkeyEd25519)
	if err == nil {
		a.Ed25519, err = identity.Ed25519PublicKeyFromBytes(ed)
	}
	if err != nil {
		return nil, Errorf(CodeBadPubkey, "pubkey_ed25519: want %d hex characters", 2*identity.Ed25519PublicKeySize)
	}
	if f.Signature == nil {
		return nil, Errorf(CodeMissingField, "signature is required")
	}
	if a.Signature, err = decodeBase64(*f.Signature); err != nil {
		return nil, Errorf(CodeBadBase64, "signature: not base64")
	}
	if len(a.Signature) != ed25519.SignatureSize {
		return nil, Errorf(CodeBadField, "signature: want %d bytes, got %d", ed25519.SignatureSize, len(a.Signature))
	}
	return &a, nil
}

// decodeBase64 accepts standard base64 with or without padding, as Session
// clients send both.
func decodeBase64(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.Strict().DecodeString(s)
	}
	return base64.RawStdEncoding.Strict().DecodeString(s)
}

func parseMs(name string, v *int64) (time.Time, error) {
	if v == nil {
		return time.Time{}, Errorf(CodeMissingField, "%s is required", name)
	}
	if *v <= 0 || *v > maxTimestampMs {
		return time.Time{}, Errorf(CodeBadField, "%s: %d is not a time in ms since the Unix epoch", name, *v)
	}
	return time.UnixMilli(*v), nil
}

// parseNamespace checks Session's namespace range (a signed 16-bit integer).
func parseNamespace(v *int32) (int32, error) {
	if v == nil {
		return 0, nil
	}
	if *v < math.MinInt16 || *v > math.MaxInt16 {
		return 0, Errorf(CodeBadField, "namespace: %d is out of range %d…%d", *v, math.MinInt16, math.MaxInt16)
	}
	return *v, nil
}

// parseNamespaceVar parses a namespace that may also be "all" (nil
// result). Omitted means namespace 0, as in Session.
func parseNamespaceVar(raw json.RawMessage) (*int32, error) {
	if len(raw) == 0 || string(raw) == "null" {
		ns := int32(0)
		return &ns, nil
	}
	if string(raw) == `"all"` {
		return nil, nil
	}
	var n int32
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, Errorf(CodeBadField, `namespace: must be an integer or "all"`)
	}
	ns, err := parseNamespace(&n)
	return &ns, err
}

func parseHashes(v *[]string) ([]string, error) {
	if v == nil {
		return nil, Errorf(CodeMissingField, "messages is required")
	}
	hs := *v
	if len(hs) == 0 {
		return nil, Errorf(CodeBadField, "messages: at least one hash is required")
	}
	if len(hs) > MaxHashes {
		return nil, Errorf(CodeTooLarge, "messages: at most %d hashes", MaxHashes)
	}
	for i, h := range hs {
		if !ValidHash(h) {
			return nil, Errorf(CodeBadField, "messages[%d]: not a message hash", i)
		}
	}
	return hs, nil
}

// CheckSigTime checks a signed timestamp against the node's clock and
// reports clock skew explicitly, with both times, so a client can correct
// its clock instead of suspecting its key.
func CheckSigTime(name string, ts, now time.Time) error {
	d := ts.Sub(now)
	if d > SigTolerance || d < -SigTolerance {
		dir := "ahead of"
		if d < 0 {
			dir, d = "behind", -d
		}
		return Errorf(CodeClockSkew, "%s is %s %s node time %d (tolerance %s); check your clock",
			name, d.Round(time.Millisecond), dir, now.UnixMilli(), SigTolerance)
	}
	return nil
}
