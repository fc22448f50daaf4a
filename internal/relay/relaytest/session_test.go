package relaytest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
)

// sessionPath is a 3-relay path and a destination outside it on a fresh
// network, with the path's sessions.
type sessionPath struct {
	nw    *relaytest.Network
	path  []snapshot.Node
	dest  snapshot.Node
	sess  *onionclient.Sessions
	acct  identity.AccountID
	count int
}

func newSessionPath(t *testing.T, o relaytest.Options) *sessionPath {
	nw := relaytest.Start(t, o)
	acct := identity.NewAccount().ID()
	dest := nw.SwarmFor(acct)[0]
	var path []snapshot.Node
	for _, n := range nw.Snapshot.Nodes {
		if n.Ed25519 != dest.Ed25519 && len(path) < 3 {
			path = append(path, n)
		}
	}
	return &sessionPath{nw: nw, path: path, dest: dest, sess: onionclient.NewSessions(time.Now), acct: acct}
}

// store sends one store through the path with p (the client pool if nil).
func (sp *sessionPath) store(t *testing.T, p onionclient.Poster) (int, []byte, error) {
	t.Helper()
	if p == nil {
		p = sp.nw.ClientPool()
	}
	sp.count++
	return sp.sess.SendHold(context.Background(), p, sp.path, sp.dest, storeBody(t, sp.acct, fmt.Appendf(nil, "message %d", sp.count)), 0)
}

func (sp *sessionPath) mustStore(t *testing.T, p onionclient.Poster) {
	t.Helper()
	if status, body, err := sp.store(t, p); err != nil || status != http.StatusOK {
		t.Fatalf("store: %d %s %v", status, body, err)
	}
}

// byPosition sorts one request's observations by position (0 = guard).
func (sp *sessionPath) byPosition(t *testing.T, obs []relay.Observation) []relay.Observation {
	t.Helper()
	order := append(slices.Clone(sp.path), sp.dest)
	out := make([]relay.Observation, len(order))
	if len(obs) != len(order) {
		t.Fatalf("%d observations, want %d", len(obs), len(order))
	}
	for _, o := range obs {
		i := slices.IndexFunc(order, func(n snapshot.Node) bool { return n.Ed25519 == o.Node })
		if i < 0 {
			t.Fatalf("observation by %s, off the path", o.Node)
		}
		out[i] = o
	}
	return out
}

// header is a frame's JSON header as a node received it.
func header(t *testing.T, frame []byte) map[string]any {
	t.Helper()
	_, obj, err := onion.DecodeFrame(frame)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSessionLinkability: across two warm requests on one path, the last
// relay and the destination see no common value — no session ID, key or
// counter, and a fresh ephemeral key each time — while the guard and the
// middle relay each see the same session ID in both (this is what they
// can link, stated in docs/onion.md).
func TestSessionLinkability(t *testing.T) {
	sp := newSessionPath(t, relaytest.Options{Nodes: 5})
	sp.mustStore(t, nil) // opens the sessions
	open := sp.byPosition(t, sp.nw.Observations())
	var warm [2][]relay.Observation
	for i := range warm {
		sp.mustStore(t, nil)
		warm[i] = sp.byPosition(t, sp.nw.Observations())
	}
	for pos := range 2 {
		a, b := warm[0][pos], warm[1][pos]
		if a.Session == (onion.SessionID{}) || a.Session != b.Session || a.Session != open[pos].Session {
			t.Errorf("position %d: sessions %v, %v (opened %v), want one session", pos, a.Session, b.Session, open[pos].Session)
		}
		if a.Counter == b.Counter {
			t.Errorf("position %d: counter %d twice", pos, a.Counter)
		}
		if h := header(t, a.Request); h["session"] != a.Session.String() || h["ephemeral_key"] != nil {
			t.Errorf("position %d received header %v", pos, h)
		}
	}
	if warm[0][0].Session == warm[0][1].Session {
		t.Error("the guard and the middle relay share a session ID")
	}
	// Every value the first two positions saw that is tied to the path's
	// sessions, in every encoding the wire uses.
	var linking [][]byte
	for _, w := range warm {
		for pos := range 2 {
			id := w[pos].Session
			linking = append(linking, id[:], []byte(id.String()))
		}
	}
	for _, pos := range []int{2, 3} {
		a, b := warm[0][pos], warm[1][pos]
		if a.Session != (onion.SessionID{}) || b.Session != (onion.SessionID{}) || a.Counter != 0 || b.Counter != 0 {
			t.Errorf("position %d holds a session", pos)
		}
		ha, hb := header(t, a.Request), header(t, b.Request)
		if len(ha) != 3 || ha["ephemeral_key"] == nil || ha["ephemeral_key"] == hb["ephemeral_key"] {
			t.Errorf("position %d headers %v and %v: want a fresh ephemeral key and nothing else", pos, ha, hb)
		}
		for _, o := range []relay.Observation{a, b} {
			for _, v := range linking {
				for _, seen := range [][]byte{o.Request, o.Response, o.Inner} {
					if bytes.Contains(seen, v) {
						t.Errorf("position %d saw session value %x", pos, v)
					}
				}
			}
		}
	}
	checkPadding(t, append(warm[0], warm[1]...))
}

// TestSessionRestart: a relay that restarts forgets its sessions; the
// next request gets its signed session_unknown, and the client opens new
// sessions and succeeds, within the same call.
func TestSessionRestart(t *testing.T) {
	for _, pos := range []int{0, 1} {
		t.Run(fmt.Sprintf("position %d", pos), func(t *testing.T) {
			sp := newSessionPath(t, relaytest.Options{Nodes: 5})
			sp.mustStore(t, nil)
			sp.nw.Observations()
			sp.mustStore(t, nil)
			before := sp.byPosition(t, sp.nw.Observations())
			sp.nw.Node(sp.path[pos].Ed25519).RestartRelay()
			sp.mustStore(t, nil)
			obs := sp.nw.Observations()
			// The failed attempt stopped at pos; the retry went through.
			if len(obs) != pos+1+4 {
				t.Fatalf("%d observations, want %d", len(obs), pos+1+4)
			}
			retry := sp.byPosition(t, obs[pos+1:])
			for p := range 2 {
				if retry[p].Session == before[p].Session || retry[p].Counter != 0 {
					t.Errorf("position %d: retry used session %v counter %d, want a new one opened", p, retry[p].Session, retry[p].Counter)
				}
			}
			// And the new sessions carry the next request.
			sp.mustStore(t, nil)
			next := sp.byPosition(t, sp.nw.Observations())
			if next[0].Session != retry[0].Session || next[0].Counter != 1 {
				t.Errorf("next request: session %v counter %d", next[0].Session, next[0].Counter)
			}
		})
	}
}

// forgingPoster answers the client with a session_unknown the guard did
// not send.
type forgingPoster struct {
	onionclient.Poster
	make func(frame []byte) []byte
}

func (p forgingPoster) Post(ctx context.Context, k identity.Ed25519PublicKey, addr, path string, body []byte, limit int) (int, []byte, error) {
	if _, _, ok, _ := onion.FrameSession(body); ok {
		return http.StatusOK, p.make(body), nil
	}
	return p.Poster.Post(ctx, k, addr, path, body, limit)
}

// TestForgedSessionUnknown: a session_unknown signed by anyone but the
// hop, or for another session or counter, is a response that does not
// decrypt; the client keeps its sessions and does not resend.
func TestForgedSessionUnknown(t *testing.T) {
	sp := newSessionPath(t, relaytest.Options{Nodes: 5})
	sp.mustStore(t, nil)
	sp.nw.Observations()
	sp.mustStore(t, nil)
	opened := sp.byPosition(t, sp.nw.Observations())
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	middle := sp.nw.Node(sp.path[1].Ed25519).Ed25519
	guard := sp.nw.Node(sp.path[0].Ed25519).Ed25519
	forgeries := []struct {
		name string
		sign func(id onion.SessionID, counter uint64) ([]byte, error)
	}{
		{"a stranger's key", func(id onion.SessionID, c uint64) ([]byte, error) { return onion.SessionUnknown(stranger, id, c) }},
		{"the middle relay for the guard", func(id onion.SessionID, c uint64) ([]byte, error) { return onion.SessionUnknown(middle, id, c) }},
		{"an old counter (a replay)", func(id onion.SessionID, c uint64) ([]byte, error) { return onion.SessionUnknown(guard, id, c-1) }},
	}
	for _, fg := range forgeries {
		t.Run(fg.name, func(t *testing.T) {
			p := forgingPoster{sp.nw.ClientPool(), func(frame []byte) []byte {
				id, c, _, _ := onion.FrameSession(frame)
				b, err := fg.sign(id, c)
				if err != nil {
					t.Error(err)
				}
				return b
			}}
			_, _, err := sp.store(t, p)
			if !errors.Is(err, onion.ErrResponseUndecryptable) || errors.Is(err, onion.ErrSessionUnknown) {
				t.Fatalf("got %v, want a response that does not decrypt", err)
			}
			if obs := sp.nw.Observations(); len(obs) != 0 {
				t.Fatalf("the client resent: %d observations", len(obs))
			}
			sp.mustStore(t, nil)
			next := sp.byPosition(t, sp.nw.Observations())
			if next[0].Session != opened[0].Session || next[1].Session != opened[1].Session {
				t.Fatal("the client dropped its sessions for a forgery")
			}
		})
	}
}

// TestSessionReplayLive replays a warm frame to the guard, and sends
// parallel requests whose counters overtake each other.
func TestSessionReplayLive(t *testing.T) {
	sp := newSessionPath(t, relaytest.Options{Nodes: 5})
	sp.mustStore(t, nil)
	sp.nw.Observations()
	sp.mustStore(t, nil)
	warm := sp.byPosition(t, sp.nw.Observations())
	guard := sp.path[0]
	pool := sp.nw.ClientPool()
	status, resp, err := pool.Post(context.Background(), guard.Ed25519, guard.Address, relay.Path, warm[0].Request, onion.MaxFrameSize)
	if err != nil || status != http.StatusOK {
		t.Fatalf("replay: %d %v", status, err)
	}
	if obs := sp.nw.Observations(); len(obs) != 1 || !bytes.Equal(obs[0].Response, resp) {
		t.Fatalf("the replay went past the guard: %d observations", len(obs))
	}
	if rpcs := sp.nw.RPCs(); len(rpcs) != 2 {
		t.Fatalf("%d storage RPCs, want the two stores only", len(rpcs))
	}
	// Parallel requests on the path, well within the window.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			_, _, err := sp.sess.SendHold(context.Background(), pool, sp.path, sp.dest, storeBody(t, sp.acct, fmt.Appendf(nil, "p%d", i)), 0)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var warmCount int
	for _, o := range sp.nw.Observations() {
		if o.Counter > 0 && o.Node == guard.Ed25519 {
			warmCount++
		}
	}
	if warmCount != 20 {
		t.Fatalf("%d of 20 parallel requests used the session at the guard", warmCount)
	}
}

// TestMixedNetwork: relays that open no sessions (older nodes, here
// without a signing key) refuse the opening; the client falls back to
// full requests on that path, which keep working.
func TestMixedNetwork(t *testing.T) {
	for _, pos := range []int{0, 1} {
		t.Run(fmt.Sprintf("position %d", pos), func(t *testing.T) {
			sp := newSessionPath(t, relaytest.Options{Nodes: 5, Relay: func(i int, c *relay.Config) {
				if i == pos {
					c.Signer = nil
				}
			}})
			// Nodes in order, so that node pos is at position pos; one
			// swarm holds every node, so any may be the destination.
			n := sp.nw.Nodes
			sp.path, sp.dest = []snapshot.Node{n[0].Info, n[1].Info, n[2].Info}, n[4].Info
			for range 3 {
				sp.mustStore(t, nil)
			}
			for _, o := range sp.nw.Observations() {
				if o.Counter != 0 {
					t.Fatal("a session frame on a path with a node without sessions")
				}
			}
		})
	}
}
