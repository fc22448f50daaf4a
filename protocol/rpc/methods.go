package rpc

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/group"
)

// Store is a checked store request.
type Store struct {
	Account   identity.AccountID
	Namespace int32
	Data      []byte
	TTL       time.Duration
	Timestamp time.Time // deposit timestamp
	// Auth and SigTimestamp are set when the request is signed; a deposit
	// into a namespace not divisible by 10 must be.
	Auth         *Auth
	SigTimestamp time.Time
}

// ParseStore checks a store request's parameters. It does not verify the
// signature or look at the clock.
func ParseStore(params json.RawMessage) (*Store, error) {
	var p struct {
		authFields
		Namespace    *int32  `json:"namespace"`
		Data         *string `json:"data"`
		TTL          *int64  `json:"ttl"`
		Timestamp    *int64  `json:"timestamp"`
		SigTimestamp *int64  `json:"sig_timestamp"`
	}
	if err := decodeStrict(params, &p, "params"); err != nil {
		return nil, err
	}
	r := &Store{}
	var err error
	if r.Namespace, err = parseNamespace(p.Namespace); err != nil {
		return nil, err
	}
	if isGroupPubkey(p.Pubkey) {
		if err := checkGroupNamespace(r.Namespace); err != nil {
			return nil, err
		}
	} else if !TakesDeposits(r.Namespace) {
		return nil, Errorf(CodeBadNamespace, "namespace %d takes no deposits: of the public namespaces (divisible by 10) only %s do", r.Namespace, depositList())
	}
	if p.Signature != nil || !IsPublicNamespace(r.Namespace) {
		if r.Auth, err = p.auth(); err != nil {
			return nil, err
		}
		r.Account = r.Auth.Account
	} else if r.Account, err = parseAccount(p.Pubkey); err != nil {
		return nil, err
	}
	if r.Timestamp, err = parseMs("timestamp", p.Timestamp); err != nil {
		return nil, err
	}
	if r.Auth != nil {
		// Session signs with sig_timestamp when given, else timestamp.
		r.SigTimestamp = r.Timestamp
		if p.SigTimestamp != nil {
			if r.SigTimestamp, err = parseMs("sig_timestamp", p.SigTimestamp); err != nil {
				return nil, err
			}
		}
	}
	if p.TTL == nil {
		return nil, Errorf(CodeMissingField, "ttl is required")
	}
	max := MaxTTLPublic
	if !IsPublicNamespace(r.Namespace) {
		max = MaxTTLPrivate
	}
	if *p.TTL < MinTTL.Milliseconds() || *p.TTL > max.Milliseconds() {
		return nil, Errorf(CodeBadTTL, "ttl: %d ms is outside %d…%d ms for namespace %d", *p.TTL, MinTTL.Milliseconds(), max.Milliseconds(), r.Namespace)
	}
	r.TTL = time.Duration(*p.TTL) * time.Millisecond
	if p.Data == nil {
		return nil, Errorf(CodeMissingField, "data is required")
	}
	// Refuse oversized data before decoding it.
	if len(*p.Data) > (MaxDataSize+2)/3*4 {
		return nil, Errorf(CodeTooLarge, "data: more than %d bytes", MaxDataSize)
	}
	if r.Data, err = decodeBase64(*p.Data); err != nil {
		return nil, Errorf(CodeBadBase64, "data: not base64")
	}
	if len(r.Data) > MaxDataSize {
		return nil, Errorf(CodeTooLarge, "data: %d bytes, at most %d", len(r.Data), MaxDataSize)
	}
	return r, nil
}

// depositList names the public namespaces that take deposits.
func depositList() string {
	ns := slices.Sorted(maps.Keys(DepositNamespaces))
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = fmt.Sprintf("%d (%s)", n, DepositNamespaces[n])
	}
	return strings.Join(parts, ", ")
}

// SigMessage returns the string r's signature must cover.
func (r *Store) SigMessage(networkID string) []byte {
	return SigStore(networkID, r.Namespace, r.SigTimestamp)
}

// CheckTime applies the time rules of a deposit at node time now: the
// signature timestamp within ±[SigTolerance], the deposit timestamp at most
// [StoreTolerance] ahead, and an expiry not already past.
func (r *Store) CheckTime(now time.Time) error {
	if r.Auth != nil {
		if err := CheckSigTime("sig_timestamp", r.SigTimestamp, now); err != nil {
			return err
		}
	}
	if d := r.Timestamp.Sub(now); d > StoreTolerance {
		return Errorf(CodeBadTimestamp, "timestamp is %s ahead of node time %d (at most %s allowed); check your clock",
			d.Round(time.Millisecond), now.UnixMilli(), StoreTolerance)
	}
	if r.Timestamp.Add(r.TTL).Before(now.Add(-StoreTolerance)) {
		return Errorf(CodeBadTimestamp, "timestamp + ttl is already past at node time %d", now.UnixMilli())
	}
	return nil
}

// Retrieve is a checked retrieve request.
type Retrieve struct {
	// Auth is the signed identity; for an unsigned retrieve from a
	// public-read namespace (Unsigned set) only Auth.Account is filled.
	Auth      *Auth
	Unsigned  bool
	Namespace int32
	Timestamp time.Time
	// AfterTimestamp and AfterHash are the cursor: messages after this
	// (timestamp, hash) position are returned. Zero means from the start.
	AfterTimestamp time.Time
	AfterHash      string
	MaxCount       int // 1…RetrieveMaxCount
	MaxSize        int // 1…RetrieveMaxSize
	// Wait asks the node to hold the request, when nothing is after the
	// cursor, until a message lands in the namespace or Wait ends (fast
	// mode, DESIGN.md §7): 0…MaxWait, whole milliseconds on the wire.
	// Zero answers at once. Not signed: only the destination reads it, and
	// it changes when the answer comes, never what it holds.
	Wait time.Duration
	// Known lists hashes the client holds already (at most [MaxKnown]):
	// the node leaves them out of the answer and pages as if they were
	// not there, so a poll that re-reads its lookback window gets only
	// what it lacks ("which messages after T do you have that I lack")
	// instead of every body again. Not signed, like Wait: it can only
	// leave messages out of an answer the signature allows.
	Known []string
}

// ParseRetrieve checks a retrieve request. max_count and max_size follow
// Session: 0 or absent means unset, a negative max_size -n means 1/n of
// RetrieveMaxSize, and with neither set the size is RetrieveMaxSize/5.
func ParseRetrieve(params json.RawMessage) (*Retrieve, error) {
	var p struct {
		authFields
		Namespace      *int32   `json:"namespace"`
		Timestamp      *int64   `json:"timestamp"`
		AfterTimestamp *int64   `json:"after_timestamp"`
		AfterHash      *string  `json:"after_hash"`
		MaxCount       *int     `json:"max_count"`
		MaxSize        *int     `json:"max_size"`
		Wait           *int64   `json:"wait"`
		Known          []string `json:"known"`
	}
	if err := decodeStrict(params, &p, "params"); err != nil {
		return nil, err
	}
	r := &Retrieve{MaxCount: RetrieveMaxCount, MaxSize: RetrieveMaxSize}
	if len(p.Known) > MaxKnown {
		return nil, Errorf(CodeTooLarge, "known: at most %d hashes", MaxKnown)
	}
	for i, h := range p.Known {
		if !ValidHash(h) {
			return nil, Errorf(CodeBadField, "known[%d]: not a message hash", i)
		}
	}
	r.Known = p.Known
	if p.Wait != nil {
		if *p.Wait < 0 || *p.Wait > MaxWait.Milliseconds() {
			return nil, Errorf(CodeBadField, "wait: must be 0…%d ms", MaxWait.Milliseconds())
		}
		r.Wait = time.Duration(*p.Wait) * time.Millisecond
	}
	var err error
	if r.Namespace, err = parseNamespace(p.Namespace); err != nil {
		return nil, err
	}
	if isGroupPubkey(p.Pubkey) {
		if err := checkGroupNamespace(r.Namespace); err != nil {
			return nil, err
		}
	}
	if r.Auth, r.Unsigned, err = p.retrieveAuth(r.Namespace); err != nil {
		return nil, err
	}
	if r.Timestamp, err = parseMs("timestamp", p.Timestamp); err != nil {
		return nil, err
	}
	if (p.AfterTimestamp == nil) != (p.AfterHash == nil) {
		return nil, Errorf(CodeMissingField, "after_timestamp and after_hash go together")
	}
	if p.AfterTimestamp != nil {
		if r.AfterTimestamp, err = parseMs("after_timestamp", p.AfterTimestamp); err != nil {
			return nil, err
		}
		if !ValidHash(*p.AfterHash) {
			return nil, Errorf(CodeBadField, "after_hash: not a message hash")
		}
		r.AfterHash = *p.AfterHash
	}
	count, size := 0, 0
	if p.MaxCount != nil {
		if *p.MaxCount < 0 {
			return nil, Errorf(CodeBadField, "max_count: must not be negative")
		}
		count = *p.MaxCount
	}
	if p.MaxSize != nil {
		size = *p.MaxSize
	}
	if count == 0 && size == 0 {
		size = -5
	}
	switch {
	case size < 0:
		r.MaxSize = RetrieveMaxSize / -max(size, -RetrieveMaxSize)
	case size > 0 && size < RetrieveMaxSize:
		r.MaxSize = size
	}
	if count > 0 && count < RetrieveMaxCount {
		r.MaxCount = count
	}
	return r, nil
}

// SigMessage returns the string r's signature must cover.
func (r *Retrieve) SigMessage(networkID string) []byte {
	return SigRetrieve(networkID, r.Namespace, r.Timestamp)
}

// Delete is a checked delete request.
type Delete struct {
	Auth      *Auth
	Hashes    []string
	Timestamp time.Time // the signed request time
}

// ParseDelete checks a delete request.
func ParseDelete(params json.RawMessage) (*Delete, error) {
	var p struct {
		authFields
		Messages  *[]string `json:"messages"`
		Timestamp *int64    `json:"timestamp"`
	}
	if err := decodeStrict(params, &p, "params"); err != nil {
		return nil, err
	}
	r := &Delete{}
	var err error
	if r.Auth, err = p.auth(); err != nil {
		return nil, err
	}
	if r.Hashes, err = parseHashes(p.Messages); err != nil {
		return nil, err
	}
	if r.Timestamp, err = parseMs("timestamp", p.Timestamp); err != nil {
		return nil, err
	}
	return r, nil
}

// SigMessage returns the string r's signature must cover.
func (r *Delete) SigMessage(networkID string) []byte {
	return SigDelete(networkID, r.Timestamp, r.Hashes)
}

// DeleteAll is a checked delete_all request. Only messages deposited
// before Timestamp are deleted, so a replay cannot erase newer mail.
type DeleteAll struct {
	Auth      *Auth
	Namespace *int32 // nil: all namespaces
	Timestamp time.Time
}

// ParseDeleteAll checks a delete_all request.
func ParseDeleteAll(params json.RawMessage) (*DeleteAll, error) {
	var p struct {
		authFields
		Namespace json.RawMessage `json:"namespace"`
		Timestamp *int64          `json:"timestamp"`
	}
	if err := decodeStrict(params, &p, "params"); err != nil {
		return nil, err
	}
	r := &DeleteAll{}
	var err error
	if r.Auth, err = p.auth(); err != nil {
		return nil, err
	}
	if r.Namespace, err = parseNamespaceVar(p.Namespace); err != nil {
		return nil, err
	}
	if r.Timestamp, err = parseMs("timestamp", p.Timestamp); err != nil {
		return nil, err
	}
	return r, nil
}

// SigMessage returns the string r's signature must cover.
func (r *DeleteAll) SigMessage(networkID string) []byte {
	return SigDeleteAll(networkID, r.Namespace, r.Timestamp)
}

// DeleteBefore is a checked delete_before request.
type DeleteBefore struct {
	Auth      *Auth
	Namespace *int32 // nil: all namespaces
	Before    time.Time
	Timestamp time.Time // the signed request time
}

// ParseDeleteBefore checks a delete_before request.
func ParseDeleteBefore(params json.RawMessage) (*DeleteBefore, error) {
	var p struct {
		authFields
		Namespace json.RawMessage `json:"namespace"`
		Before    *int64          `json:"before"`
		Timestamp *int64          `json:"timestamp"`
	}
	if err := decodeStrict(params, &p, "params"); err != nil {
		return nil, err
	}
	r := &DeleteBefore{}
	var err error
	if r.Auth, err = p.auth(); err != nil {
		return nil, err
	}
	if r.Namespace, err = parseNamespaceVar(p.Namespace); err != nil {
		return nil, err
	}
	if r.Before, err = parseMs("before", p.Before); err != nil {
		return nil, err
	}
	if r.Timestamp, err = parseMs("timestamp", p.Timestamp); err != nil {
		return nil, err
	}
	return r, nil
}

// SigMessage returns the string r's signature must cover.
func (r *DeleteBefore) SigMessage(networkID string) []byte {
	return SigDeleteBefore(networkID, r.Timestamp, r.Namespace, r.Before)
}

// CheckTime checks the signed request time against the node's clock
// (±[SigTolerance]) and refuses a cut-off more than [SigTolerance] in the
// future (Session allows one minute), which would otherwise reach messages
// not yet deposited.
func (r *DeleteBefore) CheckTime(now time.Time) error {
	if err := CheckSigTime("timestamp", r.Timestamp, now); err != nil {
		return err
	}
	if d := r.Before.Sub(now); d > SigTolerance {
		return Errorf(CodeClockSkew, "before is %s ahead of node time %d (tolerance %s); check your clock", d.Round(time.Millisecond), now.UnixMilli(), SigTolerance)
	}
	return nil
}

// Expire is a checked expire request.
type Expire struct {
	Auth      *Auth
	Hashes    []string
	Expiry    time.Time
	Mode      ExpireMode
	Timestamp time.Time // the signed request time
}

// ParseExpire checks an expire request.
func ParseExpire(params json.RawMessage) (*Expire, error) {
	var p struct {
		authFields
		Messages  *[]string `json:"messages"`
		Expiry    *int64    `json:"expiry"`
		Shorten   *bool     `json:"shorten"`
		Extend    *bool     `json:"extend"`
		Timestamp *int64    `json:"timestamp"`
	}
	if err := decodeStrict(params, &p, "params"); err != nil {
		return nil, err
	}
	r := &Expire{}
	var err error
	if r.Auth, err = p.auth(); err != nil {
		return nil, err
	}
	if r.Hashes, err = parseHashes(p.Messages); err != nil {
		return nil, err
	}
	if r.Expiry, err = parseMs("expiry", p.Expiry); err != nil {
		return nil, err
	}
	if r.Timestamp, err = parseMs("timestamp", p.Timestamp); err != nil {
		return nil, err
	}
	shorten, extend := p.Shorten != nil && *p.Shorten, p.Extend != nil && *p.Extend
	switch {
	case shorten && extend:
		return nil, Errorf(CodeBadField, "shorten and extend exclude each other")
	case shorten:
		r.Mode = ExpireShorten
	case extend:
		r.Mode = ExpireExtend
	}
	return r, nil
}

// SigMessage returns the string r's signature must cover.
func (r *Expire) SigMessage(networkID string) []byte {
	return SigExpire(networkID, r.Timestamp, r.Mode, r.Expiry, r.Hashes)
}

// ExpireAll is a checked expire_all request. As in Session it only
// shortens expiries.
type ExpireAll struct {
	Auth      *Auth
	Namespace *int32 // nil: all namespaces
	Expiry    time.Time
	Timestamp time.Time // the signed request time
}

// ParseExpireAll checks an expire_all request.
func ParseExpireAll(params json.RawMessage) (*ExpireAll, error) {
	var p struct {
		authFields
		Namespace json.RawMessage `json:"namespace"`
		Expiry    *int64          `json:"expiry"`
		Timestamp *int64          `json:"timestamp"`
	}
	if err := decodeStrict(params, &p, "params"); err != nil {
		return nil, err
	}
	r := &ExpireAll{}
	var err error
	if r.Auth, err = p.auth(); err != nil {
		return nil, err
	}
	if r.Namespace, err = parseNamespaceVar(p.Namespace); err != nil {
		return nil, err
	}
	if r.Expiry, err = parseMs("expiry", p.Expiry); err != nil {
		return nil, err
	}
	if r.Timestamp, err = parseMs("timestamp", p.Timestamp); err != nil {
		return nil, err
	}
	return r, nil
}

// SigMessage returns the string r's signature must cover.
func (r *ExpireAll) SigMessage(networkID string) []byte {
	return SigExpireAll(networkID, r.Timestamp, r.Namespace, r.Expiry)
}

// CheckExpiry applies Session's rule for expire and expire_all: the new
// expiry may not be more than [SigTolerance] in the past (that would be a
// stale request), and is clamped to now + [MaxTTLPrivate].
func CheckExpiry(expiry, now time.Time) (time.Time, error) {
	if expiry.Before(now.Add(-SigTolerance)) {
		return expiry, Errorf(CodeClockSkew, "expiry is %s before node time %d (tolerance %s); check your clock",
			now.Sub(expiry).Round(time.Millisecond), now.UnixMilli(), SigTolerance)
	}
	if lim := now.Add(MaxTTLPrivate); expiry.After(lim) {
		expiry = lim
	}
	return expiry, nil
}

// GetExpiries is a checked get_expiries request.
type GetExpiries struct {
	Auth      *Auth
	Hashes    []string
	Timestamp time.Time
}

// ParseGetExpiries checks a get_expiries request.
func ParseGetExpiries(params json.RawMessage) (*GetExpiries, error) {
	var p struct {
		authFields
		Messages  *[]string `json:"messages"`
		Timestamp *int64    `json:"timestamp"`
	}
	if err := decodeStrict(params, &p, "params"); err != nil {
		return nil, err
	}
	r := &GetExpiries{}
	var err error
	if r.Auth, err = p.auth(); err != nil {
		return nil, err
	}
	if r.Hashes, err = parseHashes(p.Messages); err != nil {
		return nil, err
	}
	if r.Timestamp, err = parseMs("timestamp", p.Timestamp); err != nil {
		return nil, err
	}
	return r, nil
}

// SigMessage returns the string r's signature must cover.
func (r *GetExpiries) SigMessage(networkID string) []byte {
	return SigGetExpiries(networkID, r.Timestamp, r.Hashes)
}

// ParseGetSwarm checks a get_swarm request and returns its account.
func ParseGetSwarm(params json.RawMessage) (identity.AccountID, error) {
	var p struct {
		Pubkey *string `json:"pubkey"`
	}
	if err := decodeStrict(params, &p, "params"); err != nil {
		return identity.AccountID{}, err
	}
	if isGroupPubkey(p.Pubkey) {
		// A group's swarm is found as an account's is.
		g, err := group.ParseID(*p.Pubkey)
		if err != nil {
			return identity.AccountID{}, Errorf(CodeBadPubkey, "pubkey: %v", err)
		}
		return g.Account(), nil
	}
	return parseAccount(p.Pubkey)
}

// ParseInfo checks an info request: no parameters (an empty object or none).
func ParseInfo(params json.RawMessage) error {
	if len(params) == 0 || string(params) == "null" {
		return nil
	}
	var p struct{}
	return decodeStrict(params, &p, "params")
}

// ParseBatch checks a batch or sequence request: 1 to [MaxBatch]
// sub-requests, none of them a batch or sequence itself.
func ParseBatch(params json.RawMessage) ([]Request, error) {
	var p struct {
		Requests *[]json.RawMessage `json:"requests"`
	}
	if err := decodeStrict(params, &p, "params"); err != nil {
		return nil, err
	}
	if p.Requests == nil {
		return nil, Errorf(CodeMissingField, "requests is required")
	}
	raw := *p.Requests
	if len(raw) == 0 {
		return nil, Errorf(CodeBadField, "requests: at least one sub-request is required")
	}
	if len(raw) > MaxBatch {
		return nil, Errorf(CodeTooLarge, "requests: at most %d sub-requests, got %d", MaxBatch, len(raw))
	}
	reqs := make([]Request, len(raw))
	for i, r := range raw {
		req, err := DecodeRequest(r)
		if err != nil {
			e := err.(*Error)
			return nil, Errorf(e.Code, "requests[%d]: %s", i, e.Message)
		}
		if req.Method == MethodBatch || req.Method == MethodSequence {
			return nil, Errorf(CodeUnknownMethod, "requests[%d]: %s cannot be nested", i, req.Method)
		}
		reqs[i] = req
	}
	return reqs, nil
}
