package rpc

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hushnet/hush/identity"
)

// Building requests. The checked types the Parse functions return are also
// what a client builds: it fills in the fields, calls [Outgoing.Stamp] with
// its (network-corrected) time and [Outgoing.Sign] with its account, and
// sends [Outgoing.Params]. ParseX(r.Params()) gives r back (the round-trip
// tests and fuzz targets hold every type to that), so what a client sends
// and what a node reads are described once.
//
// Params writes the keys in sorted order, the order the client sent before
// requests were typed, so the bytes on the wire did not change either.

// Signer is an account that signs requests; *identity.Account is one.
type Signer interface {
	ID() identity.AccountID
	Ed25519Public() identity.Ed25519PublicKey
	Sign(msg []byte) []byte
}

var _ Signer = (*identity.Account)(nil)

// Outgoing is a request as a client sends it.
type Outgoing interface {
	// Method is the request's method name.
	Method() string
	// Params is the request's params object as sent.
	Params() json.RawMessage
	// Stamp sets the request time the signature covers: sig_timestamp
	// for store (its deposit timestamp is a field of its own), timestamp
	// for the other signed methods. This package reads no clock: the
	// caller passes its time in.
	Stamp(t time.Time)
	// Sign makes the request act for s on network networkID: its
	// account becomes s's and, where the method is signed, it carries
	// s's signature over the method's string (SigMessage). Sign after
	// Stamp and after the last change to a signed field. Requests that
	// act for no account (info, get_swarm) are left as they are.
	Sign(networkID string, s Signer)
}

var (
	_ Outgoing = (*Store)(nil)
	_ Outgoing = (*Retrieve)(nil)
	_ Outgoing = (*Delete)(nil)
	_ Outgoing = (*DeleteAll)(nil)
	_ Outgoing = (*DeleteBefore)(nil)
	_ Outgoing = (*Expire)(nil)
	_ Outgoing = (*ExpireAll)(nil)
	_ Outgoing = (*GetExpiries)(nil)
	_ Outgoing = (*GetSwarm)(nil)
	_ Outgoing = Info{}
	_ Outgoing = (*Batch)(nil)
)

// signWith returns the Auth of s's signature over msg.
func signWith(s Signer, msg []byte) *Auth {
	a := &Auth{Account: s.ID(), Ed25519: s.Ed25519Public(), Signature: s.Sign(msg)}
	if cs, ok := s.(CredentialSigner); ok {
		c := cs.Credential()
		a.Credential = &c
	}
	return a
}

// signedWire is how an Auth and the request time appear in params:
// pubkey always, the key and signature only when signed. Its keys sort
// after those of most methods, so they embed it last.
//
// A group's requests carry no pubkey_ed25519 and, from a member,
// subaccount and subaccount_sig (docs/groups.md §3.3).
type signedWire struct {
	Pubkey        string `json:"pubkey"`
	PubkeyEd25519 string `json:"pubkey_ed25519,omitempty"`
	Signature     string `json:"signature,omitempty"`
	Subaccount    string `json:"subaccount,omitempty"`
	SubaccountSig string `json:"subaccount_sig,omitempty"`
	Timestamp     *int64 `json:"timestamp,omitempty"`
}

func wireSigned(a *Auth, ts time.Time) signedWire {
	w := signedWire{Timestamp: wireMs(ts)}
	if a == nil {
		return w
	}
	w.Pubkey = a.Account.String()
	if a.Signature != nil {
		if !a.IsGroup() {
			w.PubkeyEd25519 = a.Ed25519.String()
		}
		w.Signature = base64.StdEncoding.EncodeToString(a.Signature)
	}
	if a.Credential != nil {
		w.Subaccount = base64.StdEncoding.EncodeToString(a.Credential.Token.Marshal())
		w.SubaccountSig = base64.StdEncoding.EncodeToString(a.Credential.Sig[:])
	}
	return w
}

// wireMs is a time as sent: ms since the Unix epoch, absent when zero.
func wireMs(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	ms := t.UnixMilli()
	return &ms
}

// nsVar is a namespace that may be "all" (nil), as sent.
type nsVar struct{ ns *int32 }

func (n nsVar) MarshalJSON() ([]byte, error) {
	if n.ns == nil {
		return []byte(`"all"`), nil
	}
	return strconv.AppendInt(nil, int64(*n.ns), 10), nil
}

// marshalParams encodes a params struct. The structs hold only strings,
// numbers, booleans and slices of those, which always encode.
func marshalParams(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("rpc: encoding params: %v", err))
	}
	return b
}

// Method returns [MethodStore].
func (r *Store) Method() string { return MethodStore }

// Params returns the store params; sig_timestamp and the signature fields
// are present when r is signed.
func (r *Store) Params() json.RawMessage {
	a := wireSigned(r.Auth, r.Timestamp)
	var sigTS *int64
	if r.Auth != nil {
		sigTS = wireMs(r.SigTimestamp)
	}
	return marshalParams(struct {
		Data          string `json:"data"`
		Namespace     int32  `json:"namespace"`
		Pubkey        string `json:"pubkey"`
		PubkeyEd25519 string `json:"pubkey_ed25519,omitempty"`
		SigTimestamp  *int64 `json:"sig_timestamp,omitempty"`
		Signature     string `json:"signature,omitempty"`
		Subaccount    string `json:"subaccount,omitempty"`
		SubaccountSig string `json:"subaccount_sig,omitempty"`
		Timestamp     *int64 `json:"timestamp,omitempty"`
		TTL           int64  `json:"ttl"`
	}{
		base64.StdEncoding.EncodeToString(r.Data), r.Namespace, r.Account.String(), a.PubkeyEd25519,
		sigTS, a.Signature, a.Subaccount, a.SubaccountSig, a.Timestamp, r.TTL.Milliseconds(),
	})
}

// Stamp sets SigTimestamp.
func (r *Store) Stamp(t time.Time) { r.SigTimestamp = t }

// Sign makes r a deposit into s's own account. A deposit into a public
// namespace stays unsigned, without sig_timestamp, as every client sends
// it: a node asks no signature there.
func (r *Store) Sign(networkID string, s Signer) {
	r.Account = s.ID()
	if IsPublicNamespace(r.Namespace) {
		r.Auth, r.SigTimestamp = nil, time.Time{}
		return
	}
	r.Auth = signWith(s, r.SigMessage(networkID))
}

// Method returns [MethodRetrieve].
func (r *Retrieve) Method() string { return MethodRetrieve }

// Params returns the retrieve params. A zero MaxCount or MaxSize is left
// out, so the node's default applies; a zero AfterTimestamp leaves out the
// cursor, a zero Wait the wait, an empty Known the known list.
func (r *Retrieve) Params() json.RawMessage {
	var afterHash *string
	if !r.AfterTimestamp.IsZero() {
		afterHash = &r.AfterHash
	}
	return marshalParams(struct {
		AfterHash      *string  `json:"after_hash,omitempty"`
		AfterTimestamp *int64   `json:"after_timestamp,omitempty"`
		MaxCount       int      `json:"max_count,omitempty"`
		MaxSize        int      `json:"max_size,omitempty"`
		Namespace      int32    `json:"namespace"`
		Wait           int64    `json:"wait,omitempty"`
		Known          []string `json:"known,omitempty"`
		signedWire
	}{afterHash, wireMs(r.AfterTimestamp), r.MaxCount, r.MaxSize, r.Namespace, r.Wait.Milliseconds(), r.Known, wireSigned(r.Auth, r.Timestamp)})
}

// Stamp sets Timestamp.
func (r *Retrieve) Stamp(t time.Time) { r.Timestamp = t }

// Sign signs r as a read of s's own account.
func (r *Retrieve) Sign(networkID string, s Signer) {
	r.Auth, r.Unsigned = signWith(s, r.SigMessage(networkID)), false
}

// PublicRetrieve returns an unsigned retrieve of account's public-read
// namespace ns (see [IsPublicReadNamespace]), as anyone may send it.
func PublicRetrieve(account identity.AccountID, ns int32) *Retrieve {
	return &Retrieve{Auth: &Auth{Account: account}, Unsigned: true, Namespace: ns}
}

// Method returns [MethodDelete].
func (r *Delete) Method() string { return MethodDelete }

// Params returns the delete params.
func (r *Delete) Params() json.RawMessage { return hashesParams(r.Hashes, r.Auth, r.Timestamp) }

// hashesParams are the params of delete and get_expiries.
func hashesParams(hashes []string, a *Auth, ts time.Time) json.RawMessage {
	return marshalParams(struct {
		Messages []string `json:"messages"`
		signedWire
	}{hashes, wireSigned(a, ts)})
}

// Stamp sets Timestamp.
func (r *Delete) Stamp(t time.Time) { r.Timestamp = t }

// Sign signs r for s's own account.
func (r *Delete) Sign(networkID string, s Signer) { r.Auth = signWith(s, r.SigMessage(networkID)) }

// Method returns [MethodDeleteAll].
func (r *DeleteAll) Method() string { return MethodDeleteAll }

// Params returns the delete_all params; a nil Namespace is sent as "all".
func (r *DeleteAll) Params() json.RawMessage {
	return marshalParams(struct {
		Namespace nsVar `json:"namespace"`
		signedWire
	}{nsVar{r.Namespace}, wireSigned(r.Auth, r.Timestamp)})
}

// Stamp sets Timestamp.
func (r *DeleteAll) Stamp(t time.Time) { r.Timestamp = t }

// Sign signs r for s's own account.
func (r *DeleteAll) Sign(networkID string, s Signer) { r.Auth = signWith(s, r.SigMessage(networkID)) }

// Method returns [MethodDeleteBefore].
func (r *DeleteBefore) Method() string { return MethodDeleteBefore }

// Params returns the delete_before params; a nil Namespace is sent as "all".
func (r *DeleteBefore) Params() json.RawMessage {
	return marshalParams(struct {
		Before    *int64 `json:"before,omitempty"`
		Namespace nsVar  `json:"namespace"`
		signedWire
	}{wireMs(r.Before), nsVar{r.Namespace}, wireSigned(r.Auth, r.Timestamp)})
}

// Stamp sets Timestamp (the request time; Before is the caller's).
func (r *DeleteBefore) Stamp(t time.Time) { r.Timestamp = t }

// Sign signs r for s's own account.
func (r *DeleteBefore) Sign(networkID string, s Signer) {
	r.Auth = signWith(s, r.SigMessage(networkID))
}

// Method returns [MethodExpire].
func (r *Expire) Method() string { return MethodExpire }

// Params returns the expire params; the mode is sent as "shorten" or
// "extend" set to true, or neither.
func (r *Expire) Params() json.RawMessage {
	a := wireSigned(r.Auth, r.Timestamp)
	return marshalParams(struct {
		Expiry        *int64   `json:"expiry,omitempty"`
		Extend        bool     `json:"extend,omitempty"`
		Messages      []string `json:"messages"`
		Pubkey        string   `json:"pubkey"`
		PubkeyEd25519 string   `json:"pubkey_ed25519,omitempty"`
		Shorten       bool     `json:"shorten,omitempty"`
		Signature     string   `json:"signature,omitempty"`
		Subaccount    string   `json:"subaccount,omitempty"`
		SubaccountSig string   `json:"subaccount_sig,omitempty"`
		Timestamp     *int64   `json:"timestamp,omitempty"`
	}{
		wireMs(r.Expiry), r.Mode == ExpireExtend, r.Hashes, a.Pubkey, a.PubkeyEd25519,
		r.Mode == ExpireShorten, a.Signature, a.Subaccount, a.SubaccountSig, a.Timestamp,
	})
}

// Stamp sets Timestamp.
func (r *Expire) Stamp(t time.Time) { r.Timestamp = t }

// Sign signs r for s's own account.
func (r *Expire) Sign(networkID string, s Signer) { r.Auth = signWith(s, r.SigMessage(networkID)) }

// Method returns [MethodExpireAll].
func (r *ExpireAll) Method() string { return MethodExpireAll }

// Params returns the expire_all params; a nil Namespace is sent as "all".
func (r *ExpireAll) Params() json.RawMessage {
	return marshalParams(struct {
		Expiry    *int64 `json:"expiry,omitempty"`
		Namespace nsVar  `json:"namespace"`
		signedWire
	}{wireMs(r.Expiry), nsVar{r.Namespace}, wireSigned(r.Auth, r.Timestamp)})
}

// Stamp sets Timestamp.
func (r *ExpireAll) Stamp(t time.Time) { r.Timestamp = t }

// Sign signs r for s's own account.
func (r *ExpireAll) Sign(networkID string, s Signer) { r.Auth = signWith(s, r.SigMessage(networkID)) }

// Method returns [MethodGetExpiries].
func (r *GetExpiries) Method() string { return MethodGetExpiries }

// Params returns the get_expiries params.
func (r *GetExpiries) Params() json.RawMessage { return hashesParams(r.Hashes, r.Auth, r.Timestamp) }

// Stamp sets Timestamp.
func (r *GetExpiries) Stamp(t time.Time) { r.Timestamp = t }

// Sign signs r for s's own account.
func (r *GetExpiries) Sign(networkID string, s Signer) {
	r.Auth = signWith(s, r.SigMessage(networkID))
}

// GetSwarm is a get_swarm request, the builder beside [ParseGetSwarm]:
// which swarm holds Account. It is not signed.
type GetSwarm struct {
	Account identity.AccountID
}

// Method returns [MethodGetSwarm].
func (r *GetSwarm) Method() string { return MethodGetSwarm }

// Params returns {"pubkey": Account}.
func (r *GetSwarm) Params() json.RawMessage {
	return marshalParams(struct {
		Pubkey string `json:"pubkey"`
	}{r.Account.String()})
}

// Stamp does nothing: get_swarm signs no time.
func (r *GetSwarm) Stamp(time.Time) {}

// Sign does nothing: get_swarm is not signed, and may ask for any
// account's swarm.
func (r *GetSwarm) Sign(string, Signer) {}

// Info is an info request, the builder beside [ParseInfo].
type Info struct{}

// Method returns [MethodInfo].
func (Info) Method() string { return MethodInfo }

// Params returns {}.
func (Info) Params() json.RawMessage { return json.RawMessage(`{}`) }

// Stamp does nothing: info signs no time.
func (Info) Stamp(time.Time) {}

// Sign does nothing: info is not signed.
func (Info) Sign(string, Signer) {}

// Batch is a batch request, or with Sequence a sequence request, the
// builder beside [ParseBatch]: up to [MaxBatch] sub-requests, none a
// batch itself.
type Batch struct {
	Sequence bool
	Requests []Outgoing
}

// Method returns [MethodSequence] or [MethodBatch].
func (r *Batch) Method() string {
	if r.Sequence {
		return MethodSequence
	}
	return MethodBatch
}

// Params returns {"requests": [{method, params}…]}.
func (r *Batch) Params() json.RawMessage {
	subs := make([]Request, len(r.Requests))
	for i, s := range r.Requests {
		subs[i] = Request{Method: s.Method(), Params: s.Params()}
	}
	return marshalParams(struct {
		Requests []Request `json:"requests"`
	}{subs})
}

// Stamp stamps sub-request i at t + i ms, so no two of the batch's
// signatures are equal (a node refuses a repeated signature as a replay).
// A caller that stamps requests of its own with strictly increasing times
// reserves MaxBatch ms for a batch.
func (r *Batch) Stamp(t time.Time) {
	for i, s := range r.Requests {
		s.Stamp(t.Add(time.Duration(i) * time.Millisecond))
	}
}

// Sign signs every sub-request.
func (r *Batch) Sign(networkID string, s Signer) {
	for _, sub := range r.Requests {
		sub.Sign(networkID, s)
	}
}
