package registry

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/protocol/snapshot"
	"github.com/hushnet/hush/swarm"
)

// machine drives a state as the FSM does, without Raft.
type machine struct {
	t     testing.TB
	s     *state
	index uint64
	hosts []ed25519.PrivateKey
	now   int64
}

func newMachine(t testing.TB, hosts int, open bool) *machine {
	m := &machine{t: t, s: newState(), now: time.Now().UnixMilli()}
	g := &entry.Genesis{NetworkID: testNet, Stewards: []identity.Ed25519PublicKey{identity.Ed25519PublicKeyOf(steward)}, OpenAdmission: open, SwarmMinSize: 3, SwarmIdealSize: 4}
	for i := range hosts {
		k := testKey(fmt.Sprintf("host %d", i))
		m.hosts = append(m.hosts, k)
		g.Hosts = append(g.Hosts, entry.HostInfo{Key: identity.Ed25519PublicKeyOf(k), RaftAddress: fmt.Sprintf("127.0.0.1:%d", 7000+i), APIAddress: fmt.Sprintf("127.0.0.1:%d", 8000+i)})
	}
	m.must(&entry.Command{Type: entry.TypeGenesis, Genesis: g})
	return m
}

func (m *machine) apply(c *entry.Command) error {
	m.t.Helper()
	data, err := entry.Encode(c)
	if err != nil {
		m.t.Fatal(err)
	}
	m.index++
	m.s.mix(m.index, 1, data)
	dec, err := entry.Decode(data)
	if err != nil {
		m.t.Fatal(err)
	}
	return m.s.apply(dec)
}

func (m *machine) must(c *entry.Command) {
	m.t.Helper()
	if err := m.apply(c); err != nil {
		m.t.Fatalf("%s: %v", c.Type, err)
	}
}

func (m *machine) register(n testNode) {
	m.must(&entry.Command{Type: entry.TypeRegister, Register: &entry.Register{Descriptor: n.desc, ReceivedAtMs: n.desc.TimestampMs}})
}

func (m *machine) tick() {
	m.now += 1000
	m.must(&entry.Command{Type: entry.TypeTick, Tick: &entry.Tick{Nonce: entry.Hash{byte(m.index)}, IssuedAtMs: m.now, ExpiresAtMs: m.now + 60_000}})
}

func (m *machine) vote(host int, n testNode, unreachable bool) error {
	m.now++
	v := entry.SignVote(testNet, entry.Vote{Node: n.pub(), Registration: n.desc.TimestampMs, Unreachable: unreachable, TimestampMs: m.now}, m.hosts[host])
	return m.apply(&entry.Command{Type: entry.TypeVote, Vote: &v})
}

// swarmSizes returns each swarm's size in the pending snapshot.
func (m *machine) swarmSizes() map[uint64]int {
	sizes := map[uint64]int{}
	for _, n := range m.s.pending.Nodes {
		sizes[n.Swarm]++
	}
	return sizes
}

func TestSwarmDissolvedBelowMinimum(t *testing.T) {
	m := newMachine(t, 3, true)
	var nodes []testNode
	for i := range 8 {
		n := newNode(t, i)
		nodes = append(nodes, n)
		m.register(n)
	}
	m.tick()
	// 8 nodes with minimum 3 and ideal 4: the excess over the minimum
	// (5) reaches the threshold for a new swarm (4 + 1 margin), so oxen's
	// rules split off a second swarm of 4.
	sizes := m.swarmSizes()
	if len(sizes) != 2 {
		t.Fatalf("swarm sizes %v, want two swarms of 4", sizes)
	}
	for id, n := range sizes {
		if n != 4 || id == snapshot.Unassigned {
			t.Fatalf("swarm sizes %v, want two swarms of 4", sizes)
		}
	}
	// Three nodes of one swarm are voted out by two of three hosts. The
	// swarm keeps one node, too few, and the other swarm has nothing to
	// spare above the minimum, so it is dissolved into the other.
	var victim uint64
	for id := range sizes {
		victim = id
		break
	}
	gone := 0
	for _, n := range nodes {
		if gone == 3 {
			break
		}
		if sn, _ := m.s.pending.Node(n.pub()); sn.Swarm == victim {
			if err := m.vote(0, n, true); err != nil {
				t.Fatal(err)
			}
			if _, ok := m.s.nodes[n.pub()]; !ok {
				t.Fatal("deregistered by one vote of three")
			}
			if err := m.vote(1, n, true); err != nil {
				t.Fatal(err)
			}
			if _, ok := m.s.nodes[n.pub()]; ok {
				t.Fatal("still registered after a majority voted it unreachable")
			}
			gone++
		}
	}
	m.tick()
	sizes = m.swarmSizes()
	if len(sizes) != 1 {
		t.Fatalf("swarm sizes %v, want the starving swarm dissolved", sizes)
	}
	for id, n := range sizes {
		if id == victim || n != 5 {
			t.Fatalf("swarm sizes %v, want the surviving swarm with 5 nodes", sizes)
		}
	}
}

func TestVotes(t *testing.T) {
	m := newMachine(t, 3, true)
	n := newNode(t, 1)
	m.register(n)
	votes := func() int {
		info := m.s.nodes[n.pub()]
		c := 0
		for _, v := range info.votes {
			if v.Unreachable {
				c++
			}
		}
		return c
	}

	if err := m.vote(0, n, true); err != nil {
		t.Fatal(err)
	}
	// A vote replayed with its old timestamp is refused.
	old := m.s.nodes[n.pub()].votes[identity.Ed25519PublicKeyOf(m.hosts[0])]
	if err := m.apply(&entry.Command{Type: entry.TypeVote, Vote: &old}); !errors.Is(err, entry.ErrStale) {
		t.Fatalf("replayed vote: %v", err)
	}
	// Withdrawn when the node answers again: a later second vote is not
	// a majority.
	if err := m.vote(0, n, false); err != nil {
		t.Fatal(err)
	}
	if err := m.vote(1, n, true); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.s.nodes[n.pub()]; !ok || votes() != 1 {
		t.Fatalf("after a withdrawn vote and one more: registered=%v votes=%d", ok, votes())
	}
	// A vote about an earlier registration does not count against the
	// node's new one.
	stale := entry.SignVote(testNet, entry.Vote{Node: n.pub(), Registration: n.desc.TimestampMs - 1, Unreachable: true, TimestampMs: m.now + 10}, m.hosts[2])
	if err := m.apply(&entry.Command{Type: entry.TypeVote, Vote: &stale}); !errors.Is(err, entry.ErrStale) {
		t.Fatalf("vote on an old registration: %v", err)
	}
	// Removing host 2, which did not vote, leaves host 1's vote as 1 of
	// 2: no majority. Host 0 voting again makes it 2 of 2.
	rm := entry.SignHostChange(testNet, entry.HostChange{Host: entry.HostInfo{Key: identity.Ed25519PublicKeyOf(m.hosts[2])}, TimestampMs: m.now}, m.hosts[0])
	m.must(&entry.Command{Type: entry.TypeHost, Host: &rm})
	if _, ok := m.s.nodes[n.pub()]; !ok {
		t.Fatal("1 of 2 votes deregistered the node")
	}
	if err := m.vote(0, n, true); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.s.nodes[n.pub()]; ok {
		t.Fatal("2 of 2 votes left the node registered")
	}
}

func TestEpochSignatures(t *testing.T) {
	m := newMachine(t, 3, true)
	m.register(newNode(t, 1))
	m.tick()
	sign := func(host int, epoch uint64) *entry.Command {
		body := *m.s.pending
		body.Signatures = nil
		if err := snapshot.Sign(&body, m.hosts[host]); err != nil {
			t.Fatal(err)
		}
		return &entry.Command{Type: entry.TypeEpochSig, EpochSig: &entry.EpochSignature{Epoch: epoch, Host: identity.Ed25519PublicKeyOf(m.hosts[host]), Signature: body.Signatures[0].Signature}}
	}
	bad := sign(0, 1)
	bad.EpochSig.Signature[5] ^= 1
	stranger := sign(0, 1)
	stranger.EpochSig.Host = identity.Ed25519PublicKeyOf(testKey("stranger"))
	tests := []struct {
		name string
		cmd  *entry.Command
		want error
	}{
		{"bad signature", bad, entry.ErrBadSignature},
		{"not a host", stranger, entry.ErrUnknownHost},
		{"wrong epoch", sign(0, 2), entry.ErrStale},
		{"first host", sign(0, 1), nil},
		{"repeat", sign(0, 1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := m.apply(tt.cmd); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if m.s.signed != nil {
		t.Fatal("one signature of three made a signed snapshot")
	}
	m.must(sign(2, 1))
	keys := []ed25519.PublicKey{}
	for _, h := range m.hosts {
		keys = append(keys, h.Public().(ed25519.PublicKey))
	}
	s, err := snapshot.Verify(m.s.signed, keys, testNet, time.UnixMilli(m.now), 1)
	if err != nil || s.Epoch != 1 || len(s.Signatures) != 2 {
		t.Fatalf("majority-signed snapshot: %v %+v", err, s)
	}
	m.tick()
	if err := m.apply(sign(1, 1)); !errors.Is(err, entry.ErrStale) {
		t.Fatalf("signature for a past epoch: %v", err)
	}
}

// TestAwaitingSignatures: the current epoch waits for signatures (and
// the leader holds the next one back, host.go) until a majority of its
// hosts signed it, or until the registry's hosts are no longer its own.
func TestAwaitingSignatures(t *testing.T) {
	m := newMachine(t, 3, true)
	sign := func(host int) *entry.Command {
		body := *m.s.pending
		body.Signatures = nil
		if err := snapshot.Sign(&body, m.hosts[host]); err != nil {
			t.Fatal(err)
		}
		return &entry.Command{Type: entry.TypeEpochSig, EpochSig: &entry.EpochSignature{Epoch: m.s.epoch, Host: identity.Ed25519PublicKeyOf(m.hosts[host]), Signature: body.Signatures[0].Signature}}
	}
	want := func(when string, awaiting bool) {
		t.Helper()
		if got := m.s.awaitingSignatures(); got != awaiting {
			t.Fatalf("%s: awaiting signatures %v, want %v", when, got, awaiting)
		}
	}
	want("before the first epoch", false)
	m.tick()
	want("a new epoch", true)
	m.must(sign(0))
	want("one signature of three", true)
	m.must(sign(2))
	want("two of three", false)
	m.tick()
	want("the next epoch", true)
	m.now++
	rm := entry.SignHostChange(testNet, entry.HostChange{Host: entry.HostInfo{Key: identity.Ed25519PublicKeyOf(m.hosts[2])}, TimestampMs: m.now}, m.hosts[0])
	m.must(&entry.Command{Type: entry.TypeHost, Host: &rm})
	want("a host removed", false)
}

func TestStateDeterministicAndPersisted(t *testing.T) {
	var nodes []testNode
	var admissions []*entry.Admission
	for i := range 6 {
		nodes = append(nodes, newNode(t, i))
		admissions = append(admissions, nodes[i].admission())
	}
	run := func() *machine {
		m := newMachine(t, 3, false)
		m.now = nodes[0].desc.TimestampMs
		for i, n := range nodes {
			m.must(&entry.Command{Type: entry.TypeAdmit, Admit: admissions[i]})
			m.register(n)
			if i%2 == 1 {
				m.tick()
			}
		}
		return m
	}
	a, b := run(), run()
	ab, err := a.s.marshal()
	if err != nil {
		t.Fatal(err)
	}
	bb, _ := b.s.marshal()
	if a.s.chain != b.s.chain || !bytes.Equal(ab, bb) {
		t.Fatal("same log, different states")
	}
	restored, err := unmarshalState(ab)
	if err != nil {
		t.Fatal(err)
	}
	again, err := restored.marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ab, again) {
		t.Fatal("state changed through a raft snapshot round trip")
	}
}

func TestDeregister(t *testing.T) {
	m := newMachine(t, 3, true)
	nodes := []testNode{newNode(t, 1), newNode(t, 2), newNode(t, 3), newNode(t, 4)}
	for _, n := range nodes {
		m.register(n)
	}
	m.tick()
	leaving := nodes[0]
	dereg := func(ts int64, k ed25519.PrivateKey) *entry.Command {
		d := entry.SignDeregister(testNet, ts, k)
		return &entry.Command{Type: entry.TypeDeregister, Deregister: &d}
	}
	// refused applies c straight to the state (no chain step) and checks
	// it fails with want and changes nothing.
	refused := func(name string, c *entry.Command, want error) {
		t.Helper()
		before, err := m.s.marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := m.s.apply(c); !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", name, err, want)
		}
		after, err := m.s.marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Fatalf("%s: a refused deregistration changed the state", name)
		}
	}

	forged := dereg(leaving.desc.TimestampMs+1, leaving.key).Deregister
	forged.TimestampMs++
	refused("forged signature", &entry.Command{Type: entry.TypeDeregister, Deregister: forged}, entry.ErrBadSignature)
	refused("signed by another node", func() *entry.Command {
		c := dereg(leaving.desc.TimestampMs+1, nodes[1].key)
		c.Deregister.Node = leaving.pub()
		return c
	}(), entry.ErrBadSignature)
	refused("unknown node", dereg(m.now, testKey("never registered")), entry.ErrUnknownNode)
	refused("older than the registration", dereg(leaving.desc.TimestampMs-1, leaving.key), entry.ErrStale)
	refused("same time as the registration", dereg(leaving.desc.TimestampMs, leaving.key), entry.ErrStale)

	valid := dereg(leaving.desc.TimestampMs+1, leaving.key)
	m.must(valid)
	if _, ok := m.s.nodes[leaving.pub()]; ok {
		t.Fatal("deregistered node still registered")
	}
	// Swarms change only at ticks: the current epoch still lists it.
	if !hasNode(m.s.pending, leaving.pub()) {
		t.Fatal("deregistration changed the current epoch's snapshot")
	}
	refused("replay", valid, entry.ErrStale)
	// Nor can the descriptor it ended bring the node back.
	refused("replayed descriptor", &entry.Command{Type: entry.TypeRegister, Register: &entry.Register{Descriptor: leaving.desc, ReceivedAtMs: leaving.desc.TimestampMs}}, entry.ErrStale)

	m.tick()
	if hasNode(m.s.pending, leaving.pub()) {
		t.Fatal("the next epoch still lists the deregistered node")
	}
	if _, ok := m.s.assignment[swarm.NodeKey(leaving.pub().Raw32())]; ok {
		t.Fatal("the deregistered node is still assigned a swarm")
	}
	for _, n := range nodes[1:] {
		if !hasNode(m.s.pending, n.pub()) {
			t.Fatalf("node %s dropped with the deregistered one", n.pub())
		}
	}

	// The tombstone survives a Raft snapshot.
	b, err := m.s.marshal()
	if err != nil {
		t.Fatal(err)
	}
	restored, err := unmarshalState(b)
	if err != nil {
		t.Fatal(err)
	}
	m.s = restored
	refused("replay after restore", valid, entry.ErrStale)

	// A later registration brings the node back; the old deregistration
	// cannot end it.
	back := leaving.desc.Descriptor
	back.TimestampMs = leaving.desc.TimestampMs + 2
	sd, err := entry.SignDescriptor(testNet, back, leaving.key)
	if err != nil {
		t.Fatal(err)
	}
	m.must(&entry.Command{Type: entry.TypeRegister, Register: &entry.Register{Descriptor: sd, ReceivedAtMs: back.TimestampMs}})
	refused("replay after re-registering", valid, entry.ErrStale)
}
