// Package snapshot defines the signed registry snapshot: the list of
// service nodes, their keys and addresses, and the swarm each belongs to,
// as agreed by the registry at one epoch (DESIGN §3). Registry hosts
// produce and [Sign] it; nodes and clients check it with [Verify] against
// the registry hosts named in the network file, and then look nodes and
// swarms up in it. The package does no I/O: callers pass bytes and the
// current time.
//
// # Format
//
// A snapshot travels as JSON, like everything hush speaks, with keys and
// signatures in lowercase hex:
//
//	{"network_id":"devnet","epoch":7,"issued_at_ms":...,"expires_at_ms":...,
//	 "swarm_min_size":5,"swarm_ideal_size":7,
//	 "nodes":[{"pubkey_ed25519":"..","pubkey_x25519":"..","address":"10.0.0.1:22021",
//	           "version":"0.1.0","swarm_id":"123"}, ...],
//	 "signatures":[{"pubkey_ed25519":"..","signature":".."}, ...]}
//
// Swarm IDs are decimal strings because they use all 64 bits and JSON
// numbers lose precision above 2^53 in JavaScript. A node without a swarm
// omits swarm_id; the reserved value [Unassigned] never appears on the
// wire. Nodes are the only source of truth for swarm membership: swarms
// are derived from the nodes' swarm IDs, so the two cannot disagree.
//
// Signatures do not cover the JSON. JSON has no canonical form (spacing,
// key order, escapes, number spellings), so signing it would force every
// verifier to reproduce the signer's exact serializer. Instead each host
// signs [SignedBytes]: a length-prefixed binary encoding of the parsed
// values, nodes in ascending Ed25519 key order, behind the domain label
// "hush/1 snapshot" and the network ID, so that a snapshot of one network
// (or a signature made for another purpose) is never valid elsewhere. A
// verifier parses the JSON, rebuilds those bytes from the values it will
// use, and checks the signatures over them: what is verified is exactly
// what is used. The parser is strict anyway (unknown, duplicate or
// case-variant JSON keys, uppercase hex, unsorted or duplicate entries
// are all rejected) so that one snapshot has one spelling.
//
// # Trust
//
// A snapshot is valid with valid signatures from a strict majority of
// the distinct registry hosts the caller lists. Signatures by keys not on
// that list are ignored rather than rejected: registry hosts are added
// and removed over time, and a client with an older network file must
// still accept a snapshot that a new host also signed. A signature from a
// listed host that does not verify is an error ([ErrBadSignature]) even if
// a majority is otherwise present, because honest hosts never produce
// one: it means tampering or a bug that someone should see.
package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/strictjson"
)

// Unassigned is the swarm ID of a node that is in no swarm, the value
// oxen-core reserves for the same purpose (UNASSIGNED_SWARM_ID =
// UINT64_MAX in cryptonote_core/service_node_rules.h). It is never a
// real swarm's ID and never appears in the JSON encoding.
const Unassigned uint64 = math.MaxUint64

// Bounds on what a snapshot may hold. They cap the work an untrusted
// snapshot can cost a verifier before any signature is checked.
const (
	MaxEncodedSize = 16 << 20 // bytes of JSON
	MaxNodes       = 50_000
	MaxSignatures  = 64
	MinSwarmSize   = 3  // a store needs two confirmations besides the receiver
	MaxSwarmSize   = 64 // far above any sensible ideal size
)

// Errors returned by [Decode] and [Verify]. Each returned error wraps
// exactly one of them, so callers can tell the cases apart with
// errors.Is; the message adds the detail.
var (
	// ErrMalformed: the bytes are not a well-formed snapshot.
	ErrMalformed = errors.New("malformed snapshot")
	// ErrWrongNetwork: the snapshot is for another network.
	ErrWrongNetwork = errors.New("snapshot is for another network")
	// ErrRollback: the snapshot's epoch is older than one already accepted.
	ErrRollback = errors.New("snapshot epoch rolls back")
	// ErrExpired: the snapshot's expiry time has passed.
	ErrExpired = errors.New("snapshot expired")
	// ErrNotYetValid: the snapshot was issued further in the future than
	// the allowed clock skew.
	ErrNotYetValid = errors.New("snapshot issued in the future")
	// ErrTooFewSignatures: fewer than a strict majority of the listed
	// registry hosts signed the snapshot.
	ErrTooFewSignatures = errors.New("snapshot lacks a majority of registry signatures")
	// ErrBadSignature: a signature by a listed registry host does not
	// verify: the snapshot was tampered with or forged.
	ErrBadSignature = errors.New("invalid registry signature on snapshot")
)

// Snapshot is the registry's view of the network at one epoch.
//
// Snapshots returned by [Decode] and [Verify] have Nodes sorted by
// ascending Ed25519 key and Signatures by ascending host key; [Sign]
// sorts both in place. The lookup methods rely on that order.
type Snapshot struct {
	NetworkID string
	// Epoch increases with every snapshot the registry issues.
	Epoch uint64
	// IssuedAt and ExpiresAt are carried with millisecond precision;
	// anything finer is truncated when encoding.
	IssuedAt  time.Time
	ExpiresAt time.Time
	// SwarmMinSize and SwarmIdealSize are the assignment parameters the
	// registry used (oxen-core's MIN_SWARM_SIZE and IDEAL_SWARM_SIZE).
	SwarmMinSize   int
	SwarmIdealSize int
	Nodes          []Node
	Signatures     []HostSignature
}

// Node is one registered service node.
type Node struct {
	Ed25519 identity.Ed25519PublicKey
	X25519  X25519Key
	// Address is the advertised host:port; see [CheckAddress].
	Address string
	// Version is the node software's version string, printable ASCII.
	Version string
	// Swarm is the node's swarm ID, or [Unassigned].
	Swarm uint64
}

// HostSignature is one registry host's Ed25519 signature over
// [SignedBytes].
type HostSignature struct {
	Host      identity.Ed25519PublicKey
	Signature [64]byte
}

type wireSnapshot struct {
	NetworkID      *string     `json:"network_id"`
	Epoch          *uint64     `json:"epoch"`
	IssuedAtMs     *int64      `json:"issued_at_ms"`
	ExpiresAtMs    *int64      `json:"expires_at_ms"`
	SwarmMinSize   *int        `json:"swarm_min_size"`
	SwarmIdealSize *int        `json:"swarm_ideal_size"`
	Nodes          *[]wireNode `json:"nodes"`
	Signatures     []wireSig   `json:"signatures"`
}

type wireNode struct {
	Ed25519 *identity.Ed25519PublicKey `json:"pubkey_ed25519"`
	X25519  *X25519Key                 `json:"pubkey_x25519"`
	Address string                     `json:"address"`
	Version string                     `json:"version"`
	Swarm   *swarmID                   `json:"swarm_id,omitempty"`
}

type wireSig struct {
	Host      *identity.Ed25519PublicKey `json:"pubkey_ed25519"`
	Signature *sigHex                    `json:"signature"`
}

// swarmID is a swarm ID in JSON: a decimal string without leading zeros.
type swarmID uint64

func (id swarmID) MarshalText() ([]byte, error) {
	return strconv.AppendUint(nil, uint64(id), 10), nil
}

func (id *swarmID) UnmarshalText(b []byte) error {
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil || strconv.FormatUint(v, 10) != string(b) {
		return fmt.Errorf("swarm_id %q: want a decimal uint64 without leading zeros", b)
	}
	if v == Unassigned {
		return fmt.Errorf("swarm_id %d is reserved for unassigned nodes; omit the field instead", v)
	}
	*id = swarmID(v)
	return nil
}

type sigHex [64]byte

func (s sigHex) MarshalText() ([]byte, error) {
	return fmt.Appendf(nil, "%x", s[:]), nil
}

func (s *sigHex) UnmarshalText(b []byte) error { return decodeHex("signature", s[:], b) }

// Decode parses a snapshot and checks that it is well formed: field
// syntax, valid keys, canonical order, no duplicate nodes, X25519 keys
// or addresses, no duplicate signers. It does not check signatures,
// network, epoch or time; use [Verify] for a snapshot from the network.
// Every error wraps [ErrMalformed].
func Decode(raw []byte) (*Snapshot, error) {
	s, err := decodeStructure(raw)
	if err != nil {
		return nil, err
	}
	if err := s.validateKeys(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return s, nil
}

// decodeStructure is Decode without the per-node key checks.
func decodeStructure(raw []byte) (*Snapshot, error) {
	if len(raw) > MaxEncodedSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds the %d-byte limit", ErrMalformed, len(raw), MaxEncodedSize)
	}
	// protocol/strictjson, as for every JSON a node accepts: no key twice,
	// none that only matches case-insensitively, nothing after the object.
	var w wireSnapshot
	if err := strictjson.Decode(raw, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	s, err := w.snapshot()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := s.validateStructure(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return s, nil
}

func (w *wireSnapshot) snapshot() (*Snapshot, error) {
	switch {
	case w.NetworkID == nil:
		return nil, errors.New("missing network_id")
	case w.Epoch == nil:
		return nil, errors.New("missing epoch")
	case w.IssuedAtMs == nil:
		return nil, errors.New("missing issued_at_ms")
	case w.ExpiresAtMs == nil:
		return nil, errors.New("missing expires_at_ms")
	case w.SwarmMinSize == nil:
		return nil, errors.New("missing swarm_min_size")
	case w.SwarmIdealSize == nil:
		return nil, errors.New("missing swarm_ideal_size")
	case w.Nodes == nil:
		return nil, errors.New("missing nodes")
	}
	s := &Snapshot{
		NetworkID:      *w.NetworkID,
		Epoch:          *w.Epoch,
		IssuedAt:       time.UnixMilli(*w.IssuedAtMs).UTC(),
		ExpiresAt:      time.UnixMilli(*w.ExpiresAtMs).UTC(),
		SwarmMinSize:   *w.SwarmMinSize,
		SwarmIdealSize: *w.SwarmIdealSize,
	}
	if len(*w.Nodes) > MaxNodes {
		return nil, fmt.Errorf("%d nodes exceeds the limit of %d", len(*w.Nodes), MaxNodes)
	}
	s.Nodes = make([]Node, len(*w.Nodes))
	for i, n := range *w.Nodes {
		switch {
		case n.Ed25519 == nil:
			return nil, fmt.Errorf("nodes[%d]: missing pubkey_ed25519", i)
		case n.X25519 == nil:
			return nil, fmt.Errorf("nodes[%d]: missing pubkey_x25519", i)
		}
		s.Nodes[i] = Node{Ed25519: *n.Ed25519, X25519: *n.X25519, Address: n.Address, Version: n.Version, Swarm: Unassigned}
		if n.Swarm != nil {
			s.Nodes[i].Swarm = uint64(*n.Swarm)
		}
	}
	if len(w.Signatures) > MaxSignatures {
		return nil, fmt.Errorf("%d signatures exceeds the limit of %d", len(w.Signatures), MaxSignatures)
	}
	for i, sg := range w.Signatures {
		if sg.Host == nil || sg.Signature == nil {
			return nil, fmt.Errorf("signatures[%d]: want pubkey_ed25519 and signature", i)
		}
		s.Signatures = append(s.Signatures, HostSignature{Host: *sg.Host, Signature: *sg.Signature})
	}
	return s, nil
}

// Encode returns the JSON encoding of s, with nodes and signatures in
// canonical order (s itself is not modified). It fails if s is not a
// valid snapshot, so what it writes always decodes.
func Encode(s *Snapshot) ([]byte, error) {
	c := s.sortedCopy()
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return c.marshal()
}

// marshal writes s as it is, without checks; tests use it to build
// invalid snapshots.
func (s *Snapshot) marshal() ([]byte, error) {
	c := s
	nodes := make([]wireNode, len(c.Nodes))
	for i := range c.Nodes {
		n := &c.Nodes[i]
		nodes[i] = wireNode{Ed25519: &n.Ed25519, X25519: &n.X25519, Address: n.Address, Version: n.Version}
		if n.Swarm != Unassigned {
			id := swarmID(n.Swarm)
			nodes[i].Swarm = &id
		}
	}
	sigs := make([]wireSig, len(c.Signatures))
	for i := range c.Signatures {
		sg := &c.Signatures[i]
		sigs[i] = wireSig{Host: &sg.Host, Signature: (*sigHex)(&sg.Signature)}
	}
	issued, expires := c.IssuedAt.UnixMilli(), c.ExpiresAt.UnixMilli()
	return json.Marshal(wireSnapshot{
		NetworkID:      &c.NetworkID,
		Epoch:          &c.Epoch,
		IssuedAtMs:     &issued,
		ExpiresAtMs:    &expires,
		SwarmMinSize:   &c.SwarmMinSize,
		SwarmIdealSize: &c.SwarmIdealSize,
		Nodes:          &nodes,
		Signatures:     sigs,
	})
}

// sortedCopy returns a copy of s whose slices are fresh and sorted, so
// encoding never reorders the caller's data behind its back.
func (s *Snapshot) sortedCopy() *Snapshot {
	c := *s
	c.Nodes = slices.Clone(s.Nodes)
	c.Signatures = slices.Clone(s.Signatures)
	c.sortInPlace()
	return &c
}

func (s *Snapshot) sortInPlace() {
	slices.SortStableFunc(s.Nodes, func(a, b Node) int { return a.Ed25519.Compare(b.Ed25519) })
	slices.SortStableFunc(s.Signatures, func(a, b HostSignature) int { return a.Host.Compare(b.Host) })
}

// validate checks everything except signatures, network, epoch and
// time. Order is always checked: callers that accept any order sort
// first, so a duplicate shows up as two equal neighbours.
func (s *Snapshot) validate() error {
	if err := s.validateStructure(); err != nil {
		return err
	}
	return s.validateKeys()
}

// validateKeys checks that every node key is a usable point. It costs
// about one Ed25519 verification per node, so [Verify] runs it only after
// the signatures check out: unauthenticated bytes cannot make a verifier
// do 50,000 scalar multiplications.
func (s *Snapshot) validateKeys() error {
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if err := CheckEd25519(n.Ed25519); err != nil {
			return fmt.Errorf("nodes[%d].pubkey_ed25519: %w", i, err)
		}
		if err := CheckX25519(n.X25519); err != nil {
			return fmt.Errorf("nodes[%d].pubkey_x25519: %w", i, err)
		}
	}
	return nil
}

// validateStructure checks everything validateKeys does not: syntax of
// each field, order and uniqueness.
func (s *Snapshot) validateStructure() error {
	if err := CheckNetworkID(s.NetworkID); err != nil {
		return fmt.Errorf("network_id: %w", err)
	}
	issued, expires := s.IssuedAt.UnixMilli(), s.ExpiresAt.UnixMilli()
	if issued <= 0 {
		return errors.New("issued_at_ms must be positive")
	}
	if expires <= issued {
		return errors.New("expires_at_ms must be after issued_at_ms")
	}
	if s.SwarmMinSize < MinSwarmSize || s.SwarmMinSize > MaxSwarmSize {
		return fmt.Errorf("swarm_min_size %d outside %d..%d", s.SwarmMinSize, MinSwarmSize, MaxSwarmSize)
	}
	if s.SwarmIdealSize < s.SwarmMinSize || s.SwarmIdealSize > MaxSwarmSize {
		return fmt.Errorf("swarm_ideal_size %d outside swarm_min_size..%d", s.SwarmIdealSize, MaxSwarmSize)
	}
	if len(s.Nodes) > MaxNodes {
		return fmt.Errorf("%d nodes exceeds the limit of %d", len(s.Nodes), MaxNodes)
	}
	if len(s.Signatures) > MaxSignatures {
		return fmt.Errorf("%d signatures exceeds the limit of %d", len(s.Signatures), MaxSignatures)
	}
	addrs := make(map[string]int, len(s.Nodes))
	x25519s := make(map[X25519Key]int, len(s.Nodes))
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if i > 0 {
			switch c := s.Nodes[i-1].Ed25519.Compare(n.Ed25519); {
			case c == 0:
				return fmt.Errorf("nodes[%d].pubkey_ed25519: duplicate node %s", i, n.Ed25519)
			case c > 0:
				return fmt.Errorf("nodes[%d].pubkey_ed25519: nodes not sorted by key", i)
			}
		}
		if j, dup := x25519s[n.X25519]; dup {
			return fmt.Errorf("nodes[%d].pubkey_x25519: same key as nodes[%d]", i, j)
		}
		x25519s[n.X25519] = i
		if err := CheckAddress(n.Address); err != nil {
			return fmt.Errorf("nodes[%d].address: %w", i, err)
		}
		if j, dup := addrs[n.Address]; dup {
			return fmt.Errorf("nodes[%d].address: %q already used by nodes[%d]", i, n.Address, j)
		}
		addrs[n.Address] = i
		if err := checkVersion(n.Version); err != nil {
			return fmt.Errorf("nodes[%d].version: %w", i, err)
		}
	}
	for i := 1; i < len(s.Signatures); i++ {
		switch c := s.Signatures[i-1].Host.Compare(s.Signatures[i].Host); {
		case c == 0:
			return fmt.Errorf("signatures[%d]: second signature by host %s", i, s.Signatures[i].Host)
		case c > 0:
			return fmt.Errorf("signatures[%d]: signatures not sorted by host key", i)
		}
	}
	return nil
}

func checkVersion(v string) error {
	if v == "" || len(v) > MaxVersionLen {
		return fmt.Errorf("must be 1 to %d characters", MaxVersionLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return fmt.Errorf("%q: only printable ASCII without spaces allowed", v)
		}
	}
	return nil
}
