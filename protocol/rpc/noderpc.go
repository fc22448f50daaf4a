package rpc

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hushnet/hush/identity"
)

// Node-to-node RPC: what members of a swarm send each other to replicate
// (internal/replication). Requests are POST [NodeRPCPath] with a body
// {"method": M, "params": {...}} and three headers naming the sender, the
// time and the sender's Ed25519 signature over [SigNodeRequest]:
//
//	apply     ops: [NodeOp…], source: "forward" | "repair" | "handoff"
//	          → {results: [{confirmation?, proof?, error?}…]}
//	summary   (none) → {buckets: {"<byte>": digest hex}}
//	accounts  buckets: [byte…] → {accounts: {"<account hex>": digest hex}}
//	hashes    account → {messages: [{hash, namespace, expiry}], tombstones: [{hash, expiry}]}
//	fetch     account, hashes (≤ MaxFetchHashes) → {messages: [NodeMessage…]} (bounded by bytes)
//
// Confirmations are the members' signatures over [SigConfirmation], or
// over [SigConfirmationBatch] with a proof for many at once; a store reply
// carries them under "swarm" (see [StoreResult]).

// NodeRPCPath is where a node serves node-to-node requests.
const NodeRPCPath = "/node_rpc/v1"

// Headers of a node-to-node request.
const (
	HeaderNode      = "Hush-Node"      // sender's Ed25519 key, hex
	HeaderTimestamp = "Hush-Timestamp" // ms since the Unix epoch
	HeaderSignature = "Hush-Signature" // base64 Ed25519 signature over SigNodeRequest
	// HeaderBodySHA256 is the SHA-256 of the body, hex: with it the
	// receiver verifies the signature on the headers alone, before it
	// reads a byte of the body, then checks the body against it.
	HeaderBodySHA256 = "Hush-Body-Sha256"
)

// Node RPC methods.
const (
	NodeApply    = "apply"
	NodeSummary  = "summary"
	NodeAccounts = "accounts"
	NodeHashes   = "hashes"
	NodeFetch    = "fetch"
)

// Sources of an apply: a forward of a client's request as it happens, a
// repair by anti-entropy, or a hand-off of an account to its new swarm.
const (
	SourceForward = "forward"
	SourceRepair  = "repair"
	SourceHandoff = "handoff"
)

// Node operation kinds.
const (
	OpStore        = "store"
	OpDelete       = "delete"        // Hashes, with Tombstones for those the sender held
	OpDeleteBefore = "delete_before" // Namespace (nil: all), Before, Tombstones
	OpExpire       = "expire"        // Hashes, Expiry, Mode
	OpExpireAll    = "expire_all"    // Namespace (nil: all), Expiry, Mode
)

// Limits of node-to-node requests.
const (
	// MaxNodeOps bounds the operations of one apply.
	MaxNodeOps = 512
	// MaxFetchHashes bounds the hashes of one fetch.
	MaxFetchHashes = 512
	// MaxNodeBody bounds a node-to-node reply body.
	MaxNodeBody = 16 << 20
	// MaxNodeRequestBody bounds a node-to-node request body.
	MaxNodeRequestBody = 8 << 20
)

// NodeOp is one replicated change to an account. Times are ms since the
// Unix epoch.
type NodeOp struct {
	Kind       string             `json:"kind"`
	Account    identity.AccountID `json:"account"`
	Namespace  *int32             `json:"namespace,omitempty"`
	Hash       string             `json:"hash,omitempty"`
	Data       []byte             `json:"data,omitempty"` // standard base64 in JSON
	Timestamp  int64              `json:"timestamp,omitempty"`
	Expiry     int64              `json:"expiry,omitempty"`
	Hashes     []string           `json:"hashes,omitempty"`
	Before     int64              `json:"before,omitempty"`
	Mode       ExpireMode         `json:"mode,omitempty"`
	Tombstones []HashExpiry       `json:"tombstones,omitempty"`
}

// UnmarshalJSON decodes op. The account is checked for form (05 or 03
// prefix, 66 hex digits) but not for being a usable X25519 point as
// identity.ParseAccountID checks: that check is a scalar multiplication,
// 15% of a forward's CPU on the receiving member, and a forward comes from
// an authenticated member whose client-facing path already made it.
func (op *NodeOp) UnmarshalJSON(b []byte) error {
	type plain NodeOp
	var w struct {
		plain
		Account string `json:"account"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*op = NodeOp(w.plain)
	op.Account = identity.AccountID{}
	if w.Account == "" {
		return nil
	}
	a, err := ParseStorageAccount(w.Account)
	if err != nil {
		return fmt.Errorf("op: %w", err)
	}
	op.Account = a
	return nil
}

// HashExpiry is a message hash with its expiry (ms), and the namespace
// when it names a stored message.
type HashExpiry struct {
	Hash      string `json:"hash"`
	Namespace int32  `json:"namespace,omitempty"`
	Expiry    int64  `json:"expiry"`
}

// NodeMessage is a whole stored message, as fetch returns it.
type NodeMessage struct {
	Namespace int32  `json:"namespace"`
	Hash      string `json:"hash"`
	Data      []byte `json:"data"`
	Timestamp int64  `json:"timestamp"`
	Expiry    int64  `json:"expiry"`
}

// Check validates what a receiving node relies on before applying op:
// a known kind, well-formed hashes, and for a store a hash that matches
// the data (a member cannot store data under another message's hash).
func (op *NodeOp) Check() error {
	if op.Account.IsZero() {
		return fmt.Errorf("op: no account")
	}
	checkHashes := func(hs []string) error {
		for _, h := range hs {
			if !ValidHash(h) {
				return fmt.Errorf("op: malformed hash")
			}
		}
		return nil
	}
	for _, t := range op.Tombstones {
		if !ValidHash(t.Hash) || t.Expiry <= 0 {
			return fmt.Errorf("op: malformed tombstone")
		}
	}
	switch op.Kind {
	case OpStore:
		ns := int32(0)
		if op.Namespace != nil {
			ns = *op.Namespace
		}
		switch {
		case len(op.Data) > MaxDataSize:
			return fmt.Errorf("op: data over %d bytes", MaxDataSize)
		case op.Timestamp <= 0 || op.Expiry <= op.Timestamp:
			return fmt.Errorf("op: bad timestamp or expiry")
		case op.Hash != MessageHash(op.Account, ns, op.Data):
			return fmt.Errorf("op: hash does not match the data")
		}
		return nil
	case OpDelete, OpExpire:
		if op.Kind == OpExpire && (op.Expiry <= 0 || op.Mode < ExpireAny || op.Mode > ExpireExtend) {
			return fmt.Errorf("op: no expiry or unknown mode")
		}
		return checkHashes(op.Hashes)
	case OpDeleteBefore:
		if op.Before <= 0 {
			return fmt.Errorf("op: no before")
		}
		return nil
	case OpExpireAll:
		if op.Expiry <= 0 || op.Mode < ExpireAny || op.Mode > ExpireExtend {
			return fmt.Errorf("op: no expiry or unknown mode")
		}
		return nil
	}
	return fmt.Errorf("op: unknown kind %q", truncateString(op.Kind, 32))
}

// PeerClockSkew is how far another member's clock may run ahead of this
// node's. A member accepted a deposit dated at most [StoreTolerance]
// ahead of its own clock, so a replicated deposit may be that much plus
// this ahead of ours; nodes are expected to run NTP, and a farther
// peer's honest deposits are only delayed (anti-entropy copies them once
// the clocks agree), never lost.
const PeerClockSkew = 10 * time.Second

// CheckTime applies to op, at node time now, the time rules a client's
// deposit met where it first arrived, so that one member cannot plant
// what a client could not (a message dated 2999 would push every
// client's cursor past all real mail). source is the apply's source;
// anti-entropy checks a fetched message as a repair.
//
//   - store: the timestamp at most StoreTolerance+PeerClockSkew ahead;
//     a forward (a fresh deposit) expires at most the namespace's longest
//     TTL after its timestamp; a repair or hand-off may carry an expiry
//     its owner extended later, which is still at most MaxTTLPrivate
//     (the clamp of expire) after some past moment, so at most that after
//     now plus the tolerances.
//   - expire, expire_all: the expiry at most MaxTTLPrivate after now
//     (expire's own clamp) plus PeerClockSkew.
func (op *NodeOp) CheckTime(source string, now time.Time) error {
	ahead := StoreTolerance + PeerClockSkew
	switch op.Kind {
	case OpStore:
		ts, exp := time.UnixMilli(op.Timestamp), time.UnixMilli(op.Expiry)
		if ts.After(now.Add(ahead)) {
			return fmt.Errorf("op: timestamp %d is more than %s ahead of node time %d", op.Timestamp, ahead, now.UnixMilli())
		}
		ns := int32(0)
		if op.Namespace != nil {
			ns = *op.Namespace
		}
		maxTTL := MaxTTLPrivate
		if IsPublicNamespace(ns) {
			maxTTL = MaxTTLPublic
		}
		if source == SourceForward && exp.Sub(ts) > maxTTL {
			return fmt.Errorf("op: expiry %d is more than %s after the timestamp (namespace %d)", op.Expiry, maxTTL, ns)
		}
		if exp.After(now.Add(MaxTTLPrivate + ahead)) {
			return fmt.Errorf("op: expiry %d is more than %s after node time %d", op.Expiry, MaxTTLPrivate+ahead, now.UnixMilli())
		}
	case OpExpire, OpExpireAll:
		if time.UnixMilli(op.Expiry).After(now.Add(MaxTTLPrivate + PeerClockSkew)) {
			return fmt.Errorf("op: expiry %d is more than %s after node time %d", op.Expiry, MaxTTLPrivate+PeerClockSkew, now.UnixMilli())
		}
	}
	return nil
}

func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ApplyParams are apply's parameters.
type ApplyParams struct {
	Source string   `json:"source"`
	Ops    []NodeOp `json:"ops"`
}

// ApplyResult is one op's outcome: a store's confirmation (base64, with
// its Merkle proof when the apply's stores were confirmed together: see
// [SignConfirmations]), or an error text.
type ApplyResult struct {
	Confirmation string `json:"confirmation,omitempty"`
	Proof        string `json:"proof,omitempty"`
	Error        string `json:"error,omitempty"`
}

// ApplyReply answers apply, one result per op in order.
type ApplyReply struct {
	Results []ApplyResult `json:"results"`
}

// SummaryReply answers summary: a digest per non-empty bucket of accounts
// (an account's bucket is its first key byte after the 05 prefix).
type SummaryReply struct {
	Buckets map[int]string `json:"buckets"`
}

// AccountsParams are accounts' parameters.
type AccountsParams struct {
	Buckets []int `json:"buckets"`
}

// AccountsReply answers accounts: the digest of each account in the
// buckets asked for, keyed by Account ID hex.
type AccountsReply struct {
	Accounts map[string]string `json:"accounts"`
}

// HashesParams are hashes' and fetch's parameters.
type HashesParams struct {
	Account identity.AccountID `json:"account"`
	Hashes  []string           `json:"hashes,omitempty"`
}

// UnmarshalJSON decodes p, taking a group ID (03) as well as an Account
// ID, checked for form only ([ParseStorageAccount]).
func (p *HashesParams) UnmarshalJSON(b []byte) error {
	var w struct {
		Account string   `json:"account"`
		Hashes  []string `json:"hashes"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	a, err := ParseStorageAccount(w.Account)
	if err != nil {
		return err
	}
	*p = HashesParams{Account: a, Hashes: w.Hashes}
	return nil
}

// HashesReply answers hashes.
type HashesReply struct {
	Messages   []HashExpiry `json:"messages"`
	Tombstones []HashExpiry `json:"tombstones"`
}

// FetchReply answers fetch. It may hold fewer messages than asked for
// (a byte bound, or messages gone meanwhile); the caller asks again for
// the rest.
type FetchReply struct {
	Messages []NodeMessage `json:"messages"`
}

// Confirmation is a member's signed statement that it stored a message:
// its Ed25519 signature over [SigConfirmation]. A store reply maps each
// confirming member's Ed25519 key (hex) to one.
type Confirmation struct {
	Hash      string `json:"hash"`
	Signature string `json:"signature"` // standard base64
	// Proof, when set, is the message's path to the Merkle root of a
	// batch, whose [SigConfirmationBatch] the signature is over (standard
	// base64; [Confirmation.Verify]).
	Proof string `json:"proof,omitempty"`
}

// SigConfirmation is the string a member signs to confirm it stored a
// message: "hush/1" ‖ u8 len ‖ network ID ‖ "stored" ‖ account (66 hex
// digits) ‖ hash. The account is fixed-length and the hash the last
// field, so the string is unambiguous.
func SigConfirmation(networkID string, account identity.AccountID, hash string) []byte {
	return newSig(networkID, "stored").str(account.String()).str(hash)
}

// VerifyConfirmation reports whether sig (raw 64 bytes) is nodeKey's
// confirmation that it stored hash for account on networkID. A client
// counts a message as stored once at least two members of the account's
// swarm (per its verified snapshot) confirmed it.
func VerifyConfirmation(networkID string, nodeKey identity.Ed25519PublicKey, account identity.AccountID, hash string, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(nodeKey.Bytes(), SigConfirmation(networkID, account, hash), sig)
}

// CountConfirmations returns how many entries of swarm are valid
// confirmations of hash by keys that members accepts (the members of the
// account's swarm). Entries under malformed keys or for other hashes do
// not count.
func CountConfirmations(networkID string, account identity.AccountID, hash string, swarm map[string]Confirmation, members func(identity.Ed25519PublicKey) bool) int {
	n := 0
	for k, c := range swarm {
		key, err := identity.ParseEd25519PublicKey(k)
		if err != nil || c.Hash != hash || !members(key) {
			continue
		}
		if c.Verify(networkID, key, account, hash) {
			n++
		}
	}
	return n
}

// SigNodeRequest is the string a node signs to send a node-to-node
// request: "hush/1" ‖ u8 len ‖ network ID ‖ "node_rpc" ‖ sender key hex ‖
// recipient key hex ‖ timestamp ‖ "." ‖ SHA-256 of the body in hex. Naming
// the recipient keeps a captured request from being replayed to another
// member; the timestamp bounds how long a replay cache must remember it.
func SigNodeRequest(networkID string, sender, recipient identity.Ed25519PublicKey, timestamp time.Time, bodySHA256 [32]byte) []byte {
	return newSig(networkID, "node_rpc").str(sender.String()).str(recipient.String()).ms(timestamp).str(".").str(hex.EncodeToString(bodySHA256[:]))
}
