package relay_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/protocol/onion"
)

// countingForwarder counts forwards and answers like a next hop would.
type countingForwarder struct {
	n    atomic.Int64
	resp []byte
}

func (f *countingForwarder) Post(context.Context, identity.Ed25519PublicKey, string, string, []byte, int) (int, []byte, error) {
	f.n.Add(1)
	return http.StatusOK, f.resp, nil
}

type countingSteward struct{ n atomic.Int64 }

func (s *countingSteward) Do(context.Context, onion.ServerTarget, []byte, int) (int, []byte, error) {
	s.n.Add(1)
	return http.StatusOK, make([]byte, onion.SizeClasses[0]), nil
}

// FuzzServeHTTP feeds arbitrary bodies to a relay and checks that it
// never panics, answers only with the statuses the package documents,
// and contacts another node, the storage handler or a steward only when
// the body really is a layer for this node that says so.
func FuzzServeHTTP(f *testing.F) {
	key := func(label string) *ecdh.PrivateKey {
		s := sha256.Sum256([]byte(label))
		k, _ := ecdh.X25519().NewPrivateKey(s[:])
		return k
	}
	x, nx, sx := key("relay"), key("next"), key("server")
	npub := ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey)
	me := onion.Hop{Ed25519: make(ed25519.PublicKey, 32), X25519: x.PublicKey()}
	next := onion.Hop{Ed25519: npub, X25519: nx.PublicKey()}
	target := onion.ServerTarget{Host: "files.example", Port: 443, Protocol: "https", Target: "/file", Method: "POST"}
	for _, seed := range []func() ([]byte, *onion.ClientState, error){
		func() ([]byte, *onion.ClientState, error) {
			return onion.Build([]onion.Hop{me}, onion.Destination{Node: next}, []byte(`{"method":"info"}`))
		},
		func() ([]byte, *onion.ClientState, error) {
			return onion.Build(nil, onion.Destination{Node: me}, []byte(`{"method":"info"}`))
		},
		func() ([]byte, *onion.ClientState, error) {
			return onion.Build([]onion.Hop{me}, onion.Destination{Node: onion.Hop{X25519: sx.PublicKey()}, Server: &target}, []byte("upload"))
		},
	} {
		frame, _, err := seed()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(frame)
	}
	// Sessions: a request that opens one here, and a warm request in it
	// (the fuzzer's first run of the opening seed opens it).
	third := onion.Hop{Ed25519: npub, X25519: sx.PublicKey()}
	sid := onion.SessionID{1, 2, 3}
	opening, ost, err := onion.BuildSessions([]onion.Hop{me, next}, onion.Destination{Node: third}, []byte(`{"method":"info"}`),
		[]onion.SessionLayer{{Open: &sid}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(opening)
	sess, _ := ost.OpenedSession(0) // this process's: see the session case below
	warm, _, err := onion.BuildSessions([]onion.Hop{me, next}, onion.Destination{Node: third}, []byte(`{"method":"info"}`),
		[]onion.SessionLayer{{Use: &sess, Counter: 1}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(warm)
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, onion.SizeClasses[0]))

	fw := &countingForwarder{resp: make([]byte, onion.SizeClasses[0])}
	st := &countingSteward{}
	var locals atomic.Int64
	rl, err := relay.New(relay.Config{
		X25519: x, Directory: everyone{},
		Local: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			locals.Add(1)
			w.Write([]byte(`{}`))
		}),
		Forwarder: fw, Steward: st, StewardAllow: []onion.ServerTarget{target},
		Replay: nopReplay{}, Clock: time.Now, Logger: discard,
		Signer: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)),
		// Every input comes from one address; the fuzzer must reach the
		// peel, not the rate limit.
		Limits: relay.Limits{ClientRate: unlimited},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := fw.n.Load() + st.n.Load() + locals.Load()
		w := httptest.NewRecorder()
		rl.ServeHTTP(w, httptest.NewRequest(http.MethodPost, relay.Path, bytes.NewReader(body)))
		acted := fw.n.Load() + st.n.Load() + locals.Load() - before
		l, perr := onion.Peel(x, body)
		if id, _, ok, _ := onion.FrameSession(body); ok {
			// A session frame: never peeled with the node key. The seed's
			// session exists only if this process ran the opening seed,
			// and its key is this process's (fuzz workers build their own
			// seeds), so only other sessions are checked exactly: they
			// get a signed session_unknown and cause nothing.
			switch {
			case w.Code != http.StatusOK && w.Code != http.StatusBadRequest:
				t.Fatalf("status %d", w.Code)
			case id != sid && (w.Code != http.StatusOK || w.Body.Len() != onion.SizeClasses[0] || acted != 0):
				t.Fatalf("unknown session: status %d, %d bytes, %d actions", w.Code, w.Body.Len(), acted)
			}
			return
		}
		switch w.Code {
		case http.StatusOK:
			if l == nil {
				t.Fatalf("answered 200 to a frame that does not peel: %v", perr)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if l != nil {
				t.Fatalf("refused a frame that peels")
			}
		default:
			t.Fatalf("status %d", w.Code)
		}
		if acted > 0 && (perr != nil || l.Instruction.Kind == onion.KindInvalid) {
			t.Fatalf("acted on a frame that does not peel cleanly: %v", perr)
		}
	})
}
