package registry

import (
	"crypto/ed25519"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/protocol/snapshot"
)

// BenchmarkApply measures what every replica pays per log entry in a
// registry of 2,000 nodes and three hosts, as multiples of one Ed25519
// verification measured first in the same run: a registration (one
// descriptor signature plus the conflict scan), an epoch tick (swarm
// update and snapshot build) and a host's epoch signature (canonical
// snapshot bytes plus one verification).
func BenchmarkApply(b *testing.B) {
	m := newMachine(b, 3, true)
	var nodes []testNode
	for i := range 2000 {
		n := newNode(b, i)
		nodes = append(nodes, n)
		m.register(n)
	}
	m.tick()

	var baselineNs float64
	ratio := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/baselineNs, "x-ed25519-verify")
	}
	b.Run("ed25519-verify", func(b *testing.B) {
		msg, sig := make([]byte, 200), ed25519.Sign(m.hosts[0], make([]byte, 200))
		pub := m.hosts[0].Public().(ed25519.PublicKey)
		for b.Loop() {
			ed25519.Verify(pub, msg, sig)
		}
		baselineNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("register", func(b *testing.B) {
		n := nodes[len(nodes)-1]
		r := &entry.Register{Descriptor: n.desc, ReceivedAtMs: n.desc.TimestampMs}
		for b.Loop() {
			delete(m.s.nodes, n.pub())
			if err := m.s.applyRegister(r); err != nil {
				b.Fatal(err)
			}
		}
		ratio(b)
	})
	b.Run("tick", func(b *testing.B) {
		for b.Loop() {
			m.now += 1000
			if err := m.s.applyTick(&entry.Tick{IssuedAtMs: m.now, ExpiresAtMs: m.now + 60_000}); err != nil {
				b.Fatal(err)
			}
		}
		ratio(b)
	})
	b.Run("epoch-signature", func(b *testing.B) {
		body := *m.s.pending
		body.Signatures = nil
		if err := snapshot.Sign(&body, m.hosts[0]); err != nil {
			b.Fatal(err)
		}
		es := &entry.EpochSignature{Epoch: m.s.epoch, Host: identity.Ed25519PublicKeyOf(m.hosts[0]), Signature: body.Signatures[0].Signature}
		for b.Loop() {
			m.s.pending.Signatures = nil
			if err := m.s.applyEpochSig(es); err != nil {
				b.Fatal(err)
			}
		}
		ratio(b)
	})
}
