// End-to-end tests of internal/relay on real in-process nodes. They live
// here, not in internal/relay, so that the relay's own test binary (and
// its fuzz target) does not link SQLite: coverage instrumentation of it
// slows fuzzing to a crawl.
package relaytest_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// storeBody is an unsigned store into namespace 0 of acct.
func storeBody(t testing.TB, acct identity.AccountID, data []byte) []byte {
	t.Helper()
	params, _ := json.Marshal(map[string]any{
		"pubkey": acct.String(), "namespace": 0, "ttl": 60_000,
		"timestamp": time.Now().UnixMilli(), "data": base64.StdEncoding.EncodeToString(data),
	})
	b, err := json.Marshal(rpc.Request{Method: rpc.MethodStore, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hop(t testing.TB, n snapshot.Node) onion.Hop {
	x, err := ecdh.X25519().NewPublicKey(n.X25519[:])
	if err != nil {
		t.Fatal(err)
	}
	return onion.Hop{Ed25519: n.Ed25519.Bytes(), X25519: x}
}

func isClass(n int) bool { return slices.Contains(onion.SizeClasses, n) }

// checkPadding asserts that every onion answer and request carried by a
// node was a size class long.
func checkPadding(t *testing.T, obs []relay.Observation) {
	t.Helper()
	for _, o := range obs {
		if o.Hop < 0 {
			continue // refused before peeling: not onion traffic
		}
		if !isClass(len(o.Request)) {
			t.Errorf("node %s received a %d-byte frame", o.Node, len(o.Request))
		}
		if o.Status != http.StatusOK || !isClass(len(o.Response)) {
			t.Errorf("node %s answered %d with %d bytes", o.Node, o.Status, len(o.Response))
		}
	}
}

func TestStoreThroughPath(t *testing.T) {
	nw := relaytest.Start(t, relaytest.Options{Nodes: 5})
	acct := identity.NewAccount().ID()
	dest := nw.SwarmFor(acct)[0]
	var path []snapshot.Node
	for _, n := range nw.Snapshot.Nodes {
		if n.Ed25519 != dest.Ed25519 && len(path) < 3 {
			path = append(path, n)
		}
	}
	pool := nw.ClientPool()
	status, body, err := onionclient.Send(context.Background(), pool, path, dest, storeBody(t, acct, []byte("hello")))
	if err != nil || status != http.StatusOK {
		t.Fatalf("store: %d %s %v", status, body, err)
	}
	var res rpc.StoreResult
	if err := json.Unmarshal(body, &res); err != nil || res.Hash != rpc.MessageHash(acct, 0, []byte("hello")) {
		t.Fatalf("store result %s: %v", body, err)
	}
	obs := nw.Observations()
	if len(obs) != 4 {
		t.Fatalf("%d nodes handled the request, want 4", len(obs))
	}
	for i, o := range obs {
		// Observations arrive innermost first: each relay records after
		// the node below it answered.
		want := path
		want = append(slices.Clone(want), dest)
		if o.Node != want[len(want)-1-i].Ed25519 || o.Hop != len(want)-1-i {
			t.Errorf("observation %d: node %s hop %d", i, o.Node, o.Hop)
		}
	}
	checkPadding(t, obs)
}

// failingPoster breaks responses on their way to the client.
type failingPoster struct {
	onionclient.Poster
	flip bool
}

func (p failingPoster) Post(ctx context.Context, k identity.Ed25519PublicKey, addr, path string, body []byte, limit int) (int, []byte, error) {
	s, b, err := p.Poster.Post(ctx, k, addr, path, body, limit)
	if p.flip && len(b) > 100 {
		b = bytes.Clone(b)
		b[100] ^= 1
	}
	return s, b, err
}

func TestPathFailures(t *testing.T) {
	release := make(chan struct{})
	nw := relaytest.Start(t, relaytest.Options{
		Nodes: 6, HopTimeout: 100 * time.Millisecond, HopSlack: 100 * time.Millisecond,
		Wrap: func(i int, h http.Handler) http.Handler {
			if i != 5 {
				return h
			}
			// Node 5 hangs as a destination, ignoring its deadline.
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release })
		},
	})
	t.Cleanup(func() { close(release) })
	n := nw.Nodes
	info := func(i int) snapshot.Node { return n[i].Info }
	_, ghostEd, _ := ed25519.GenerateKey(rand.Reader)
	ghostX, _ := ecdh.X25519().GenerateKey(rand.Reader)
	ghost := snapshot.Node{Address: "127.0.0.1:1"}
	ghost.Ed25519 = identity.Ed25519PublicKeyOf(ghostEd)
	copy(ghost.X25519[:], ghostX.PublicKey().Bytes())
	n[4].Stop()
	acct := identity.NewAccount().ID()

	tests := []struct {
		name     string
		path     []snapshot.Node
		dest     snapshot.Node
		poster   func(onionclient.Poster) onionclient.Poster
		hop      int // position charged
		reporter int
		want     error
	}{
		{name: "next node not in snapshot", path: []snapshot.Node{info(0), info(1), ghost}, dest: info(2), hop: 2, reporter: 1, want: onion.ErrNextNodeNotFound},
		{name: "destination not in snapshot", path: []snapshot.Node{info(0), info(1), info(2)}, dest: ghost, hop: 3, reporter: 2, want: onion.ErrNextNodeNotFound},
		{name: "middle relay down", path: []snapshot.Node{info(0), info(4), info(1)}, dest: info(2), hop: 1, reporter: 0, want: onion.ErrDestinationFailed},
		{name: "destination times out", path: []snapshot.Node{info(0), info(1), info(2)}, dest: info(5), hop: 3, reporter: 2, want: onion.ErrTimeout},
		{name: "guard down", path: []snapshot.Node{info(4), info(1), info(2)}, dest: info(3), hop: 0, reporter: -1, want: onionclient.ErrUnreachable},
		{name: "guard with another key", path: []snapshot.Node{{Ed25519: info(0).Ed25519, X25519: info(0).X25519, Address: info(1).Address}, info(2), info(3)}, dest: info(1), hop: 0, reporter: -1, want: onionclient.ErrUnreachable},
		{name: "wrong x25519 key for the guard", path: []snapshot.Node{{Ed25519: info(0).Ed25519, X25519: info(1).X25519, Address: info(0).Address}, info(2), info(3)}, dest: info(1), hop: 0, reporter: -1, want: onionclient.ErrRejected},
		{name: "response damaged", path: []snapshot.Node{info(0), info(1), info(2)}, dest: info(3), poster: func(p onionclient.Poster) onionclient.Poster { return failingPoster{p, true} }, hop: -1, reporter: -1, want: onion.ErrResponseUndecryptable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p onionclient.Poster = nw.ClientPool()
			if tc.poster != nil {
				p = tc.poster(p)
			}
			_, _, err := onionclient.Send(context.Background(), p, tc.path, tc.dest, storeBody(t, acct, []byte("x")))
			var he *onionclient.HopError
			if !errors.As(err, &he) {
				t.Fatalf("err = %v, want a HopError", err)
			}
			if he.Hop != tc.hop || he.Reporter != tc.reporter || !errors.Is(err, tc.want) {
				t.Fatalf("err = %v (hop %d, reporter %d), want hop %d reporter %d %v", err, he.Hop, he.Reporter, tc.hop, tc.reporter, tc.want)
			}
			checkPadding(t, nw.Observations())
			for _, r := range nw.RPCs() {
				if tc.dest.Ed25519 == ghost.Ed25519 || r.Node != tc.dest.Ed25519 {
					t.Errorf("storage RPC ran on %s", r.Node)
				}
			}
		})
	}
}

// rawFrame builds a request frame by hand, padded to a class.
func rawFrame(blob []byte, obj string) []byte {
	f := binary.LittleEndian.AppendUint32(nil, uint32(len(blob)))
	f = append(append(f, blob...), obj...)
	for _, c := range onion.SizeClasses {
		if c >= len(f) {
			return append(f, bytes.Repeat([]byte{' '}, c-len(f))...)
		}
	}
	return f
}

func TestBadFrames(t *testing.T) {
	nw := relaytest.Start(t, relaytest.Options{Nodes: 3})
	guard, next := nw.Nodes[0], nw.Nodes[1]
	pool := nw.ClientPool()
	eph, _ := ecdh.X25519().GenerateKey(rand.Reader)
	ephHex := fmt.Sprintf("%x", eph.PublicKey().Bytes())
	good, _, err := onion.Build([]onion.Hop{hop(t, guard.Info)}, onion.Destination{Node: hop(t, next.Info)}, []byte(`{"method":"info"}`))
	if err != nil {
		t.Fatal(err)
	}
	// A frame sealed for the next node, sent to the guard.
	forOther, _, _ := onion.Build(nil, onion.Destination{Node: hop(t, next.Info)}, []byte(`{"method":"info"}`))
	// The low-order point u = 0.
	lowOrder := strings.Repeat("0", 64)

	tests := []struct {
		name   string
		body   []byte
		status int
	}{
		{"empty", nil, http.StatusBadRequest},
		{"truncated", good[:100], http.StatusBadRequest},
		{"trailing garbage", append(good[:len(good)-1:len(good)-1], 'x'), http.StatusBadRequest},
		{"oversized", make([]byte, onion.MaxFrameSize+1), http.StatusRequestEntityTooLarge},
		{"random bytes of a class", randomBytes(onion.SizeClasses[0]), http.StatusBadRequest},
		{"undecryptable", forOther, http.StatusBadRequest},
		{"unknown version", rawFrame(make([]byte, 64), `{"ephemeral_key":"`+ephHex+`","hop":0,"v":2}`), http.StatusBadRequest},
		{"low-order ephemeral key", rawFrame(make([]byte, 64), `{"ephemeral_key":"`+lowOrder+`","hop":0,"v":1}`), http.StatusBadRequest},
		{"hop counter past 15 layers", rawFrame(make([]byte, 64), `{"ephemeral_key":"`+ephHex+`","hop":15,"v":1}`), http.StatusBadRequest},
		{"not json", rawFrame(make([]byte, 64), `{"ephemeral_key":`), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, err := pool.Post(context.Background(), guard.Key(), guard.Info.Address, relay.Path, tc.body, 1<<20)
			if err != nil || status != tc.status {
				t.Fatalf("status %d %q %v, want %d", status, body, err, tc.status)
			}
			obs := nw.Observations()
			if len(obs) != 1 || obs[0].Node != guard.Key() || obs[0].Hop != -1 {
				t.Fatalf("%d observations, want only the guard's refusal", len(obs))
			}
			if rpcs := nw.RPCs(); len(rpcs) != 0 {
				t.Fatalf("storage RPC ran %d times", len(rpcs))
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsInsecure()}}
		resp, err := c.Get("https://" + guard.Info.Address + relay.Path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("GET answered %d", resp.StatusCode)
		}
		nw.Observations()
	})
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestReplay(t *testing.T) {
	nw := relaytest.Start(t, relaytest.Options{Nodes: 3})
	pool := nw.ClientPool()
	g, d := nw.Nodes[0], nw.Nodes[1]
	frame, st, err := onion.Build([]onion.Hop{hop(t, g.Info)}, onion.Destination{Node: hop(t, d.Info)}, []byte(`{"method":"info"}`))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []error{nil, onion.ErrReplay} {
		status, resp, err := pool.Post(context.Background(), g.Key(), g.Info.Address, relay.Path, frame, onion.MaxFrameSize)
		if err != nil || status != http.StatusOK {
			t.Fatalf("send %d: %d %v", i, status, err)
		}
		_, _, err = onion.OpenResponse(st, resp)
		var re *onion.RelayError
		if !errors.Is(err, want) || (want != nil && (!errors.As(err, &re) || re.Hop != 0)) {
			t.Fatalf("send %d: %v, want %v from hop 0", i, err, want)
		}
	}
	if rpcs := nw.RPCs(); len(rpcs) != 1 {
		t.Fatalf("the destination ran %d RPCs, want 1", len(rpcs))
	}
}

// fakeSteward is a steward server: it opens its own layer and answers.
type fakeSteward struct {
	key  *ecdh.PrivateKey
	seen chan string
}

func (s fakeSteward) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	buf.ReadFrom(r.Body)
	l, err := onion.Peel(s.key, buf.Bytes())
	if err != nil || l.Instruction.Kind != onion.KindDestination {
		http.Error(w, "bad frame", http.StatusBadRequest)
		return
	}
	s.seen <- r.Method + " " + r.URL.Path + " " + string(l.Inner)
	resp, _ := l.Responder.Seal(200, []byte("file stored"))
	w.Write(resp)
}

func TestSteward(t *testing.T) {
	key, _ := ecdh.X25519().GenerateKey(rand.Reader)
	st := fakeSteward{key: key, seen: make(chan string, 4)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: st}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port, _ := strconv.Atoi(strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:"))
	allowed := onion.ServerTarget{Host: "127.0.0.1", Port: uint16(port), Protocol: "http", Target: "/file", Method: http.MethodPost}
	nw := relaytest.Start(t, relaytest.Options{Nodes: 3, Steward: relay.HTTPSteward{}, StewardAllow: []onion.ServerTarget{allowed}})
	pool := nw.ClientPool()
	path := []onion.Hop{hop(t, nw.Nodes[0].Info), hop(t, nw.Nodes[1].Info), hop(t, nw.Nodes[2].Info)}

	other := allowed
	other.Target = "/admin"
	otherHost := allowed
	otherHost.Host = "127.0.0.3"
	otherMethod := allowed
	otherMethod.Method = http.MethodDelete
	tests := []struct {
		name   string
		target onion.ServerTarget
		want   error
	}{
		{"allowed", allowed, nil},
		{"path not allowed", other, onion.ErrTargetNotAllowed},
		{"host not allowed", otherHost, onion.ErrTargetNotAllowed},
		{"method not allowed", otherMethod, onion.ErrTargetNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame, cs, err := onion.Build(path, onion.Destination{Node: onion.Hop{X25519: key.PublicKey()}, Server: &tc.target}, []byte("upload"))
			if err != nil {
				t.Fatal(err)
			}
			status, resp, err := pool.Post(context.Background(), nw.Nodes[0].Key(), nw.Nodes[0].Info.Address, relay.Path, frame, onion.MaxFrameSize)
			if err != nil || status != 200 {
				t.Fatalf("%d %v", status, err)
			}
			s, body, err := onion.OpenResponse(cs, resp)
			if tc.want == nil {
				if err != nil || s != 200 || string(body) != "file stored" {
					t.Fatalf("%d %q %v", s, body, err)
				}
				if got := <-st.seen; got != "POST /file upload" {
					t.Fatalf("server saw %q", got)
				}
				return
			}
			var re *onion.RelayError
			if !errors.Is(err, tc.want) || !errors.As(err, &re) || re.Hop != 2 {
				t.Fatalf("err %v, want %v from hop 2", err, tc.want)
			}
			select {
			case got := <-st.seen:
				t.Fatalf("refused target reached the server: %q", got)
			default:
			}
		})
	}
	checkPadding(t, nw.Observations())
}

// TestLongestPath sends a request over the most layers a path may have,
// looping through three nodes, to show that the hop counter stops only
// what is beyond the limit.
func TestLongestPath(t *testing.T) {
	nw := relaytest.Start(t, relaytest.Options{Nodes: 4})
	acct := identity.NewAccount().ID()
	var path []snapshot.Node
	for len(path) < onion.MaxLayers-1 {
		path = append(path, nw.Nodes[len(path)%3].Info)
	}
	status, body, err := onionclient.Send(context.Background(), nw.ClientPool(), path, nw.Nodes[3].Info, storeBody(t, acct, []byte("far")))
	if err != nil || status != http.StatusOK {
		t.Fatalf("%d %s %v", status, body, err)
	}
	obs := nw.Observations()
	if len(obs) != onion.MaxLayers {
		t.Fatalf("%d observations, want %d", len(obs), onion.MaxLayers)
	}
	checkPadding(t, obs)
	if _, _, err := onionclient.Send(context.Background(), nw.ClientPool(), append(path, nw.Nodes[0].Info), nw.Nodes[3].Info, storeBody(t, acct, []byte("too far"))); !errors.Is(err, onion.ErrTooManyLayers) {
		t.Fatalf("16 layers: %v", err)
	}
}

func tlsInsecure() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }

func TestConnectionsReused(t *testing.T) {
	nw := relaytest.Start(t, relaytest.Options{Nodes: 4})
	path := []snapshot.Node{nw.Nodes[0].Info, nw.Nodes[1].Info, nw.Nodes[2].Info}
	pool := nw.ClientPool()
	acct := identity.NewAccount().ID()
	accepted := func() (n int64) {
		for _, nd := range nw.Nodes {
			n += nd.Accepted.Load()
		}
		return n
	}
	for i := range 10 {
		if _, _, err := onionclient.Send(context.Background(), pool, path, nw.Nodes[3].Info, storeBody(t, acct, []byte{byte(i)})); err != nil {
			t.Fatal(err)
		}
		if i == 0 && accepted() != 4 {
			t.Fatalf("first request opened %d connections, want one per link (4)", accepted())
		}
	}
	if got := accepted(); got != 4 {
		t.Fatalf("10 requests opened %d connections, want the first request's 4", got)
	}
}
