package registry

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/protocol/snapshot"
	"github.com/hushnet/hush/swarm"
)

// MaxDescriptorSkew is how far a descriptor's timestamp may be from the
// accepting host's clock. It keeps a captured descriptor from being
// replayed much later, after the node has moved.
const MaxDescriptorSkew = 10 * time.Minute

// state is the registry: everything the log has decided. Its apply is a
// pure function of the state and the entry (no clock, no randomness, no
// map order reaching a result), so every replica computes the same state.
type state struct {
	genesis *entry.Genesis
	hosts   []entry.HostInfo // current hosts, ascending key
	// lastHostChange orders membership changes; older ones are replays.
	lastHostChange int64
	admitted       map[identity.Ed25519PublicKey]entry.Admission
	nodes          map[identity.Ed25519PublicKey]*nodeState
	// left holds the timestamp of each node's last applied
	// deregistration, so neither it nor the descriptor it ended can be
	// replayed to change the registry again.
	left       map[identity.Ed25519PublicKey]int64
	assignment swarm.Assignment
	epoch      uint64
	// chain hashes every entry applied so far with its index and term:
	// a running digest replicas can compare, mixed into the swarm seed.
	chain entry.Hash
	// pending is the snapshot of the current epoch, collecting host
	// signatures; pendingHosts are the hosts that may sign it.
	pending      *snapshot.Snapshot
	pendingHosts []identity.Ed25519PublicKey
	// pendingMsg caches snapshot.SignedBytes(pending), which validates
	// every node key and so costs about as much as the rest of an epoch.
	pendingMsg []byte
	// signed is the newest snapshot a majority of its hosts signed.
	signed      []byte
	signedEpoch uint64
}

type nodeState struct {
	desc  entry.SignedDescriptor
	votes map[identity.Ed25519PublicKey]entry.Vote // each host's latest vote on this registration
}

func newState() *state {
	return &state{admitted: map[identity.Ed25519PublicKey]entry.Admission{}, nodes: map[identity.Ed25519PublicKey]*nodeState{}, left: map[identity.Ed25519PublicKey]int64{}, assignment: swarm.Assignment{}}
}

// mix folds one log entry into the chain digest.
func (s *state) mix(index, term uint64, data []byte) {
	h := sha256.New()
	h.Write(s.chain[:])
	h.Write(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, index), term))
	h.Write(data)
	copy(s.chain[:], h.Sum(nil))
}

func (s *state) isHost(k identity.Ed25519PublicKey) bool {
	_, ok := slices.BinarySearchFunc(s.hosts, k, func(h entry.HostInfo, k identity.Ed25519PublicKey) int { return h.Key.Compare(k) })
	return ok
}

func (s *state) networkID() string { return s.genesis.NetworkID }

// apply checks cmd against the state and applies it. An error leaves the
// state as it was (apart from the chain digest, which the caller has
// already advanced) and wraps one of entry's errors.
func (s *state) apply(c *entry.Command) error {
	if c.Type == entry.TypeGenesis {
		return s.applyGenesis(c.Genesis)
	}
	if s.genesis == nil {
		return fmt.Errorf("%w: registry has no genesis yet", entry.ErrUnavailable)
	}
	switch c.Type {
	case entry.TypeAdmit:
		return s.applyAdmit(c.Admit)
	case entry.TypeRegister:
		return s.applyRegister(c.Register)
	case entry.TypeVote:
		return s.applyVote(c.Vote)
	case entry.TypeHost:
		return s.applyHost(c.Host)
	case entry.TypeTick:
		return s.applyTick(c.Tick)
	case entry.TypeEpochSig:
		return s.applyEpochSig(c.EpochSig)
	case entry.TypeDeregister:
		return s.applyDeregister(c.Deregister)
	}
	return fmt.Errorf("%w: unknown command type %q", entry.ErrMalformed, c.Type)
}

func (s *state) applyGenesis(g *entry.Genesis) error {
	if s.genesis != nil {
		return fmt.Errorf("%w: registry already has a genesis", entry.ErrConflict)
	}
	if err := g.Check(); err != nil {
		return err
	}
	s.genesis = g
	s.hosts = slices.Clone(g.Hosts)
	slices.SortFunc(s.hosts, func(a, b entry.HostInfo) int { return a.Key.Compare(b.Key) })
	return nil
}

// checkAdmission verifies an admission and its steward.
func (s *state) checkAdmission(a *entry.Admission) error {
	if !slices.Contains(s.genesis.Stewards, a.Steward) {
		return fmt.Errorf("%w: %s", entry.ErrUnknownSteward, a.Steward)
	}
	return a.Verify(s.networkID())
}

func (s *state) applyAdmit(a *entry.Admission) error {
	if err := s.checkAdmission(a); err != nil {
		return err
	}
	if old, ok := s.admitted[a.Node]; ok && old.IssuedAtMs >= a.IssuedAtMs {
		return nil // already admitted; a repeat changes nothing
	}
	s.admitted[a.Node] = *a
	return nil
}

func (s *state) applyRegister(r *entry.Register) error {
	d := &r.Descriptor
	if err := d.Verify(s.networkID()); err != nil {
		return err
	}
	if r.Admission != nil {
		if r.Admission.Node != d.Ed25519 {
			return fmt.Errorf("%w: admission is for another node", entry.ErrNotAdmitted)
		}
		if err := s.checkAdmission(r.Admission); err != nil {
			return err
		}
	}
	if _, ok := s.admitted[d.Ed25519]; !ok && r.Admission == nil && !s.genesis.OpenAdmission {
		return fmt.Errorf("%w: %s", entry.ErrNotAdmitted, d.Ed25519)
	}
	// The log has no clock; the accepting host's reading, carried in the
	// entry, stands in for one, identical on every replica.
	skew := time.Duration(abs(d.TimestampMs-r.ReceivedAtMs)) * time.Millisecond
	if skew > MaxDescriptorSkew {
		return fmt.Errorf("%w: descriptor timestamp is %s from the registry's clock", entry.ErrStale, skew)
	}
	if old, ok := s.nodes[d.Ed25519]; ok && old.desc.TimestampMs >= d.TimestampMs {
		return fmt.Errorf("%w: descriptor is not newer than the registered one", entry.ErrStale)
	}
	if left, ok := s.left[d.Ed25519]; ok && left >= d.TimestampMs {
		return fmt.Errorf("%w: descriptor is not newer than the node's deregistration", entry.ErrStale)
	}
	// Two nodes at one address (or with one onion key) would make the
	// epoch's snapshot invalid; the later registrant is refused instead.
	for k, n := range s.nodes {
		if k == d.Ed25519 {
			continue
		}
		if n.desc.Address == d.Address {
			return fmt.Errorf("%w: address %s is registered to another node", entry.ErrConflict, d.Address)
		}
		if n.desc.X25519 == d.X25519 {
			return fmt.Errorf("%w: x25519 key is registered to another node", entry.ErrConflict)
		}
	}
	if r.Admission != nil {
		s.admitted[d.Ed25519] = *r.Admission
	}
	// A new registration starts with no votes: it proves the node is back.
	s.nodes[d.Ed25519] = &nodeState{desc: *d, votes: map[identity.Ed25519PublicKey]entry.Vote{}}
	return nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func (s *state) applyVote(v *entry.Vote) error {
	if !s.isHost(v.Host) {
		return fmt.Errorf("%w: vote by %s", entry.ErrUnknownHost, v.Host)
	}
	if err := v.Verify(s.networkID()); err != nil {
		return err
	}
	n, ok := s.nodes[v.Node]
	if !ok {
		return fmt.Errorf("%w: %s", entry.ErrUnknownNode, v.Node)
	}
	if v.Registration != n.desc.TimestampMs {
		return fmt.Errorf("%w: vote is about an earlier registration", entry.ErrStale)
	}
	if old, ok := n.votes[v.Host]; ok && old.TimestampMs >= v.TimestampMs {
		return fmt.Errorf("%w: vote is not newer than the host's last vote", entry.ErrStale)
	}
	n.votes[v.Host] = *v
	s.deregisterIfVotedOut(v.Node)
	return nil
}

// deregisterIfVotedOut removes the node once a strict majority of the
// current hosts vote it unreachable. Its swarm learns at the next tick.
func (s *state) deregisterIfVotedOut(k identity.Ed25519PublicKey) {
	n := s.nodes[k]
	against := 0
	for h, v := range n.votes {
		if v.Unreachable && s.isHost(h) {
			against++
		}
	}
	if against > len(s.hosts)/2 {
		delete(s.nodes, k)
	}
}

// applyDeregister removes a node at its own signed request. Like a
// voted-out node, it leaves the swarms at the next tick.
func (s *state) applyDeregister(d *entry.Deregister) error {
	if err := d.Verify(s.networkID()); err != nil {
		return err
	}
	if left, ok := s.left[d.Node]; ok && left >= d.TimestampMs {
		return fmt.Errorf("%w: deregistration is not newer than the node's last one", entry.ErrStale)
	}
	n, ok := s.nodes[d.Node]
	if !ok {
		return fmt.Errorf("%w: %s", entry.ErrUnknownNode, d.Node)
	}
	// The descriptor's rule: only a later timestamp replaces a
	// registration, so a deregistration signed before the current one
	// (a replay from an earlier life of the node) cannot end it.
	if n.desc.TimestampMs >= d.TimestampMs {
		return fmt.Errorf("%w: deregistration is not newer than the node's registration", entry.ErrStale)
	}
	delete(s.nodes, d.Node)
	s.left[d.Node] = d.TimestampMs
	return nil
}

func (s *state) applyHost(c *entry.HostChange) error {
	if !s.isHost(c.Signer) {
		return fmt.Errorf("%w: host change signed by %s", entry.ErrUnknownHost, c.Signer)
	}
	if err := c.Verify(s.networkID()); err != nil {
		return err
	}
	// One counter for all changes: a replayed "add" cannot undo a later
	// "remove" of the same host.
	if c.TimestampMs <= s.lastHostChange {
		return fmt.Errorf("%w: host change is not newer than the last one", entry.ErrStale)
	}
	i, present := slices.BinarySearchFunc(s.hosts, c.Host.Key, func(h entry.HostInfo, k identity.Ed25519PublicKey) int { return h.Key.Compare(k) })
	switch {
	case c.Add && present:
		return fmt.Errorf("%w: %s is already a host", entry.ErrConflict, c.Host.Key)
	case c.Add && len(s.hosts) >= snapshot.MaxSignatures:
		return fmt.Errorf("%w: already %d hosts", entry.ErrConflict, len(s.hosts))
	case !c.Add && !present:
		return fmt.Errorf("%w: %s", entry.ErrUnknownHost, c.Host.Key)
	case !c.Add && len(s.hosts) == 1:
		return fmt.Errorf("%w: cannot remove the last host", entry.ErrConflict)
	}
	if c.Add {
		s.hosts = slices.Insert(s.hosts, i, c.Host)
	} else {
		s.hosts = slices.Delete(s.hosts, i, i+1)
		// Fewer hosts lower the majority; votes already cast may now suffice.
		for _, k := range slices.Collect(maps.Keys(s.nodes)) {
			s.deregisterIfVotedOut(k)
		}
	}
	s.lastHostChange = c.TimestampMs
	return nil
}

// seedLabel starts the swarm seed's hash input.
const seedLabel = "hush/1 registry swarm seed"

// swarmSeed is the randomness of one epoch's assignment: the leader's
// nonce, which no registrant sees before its registration is committed,
// bound to the network, the epoch and every entry applied so far.
func (s *state) swarmSeed(nonce entry.Hash) [32]byte {
	h := sha256.New()
	h.Write([]byte(seedLabel))
	h.Write([]byte{byte(len(s.networkID()))})
	h.Write([]byte(s.networkID()))
	h.Write(binary.BigEndian.AppendUint64(nil, s.epoch))
	h.Write(nonce[:])
	h.Write(s.chain[:])
	return [32]byte(h.Sum(nil))
}

func (s *state) applyTick(t *entry.Tick) error {
	if t.IssuedAtMs <= 0 || t.ExpiresAtMs <= t.IssuedAtMs {
		return fmt.Errorf("%w: tick expires before it is issued", entry.ErrMalformed)
	}
	// Issue times never go back, even across leaders with skewed clocks
	// (the leader proposes max(now, previous)).
	if s.pending != nil && t.IssuedAtMs < s.pending.IssuedAt.UnixMilli() {
		return fmt.Errorf("%w: tick issued before the previous epoch", entry.ErrStale)
	}
	// Votes cast before a host left may count now; settle them first.
	for _, k := range slices.Collect(maps.Keys(s.nodes)) {
		s.deregisterIfVotedOut(k)
	}
	active := make([]swarm.NodeKey, 0, len(s.nodes))
	for k := range s.nodes {
		active = append(active, swarm.NodeKey(k.Raw32()))
	}
	p := swarm.Params{MinSize: s.genesis.SwarmMinSize, IdealSize: s.genesis.SwarmIdealSize}
	s.epoch++
	next, err := swarm.Update(s.assignment, active, s.swarmSeed(t.Nonce), p)
	if err != nil {
		s.epoch--
		return fmt.Errorf("%w: swarm update: %v", entry.ErrMalformed, err)
	}
	body := &snapshot.Snapshot{
		NetworkID:      s.networkID(),
		Epoch:          s.epoch,
		IssuedAt:       time.UnixMilli(t.IssuedAtMs).UTC(),
		ExpiresAt:      time.UnixMilli(t.ExpiresAtMs).UTC(),
		SwarmMinSize:   p.MinSize,
		SwarmIdealSize: p.IdealSize,
		Nodes:          make([]snapshot.Node, 0, len(s.nodes)),
	}
	for k, n := range s.nodes {
		id, ok := next[swarm.NodeKey(k.Raw32())]
		if !ok {
			id = swarm.Invalid
		}
		body.Nodes = append(body.Nodes, snapshot.Node{Ed25519: k, X25519: n.desc.X25519, Address: n.desc.Address, Version: n.desc.Version, Swarm: uint64(id)})
	}
	slices.SortFunc(body.Nodes, func(a, b snapshot.Node) int { return a.Ed25519.Compare(b.Ed25519) })
	msg, err := snapshot.SignedBytes(body)
	if err != nil {
		s.epoch--
		return fmt.Errorf("%w: epoch snapshot: %v", entry.ErrMalformed, err)
	}
	s.assignment = next
	s.pending, s.pendingMsg = body, msg
	s.pendingHosts = make([]identity.Ed25519PublicKey, len(s.hosts))
	for i, h := range s.hosts {
		s.pendingHosts[i] = h.Key
	}
	return nil
}

// awaitingSignatures reports whether the current epoch still lacks the
// majority of signatures that makes it served, and its hosts are still
// the registry's (after a host change the old set may no longer be able
// to sign, and the new one should: the leader moves on at once).
func (s *state) awaitingSignatures() bool {
	if s.pending == nil || s.signedEpoch == s.epoch || len(s.pendingHosts) != len(s.hosts) {
		return false
	}
	for i, h := range s.hosts {
		if s.pendingHosts[i] != h.Key {
			return false
		}
	}
	return true
}

func (s *state) applyEpochSig(es *entry.EpochSignature) error {
	if s.pending == nil || es.Epoch != s.epoch {
		return fmt.Errorf("%w: signature for epoch %d, current epoch is %d", entry.ErrStale, es.Epoch, s.epoch)
	}
	if !slices.Contains(s.pendingHosts, es.Host) {
		return fmt.Errorf("%w: %s did not host epoch %d", entry.ErrUnknownHost, es.Host, es.Epoch)
	}
	if s.pendingMsg == nil { // restored from a Raft snapshot
		msg, err := snapshot.SignedBytes(s.pending)
		if err != nil {
			return fmt.Errorf("%w: epoch snapshot: %v", entry.ErrMalformed, err)
		}
		s.pendingMsg = msg
	}
	if !ed25519.Verify(es.Host.Bytes(), s.pendingMsg, es.Signature[:]) {
		return fmt.Errorf("%w: epoch %d signature by %s", entry.ErrBadSignature, es.Epoch, es.Host)
	}
	i, found := slices.BinarySearchFunc(s.pending.Signatures, es.Host, func(h snapshot.HostSignature, k identity.Ed25519PublicKey) int { return h.Host.Compare(k) })
	if found {
		return nil // a repeat: the same host, the same message
	}
	s.pending.Signatures = slices.Insert(s.pending.Signatures, i, snapshot.HostSignature{Host: es.Host, Signature: es.Signature})
	if len(s.pending.Signatures) > len(s.pendingHosts)/2 {
		raw, err := snapshot.Encode(s.pending)
		if err != nil {
			return fmt.Errorf("%w: epoch snapshot: %v", entry.ErrMalformed, err)
		}
		s.signed, s.signedEpoch = raw, s.epoch
	}
	return nil
}

// persisted is the state as a Raft snapshot stores it.
type persisted struct {
	Genesis        *entry.Genesis              `json:"genesis"`
	Hosts          []entry.HostInfo            `json:"hosts"`
	LastHostChange int64                       `json:"last_host_change_ms"`
	Admitted       []entry.Admission           `json:"admitted"`
	Nodes          []persistedNode             `json:"nodes"`
	Left           []persistedLeft             `json:"left,omitempty"`
	Assignment     []byte                      `json:"assignment"`
	Epoch          uint64                      `json:"epoch"`
	Chain          entry.Hash                  `json:"chain"`
	Pending        []byte                      `json:"pending,omitempty"`
	PendingHosts   []identity.Ed25519PublicKey `json:"pending_hosts,omitempty"`
	Signed         []byte                      `json:"signed,omitempty"`
	SignedEpoch    uint64                      `json:"signed_epoch"`
}

type persistedLeft struct {
	Node        identity.Ed25519PublicKey `json:"node"`
	TimestampMs int64                     `json:"timestamp_ms"`
}

type persistedNode struct {
	Descriptor entry.SignedDescriptor `json:"descriptor"`
	Votes      []entry.Vote           `json:"votes"`
}

func (s *state) marshal() ([]byte, error) {
	p := persisted{
		Genesis: s.genesis, Hosts: s.hosts, LastHostChange: s.lastHostChange,
		Epoch: s.epoch, Chain: s.chain, PendingHosts: s.pendingHosts, Signed: s.signed, SignedEpoch: s.signedEpoch,
	}
	for _, k := range sortedKeys(s.admitted) {
		p.Admitted = append(p.Admitted, s.admitted[k])
	}
	for _, k := range sortedKeys(s.nodes) {
		n := s.nodes[k]
		pn := persistedNode{Descriptor: n.desc}
		for _, h := range sortedKeys(n.votes) {
			pn.Votes = append(pn.Votes, n.votes[h])
		}
		p.Nodes = append(p.Nodes, pn)
	}
	for _, k := range sortedKeys(s.left) {
		p.Left = append(p.Left, persistedLeft{Node: k, TimestampMs: s.left[k]})
	}
	var err error
	if p.Assignment, err = s.assignment.MarshalBinary(); err != nil {
		return nil, err
	}
	if s.pending != nil {
		// The pending snapshot may lack signatures but is otherwise valid.
		if p.Pending, err = snapshot.Encode(s.pending); err != nil {
			return nil, err
		}
	}
	return json.Marshal(p)
}

func unmarshalState(b []byte) (*state, error) {
	var p persisted
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("registry snapshot: %w", err)
	}
	s := newState()
	s.genesis, s.hosts, s.lastHostChange = p.Genesis, p.Hosts, p.LastHostChange
	s.epoch, s.chain, s.pendingHosts, s.signed, s.signedEpoch = p.Epoch, p.Chain, p.PendingHosts, p.Signed, p.SignedEpoch
	for _, a := range p.Admitted {
		s.admitted[a.Node] = a
	}
	for _, pn := range p.Nodes {
		n := &nodeState{desc: pn.Descriptor, votes: map[identity.Ed25519PublicKey]entry.Vote{}}
		for _, v := range pn.Votes {
			n.votes[v.Host] = v
		}
		s.nodes[pn.Descriptor.Ed25519] = n
	}
	for _, l := range p.Left {
		s.left[l.Node] = l.TimestampMs
	}
	if err := s.assignment.UnmarshalBinary(p.Assignment); err != nil {
		return nil, fmt.Errorf("registry snapshot: %w", err)
	}
	if p.Pending != nil {
		snap, err := snapshot.Decode(p.Pending)
		if err != nil {
			return nil, fmt.Errorf("registry snapshot: %w", err)
		}
		s.pending = snap
	}
	return s, nil
}

func sortedKeys[V any](m map[identity.Ed25519PublicKey]V) []identity.Ed25519PublicKey {
	ks := slices.Collect(maps.Keys(m))
	slices.SortFunc(ks, func(a, b identity.Ed25519PublicKey) int { return a.Compare(b) })
	return ks
}
