package relay_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
)

// storeBody is an unsigned store into namespace 0 of acct.
func TestNewChecksConfig(t *testing.T) {
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	full := func() relay.Config {
		return relay.Config{
			X25519: x, Directory: relay.SnapshotDirectory(func() *snapshot.Snapshot { return nil }),
			Local: http.NotFoundHandler(), Forwarder: onionclient.NewPool(onionclient.PoolConfig{}),
			Replay: nopReplay{}, Clock: time.Now, Logger: discard,
		}
	}
	tests := []struct {
		name string
		edit func(*relay.Config)
		ok   bool
	}{
		{"complete", func(*relay.Config) {}, true},
		{"no key", func(c *relay.Config) { c.X25519 = nil }, false},
		{"no directory", func(c *relay.Config) { c.Directory = nil }, false},
		{"no local", func(c *relay.Config) { c.Local = nil }, false},
		{"no forwarder", func(c *relay.Config) { c.Forwarder = nil }, false},
		{"no replay", func(c *relay.Config) { c.Replay = nil }, false},
		{"frame cap too big", func(c *relay.Config) { c.MaxFrame = onion.MaxFrameSize + 1 }, false},
		{"incomplete allow entry", func(c *relay.Config) { c.StewardAllow = []onion.ServerTarget{{Host: "files.example"}} }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := full()
			tc.edit(&c)
			_, err := relay.New(c)
			if (err == nil) != tc.ok {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

func TestFrameCap(t *testing.T) {
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	nx, _ := ecdh.X25519().GenerateKey(rand.Reader)
	npub, _, _ := ed25519.GenerateKey(rand.Reader)
	fw := &countingForwarder{resp: make([]byte, onion.SizeClasses[0])}
	rl, err := relay.New(relay.Config{
		X25519: x, Directory: everyone{}, Local: http.NotFoundHandler(), Forwarder: fw,
		Replay: nopReplay{}, Clock: time.Now, Logger: discard, MaxFrame: onion.SizeClasses[1],
	})
	if err != nil {
		t.Fatal(err)
	}
	me := onion.Hop{Ed25519: make(ed25519.PublicKey, 32), X25519: x.PublicKey()}
	next := onion.Hop{Ed25519: npub, X25519: nx.PublicKey()}
	tests := []struct {
		name    string
		payload int
		status  int
		fwd     int64
	}{
		{"under the cap", onion.SizeClasses[0], http.StatusOK, 1},
		{"over the cap", onion.SizeClasses[1], http.StatusRequestEntityTooLarge, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame, _, err := onion.Build([]onion.Hop{me}, onion.Destination{Node: next}, make([]byte, tc.payload))
			if err != nil {
				t.Fatal(err)
			}
			before := fw.n.Load()
			w := httptest.NewRecorder()
			rl.ServeHTTP(w, httptest.NewRequest(http.MethodPost, relay.Path, bytes.NewReader(frame)))
			if w.Code != tc.status || fw.n.Load()-before != tc.fwd {
				t.Fatalf("%d-byte frame: status %d, %d forwards", len(frame), w.Code, fw.n.Load()-before)
			}
		})
	}
}

// blockingForwarder holds every forward until release is closed.
type blockingForwarder struct {
	entered chan struct{}
	release chan struct{}
}

func (f blockingForwarder) Post(context.Context, identity.Ed25519PublicKey, string, string, []byte, int) (int, []byte, error) {
	f.entered <- struct{}{}
	<-f.release
	return http.StatusOK, make([]byte, onion.SizeClasses[0]), nil
}

func TestInFlightLimit(t *testing.T) {
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	nx, _ := ecdh.X25519().GenerateKey(rand.Reader)
	npub, _, _ := ed25519.GenerateKey(rand.Reader)
	fw := blockingForwarder{entered: make(chan struct{}, 1), release: make(chan struct{})}
	rl, err := relay.New(relay.Config{
		X25519: x, Directory: everyone{}, Local: http.NotFoundHandler(), Forwarder: fw,
		Replay: nopReplay{}, Clock: time.Now, Logger: discard, MaxInFlight: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	me := onion.Hop{Ed25519: make(ed25519.PublicKey, 32), X25519: x.PublicKey()}
	next := onion.Hop{Ed25519: npub, X25519: nx.PublicKey()}
	send := func() int {
		frame, _, err := onion.Build([]onion.Hop{me}, onion.Destination{Node: next}, []byte("x"))
		if err != nil {
			t.Error(err)
		}
		w := httptest.NewRecorder()
		rl.ServeHTTP(w, httptest.NewRequest(http.MethodPost, relay.Path, bytes.NewReader(frame)))
		return w.Code
	}
	first := make(chan int)
	go func() { first <- send() }()
	<-fw.entered
	if got := send(); got != http.StatusServiceUnavailable {
		t.Fatalf("second request while full: %d, want 503", got)
	}
	close(fw.release)
	if got := <-first; got != http.StatusOK {
		t.Fatalf("first request: %d", got)
	}
	if got := send(); got != http.StatusOK {
		t.Fatalf("request after the slot freed: %d", got)
	}
}

func TestStewardAllowList(t *testing.T) {
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	sx, _ := ecdh.X25519().GenerateKey(rand.Reader)
	files := onion.ServerTarget{Host: "files.example", Port: 443, Protocol: "https", Target: "/file/", Method: http.MethodGet}
	upload := onion.ServerTarget{Host: "files.example", Port: 443, Protocol: "https", Target: "/file", Method: http.MethodPost}
	st := &countingSteward{}
	rl, err := relay.New(relay.Config{
		X25519: x, Directory: everyone{}, Local: http.NotFoundHandler(), Forwarder: &countingForwarder{},
		Steward: st, StewardAllow: []onion.ServerTarget{files, upload},
		Replay: nopReplay{}, Clock: time.Now, Logger: discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	me := onion.Hop{Ed25519: make(ed25519.PublicKey, 32), X25519: x.PublicKey()}
	with := func(edit func(*onion.ServerTarget)) onion.ServerTarget {
		t := files
		edit(&t)
		return t
	}
	tests := []struct {
		name    string
		target  onion.ServerTarget
		allowed bool
	}{
		{"exact entry", upload, true},
		{"below a prefix entry", with(func(t *onion.ServerTarget) { t.Target = "/file/3f2a" }), true},
		{"deeper below a prefix entry", with(func(t *onion.ServerTarget) { t.Target = "/file/3f2a/info" }), true},
		{"the prefix entry itself", files, true},
		{"a sibling of the prefix", with(func(t *onion.ServerTarget) { t.Target = "/files/3f2a" }), false},
		{"exact entry with a suffix", with(func(t *onion.ServerTarget) { t.Target = "/file2"; t.Method = http.MethodPost }), false},
		{"other method", with(func(t *onion.ServerTarget) { t.Target = "/file/3f2a"; t.Method = http.MethodDelete }), false},
		{"other host", with(func(t *onion.ServerTarget) { t.Target = "/file/3f2a"; t.Host = "evil.example" }), false},
		{"other port", with(func(t *onion.ServerTarget) { t.Target = "/file/3f2a"; t.Port = 8443 }), false},
		{"plain http", with(func(t *onion.ServerTarget) { t.Target = "/file/3f2a"; t.Protocol = "http" }), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame, cs, err := onion.Build([]onion.Hop{me}, onion.Destination{Node: onion.Hop{X25519: sx.PublicKey()}, Server: &tc.target}, []byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			before := st.n.Load()
			w := httptest.NewRecorder()
			rl.ServeHTTP(w, httptest.NewRequest(http.MethodPost, relay.Path, bytes.NewReader(frame)))
			sent := st.n.Load() - before
			_, _, err = onion.OpenResponse(cs, w.Body.Bytes())
			refused := errors.Is(err, onion.ErrTargetNotAllowed)
			if (sent == 1) != tc.allowed || refused == tc.allowed {
				t.Fatalf("forwarded %d times, response %v; want allowed=%v", sent, err, tc.allowed)
			}
		})
	}
}

// TestInFlightPerAddress: one client address cannot hold more than its
// share of requests in flight, however large the node's pool; a client
// at another address still gets through.
func TestInFlightPerAddress(t *testing.T) {
	const burst = 100
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	nx, _ := ecdh.X25519().GenerateKey(rand.Reader)
	npub, _, _ := ed25519.GenerateKey(rand.Reader)
	fw := blockingForwarder{entered: make(chan struct{}, burst+1), release: make(chan struct{})}
	rl, err := relay.New(relay.Config{
		X25519: x, Directory: everyone{}, Local: http.NotFoundHandler(), Forwarder: fw,
		Replay: nopReplay{}, Clock: time.Now, Logger: discard, MaxInFlight: 2 * burst,
	})
	if err != nil {
		t.Fatal(err)
	}
	me := onion.Hop{Ed25519: make(ed25519.PublicKey, 32), X25519: x.PublicKey()}
	next := onion.Hop{Ed25519: npub, X25519: nx.PublicKey()}
	send := func(remote string) int {
		frame, _, err := onion.Build([]onion.Hop{me}, onion.Destination{Node: next}, []byte("x"))
		if err != nil {
			t.Error(err)
		}
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, relay.Path, bytes.NewReader(frame))
		r.RemoteAddr = remote
		rl.ServeHTTP(w, r)
		return w.Code
	}
	results := make(chan int, burst+1)
	for range burst {
		go func() { results <- send("192.0.2.1:4000") }()
	}
	entered, refused := 0, 0
	for entered+refused < burst {
		select {
		case <-fw.entered:
			entered++
		case code := <-results:
			if code != http.StatusServiceUnavailable {
				t.Fatalf("request refused with %d, want 503", code)
			}
			refused++
		}
	}
	if entered != relay.DefaultClientInFlight {
		t.Fatalf("one address holds %d requests in flight, want %d", entered, relay.DefaultClientInFlight)
	}
	go func() { results <- send("192.0.2.2:4000") }()
	select {
	case <-fw.entered:
	case code := <-results:
		t.Fatalf("another address refused with %d while the first is at its cap", code)
	}
	close(fw.release)
	for range entered + 1 {
		if code := <-results; code != http.StatusOK {
			t.Fatalf("held request answered %d", code)
		}
	}
}
