package paths_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

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

type fixture struct {
	nw    *relaytest.Network
	m     *paths.Manager
	state string
	snap  func() *snapshot.Snapshot
}

func newFixture(t testing.TB, o relaytest.Options, edit ...func(*paths.Options)) *fixture {
	nw := relaytest.Start(t, o)
	f := &fixture{nw: nw, state: filepath.Join(t.TempDir(), "paths.json")}
	f.snap = func() *snapshot.Snapshot { return nw.Snapshot }
	f.m = f.manager(t, edit...)
	return f
}

func (f *fixture) manager(t testing.TB, edit ...func(*paths.Options)) *paths.Manager {
	opts := paths.Options{
		Snapshot: f.snap, Loopback: true, StateFile: f.state, Transport: f.nw.ClientPool(),
		Verifier: f.nw.SnapshotVerifier(),
	}
	for _, e := range edit {
		e(&opts)
	}
	m, err := paths.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func guards(ps []paths.PathInfo) []identity.Ed25519PublicKey {
	var g []identity.Ed25519PublicKey
	for _, p := range ps {
		g = append(g, p.Hops[0].Ed25519)
	}
	slices.SortFunc(g, identity.Ed25519PublicKey.Compare)
	return g
}

func TestDoBuildsAndPersistsPaths(t *testing.T) {
	f := newFixture(t, relaytest.Options{Nodes: 8})
	acct := identity.NewAccount().ID()
	dest := f.nw.SwarmFor(acct)[0]
	status, body, err := f.m.Do(context.Background(), dest, storeBody(t, acct, []byte("hi")))
	if err != nil || status != http.StatusOK {
		t.Fatalf("Do: %d %s %v", status, body, err)
	}
	ps := f.m.Paths()
	if len(ps) != paths.Guards {
		t.Fatalf("%d paths, want %d", len(ps), paths.Guards)
	}
	seen := map[identity.Ed25519PublicKey]bool{}
	used := 0
	for _, p := range ps {
		if len(p.Hops) != paths.Relays {
			t.Fatalf("path of %d hops", len(p.Hops))
		}
		for _, h := range p.Hops {
			if seen[h.Ed25519] {
				t.Errorf("node %s in two paths (8 nodes are enough to keep them apart)", h.Ed25519)
			}
			seen[h.Ed25519] = true
			if n, ok := f.nw.Snapshot.Node(h.Ed25519); !ok || n.Address != h.Address {
				t.Errorf("hop %s not the snapshot's", h.Ed25519)
			}
		}
		if p.LastOK != nil {
			used++
		}
	}
	if used != 1 {
		t.Errorf("%d paths have last_ok, want the one used", used)
	}
	fi, err := os.Stat(f.state)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	saved, err := paths.ReadPaths(f.state)
	if err != nil || !slices.Equal(guards(saved), guards(ps)) {
		t.Fatalf("saved paths %v %v", saved, err)
	}

	// A restart keeps the guards.
	m2 := f.manager(t)
	if _, _, err := m2.Do(context.Background(), dest, storeBody(t, acct, []byte("again"))); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(guards(m2.Paths()), guards(ps)) {
		t.Fatalf("guards changed across a restart")
	}
	js, _ := json.Marshal(map[string]any{"paths": m2.Paths()})
	var back struct {
		Paths []struct {
			Hops []struct {
				Key  string `json:"pubkey_ed25519"`
				Addr string `json:"address"`
			} `json:"hops"`
			LastOK *time.Time `json:"last_ok"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(js, &back); err != nil || len(back.Paths) != 2 || len(back.Paths[0].Hops) != 3 || len(back.Paths[0].Hops[0].Key) != 64 {
		t.Fatalf("JSON shape: %s %v", js, err)
	}
}

func host(addr string) string {
	h, _, _ := net.SplitHostPort(addr)
	return h
}

// TestPrivacy records what every node receives while a client stores
// messages through its paths, and checks what each position can learn.
func TestPrivacy(t *testing.T) {
	f := newFixture(t, relaytest.Options{Nodes: 8})
	ipOf := map[identity.Ed25519PublicKey]string{}
	for _, n := range f.nw.Nodes {
		ipOf[n.Key()] = n.IP
	}
	warm := identity.NewAccount().ID()
	if _, _, err := f.m.Do(context.Background(), f.nw.SwarmFor(warm)[0], storeBody(t, warm, []byte("warm up"))); err != nil {
		t.Fatal(err)
	}
	f.nw.Observations()
	f.nw.RPCs() // the guards' tests and the warm-up
	for i := range 6 {
		acct := identity.NewAccount().ID()
		dest := f.nw.SwarmFor(acct)[i%3]
		data := []byte("a private message number " + string(rune('A'+i)))
		status, resp, err := f.m.Do(context.Background(), dest, storeBody(t, acct, data))
		if err != nil || status != http.StatusOK {
			t.Fatalf("Do: %d %v", status, err)
		}
		obs := f.nw.Observations()
		rpcs := f.nw.RPCs()
		if len(obs) != 4 || len(rpcs) != 1 {
			t.Fatalf("%d observations and %d RPCs, want 4 and 1", len(obs), len(rpcs))
		}
		// Everything that identifies the destination or the content.
		secrets := map[string][]byte{
			"account (hex)":       []byte(acct.String()),
			"account (bytes)":     acct[:],
			"account key (bytes)": acct[1:],
			"destination (hex)":   []byte(dest.Ed25519.String()),
			"destination (bytes)": dest.Ed25519.Bytes(),
			"response plaintext":  resp,
			"message data":        data,
			"message (base64)":    []byte(base64.StdEncoding.EncodeToString(data)),
		}
		byHop := map[int]int{}
		for j, o := range obs {
			byHop[o.Hop] = j
		}
		for hop := range 4 {
			j, ok := byHop[hop]
			if !ok {
				t.Fatalf("no observation at hop %d", hop)
			}
			o := obs[j]
			if !slices.Contains(onion.SizeClasses, len(o.Request)) || !slices.Contains(onion.SizeClasses, len(o.Response)) {
				t.Errorf("hop %d: request %d and response %d bytes, want size classes", hop, len(o.Request), len(o.Response))
			}
			from := host(o.Remote)
			switch hop {
			case 0:
				if from != relaytest.ClientIP {
					t.Errorf("guard saw %s, want the client's address", from)
				}
			default:
				if from == relaytest.ClientIP {
					t.Errorf("hop %d saw the client's address", hop)
				}
				prev := obs[byHop[hop-1]].Node
				if from != ipOf[prev] {
					t.Errorf("hop %d saw %s, want the previous relay's %s", hop, from, ipOf[prev])
				}
			}
			if hop == 3 {
				if o.Node != dest.Ed25519 || !bytes.Contains(o.Inner, []byte(acct.String())) {
					t.Errorf("destination did not get the account's request")
				}
				continue
			}
			if hop < 2 && o.Next == dest.Ed25519 {
				t.Errorf("hop %d was told the destination", hop)
			}
			if len(o.Inner) != 0 {
				t.Errorf("relay at hop %d saw a request body", hop)
			}
			for name, s := range secrets {
				if bytes.Contains(o.Request, s) || bytes.Contains(o.Response, s) {
					t.Errorf("relay at hop %d saw the %s", hop, name)
				}
				if hex.EncodeToString(s) != string(s) && bytes.Contains(o.Request, []byte(hex.EncodeToString(s))) {
					t.Errorf("relay at hop %d saw the %s in hex", hop, name)
				}
			}
		}
		// A relay brought the request, so the storage handler gets no
		// address at all (internal/relay, "Budgets").
		if r := rpcs[0]; r.Node != dest.Ed25519 || r.Remote != "" {
			t.Errorf("storage handler on %s saw %q, want no address", r.Node, r.Remote)
		}
	}
}

func TestWrongSwarm(t *testing.T) {
	f := newFixture(t, relaytest.Options{Nodes: 8, Swarms: 2})
	acct := identity.NewAccount().ID()
	mine := f.nw.SwarmFor(acct)
	var other snapshot.Node
	for _, n := range f.nw.Snapshot.Nodes {
		if n.Swarm != mine[0].Swarm {
			other = n
		}
	}
	status, _, err := f.m.Do(context.Background(), other, storeBody(t, acct, []byte("x")))
	var ws *paths.WrongSwarmError
	if status != http.StatusMisdirectedRequest || !errors.As(err, &ws) || ws.Swarm == nil {
		t.Fatalf("status %d err %v, want 421 with a swarm", status, err)
	}
	var got []string
	for _, m := range ws.Swarm.Members {
		got = append(got, m.PubkeyEd25519)
	}
	for _, n := range mine {
		if !slices.Contains(got, n.Ed25519.String()) {
			t.Errorf("421 swarm lacks %s", n.Ed25519)
		}
	}
}

func TestClockSkewAdjustsOffset(t *testing.T) {
	skew := -5 * time.Minute
	f := newFixture(t, relaytest.Options{Nodes: 6}, func(o *paths.Options) {
		o.Clock = func() time.Time { return time.Now().Add(skew) }
	})
	acct := identity.NewAccount()
	dest := f.nw.SwarmFor(acct.ID())[0]
	retrieve := func() (int, error) {
		params, _ := json.Marshal(map[string]any{"pubkey": acct.ID().String(), "namespace": 0})
		signed, err := nodeclient.SignDraft(acct, relaytest.NetworkID, rpc.MethodRetrieve, params, f.m.Now())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(rpc.Request{Method: rpc.MethodRetrieve, Params: signed})
		status, _, err := f.m.Do(context.Background(), dest, body)
		return status, err
	}
	if status, err := retrieve(); !errors.Is(err, paths.ErrClockSkew) {
		t.Fatalf("first retrieve: %d %v, want clock skew", status, err)
	}
	if off := f.m.ClockOffset(); off < -skew-10*time.Second || off > -skew+10*time.Second {
		t.Fatalf("offset %v, want about %v", off, -skew)
	}
	if status, err := retrieve(); err != nil || status != http.StatusOK {
		t.Fatalf("retrieve after adjusting: %d %v", status, err)
	}
}

func TestRelayFailuresRebuildPaths(t *testing.T) {
	f := newFixture(t, relaytest.Options{Nodes: 9, HopTimeout: 200 * time.Millisecond, HopSlack: 50 * time.Millisecond}, func(o *paths.Options) {
		o.Logger = slog.New(slog.NewTextHandler(tlog{t}, nil))
	})
	acct := identity.NewAccount().ID()
	ctx := context.Background()
	if _, _, err := f.m.Do(ctx, f.nw.SwarmFor(acct)[0], storeBody(t, acct, []byte("warm"))); err != nil {
		t.Fatal(err)
	}
	ps := f.m.Paths()
	relay := ps[0].Hops[1].Ed25519
	guard := ps[1].Hops[0].Ed25519
	f.nw.Node(relay).Stop()
	f.nw.Node(guard).Stop()

	contains := func(k identity.Ed25519PublicKey) bool {
		for _, p := range f.m.Paths() {
			for _, h := range p.Hops {
				if h.Ed25519 == k {
					return true
				}
			}
		}
		return false
	}
	// The destination must be in neither path, or the manager would
	// (rightly) avoid the path through it.
	var dest snapshot.Node
	for _, n := range f.nw.SwarmFor(acct) {
		if !contains(n.Ed25519) {
			dest = n
		}
	}
	for i := 0; contains(relay) || contains(guard); i++ {
		if i == 40 {
			t.Fatalf("failed nodes still in paths after %d requests: %v", i, f.m.Paths())
		}
		// Both paths are broken, so a request may fail even after its
		// retries, but only ever at a relay.
		status, _, err := f.m.Do(ctx, dest, storeBody(t, acct, []byte{byte(i)}))
		var he *onionclient.HopError
		if err != nil && (!errors.As(err, &he) || he.Hop < 0 || he.Hop >= paths.Relays) {
			t.Fatalf("request %d: %v, want a relay failure", i, err)
		}
		if err == nil && status != http.StatusOK {
			t.Fatalf("request %d: status %d", i, status)
		}
	}
	for i := range 5 {
		if status, _, err := f.m.Do(ctx, dest, storeBody(t, acct, []byte{0xff, byte(i)})); err != nil || status != http.StatusOK {
			t.Fatalf("request on healed paths: %d %v", status, err)
		}
	}
	after := f.m.Paths()
	if len(after) != paths.Guards || slices.Contains(guards(after), guard) {
		t.Fatalf("paths after healing: %v", after)
	}
	saved, _ := paths.ReadPaths(f.state)
	if slices.Contains(guards(saved), guard) {
		t.Fatalf("dropped guard still saved")
	}
}

// TestOnChange: OnChange is called when paths are built and when a failed
// guard's path is dropped, not on requests that change nothing, and not
// for paths loaded from the state file.
func TestOnChange(t *testing.T) {
	var changes atomic.Int32
	onChange := func(o *paths.Options) { o.OnChange = func() { changes.Add(1) } }
	f := newFixture(t, relaytest.Options{Nodes: 8}, onChange)
	acct := identity.NewAccount().ID()
	ctx := context.Background()
	do := func(i int) error {
		_, _, err := f.m.Do(ctx, f.nw.SwarmFor(acct)[0], storeBody(t, acct, []byte{byte(i)}))
		return err
	}
	for i := range 3 {
		if err := do(i); err != nil {
			t.Fatal(err)
		}
	}
	if n := changes.Load(); n != 1 {
		t.Fatalf("OnChange called %d times for one build and requests, want 1", n)
	}
	f.m.Flush()
	if m := f.manager(t, onChange); m != nil {
		if _, _, err := m.Do(ctx, f.nw.SwarmFor(acct)[0], storeBody(t, acct, []byte("loaded"))); err != nil {
			t.Fatal(err)
		}
	}
	if n := changes.Load(); n != 1 {
		t.Fatalf("OnChange called for paths loaded from the state file (%d calls)", n)
	}
	// A guard goes down; the destination is in neither its path nor
	// itself, so requests do go through the broken path and its failures
	// count.
	broken := f.m.Paths()[0]
	guard := broken.Hops[0].Ed25519
	var dest *snapshot.Node
	for _, n := range f.nw.SwarmFor(acct) {
		if !slices.ContainsFunc(broken.Hops, func(h paths.HopInfo) bool { return h.Ed25519 == n.Ed25519 }) {
			dest = &n
			break
		}
	}
	if dest == nil {
		t.Skip("every swarm member is in the path; no destination to test with")
	}
	f.nw.Node(guard).Stop()
	for i := 0; changes.Load() == 1; i++ {
		if i == 40 {
			t.Fatalf("no OnChange after %d requests with a guard down", i)
		}
		// May fail while the paths heal.
		f.m.Do(ctx, *dest, storeBody(t, acct, []byte{0xfe, byte(i)}))
	}
}

func TestConcurrentRequestsSharePaths(t *testing.T) {
	f := newFixture(t, relaytest.Options{Nodes: 8})
	acct := identity.NewAccount().ID()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Go(func() {
			dest := f.nw.SwarmFor(acct)[i%3]
			status, _, err := f.m.Do(context.Background(), dest, storeBody(t, acct, []byte{byte(i)}))
			if err == nil && status != http.StatusOK {
				err = errors.New(http.StatusText(status))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if ps := f.m.Paths(); len(ps) != paths.Guards {
		t.Fatalf("%d paths after concurrent first use, want %d", len(ps), paths.Guards)
	}
}

func TestFetchSnapshot(t *testing.T) {
	f := newFixture(t, relaytest.Options{Nodes: 6})
	raw, s, err := f.m.FetchSnapshot(context.Background(), 1)
	if err != nil || s.Epoch != 1 || len(s.Nodes) != len(f.nw.Nodes) || len(raw) == 0 {
		t.Fatalf("FetchSnapshot: %v", err)
	}
	obs := f.nw.Observations()
	if len(obs) != 4 {
		t.Fatalf("snapshot fetched over %d hops, want a path of 3 and the node", len(obs))
	}
	if _, _, err := f.m.FetchSnapshot(context.Background(), 2); !errors.Is(err, snapshot.ErrRollback) {
		t.Fatalf("older epoch accepted: %v", err)
	}
	seed := f.nw.Nodes[0]
	direct := func(key identity.Ed25519PublicKey) paths.DoFunc {
		return func(ctx context.Context, body []byte) (int, []byte, error) {
			return f.nw.ClientPool().Post(ctx, key, seed.Info.Address, onionclient.RPCPath, body, snapshot.MaxEncodedSize)
		}
	}
	_, s, err = paths.FetchSnapshot(context.Background(), direct(seed.Key()), f.nw.SnapshotVerifier(), time.Now(), 0)
	if err != nil || s.Epoch != 1 {
		t.Fatalf("FetchSnapshot from the seed: %v", err)
	}
	// The seed is pinned: a wrong key never gets an answer.
	_, _, err = paths.FetchSnapshot(context.Background(), direct(f.nw.Nodes[1].Key()), f.nw.SnapshotVerifier(), time.Now(), 0)
	if err == nil {
		t.Fatal("seed with the wrong key accepted")
	}
}

type tlog struct{ t testing.TB }

func (w tlog) Write(b []byte) (int, error) { w.t.Log(string(bytes.TrimSpace(b))); return len(b), nil }

func TestDoServer(t *testing.T) {
	st := relaytest.StartSteward(t, "/file")
	f := newFixture(t, relaytest.Options{Nodes: 6, Steward: relay.HTTPSteward{}, StewardAllow: []onion.ServerTarget{st.Target}})
	status, body, err := f.m.DoServer(context.Background(), st.Target, st.Key, []byte("upload 1"))
	if err != nil || status != http.StatusOK || string(body) != "ok: upload 1" {
		t.Fatalf("DoServer: %d %q %v", status, body, err)
	}
	if got := <-st.Seen; got != "POST /file upload 1" {
		t.Fatalf("server saw %q", got)
	}
	obs := f.nw.Observations()
	if len(obs) != 3 {
		t.Fatalf("%d relays carried it, want 3", len(obs))
	}
	for _, o := range obs {
		if bytes.Contains(o.Request, []byte("upload 1")) || bytes.Contains(o.Response, []byte("upload 1")) {
			t.Errorf("relay at hop %d saw the payload", o.Hop)
		}
	}

	other := st.Target
	other.Target = "/admin"
	_, _, err = f.m.DoServer(context.Background(), other, st.Key, []byte("upload 2"))
	var he *onionclient.HopError
	if !errors.Is(err, onion.ErrTargetNotAllowed) || !errors.As(err, &he) || he.Hop != paths.Relays-1 {
		t.Fatalf("target off the allow-list: %v", err)
	}
	select {
	case got := <-st.Seen:
		t.Fatalf("refused request reached the server: %q", got)
	default:
	}
}
