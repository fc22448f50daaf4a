package registry

import (
	"bytes"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/protocol/snapshot"
)

// FuzzApply feeds arbitrary log entries to a populated registry: Apply
// must never panic, and an entry it refuses must leave the state exactly
// as it was, which is what lets every replica refuse a forged entry and
// stay in agreement.
func FuzzApply(f *testing.F) {
	m := newMachine(f, 3, false)
	var nodes []testNode
	for i := range 5 {
		n := newNode(f, i)
		nodes = append(nodes, n)
		m.must(&entry.Command{Type: entry.TypeAdmit, Admit: n.admission()})
		m.register(n)
	}
	m.tick()
	if err := m.vote(0, nodes[0], true); err != nil {
		f.Fatal(err)
	}
	base, err := m.s.marshal()
	if err != nil {
		f.Fatal(err)
	}

	body := *m.s.pending
	body.Signatures = nil
	if err := snapshot.Sign(&body, m.hosts[1]); err != nil {
		f.Fatal(err)
	}
	late := newNode(f, 9)
	vote := entry.SignVote(testNet, entry.Vote{Node: nodes[0].pub(), Registration: nodes[0].desc.TimestampMs, Unreachable: true, TimestampMs: m.now + 5}, m.hosts[1])
	change := entry.SignHostChange(testNet, entry.HostChange{Host: entry.HostInfo{Key: identity.Ed25519PublicKeyOf(m.hosts[2])}, TimestampMs: 5}, m.hosts[0])
	for _, c := range []*entry.Command{
		{Type: entry.TypeRegister, Register: &entry.Register{Descriptor: late.desc, Admission: late.admission(), ReceivedAtMs: late.desc.TimestampMs}},
		{Type: entry.TypeVote, Vote: &vote},
		{Type: entry.TypeHost, Host: &change},
		{Type: entry.TypeTick, Tick: &entry.Tick{IssuedAtMs: m.now + 10, ExpiresAtMs: m.now + 1000}},
		{Type: entry.TypeEpochSig, EpochSig: &entry.EpochSignature{Epoch: 1, Host: identity.Ed25519PublicKeyOf(m.hosts[1]), Signature: body.Signatures[0].Signature}},
		{Type: entry.TypeAdmit, Admit: late.admission()},
	} {
		b, err := entry.Encode(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := entry.Decode(data)
		if err != nil {
			return
		}
		s, err := unmarshalState(base)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.apply(c); err == nil {
			if _, err := s.marshal(); err != nil {
				t.Fatalf("accepted %s leaves a state that does not persist: %v", c.Type, err)
			}
			return
		}
		after, err := s.marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(base, after) {
			t.Fatalf("refused %s changed the state", c.Type)
		}
	})
}
