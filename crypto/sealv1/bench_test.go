package sealv1

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/box"
)

// benchOps returns, for a 1 KiB plaintext, sealv1's Seal and Open and their
// baselines: the least any v1 implementation must do, one sealed box and one
// Ed25519 signature to seal, one sealed-box open and one verification to open.
// What sealv1 adds is the recipient, ephemeral-key, sender-key and R checks.
func benchOps(b *testing.B) (seal, bareSeal, open, bareOpen func() error) {
	from, to := account(b, libsessionSeed1), account(b, libsessionSeed2)
	m := kib()
	sealed := sealDeterministic(b, from, to.ID(), m)
	y := to.ID().PubKey()
	var sk [32]byte
	copy(sk[:], to.X25519().Bytes())

	seal = func() error { _, err := Seal(from, to.ID(), m); return err }
	bareSeal = func() error {
		sig := ed25519.Sign(from.SigningKey(), cat(m, from.Ed25519Public().Bytes(), y[:]))
		_, err := box.SealAnonymous(nil, cat(m, from.Ed25519Public().Bytes(), sig), &y, rand.Reader)
		return err
	}
	open = func() error { _, _, _, err := Open(to, sealed); return err }
	bareOpen = func() error {
		inner, ok := box.OpenAnonymous(nil, sealed, &y, &sk)
		n := len(inner) - Overhead + box.AnonymousOverhead
		if !ok || !ed25519.Verify(inner[n:n+32], cat(inner[:n+32], y[:]), inner[n+32:]) {
			return errors.New("bare open failed")
		}
		return nil
	}
	return seal, bareSeal, open, bareOpen
}

func loop(b *testing.B, op func() error) {
	b.SetBytes(1024)
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	seal, bare, _, _ := benchOps(b)
	b.Run("sealv1", func(b *testing.B) { loop(b, seal) })
	b.Run("bare", func(b *testing.B) { loop(b, bare) })
}

func BenchmarkOpen(b *testing.B) {
	_, _, open, bare := benchOps(b)
	b.Run("sealv1", func(b *testing.B) { loop(b, open) })
	b.Run("bare", func(b *testing.B) { loop(b, bare) })
}

// BenchmarkRatio runs sealv1 and the baselines alternately in one loop, so
// all see the same machine state, and reports sealv1's time as a multiple of
// its baseline's. It reads the clock only to compute the ratios.
func BenchmarkRatio(b *testing.B) {
	seal, bareSeal, open, bareOpen := benchOps(b)
	ops := []func() error{seal, bareSeal, open, bareOpen}
	var total [4]time.Duration
	for b.Loop() {
		for i, op := range ops {
			start := time.Now()
			if err := op(); err != nil {
				b.Fatal(err)
			}
			total[i] += time.Since(start)
		}
	}
	b.ReportMetric(float64(total[0])/float64(total[1]), "seal/bare")
	b.ReportMetric(float64(total[2])/float64(total[3]), "open/bare")
}
