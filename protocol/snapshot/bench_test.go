package snapshot

import (
	"crypto/ed25519"
	"testing"
	"time"
)

// BenchmarkSnapshot2000 encodes, signs and verifies a 2,000-node
// snapshot with three registry hosts, and reports the JSON size and each
// step's cost as a multiple of one Ed25519 verification.
func BenchmarkSnapshot2000(b *testing.B) {
	priv, pub := testHosts(3)
	s := testSnapshot(2000)
	raw := signed(b, s, priv...)
	now := testIssued.Add(time.Minute)

	// The baseline runs first, in this same process and run; the other
	// steps report their cost as a multiple of it.
	var baselineNs float64
	reportRatio := func(b *testing.B) {
		if baselineNs > 0 {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/baselineNs, "x-ed25519-verify")
		}
	}
	b.Run("ed25519-verify", func(b *testing.B) {
		msg, sig := make([]byte, 1000), ed25519.Sign(priv[0], make([]byte, 1000))
		for b.Loop() {
			ed25519.Verify(pub[0], msg, sig)
		}
		baselineNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := Encode(s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(raw)), "json-bytes")
		reportRatio(b)
	})
	b.Run("sign", func(b *testing.B) {
		for b.Loop() {
			if err := Sign(s, priv[0]); err != nil {
				b.Fatal(err)
			}
		}
		reportRatio(b)
	})
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if _, err := Verify(raw, pub, testNetwork, now, 0); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(raw)), "json-bytes")
		reportRatio(b)
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := Decode(raw); err != nil {
				b.Fatal(err)
			}
		}
		reportRatio(b)
	})
}
