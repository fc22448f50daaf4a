package files

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/relay"
	wire "github.com/hushnet/hush/protocol/files"
	"github.com/hushnet/hush/protocol/onion"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// relayer is a node relaying to the server: its keys, its certificate
// and the pinned steward client a node's relay uses.
type relayer struct {
	key     identity.Ed25519PublicKey
	x       *ecdh.PrivateKey
	steward *relay.PinnedSteward
}

// harness is a running server and a relay in front of it.
type harness struct {
	s      *Server
	dir    string
	clock  *fakeClock
	target onion.ServerTarget
	relay  *relayer
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func testConfig(dir string) config.Files {
	c := config.DefaultFiles()
	c.Data, c.Listen = dir, "127.0.0.1:0"
	c.SweepInterval = config.Duration(time.Hour) // tests sweep by hand
	return c
}

// start runs a server with cfg (edit changes the test defaults) until the
// test ends.
func start(t *testing.T, edit func(*config.Files), opts ...Option) *harness {
	t.Helper()
	h := &harness{dir: t.TempDir(), clock: &fakeClock{t: time.UnixMilli(1_800_000_000_000)}, logs: &syncBuffer{}}
	cfg := testConfig(h.dir)
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg, logger, append([]Option{WithClock(h.clock.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		done <- err // for the cleanup, which waits for Run
		t.Fatal(err)
	}
	port := s.Addr().(*net.TCPAddr).Port
	h.target = onion.ServerTarget{Host: "127.0.0.1", Port: uint16(port), Protocol: "https", Method: http.MethodPost, Target: wire.Target}
	h.relay = h.newRelay(t)
	return h
}

func (h *harness) newRelay(t *testing.T) *relayer {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	cert, err := keytls.Certificate(priv)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	st, err := relay.NewPinnedSteward(&cert, []relay.StewardServer{{Target: h.target, Ed25519: h.s.Identity().Ed25519Public()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return &relayer{key: identity.Ed25519PublicKeyOf(priv), x: x, steward: st}
}

// sent is a request as the last relay forwards it: the frame, the
// relay's layer (which wraps the answer) and the client's state.
type sent struct {
	frame []byte
	layer *onion.Layer
	cs    *onion.ClientState
}

// frame builds a request to the server as the last relay forwards it.
func (h *harness) frame(t *testing.T, rl *relayer, body []byte) *sent {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	serverX, err := ecdh.X25519().NewPublicKey(h.s.Identity().X25519.PublicKey().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	f, cs, err := onion.Build([]onion.Hop{{Ed25519: pub, X25519: rl.x.PublicKey()}}, onion.Destination{Node: onion.Hop{X25519: serverX}, Server: &h.target}, body)
	if err != nil {
		t.Fatal(err)
	}
	l, err := onion.Peel(rl.x, f)
	if err != nil {
		t.Fatal(err)
	}
	next, err := l.NextFrame()
	if err != nil {
		t.Fatal(err)
	}
	return &sent{next, l, cs}
}

// post sends a frame through rl; a status other than 200 is the server's
// plain refusal.
func (h *harness) post(t *testing.T, rl *relayer, s *sent) (int, []byte, error) {
	t.Helper()
	st, resp, err := rl.steward.Do(context.Background(), h.target, s.frame, onion.MaxFrameSize)
	if err != nil || st != http.StatusOK {
		return st, resp, err
	}
	if resp, err = s.layer.Responder.Wrap(resp); err != nil {
		return 0, nil, err
	}
	return onion.OpenResponse(s.cs, resp)
}

// call runs req through the default relay.
func (h *harness) call(t *testing.T, req wire.Request) (*wire.Response, error) {
	t.Helper()
	body, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f := h.frame(t, h.relay, body)
	st, resp, err := h.post(t, h.relay, f)
	if err != nil {
		t.Fatalf("%s: %v", req.Op, err)
	}
	return wire.ParseResponse(req.Op, st, resp)
}

func (h *harness) upload(t *testing.T, data []byte, ttl time.Duration) *wire.Response {
	t.Helper()
	r, err := h.call(t, wire.Request{Op: wire.OpUpload, Body: data, TTL: ttl})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	return r
}

func TestOperations(t *testing.T) {
	h := start(t, nil)
	data := make([]byte, 100_000)
	rand.Read(data)
	up := h.upload(t, data, 0)
	if want := h.clock.Now().Add(21 * 24 * time.Hour); !up.Expires.Equal(want) || len(up.Token) != 32 || !wire.ValidID(up.ID) {
		t.Fatalf("upload answered %+v; want the default 21 days", up)
	}
	other := h.upload(t, data, time.Hour)
	if other.ID == up.ID {
		t.Fatal("equal uploads got one ID: IDs must not derive from content")
	}

	tests := []struct {
		name         string
		offset, size int64
		want         []byte
		err          error
	}{
		{"whole", 0, wire.MaxPiece, data, nil},
		{"first part", 0, 1000, data[:1000], nil},
		{"resume", 1000, 50_000, data[1000:51_000], nil},
		{"tail", 99_990, 100, data[99_990:], nil},
		{"past the end", 100_000, 1, nil, wire.ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := h.call(t, wire.Request{Op: wire.OpDownload, ID: up.ID, Offset: tt.offset, Length: tt.size})
			if !errors.Is(err, tt.err) {
				t.Fatalf("download: %v, want %v", err, tt.err)
			}
			if err == nil && (!bytes.Equal(r.Data, tt.want) || r.Size != int64(len(data)) || !r.Expires.Equal(up.Expires)) {
				t.Fatalf("download: %d bytes of %d, expires %v", len(r.Data), r.Size, r.Expires)
			}
		})
	}
	if r, err := h.call(t, wire.Request{Op: wire.OpInfo, ID: up.ID}); err != nil || r.Size != int64(len(data)) {
		t.Fatalf("info: %+v %v", r, err)
	}
	badToken := bytes.Repeat([]byte{1}, 32)
	if _, err := h.call(t, wire.Request{Op: wire.OpExtend, ID: other.ID, Token: badToken, TTL: 48 * time.Hour}); !errors.Is(err, wire.ErrForbidden) {
		t.Fatalf("extend with a wrong token: %v", err)
	}
	r, err := h.call(t, wire.Request{Op: wire.OpExtend, ID: other.ID, Token: other.Token, TTL: 48 * time.Hour})
	if err != nil || !r.Expires.Equal(h.clock.Now().Add(48*time.Hour)) {
		t.Fatalf("extend: %+v %v", r, err)
	}
	// Past the maximum, an extend is cut to it.
	r, err = h.call(t, wire.Request{Op: wire.OpExtend, ID: other.ID, Token: other.Token, TTL: 300 * 24 * time.Hour})
	if err != nil || !r.Expires.Equal(h.clock.Now().Add(30*24*time.Hour)) {
		t.Fatalf("extend past the maximum: %+v %v", r, err)
	}
	if _, err := h.call(t, wire.Request{Op: wire.OpDelete, ID: up.ID, Token: badToken}); !errors.Is(err, wire.ErrForbidden) {
		t.Fatalf("delete with a wrong token: %v", err)
	}
	if _, err := h.call(t, wire.Request{Op: wire.OpDelete, ID: up.ID, Token: up.Token}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	for _, req := range []wire.Request{
		{Op: wire.OpInfo, ID: up.ID},
		{Op: wire.OpDownload, ID: up.ID, Length: 10},
		{Op: wire.OpDelete, ID: up.ID, Token: up.Token},
		{Op: wire.OpInfo, ID: wire.EncodeID(make([]byte, 32))},
	} {
		if _, err := h.call(t, req); !errors.Is(err, wire.ErrNotFound) {
			t.Fatalf("%s after delete: %v", req.Op, err)
		}
	}
	if st := h.s.Store().Stats(); st.Blobs != 1 || st.Bytes != int64(len(data)) {
		t.Fatalf("stats %+v", st)
	}
	// A malformed request is answered bad_request, under the onion.
	f := h.frame(t, h.relay, []byte("not a request"))
	st, resp, err := h.post(t, h.relay, f)
	if _, perr := wire.ParseResponse(wire.OpInfo, st, resp); err != nil || !errors.Is(perr, wire.ErrBadRequest) {
		t.Fatalf("malformed request: %d %v %v", st, err, perr)
	}
}

func TestExpiryAndSweep(t *testing.T) {
	h := start(t, nil)
	up := h.upload(t, []byte("short-lived"), time.Hour)
	keep := h.upload(t, []byte("long-lived"), 48*time.Hour)
	h.clock.Add(time.Hour)
	// Expired but not yet swept: already not served.
	if _, err := h.call(t, wire.Request{Op: wire.OpDownload, ID: up.ID, Length: 100}); !errors.Is(err, wire.ErrNotFound) {
		t.Fatalf("download of an expired blob: %v", err)
	}
	if _, err := h.call(t, wire.Request{Op: wire.OpExtend, ID: up.ID, Token: up.Token, TTL: time.Hour}); !errors.Is(err, wire.ErrNotFound) {
		t.Fatalf("extend of an expired blob: %v", err)
	}
	n, err := h.s.Store().Sweep(context.Background(), h.clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("sweep removed %d: %v", n, err)
	}
	if files := blobFiles(t, h.dir); len(files) != 1 {
		t.Fatalf("%d blob files after the sweep, want 1", len(files))
	}
	if r, err := h.call(t, wire.Request{Op: wire.OpDownload, ID: keep.ID, Length: 100}); err != nil || string(r.Data) != "long-lived" {
		t.Fatalf("the unexpired blob: %v", err)
	}
}

func TestLimits(t *testing.T) {
	t.Run("too large", func(t *testing.T) {
		h := start(t, func(c *config.Files) { c.MaxBlobBytes = 1000 })
		if _, err := h.call(t, wire.Request{Op: wire.OpUpload, Body: make([]byte, 1001)}); !errors.Is(err, wire.ErrTooLarge) {
			t.Fatalf("upload over max_blob_bytes: %v", err)
		}
		h.upload(t, make([]byte, 1000), 0)
	})
	t.Run("over MaxPiece", func(t *testing.T) {
		h := start(t, nil)
		// Built by hand: Marshal refuses it. It still fits the onion.
		body := append([]byte{0, 0, 0, 15}, `{"op":"upload"}`...)
		body = append(body, make([]byte, wire.MaxPiece+1)...)
		f := h.frame(t, h.relay, body)
		st, resp, err := h.post(t, h.relay, f)
		if _, perr := wire.ParseResponse(wire.OpUpload, st, resp); err != nil || !errors.Is(perr, wire.ErrTooLarge) {
			t.Fatalf("upload over MaxPiece: %d %v %v", st, err, perr)
		}
	})
	t.Run("full", func(t *testing.T) {
		h := start(t, func(c *config.Files) { c.MaxBlobBytes, c.CapacityBytes = 1000, 2500 })
		h.upload(t, make([]byte, 1000), 0)
		up := h.upload(t, make([]byte, 1000), 0)
		if _, err := h.call(t, wire.Request{Op: wire.OpUpload, Body: make([]byte, 1000)}); !errors.Is(err, wire.ErrFull) {
			t.Fatalf("upload past capacity: %v", err)
		}
		h.call(t, wire.Request{Op: wire.OpDelete, ID: up.ID, Token: up.Token})
		h.upload(t, make([]byte, 1000), 0)
	})
	t.Run("relay rate", func(t *testing.T) {
		h := start(t, func(c *config.Files) { c.RelayBurst, c.RelayRatePerSecond = 3, 0.001 })
		for range 3 {
			h.upload(t, []byte("x"), 0)
		}
		_, err := h.call(t, wire.Request{Op: wire.OpUpload, Body: []byte("x")})
		var e *wire.Error
		if !errors.Is(err, wire.ErrRateLimited) || !errors.As(err, &e) || e.RetryAfter <= 0 {
			t.Fatalf("4th request: %v, want rate_limited with a wait", err)
		}
		// The budget is per relay: another relay is served.
		other := h.newRelay(t)
		body, _ := (&wire.Request{Op: wire.OpUpload, Body: []byte("y")}).Marshal()
		f := h.frame(t, other, body)
		st, resp, err := h.post(t, other, f)
		if _, perr := wire.ParseResponse(wire.OpUpload, st, resp); err != nil || perr != nil {
			t.Fatalf("another relay: %d %v %v", st, err, perr)
		}
	})
	t.Run("total rate", func(t *testing.T) {
		h := start(t, func(c *config.Files) { c.TotalBurst, c.TotalRatePerSecond = 2, 0.001 })
		h.upload(t, []byte("x"), 0)
		other := h.newRelay(t)
		body, _ := (&wire.Request{Op: wire.OpUpload, Body: []byte("y")}).Marshal()
		f := h.frame(t, other, body)
		h.post(t, other, f)
		if _, err := h.call(t, wire.Request{Op: wire.OpUpload, Body: []byte("x")}); !errors.Is(err, wire.ErrRateLimited) {
			t.Fatalf("past the total rate: %v", err)
		}
	})
}

// TestRelays: with a node list, only its nodes are served; anyone else
// gets a plain 403 before the server reads the request.
func TestRelays(t *testing.T) {
	var allowed identity.Ed25519PublicKey
	var mu sync.Mutex
	h := start(t, nil, WithNodes(func(k identity.Ed25519PublicKey) bool {
		mu.Lock()
		defer mu.Unlock()
		return k == allowed
	}))
	mu.Lock()
	allowed = h.relay.key
	mu.Unlock()
	h.upload(t, []byte("x"), 0)
	stranger := h.newRelay(t)
	body, _ := (&wire.Request{Op: wire.OpUpload, Body: []byte("y")}).Marshal()
	f := h.frame(t, stranger, body)
	if st, _, err := h.post(t, stranger, f); err != nil || st != http.StatusForbidden {
		t.Fatalf("a relay that is no node: %d %v, want 403", st, err)
	}
	// A client without a certificate is no node either.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: keytls.ClientConfig(nil, keytls.Only(h.s.Identity().Ed25519Public()))}}
	resp, err := c.Post("https://"+h.s.Addr().String()+wire.Target, "application/octet-stream", bytes.NewReader(f.frame))
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("no certificate: %v %v", resp, err)
	}
	resp.Body.Close()
	if got := blobFiles(t, h.dir); len(got) != 1 {
		t.Fatalf("%d blobs stored, want the allowed relay's 1", len(got))
	}
}

func TestReplayRefused(t *testing.T) {
	h := start(t, nil)
	body, _ := (&wire.Request{Op: wire.OpUpload, Body: []byte("once")}).Marshal()
	f := h.frame(t, h.relay, body)
	if _, _, err := h.post(t, h.relay, f); err != nil {
		t.Fatal(err)
	}
	_, _, err := h.post(t, h.relay, f)
	if !errors.Is(err, onion.ErrReplay) {
		t.Fatalf("replayed frame: %v, want onion replay", err)
	}
	if got := blobFiles(t, h.dir); len(got) != 1 {
		t.Fatalf("%d blobs stored, want 1", len(got))
	}
}

func TestMetrics(t *testing.T) {
	h := start(t, func(c *config.Files) { c.Metrics = "127.0.0.1:0" })
	up := h.upload(t, []byte("counted"), 0)
	resp, err := http.Get("http://" + h.s.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`hush_files_requests_total{op="upload",result="ok"} 1`, "hush_files_blobs 1", "hush_files_bytes 7"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if bytes.Contains(b, []byte(up.ID)) {
		t.Error("metrics name a blob")
	}
}
