package entry

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/snapshot"
)

// MaxCommandSize bounds an encoded command; the largest, a genesis with
// many hosts and stewards, stays far below it.
const MaxCommandSize = 64 << 10

// Type names a command.
type Type string

// Command types.
const (
	TypeGenesis    Type = "genesis"    // founds the registry: network, hosts, rules
	TypeAdmit      Type = "admit"      // a steward admits a node key
	TypeRegister   Type = "register"   // a node's descriptor (and maybe its admission)
	TypeVote       Type = "vote"       // a host's liveness vote on a node
	TypeHost       Type = "host"       // add or remove a registry host
	TypeTick       Type = "tick"       // the next epoch: swarm update and snapshot
	TypeEpochSig   Type = "epoch_sig"  // a host's signature over an epoch's snapshot
	TypeDeregister Type = "deregister" // a node leaves the network
)

// Command is one Raft log entry: a Type and the payload it names.
type Command struct {
	Type       Type            `json:"type"`
	Genesis    *Genesis        `json:"genesis,omitempty"`
	Admit      *Admission      `json:"admit,omitempty"`
	Register   *Register       `json:"register,omitempty"`
	Vote       *Vote           `json:"vote,omitempty"`
	Host       *HostChange     `json:"host,omitempty"`
	Tick       *Tick           `json:"tick,omitempty"`
	EpochSig   *EpochSignature `json:"epoch_sig,omitempty"`
	Deregister *Deregister     `json:"deregister,omitempty"`
}

// Genesis founds a registry. Everything a replica needs to apply the log
// the same way as every other replica is here, in the log, rather than in
// each host's config, so hosts cannot diverge by configuration.
type Genesis struct {
	NetworkID string     `json:"network_id"`
	Hosts     []HostInfo `json:"hosts"`
	// Stewards may sign admissions.
	Stewards []identity.Ed25519PublicKey `json:"stewards"`
	// OpenAdmission lets any node register without an admission (devnets).
	OpenAdmission  bool `json:"open_admission"`
	SwarmMinSize   int  `json:"swarm_min_size"`
	SwarmIdealSize int  `json:"swarm_ideal_size"`
}

// Register carries a node's signed descriptor to the log.
type Register struct {
	Descriptor SignedDescriptor `json:"descriptor"`
	// Admission may come with the registration instead of before it.
	Admission *Admission `json:"admission,omitempty"`
	// ReceivedAtMs is the accepting host's clock when the registration
	// arrived; the state machine, which reads no clock, bounds the
	// descriptor's timestamp by it.
	ReceivedAtMs int64 `json:"received_at_ms"`
}

// Tick starts the next epoch. The leader proposes it on its epoch timer.
type Tick struct {
	// Nonce is fresh randomness from the leader, drawn after the
	// registrations it follows were committed, so no registrant can
	// choose the seed that places it in a swarm.
	Nonce       Hash  `json:"nonce"`
	IssuedAtMs  int64 `json:"issued_at_ms"`
	ExpiresAtMs int64 `json:"expires_at_ms"`
}

// Hash is 32 bytes, lowercase hex in JSON.
type Hash [32]byte

// String returns the hash as lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText implements encoding.TextMarshaler.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; only lowercase hex.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 2*len(h) {
		return fmt.Errorf("hash: want %d hex characters, got %d", 2*len(h), len(b))
	}
	for i := range h {
		hi, ok1 := unhex(b[2*i])
		lo, ok2 := unhex(b[2*i+1])
		if !ok1 || !ok2 {
			return fmt.Errorf("hash: not lowercase hex")
		}
		h[i] = hi<<4 | lo
	}
	return nil
}

// Encode returns the command's JSON. It fails if the payload does not
// match the type.
func Encode(c *Command) ([]byte, error) {
	if err := c.checkShape(); err != nil {
		return nil, err
	}
	return json.Marshal(c)
}

// Decode parses a command strictly: size limit, no unknown fields, no
// trailing data, exactly the payload its type names. Every error wraps
// [ErrMalformed]. It checks no signatures.
func Decode(b []byte) (*Command, error) {
	if len(b) > MaxCommandSize {
		return nil, fmt.Errorf("%w: command of %d bytes exceeds %d", ErrMalformed, len(b), MaxCommandSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Command
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after command", ErrMalformed)
	}
	if err := c.checkShape(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Command) checkShape() error {
	set := map[Type]bool{
		TypeGenesis:    c.Genesis != nil,
		TypeAdmit:      c.Admit != nil,
		TypeRegister:   c.Register != nil,
		TypeVote:       c.Vote != nil,
		TypeHost:       c.Host != nil,
		TypeTick:       c.Tick != nil,
		TypeEpochSig:   c.EpochSig != nil,
		TypeDeregister: c.Deregister != nil,
	}
	present, known := set[c.Type]
	if !known {
		return fmt.Errorf("%w: unknown command type %q", ErrMalformed, c.Type)
	}
	if !present {
		return fmt.Errorf("%w: %s command without its payload", ErrMalformed, c.Type)
	}
	for t, p := range set {
		if p && t != c.Type {
			return fmt.Errorf("%w: %s command carries a %s payload", ErrMalformed, c.Type, t)
		}
	}
	return nil
}

// Check verifies what a genesis can be checked for without state.
func (g *Genesis) Check() error {
	if err := snapshot.CheckNetworkID(g.NetworkID); err != nil {
		return fmt.Errorf("%w: genesis: %v", ErrMalformed, err)
	}
	if len(g.Hosts) == 0 || len(g.Hosts) > snapshot.MaxSignatures {
		return fmt.Errorf("%w: genesis needs 1 to %d hosts", ErrMalformed, snapshot.MaxSignatures)
	}
	seen := make(map[identity.Ed25519PublicKey]bool)
	for i := range g.Hosts {
		if err := g.Hosts[i].Check(); err != nil {
			return fmt.Errorf("genesis host %d: %w", i, err)
		}
		if seen[g.Hosts[i].Key] {
			return fmt.Errorf("%w: genesis lists host %s twice", ErrMalformed, g.Hosts[i].Key)
		}
		seen[g.Hosts[i].Key] = true
	}
	for i, s := range g.Stewards {
		if err := snapshot.CheckEd25519(s); err != nil {
			return fmt.Errorf("%w: genesis steward %d: %v", ErrMalformed, i, err)
		}
	}
	if g.SwarmMinSize < snapshot.MinSwarmSize || g.SwarmIdealSize < g.SwarmMinSize || g.SwarmIdealSize > snapshot.MaxSwarmSize {
		return fmt.Errorf("%w: genesis swarm sizes %d/%d", ErrMalformed, g.SwarmMinSize, g.SwarmIdealSize)
	}
	return nil
}
