package relay_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/protocol/onion"
)

// guardFixture is a relay that is the guard of a 3-relay path (the two
// relays after it and the destination are keys only: the forwarder
// answers for them).
type guardFixture struct {
	t     *testing.T
	rl    *relay.Relay
	fw    *countingForwarder
	hops  []onion.Hop
	dest  onion.Destination
	clock *fakeClock
	cfg   relay.Config
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newGuard(t *testing.T, signer bool, lim relay.SessionLimits) *guardFixture {
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	f := &guardFixture{t: t, fw: &countingForwarder{resp: make([]byte, onion.SizeClasses[0])}, clock: &fakeClock{now: time.Unix(1e9, 0)}}
	cfg := relay.Config{
		X25519: x, Directory: everyone{}, Local: http.NotFoundHandler(), Forwarder: f.fw,
		Replay: nopReplay{}, Clock: f.clock.Now, Logger: discard, Sessions: lim,
		Limits: relay.Limits{ClientRate: unlimited, ClientInFlight: 1 << 20},
	}
	if signer {
		cfg.Signer = priv
	}
	f.cfg = cfg
	var err error
	if f.rl, err = relay.New(cfg); err != nil {
		t.Fatal(err)
	}
	f.hops = []onion.Hop{{Ed25519: pub, X25519: x.PublicKey()}}
	for range 3 {
		nx, _ := ecdh.X25519().GenerateKey(rand.Reader)
		np, _, _ := ed25519.GenerateKey(rand.Reader)
		f.hops = append(f.hops, onion.Hop{Ed25519: np, X25519: nx.PublicKey()})
	}
	f.dest = onion.Destination{Node: f.hops[3]}
	f.hops = f.hops[:3]
	return f
}

// send posts a request with sess at the guard from remote and returns
// the guard's HTTP status, whether it forwarded, and its answer opened
// with the client's state (a forwarded answer is the forwarder's zeros,
// which open as nothing).
func (f *guardFixture) send(remote string, sess onion.SessionLayer) (int, bool, *onion.ClientState, error) {
	f.t.Helper()
	frame, st, err := onion.BuildSessions(f.hops, f.dest, []byte("x"), []onion.SessionLayer{sess})
	if err != nil {
		f.t.Fatal(err)
	}
	before := f.fw.n.Load()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, relay.Path, bytes.NewReader(frame))
	r.RemoteAddr = remote
	f.rl.ServeHTTP(w, r)
	forwarded := f.fw.n.Load() > before
	if w.Code != http.StatusOK {
		return w.Code, forwarded, st, nil
	}
	_, _, err = onion.OpenResponse(st, w.Body.Bytes())
	return w.Code, forwarded, st, err
}

// open opens a session at the guard from remote.
func (f *guardFixture) open(remote string) onion.Session {
	f.t.Helper()
	id := onion.NewSessionID()
	code, fwd, st, _ := f.send(remote, onion.SessionLayer{Open: &id})
	s, ok := st.OpenedSession(0)
	if code != http.StatusOK || !fwd || !ok {
		f.t.Fatalf("opening a session: %d, forwarded %v", code, fwd)
	}
	return s
}

const client = "192.0.2.1:4000"

func TestSessionReplay(t *testing.T) {
	f := newGuard(t, true, relay.SessionLimits{})
	s := f.open(client)
	w := uint64(onion.ReplayWindow)
	steps := []struct {
		name    string
		counter uint64
		ok      bool
	}{
		{"first", 5, true},
		{"replayed", 5, false},
		{"earlier, out of order", 3, true},
		{"earlier again", 3, false},
		{"jump ahead", 5 + w, true},
		{"outside the window", 5, false},
		{"just inside the window", 6, true},
		{"replayed inside the window", 6, false},
		{"at the limit", onion.MaxSessionRequests, true},
	}
	for _, st := range steps {
		code, fwd, _, err := f.send(client, onion.SessionLayer{Use: &s, Counter: st.counter})
		if code != http.StatusOK || fwd != st.ok {
			t.Fatalf("%s (counter %d): status %d, forwarded %v", st.name, st.counter, code, fwd)
		}
		if !st.ok && !errors.Is(err, onion.ErrReplay) {
			t.Fatalf("%s: %v, want an authenticated replay failure", st.name, err)
		}
	}
	// The counts the node's metrics report (relay.Metrics).
	if st := f.rl.SessionStats(); st.Opened != 1 || st.Warm != 5 || st.Replayed != 4 || st.Unknown != 0 {
		t.Fatalf("counts %+v, want 1 opened, 5 warm, 4 replayed", st)
	}
}

func TestSessionUnknownAnswers(t *testing.T) {
	f := newGuard(t, true, relay.SessionLimits{})
	s := f.open(client)
	var re *onion.RelayError
	t.Run("never opened", func(t *testing.T) {
		other := onion.Session{ID: onion.NewSessionID(), Key: s.Key}
		_, fwd, _, err := f.send(client, onion.SessionLayer{Use: &other, Counter: 1})
		if fwd || !errors.As(err, &re) || re.Hop != 0 || re.Code != onion.CodeSessionUnknown {
			t.Fatalf("forwarded %v, %v", fwd, err)
		}
	})
	t.Run("another source", func(t *testing.T) {
		_, fwd, _, err := f.send("192.0.2.9:4000", onion.SessionLayer{Use: &s, Counter: 1})
		if fwd || !errors.Is(err, onion.ErrSessionUnknown) {
			t.Fatalf("forwarded %v, %v", fwd, err)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		forged := onion.Session{ID: s.ID}
		code, fwd, _, _ := f.send(client, onion.SessionLayer{Use: &forged, Counter: 2})
		if fwd || code != http.StatusBadRequest {
			t.Fatalf("forwarded %v, status %d", fwd, code)
		}
		// The forgery burnt no counter.
		if _, fwd, _, err := f.send(client, onion.SessionLayer{Use: &s, Counter: 2}); !fwd {
			t.Fatalf("counter 2 after a forgery: %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		f.clock.Add(onion.SessionLifetime + onion.SessionGrace + time.Second)
		_, fwd, _, err := f.send(client, onion.SessionLayer{Use: &s, Counter: 3})
		if fwd || !errors.Is(err, onion.ErrSessionUnknown) {
			t.Fatalf("forwarded %v, %v", fwd, err)
		}
	})
	if st := f.rl.SessionStats(); st.Unknown != 3 || st.Warm != 1 {
		t.Fatalf("counts %+v, want 3 session_unknown answers and 1 warm frame", st)
	}
	t.Run("relay restart", func(t *testing.T) {
		s := f.open(client)
		f.rl = mustRestart(t, f)
		_, fwd, _, err := f.send(client, onion.SessionLayer{Use: &s, Counter: 1})
		if fwd || !errors.Is(err, onion.ErrSessionUnknown) {
			t.Fatalf("forwarded %v, %v", fwd, err)
		}
		if st := f.rl.SessionStats(); st.Sessions != 0 || st.Opened != 0 || st.Unknown != 1 {
			t.Fatalf("after a restart: %+v", st)
		}
	})
}

// mustRestart is f's relay as after a restart: the same keys and
// configuration, no state.
func mustRestart(t *testing.T, f *guardFixture) *relay.Relay {
	rl, err := relay.New(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rl
}

func TestNoSessionsWithoutSigner(t *testing.T) {
	f := newGuard(t, false, relay.SessionLimits{})
	id := onion.NewSessionID()
	_, fwd, _, err := f.send(client, onion.SessionLayer{Open: &id})
	var re *onion.RelayError
	if fwd || !errors.As(err, &re) || re.Hop != 0 || re.Code != onion.CodeBadInstruction {
		t.Fatalf("forwarded %v, %v", fwd, err)
	}
	if _, fwd, _, err := f.send(client, onion.SessionLayer{}); !fwd {
		t.Fatalf("full request: %v", err)
	}
}

// TestSessionFlood: one client opening sessions as fast as it can keeps
// only its share, its newest; other clients' sessions survive; the total
// never passes its bound.
func TestSessionFlood(t *testing.T) {
	lim := relay.SessionLimits{Total: 40, PerClient: 8}
	f := newGuard(t, true, lim)
	var others []onion.Session
	for i := range 4 {
		others = append(others, f.open(fmt.Sprintf("192.0.2.%d:4000", 10+i)))
	}
	var flood []onion.Session
	for range 500 {
		flood = append(flood, f.open(client))
		if st := f.rl.SessionStats(); st.Sessions > lim.Total || st.MaxPerSource > lim.PerClient {
			t.Fatalf("cache at %+v, limits %+v", st, lim)
		}
	}
	if st := f.rl.SessionStats(); st.Sessions != 4+lim.PerClient || st.Sources != 5 {
		t.Fatalf("after the flood: %+v", st)
	}
	for i, s := range others {
		if _, fwd, _, err := f.send(fmt.Sprintf("192.0.2.%d:4000", 10+i), onion.SessionLayer{Use: &s, Counter: 1}); !fwd {
			t.Fatalf("another client's session was evicted: %v", err)
		}
	}
	if _, fwd, _, _ := f.send(client, onion.SessionLayer{Use: &flood[len(flood)-1], Counter: 1}); !fwd {
		t.Fatal("the flooder's newest session is gone")
	}
	if _, fwd, _, err := f.send(client, onion.SessionLayer{Use: &flood[len(flood)-1-lim.PerClient], Counter: 1}); fwd || !errors.Is(err, onion.ErrSessionUnknown) {
		t.Fatalf("the flooder's older session: forwarded %v, %v", fwd, err)
	}
	// Many sources: the total holds, the oldest go first.
	for i := range 200 {
		f.open(fmt.Sprintf("198.51.100.%d:4000", i))
		if st := f.rl.SessionStats(); st.Sessions > lim.Total {
			t.Fatalf("cache at %+v", st)
		}
	}
	if _, fwd, _, _ := f.send("192.0.2.10:4000", onion.SessionLayer{Use: &others[0], Counter: 2}); fwd {
		t.Fatal("the oldest session survived a full cache")
	}
}
