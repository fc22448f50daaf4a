package onion

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

var benchSizes = []int{2 << 10, 32 << 10, 512 << 10}

// relayFixture is a guard's frame of one class from a 4-layer onion, and a
// response of the same class from the next hop.
type relayFixture struct {
	guard *testNode
	frame []byte
	resp  []byte
}

func newRelayFixture(b *testing.B, size int) relayFixture {
	nodes := path(b, "bench", 4)
	frame, _, err := Build(hops(nodes[:3]), Destination{Node: nodes[3].hop}, make([]byte, max(size-2000, 0)))
	if err != nil || len(frame) != size {
		b.Fatalf("fixture frame %d bytes for class %d: %v", len(frame), size, err)
	}
	var r Responder
	r.ok = true
	resp, err := r.Seal(200, make([]byte, size-200))
	if err != nil || len(resp) != size {
		b.Fatalf("fixture response %d bytes for class %d: %v", len(resp), size, err)
	}
	return relayFixture{nodes[0], frame, resp}
}

// BenchmarkRelayHop is a relay's whole share of one request: peel the
// layer, build the next frame, re-encrypt the response. Each iteration also
// runs one BenchmarkCryptoFloor operation right after, timed apart, so load
// from other processes hits both alike; x-floor is the ratio of the two
// totals and relay-ns/op the relay's own cost (ns/op counts both).
func BenchmarkRelayHop(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			fx := newRelayFixture(b, size)
			floor := newFloor(b, size)
			b.SetBytes(int64(2 * size))
			var relay, base time.Duration
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				l, err := Peel(fx.guard.x, fx.frame)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := l.NextFrame(); err != nil {
					b.Fatal(err)
				}
				if _, err := l.Responder.Wrap(fx.resp); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				floor()
				relay, base = relay+t1.Sub(t0), base+time.Since(t1)
			}
			b.ReportMetric(float64(relay)/float64(base), "x-floor")
			b.ReportMetric(float64(relay.Nanoseconds())/float64(b.N), "relay-ns/op")
		})
	}
}

// BenchmarkCryptoFloor is the least any design must spend per hop: one
// X25519, one HKDF, an AEAD open over the request's bytes and an AEAD seal
// over the response's.
func BenchmarkCryptoFloor(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			op := newFloor(b, size)
			b.SetBytes(int64(2 * size))
			b.ResetTimer()
			for b.Loop() {
				op()
			}
		})
	}
}

// newFloor returns one operation of the crypto floor for size-byte
// requests and responses.
func newFloor(b *testing.B, size int) func() {
	node, _ := ecdh.X25519().GenerateKey(rand.Reader)
	eph, _ := ecdh.X25519().GenerateKey(rand.Reader)
	salt := append(eph.PublicKey().Bytes(), node.PublicKey().Bytes()...)
	key := func() []byte {
		ss, err := node.ECDH(eph.PublicKey())
		if err != nil {
			b.Fatal(err)
		}
		prk, _ := hkdf.Extract(sha256.New, ss, salt)
		k, _ := hkdf.Expand(sha256.New, prk, labelRequest, keySize)
		return k
	}
	aead, _ := chacha20poly1305.NewX(key())
	nonce := make([]byte, nonceSize)
	ct := aead.Seal(nil, nonce, make([]byte, size-sealOver-4-headerLen), nil)
	resp := make([]byte, size-sealOver)
	out := make([]byte, 0, size)
	return func() {
		a, _ := chacha20poly1305.NewX(key())
		if _, err := a.Open(nil, nonce, ct, nil); err != nil {
			b.Fatal(err)
		}
		a.Seal(out[:0], nonce, resp, nil)
	}
}

// BenchmarkSessionPathCPU is the CPU of one whole request through a
// 3-relay path (the client's build and open, every node's peel, next
// frame, wrap and the destination's seal), full against warm (sessions
// at the guard and the middle relay), interleaved in one loop so load
// from other processes hits both alike. warm/full is the ratio.
func BenchmarkSessionPathCPU(b *testing.B) {
	nodes := path(b, "cpu", 4)
	net := newTestNet(b, nodes...)
	c := &sessionClient{t: b, nodes: nodes}
	if _, _, err := c.send(net, []byte("open")); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 200)
	var fullT, warmT time.Duration
	reset := func() { net.layers, net.resps, net.frameLens, net.respLens = nil, nil, nil, nil }
	for b.Loop() {
		reset()
		t0 := time.Now()
		last := len(nodes) - 1
		frame, st, err := Build(hops(nodes[:last]), Destination{Node: nodes[last].hop}, payload)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := OpenResponse(st, net.deliver(nodes[0], frame)); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		reset()
		if c.counter == MaxSessionRequests {
			c.sessions, c.counter = nil, 0 // a new session, as the client does
		}
		if _, _, err := c.send(net, payload); err != nil {
			b.Fatal(err)
		}
		warmT += time.Since(t1)
		fullT += t1.Sub(t0)
	}
	b.ReportMetric(float64(fullT.Nanoseconds())/float64(b.N), "full-ns/req")
	b.ReportMetric(float64(warmT.Nanoseconds())/float64(b.N), "warm-ns/req")
	b.ReportMetric(float64(warmT)/float64(fullT), "warm/full")
}
