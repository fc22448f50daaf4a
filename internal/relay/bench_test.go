package relay_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
)

// echoForwarder answers every frame with a fixed class-sized response, so
// the benchmark measures the relay's own work.
type echoForwarder struct{ resp []byte }

func (f echoForwarder) Post(context.Context, identity.Ed25519PublicKey, string, string, []byte, int) (int, []byte, error) {
	return http.StatusOK, f.resp, nil
}

type everyone struct{}

func (everyone) Lookup(identity.Ed25519PublicKey) (string, snapshot.X25519Key, bool) {
	return "127.0.0.1:1", snapshot.X25519Key{}, true
}

// BenchmarkRelayHop measures the CPU one relay hop costs (handler, peel,
// forward to an in-memory next hop, wrap) against the crypto floor: Peel,
// NextFrame and Wrap alone, interleaved in the same run. The ratio is the
// handler's overhead over the cryptography it cannot avoid.
func BenchmarkRelayHop(b *testing.B) {
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	nx, _ := ecdh.X25519().GenerateKey(rand.Reader)
	npub, _, _ := ed25519.GenerateKey(rand.Reader)
	me := onion.Hop{Ed25519: make(ed25519.PublicKey, 32), X25519: x.PublicKey()}
	next := onion.Hop{Ed25519: npub, X25519: nx.PublicKey()}
	frame, _, err := onion.Build([]onion.Hop{me}, onion.Destination{Node: next}, bytes.Repeat([]byte("x"), 200))
	if err != nil {
		b.Fatal(err)
	}
	resp := make([]byte, onion.SizeClasses[0])
	rand.Read(resp)
	rl, err := relay.New(relay.Config{
		X25519: x, Directory: everyone{}, Local: http.NotFoundHandler(),
		Forwarder: echoForwarder{resp}, Replay: nopReplay{}, Clock: time.Now, Logger: discard,
		Limits: relay.Limits{ClientRate: unlimited},
	})
	if err != nil {
		b.Fatal(err)
	}
	var relayT, floorT time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		l, err := onion.Peel(x, frame)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.NextFrame(); err != nil {
			b.Fatal(err)
		}
		if _, err := l.Responder.Wrap(resp); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		w := httptest.NewRecorder()
		rl.ServeHTTP(w, httptest.NewRequest(http.MethodPost, relay.Path, bytes.NewReader(frame)))
		if w.Code != http.StatusOK || w.Body.Len() != len(resp) {
			b.Fatalf("relay answered %d", w.Code)
		}
		relayT += time.Since(t1)
		floorT += t1.Sub(t0)
	}
	b.ReportMetric(float64(relayT.Nanoseconds())/float64(b.N), "relay-ns/hop")
	b.ReportMetric(float64(floorT.Nanoseconds())/float64(b.N), "floor-ns/hop")
	b.ReportMetric(float64(relayT)/float64(floorT), "relay/floor")
}
