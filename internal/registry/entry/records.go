package entry

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Domain labels: the first bytes of every message a key signs here.
const (
	labelDescriptor = "hush/1 registry descriptor"
	labelAdmission  = "hush/1 registry admission"
	labelVote       = "hush/1 registry liveness vote"
	labelHostChange = "hush/1 registry host change"
	labelDeregister = "hush/1 registry deregister"
)

// Signature is an Ed25519 signature; 128 lowercase hex characters in JSON.
type Signature [ed25519.SignatureSize]byte

// MarshalText implements encoding.TextMarshaler (lowercase hex).
func (s Signature) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "%x", s[:]), nil }

// UnmarshalText implements encoding.TextUnmarshaler; only lowercase hex.
func (s *Signature) UnmarshalText(b []byte) error {
	if len(b) != 2*len(s) {
		return fmt.Errorf("signature: want %d hex characters, got %d", 2*len(s), len(b))
	}
	for i := range s {
		hi, ok1 := unhex(b[2*i])
		lo, ok2 := unhex(b[2*i+1])
		if !ok1 || !ok2 {
			return fmt.Errorf("signature: not lowercase hex")
		}
		s[i] = hi<<4 | lo
	}
	return nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func sign(priv ed25519.PrivateKey, msg []byte) Signature {
	var s Signature
	copy(s[:], ed25519.Sign(priv, msg))
	return s
}

// verify checks the key is a usable identity before the signature, so a
// small-order key (for which forged signatures are easy) never passes.
func verify(what string, k identity.Ed25519PublicKey, msg []byte, sig Signature) error {
	if err := snapshot.CheckEd25519(k); err != nil {
		return fmt.Errorf("%w: %s key: %v", ErrMalformed, what, err)
	}
	if !ed25519.Verify(k.Bytes(), msg, sig[:]) {
		return fmt.Errorf("%w: %s signature by %s", ErrBadSignature, what, k)
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = append(b, byte(len(s)))
	return append(b, s...)
}

func header(label, networkID string) []byte {
	b := append([]byte(label), byte(len(networkID)))
	return append(b, networkID...)
}

// Descriptor is what a node publishes about itself.
type Descriptor struct {
	Ed25519 identity.Ed25519PublicKey `json:"pubkey_ed25519"`
	X25519  snapshot.X25519Key        `json:"pubkey_x25519"`
	// Address is the advertised host:port (see snapshot.CheckAddress).
	Address string `json:"address"`
	// Version is the node software's version, printable ASCII.
	Version string `json:"version"`
	// TimestampMs orders a node's descriptors: a registration replaces
	// the previous one only with a later timestamp.
	TimestampMs int64 `json:"timestamp_ms"`
}

// SignedDescriptor is a descriptor signed by the node's own Ed25519 key.
type SignedDescriptor struct {
	Descriptor
	Signature Signature `json:"signature"`
}

// SignedBytes returns the message a node signs:
//
//	"hush/1 registry descriptor" ‖ u8 len ‖ network ID ‖ [32] ed25519 ‖ [32] x25519
//	‖ u8 len ‖ address ‖ u8 len ‖ version ‖ i64 timestamp_ms
func (d *Descriptor) SignedBytes(networkID string) []byte {
	b := header(labelDescriptor, networkID)
	b = append(b, d.Ed25519.Bytes()...)
	b = append(b, d.X25519[:]...)
	b = appendString(b, d.Address)
	b = appendString(b, d.Version)
	return binary.BigEndian.AppendUint64(b, uint64(d.TimestampMs))
}

// Check reports whether the descriptor's fields are well formed; every
// error wraps [ErrMalformed].
func (d *Descriptor) Check() error {
	if err := snapshot.CheckEd25519(d.Ed25519); err != nil {
		return fmt.Errorf("%w: descriptor pubkey_ed25519: %v", ErrMalformed, err)
	}
	if err := snapshot.CheckX25519(d.X25519); err != nil {
		return fmt.Errorf("%w: descriptor pubkey_x25519: %v", ErrMalformed, err)
	}
	if err := snapshot.CheckAddress(d.Address); err != nil {
		return fmt.Errorf("%w: descriptor address: %v", ErrMalformed, err)
	}
	if err := CheckVersion(d.Version); err != nil {
		return fmt.Errorf("%w: descriptor version: %v", ErrMalformed, err)
	}
	if d.TimestampMs <= 0 {
		return fmt.Errorf("%w: descriptor timestamp_ms must be positive", ErrMalformed)
	}
	return nil
}

// CheckVersion reports whether v is a version string a snapshot can
// carry: 1 to snapshot.MaxVersionLen printable ASCII characters.
func CheckVersion(v string) error {
	if v == "" || len(v) > snapshot.MaxVersionLen {
		return fmt.Errorf("version must be 1 to %d characters", snapshot.MaxVersionLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return fmt.Errorf("version %q: only printable ASCII without spaces", v)
		}
	}
	return nil
}

// SignDescriptor signs d with the node's key, which must match d.Ed25519.
func SignDescriptor(networkID string, d Descriptor, node ed25519.PrivateKey) (SignedDescriptor, error) {
	if identity.Ed25519PublicKeyOf(node) != d.Ed25519 {
		return SignedDescriptor{}, fmt.Errorf("%w: descriptor key is not the signing key", ErrMalformed)
	}
	return SignedDescriptor{Descriptor: d, Signature: sign(node, d.SignedBytes(networkID))}, nil
}

// Verify checks the descriptor's fields and that its own key signed it.
// Errors wrap [ErrMalformed] or [ErrBadSignature].
func (s *SignedDescriptor) Verify(networkID string) error {
	if err := s.Check(); err != nil {
		return err
	}
	return verify("descriptor", s.Ed25519, s.SignedBytes(networkID), s.Signature)
}

// Admission is a steward's statement that a node key may join: hush's
// stand-in for Oxen's stake (DESIGN §3).
type Admission struct {
	Node       identity.Ed25519PublicKey `json:"node"`
	Steward    identity.Ed25519PublicKey `json:"steward"`
	IssuedAtMs int64                     `json:"issued_at_ms"`
	Signature  Signature                 `json:"signature"`
}

// SignedBytes returns the message a steward signs:
//
//	"hush/1 registry admission" ‖ u8 len ‖ network ID ‖ [32] node ‖ i64 issued_at_ms
func (a *Admission) SignedBytes(networkID string) []byte {
	b := header(labelAdmission, networkID)
	b = append(b, a.Node.Bytes()...)
	return binary.BigEndian.AppendUint64(b, uint64(a.IssuedAtMs))
}

// Admit returns a steward's admission of node.
func Admit(networkID string, node identity.Ed25519PublicKey, issuedAtMs int64, steward ed25519.PrivateKey) Admission {
	a := Admission{Node: node, Steward: identity.Ed25519PublicKeyOf(steward), IssuedAtMs: issuedAtMs}
	a.Signature = sign(steward, a.SignedBytes(networkID))
	return a
}

// Verify checks the admission's signature by the key it names; whether
// that key is a steward is the registry's to decide.
func (a *Admission) Verify(networkID string) error {
	if err := snapshot.CheckEd25519(a.Node); err != nil {
		return fmt.Errorf("%w: admitted node key: %v", ErrMalformed, err)
	}
	if a.IssuedAtMs <= 0 {
		return fmt.Errorf("%w: admission issued_at_ms must be positive", ErrMalformed)
	}
	return verify("admission", a.Steward, a.SignedBytes(networkID), a.Signature)
}

// Vote is a registry host's view of a node's reachability. A host votes
// Unreachable once the node has failed its probes for the configured time,
// and withdraws the vote (Unreachable false) when the node answers again.
type Vote struct {
	Host identity.Ed25519PublicKey `json:"host"`
	Node identity.Ed25519PublicKey `json:"node"`
	// Registration is the timestamp of the node descriptor the vote is
	// about, so a vote against an old registration never counts against
	// a node that has since re-registered.
	Registration int64 `json:"registration_ms"`
	Unreachable  bool  `json:"unreachable"`
	// TimestampMs orders one host's votes on one node; older ones are
	// replays.
	TimestampMs int64     `json:"timestamp_ms"`
	Signature   Signature `json:"signature"`
}

// SignedBytes returns the message a host signs:
//
//	"hush/1 registry liveness vote" ‖ u8 len ‖ network ID ‖ [32] host ‖ [32] node
//	‖ i64 registration_ms ‖ u8 unreachable ‖ i64 timestamp_ms
func (v *Vote) SignedBytes(networkID string) []byte {
	b := header(labelVote, networkID)
	b = append(b, v.Host.Bytes()...)
	b = append(b, v.Node.Bytes()...)
	b = binary.BigEndian.AppendUint64(b, uint64(v.Registration))
	u := byte(0)
	if v.Unreachable {
		u = 1
	}
	b = append(b, u)
	return binary.BigEndian.AppendUint64(b, uint64(v.TimestampMs))
}

// SignVote fills in v.Host and v.Signature with the host's key.
func SignVote(networkID string, v Vote, host ed25519.PrivateKey) Vote {
	v.Host = identity.Ed25519PublicKeyOf(host)
	v.Signature = sign(host, v.SignedBytes(networkID))
	return v
}

// Verify checks the vote's signature by the host it names.
func (v *Vote) Verify(networkID string) error {
	if v.TimestampMs <= 0 {
		return fmt.Errorf("%w: vote timestamp_ms must be positive", ErrMalformed)
	}
	return verify("vote", v.Host, v.SignedBytes(networkID), v.Signature)
}

// Deregister is a node's own request to leave the network at once,
// instead of waiting for the hosts to vote it unreachable. The registry
// drops it from the node list when applied; its swarm learns at the next
// epoch, as for a voted-out node.
type Deregister struct {
	Node identity.Ed25519PublicKey `json:"node"`
	// TimestampMs must be later than the node's current registration, so
	// a deregistration never removes a registration made after it.
	TimestampMs int64     `json:"timestamp_ms"`
	Signature   Signature `json:"signature"`
}

// SignedBytes returns the message the node signs:
//
//	"hush/1 registry deregister" ‖ u8 len ‖ network ID ‖ [32] node ‖ i64 timestamp_ms
func (d *Deregister) SignedBytes(networkID string) []byte {
	b := header(labelDeregister, networkID)
	b = append(b, d.Node.Bytes()...)
	return binary.BigEndian.AppendUint64(b, uint64(d.TimestampMs))
}

// SignDeregister returns the node's signed request to leave.
func SignDeregister(networkID string, timestampMs int64, node ed25519.PrivateKey) Deregister {
	d := Deregister{Node: identity.Ed25519PublicKeyOf(node), TimestampMs: timestampMs}
	d.Signature = sign(node, d.SignedBytes(networkID))
	return d
}

// Verify checks the request's signature by the node it names.
func (d *Deregister) Verify(networkID string) error {
	if d.TimestampMs <= 0 {
		return fmt.Errorf("%w: deregister timestamp_ms must be positive", ErrMalformed)
	}
	return verify("deregister", d.Node, d.SignedBytes(networkID), d.Signature)
}

// HostInfo names a registry host: its key and where to reach it.
type HostInfo struct {
	Key identity.Ed25519PublicKey `json:"pubkey_ed25519"`
	// RaftAddress carries Raft traffic (mutual TLS pinned to host keys).
	RaftAddress string `json:"raft_address"`
	// APIAddress serves the HTTPS API to nodes, tools and other hosts.
	APIAddress string `json:"api_address"`
}

// Check reports whether the fields are well formed.
func (h *HostInfo) Check() error {
	if err := snapshot.CheckEd25519(h.Key); err != nil {
		return fmt.Errorf("%w: host key: %v", ErrMalformed, err)
	}
	if err := snapshot.CheckAddress(h.RaftAddress); err != nil {
		return fmt.Errorf("%w: host raft_address: %v", ErrMalformed, err)
	}
	if err := snapshot.CheckAddress(h.APIAddress); err != nil {
		return fmt.Errorf("%w: host api_address: %v", ErrMalformed, err)
	}
	return nil
}

// HostChange adds or removes a registry host. A current host signs it;
// the operator runs it with `hushd registry join|leave` on that host.
type HostChange struct {
	Signer identity.Ed25519PublicKey `json:"signer"`
	Add    bool                      `json:"add"`
	Host   HostInfo                  `json:"host"`
	// TimestampMs must exceed that of the last applied change.
	TimestampMs int64     `json:"timestamp_ms"`
	Signature   Signature `json:"signature"`
}

// SignedBytes returns the message the signing host signs:
//
//	"hush/1 registry host change" ‖ u8 len ‖ network ID ‖ [32] signer ‖ u8 add
//	‖ [32] host key ‖ u8 len ‖ raft address ‖ u8 len ‖ api address ‖ i64 timestamp_ms
func (c *HostChange) SignedBytes(networkID string) []byte {
	b := header(labelHostChange, networkID)
	b = append(b, c.Signer.Bytes()...)
	add := byte(0)
	if c.Add {
		add = 1
	}
	b = append(b, add)
	b = append(b, c.Host.Key.Bytes()...)
	b = appendString(b, c.Host.RaftAddress)
	b = appendString(b, c.Host.APIAddress)
	return binary.BigEndian.AppendUint64(b, uint64(c.TimestampMs))
}

// SignHostChange fills in c.Signer and c.Signature with a host's key.
func SignHostChange(networkID string, c HostChange, signer ed25519.PrivateKey) HostChange {
	c.Signer = identity.Ed25519PublicKeyOf(signer)
	c.Signature = sign(signer, c.SignedBytes(networkID))
	return c
}

// Verify checks the change's fields and its signature by the signer it
// names; whether the signer is a host is the registry's to decide.
func (c *HostChange) Verify(networkID string) error {
	if c.Add {
		if err := c.Host.Check(); err != nil {
			return err
		}
	} else if err := snapshot.CheckEd25519(c.Host.Key); err != nil {
		return fmt.Errorf("%w: host key: %v", ErrMalformed, err)
	}
	if c.TimestampMs <= 0 {
		return fmt.Errorf("%w: host change timestamp_ms must be positive", ErrMalformed)
	}
	return verify("host change", c.Signer, c.SignedBytes(networkID), c.Signature)
}

// EpochSignature is a registry host's signature over the snapshot the
// registry built at Epoch (snapshot.SignedBytes of it).
type EpochSignature struct {
	Epoch     uint64                    `json:"epoch"`
	Host      identity.Ed25519PublicKey `json:"host"`
	Signature Signature                 `json:"signature"`
}
