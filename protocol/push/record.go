package push

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/strictjson"
)

// Namespace is the owner-only swarm namespace that holds a device's
// subscription records. Nodes parse every message stored there with
// [ParseRecord] and refuse what it refuses.
const Namespace int32 = 4

// MaxRecordsPerAccount bounds the live records a node keeps for one
// account: a device has one per watched swarm, and a handful of devices is
// the most an account has.
const MaxRecordsPerAccount = 8

// MaxNamespaces bounds the namespaces one record subscribes.
const MaxNamespaces = 8

// MaxLifetime is the longest a subscription lives, at the push server and
// in a record: the client renews it before then.
const MaxLifetime = 14 * 24 * time.Hour

// ClockSkew is how far a record's expiry may lie beyond now+MaxLifetime,
// and a request's timestamp from the server's clock, before it is refused:
// devices and nodes do not share a clock exactly.
const ClockSkew = 5 * time.Minute

// RecordVersion is the "v" of every record this package writes and reads.
const RecordVersion = 1

// RecordSignatureLabel starts the message an account signs to make a
// record; nothing else hush signs starts with it.
const RecordSignatureLabel = "hush/1 push record\x00"

// Errors of [ParseRecord] and [SignRecord].
var (
	// ErrBadRecord: the bytes are not a record in the one encoding
	// [Record.Marshal] writes, or a field is out of its range.
	ErrBadRecord = errors.New("malformed push record")
	// ErrExpired: the record's expiry has passed.
	ErrExpired = errors.New("push record has expired")
	// ErrBadSignature: the signature does not verify, or the signing key is
	// not the account's the record was stored for.
	ErrBadSignature = errors.New("push record signature is not valid")
)

var b64 = base64.RawURLEncoding.Strict()

// Record is a subscription as the device's swarm keeps it: the message data
// of a namespace-4 message.
type Record struct {
	// Server is the push server's X25519 key, as in the network file: nodes
	// notify only that server, and only while the network file lists it.
	Server       [32]byte
	SubID        [32]byte
	NotifySecret [32]byte
	// EncKey seals payloads ([SealPayload]) and keys tags ([Tag]).
	EncKey [32]byte
	// Namespaces are the ones whose deposits wake the device: 1 to
	// MaxNamespaces distinct ones, ascending, never Namespace itself.
	Namespaces []int32
	// Expiry is in whole milliseconds, at most MaxLifetime after signing.
	Expiry time.Time
	// Ed25519 is the account's key; it must derive the Account ID whose
	// swarm holds the record.
	Ed25519 identity.Ed25519PublicKey
	Sig     []byte
}

// wireRecord is the JSON of a record, in its one key order.
type wireRecord struct {
	V            int     `json:"v"`
	Server       string  `json:"server"`
	SubID        string  `json:"sub_id"`
	NotifySecret string  `json:"notify_secret"`
	EncKey       string  `json:"enc_key"`
	Namespaces   []int32 `json:"namespaces"`
	ExpiryMs     int64   `json:"expiry_ms"`
	Ed25519      string  `json:"ed25519"`
	Sig          string  `json:"sig,omitempty"`
}

func (r *Record) wire(withSig bool) wireRecord {
	w := wireRecord{
		V:            RecordVersion,
		Server:       b64.EncodeToString(r.Server[:]),
		SubID:        b64.EncodeToString(r.SubID[:]),
		NotifySecret: b64.EncodeToString(r.NotifySecret[:]),
		EncKey:       b64.EncodeToString(r.EncKey[:]),
		Namespaces:   r.Namespaces,
		ExpiryMs:     r.Expiry.UnixMilli(),
		Ed25519:      b64.EncodeToString(r.Ed25519.Bytes()),
	}
	if withSig {
		w.Sig = b64.EncodeToString(r.Sig)
	}
	return w
}

// Marshal returns the record's JSON: one object, keys in a fixed order,
// byte fields in unpadded base64url, no whitespace.
func (r *Record) Marshal() []byte { return marshal(r.wire(true)) }

func (r *Record) signedMessage() []byte {
	return append([]byte(RecordSignatureLabel), marshal(r.wire(false))...)
}

// GroupRecordSignatureLabel starts what a group swarm's record signs,
// followed by the group's ID (33 bytes): a record signed by a member key
// (docs/groups.md §12) can be replayed neither into an account's
// namespace nor into another group.
const GroupRecordSignatureLabel = "hush/1 group push record\x00"

func (r *Record) groupSignedMessage(group identity.AccountID) []byte {
	m := append([]byte(GroupRecordSignatureLabel), group[:]...)
	return append(m, marshal(r.wire(false))...)
}

// GroupSigner is a group member key or a group's admin key
// (protocol/group's Member and Admin).
type GroupSigner interface {
	Ed25519Public() identity.Ed25519PublicKey
	Sign(msg []byte) []byte
}

// SignGroupRecord signs r for the push namespace of group (an 03 ID)
// with s, as SignRecord does for an account.
func SignGroupRecord(r *Record, group identity.AccountID, s GroupSigner) error {
	if group[0] != groupPrefix {
		return fmt.Errorf("%w: %s is no group", ErrBadRecord, group)
	}
	r.Ed25519 = s.Ed25519Public()
	slices.Sort(r.Namespaces)
	r.Expiry = time.UnixMilli(r.Expiry.UnixMilli()).UTC()
	if err := r.check(); err != nil {
		return err
	}
	r.Sig = s.Sign(r.groupSignedMessage(group))
	return nil
}

// A group swarm keeps at most MaxRecordsPerGroupKey live records per
// signing key (a member's devices share its member key) and
// MaxRecordsPerGroup in all (docs/groups.md §12).
const (
	MaxRecordsPerGroupKey = 4
	MaxRecordsPerGroup    = 400
)

// groupPrefix is a group ID's first byte (protocol/group).
const groupPrefix = 0x03

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("push: marshal: " + err.Error()) // only strings, integers and slices of them
	}
	return b
}

// SignRecord sets r.Ed25519 to acct's key, sorts r.Namespaces, truncates
// r.Expiry to the millisecond and signs r. It refuses (with [ErrBadRecord])
// a record that [ParseRecord] would refuse for its fields, so what it signs
// nodes accept until it expires.
func SignRecord(r *Record, acct *identity.Account) error {
	r.Ed25519 = acct.Ed25519Public()
	slices.Sort(r.Namespaces)
	r.Expiry = time.UnixMilli(r.Expiry.UnixMilli()).UTC()
	if err := r.check(); err != nil {
		return err
	}
	r.Sig = acct.Sign(r.signedMessage())
	return nil
}

// check checks the fields a record must have whatever the time.
func (r *Record) check() error {
	if _, err := identity.ParseX25519PublicKey(r.Server[:]); err != nil {
		return fmt.Errorf("%w: server: %w", ErrBadRecord, err)
	}
	if n := len(r.Namespaces); n == 0 || n > MaxNamespaces {
		return fmt.Errorf("%w: %d namespaces, want 1 to %d", ErrBadRecord, n, MaxNamespaces)
	}
	for i, ns := range r.Namespaces {
		if !validNamespace(ns) || ns == Namespace {
			return fmt.Errorf("%w: namespace %d", ErrBadRecord, ns)
		}
		if i > 0 && ns <= r.Namespaces[i-1] {
			return fmt.Errorf("%w: namespaces not distinct and ascending", ErrBadRecord)
		}
	}
	if ms := r.Expiry.UnixMilli(); ms <= 0 || ms > maxMillis {
		return fmt.Errorf("%w: expiry_ms %d", ErrBadRecord, ms)
	}
	return nil
}

// maxMillis bounds every time on the wire (year 2527), so conversions
// never overflow.
const maxMillis = 1 << 44

// validNamespace is the range nodes accept (protocol/rpc).
func validNamespace(ns int32) bool { return ns >= -32768 && ns <= 32767 }

// ParseRecord parses data, a namespace-4 message stored for acct, and
// checks it at now: its one encoding, its fields, that its key derives acct
// and signed it (for a group swarm, an 03 acct: that its key signed it
// under [GroupRecordSignatureLabel] and the group's ID), that it has not expired and that its expiry is at most
// MaxLifetime (plus ClockSkew) away. It returns [ErrBadRecord],
// [ErrBadSignature] or [ErrExpired].
func ParseRecord(data []byte, acct identity.AccountID, now time.Time) (*Record, error) {
	var w wireRecord
	if err := strictjson.Decode(data, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRecord, err)
	}
	if w.V != RecordVersion {
		return nil, fmt.Errorf("%w: version %d", ErrBadRecord, w.V)
	}
	r := &Record{Namespaces: w.Namespaces, Expiry: time.UnixMilli(w.ExpiryMs).UTC()}
	for _, f := range []struct {
		name string
		s    string
		dst  []byte
	}{{"server", w.Server, r.Server[:]}, {"sub_id", w.SubID, r.SubID[:]}, {"notify_secret", w.NotifySecret, r.NotifySecret[:]}, {"enc_key", w.EncKey, r.EncKey[:]}} {
		if err := decodeFixed(f.s, f.dst); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadRecord, f.name, err)
		}
	}
	key, err := b64.DecodeString(w.Ed25519)
	if err != nil {
		return nil, fmt.Errorf("%w: ed25519: %w", ErrBadRecord, err)
	}
	if r.Ed25519, err = identity.Ed25519PublicKeyFromBytes(key); err != nil {
		return nil, fmt.Errorf("%w: ed25519: %w", ErrBadRecord, err)
	}
	if r.Sig, err = b64.DecodeString(w.Sig); err != nil || len(r.Sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: sig", ErrBadRecord)
	}
	if w.ExpiryMs <= 0 {
		return nil, fmt.Errorf("%w: expiry_ms %d", ErrBadRecord, w.ExpiryMs)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	if !bytes.Equal(r.Marshal(), data) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrBadRecord)
	}
	if acct[0] == groupPrefix {
		// A group swarm's record: signed by a member key, which the node
		// that took the store checked against the request's signer.
		if !ed25519.Verify(r.Ed25519.Bytes(), r.groupSignedMessage(acct), r.Sig) {
			return nil, ErrBadSignature
		}
	} else {
		id, err := r.Ed25519.AccountID()
		if err != nil {
			return nil, fmt.Errorf("%w: ed25519: %w", ErrBadRecord, err)
		}
		if !id.Equal(acct) {
			return nil, fmt.Errorf("%w: signed by another account", ErrBadSignature)
		}
		if !ed25519.Verify(r.Ed25519.Bytes(), r.signedMessage(), r.Sig) {
			return nil, ErrBadSignature
		}
	}
	if !now.Before(r.Expiry) {
		return nil, fmt.Errorf("%w: at %s", ErrExpired, r.Expiry.Format(time.RFC3339))
	}
	if r.Expiry.After(now.Add(MaxLifetime + ClockSkew)) {
		return nil, fmt.Errorf("%w: expiry %s is more than %s away", ErrBadRecord, r.Expiry.Format(time.RFC3339), MaxLifetime)
	}
	return r, nil
}

// decodeFixed decodes s, unpadded base64url, into exactly len(dst) bytes.
func decodeFixed(s string, dst []byte) error {
	b, err := b64.DecodeString(s)
	if err != nil {
		return err
	}
	if len(b) != len(dst) {
		return fmt.Errorf("%d bytes, want %d", len(b), len(dst))
	}
	copy(dst, b)
	return nil
}
