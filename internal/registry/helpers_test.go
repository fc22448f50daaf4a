package registry

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/internal/registry/registryclient"
	"github.com/hushnet/hush/protocol/snapshot"
)

const testNet = "testnet"

func testKey(label string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(label))
	return ed25519.NewKeyFromSeed(s[:])
}

var steward = testKey("steward")

// fakeProber answers for nodes without dialling them; tests mark nodes
// down per host.
type fakeProber struct {
	mu   sync.Mutex
	down map[identity.Ed25519PublicKey]bool
}

func (p *fakeProber) Probe(ctx context.Context, addr string, k identity.Ed25519PublicKey) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down[k] {
		return fmt.Errorf("%w: test says down", entry.ErrUnreachable)
	}
	return nil
}

func (p *fakeProber) setDown(k identity.Ed25519PublicKey, down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down == nil {
		p.down = map[identity.Ed25519PublicKey]bool{}
	}
	p.down[k] = down
}

type testHost struct {
	h      *Host
	key    ed25519.PrivateKey
	cfg    *Config
	prober *fakeProber
	// probeWith, if set, replaces prober as the host's Prober.
	probeWith Prober
	cancel    context.CancelFunc
	done      chan error
}

func (th *testHost) client() *registryclient.Client {
	return registryclient.New(th.cfg.APIAdvertise, identity.Ed25519PublicKeyOf(th.key))
}

// stop shuts the host down and waits for Run to return.
func (th *testHost) stop(t *testing.T) {
	t.Helper()
	if th.cancel == nil {
		return
	}
	th.cancel()
	if err := <-th.done; err != nil {
		t.Errorf("host Run: %v", err)
	}
	th.cancel = nil
}

type cluster struct {
	t     *testing.T
	hosts []*testHost
}

func fastConfig(dir string) *Config {
	return &Config{
		NetworkID: testNet, DataDir: dir, Stewards: []string{identity.Ed25519PublicKeyOf(steward).String()},
		SwarmMinSize: 3, SwarmIdealSize: 4,
		EpochInterval: config.Duration(40 * time.Millisecond), SnapshotLifetime: config.Duration(time.Hour),
		ProbeInterval: config.Duration(10 * time.Millisecond), UnreachableAfter: config.Duration(30 * time.Millisecond),
		// Raft's own defaults, which hold a leader on a loaded machine
		// running -race: with 200 ms (and a 100 ms lease) five hosts at
		// load 50 lost their leader 47 times in 34 s, and a test waiting
		// for a majority-signed snapshot could time out. An election
		// costs a second or two.
		Raft: RaftConfig{HeartbeatTimeout: config.Duration(time.Second), ElectionTimeout: config.Duration(time.Second),
			LeaderLeaseTimeout: config.Duration(500 * time.Millisecond), CommitTimeout: config.Duration(5 * time.Millisecond)},
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("REGISTRY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("t", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// prepareHost binds listeners and builds a config; founding lists the
// hosts of a bootstrap (filled in by newCluster).
func prepareHost(t *testing.T, label string) (*testHost, net.Listener, net.Listener) {
	raftLn, apiLn := listen(t), listen(t)
	cfg := fastConfig(t.TempDir())
	cfg.RaftListen, cfg.APIListen = raftLn.Addr().String(), apiLn.Addr().String()
	return &testHost{key: testKey(label), cfg: cfg, prober: &fakeProber{}}, raftLn, apiLn
}

func (c *cluster) start(th *testHost, raftLn, apiLn net.Listener) {
	t := c.t
	th.cfg.SetDefaults()
	var p Prober = th.prober
	if th.probeWith != nil {
		p = th.probeWith
	}
	h, err := New(th.cfg, th.key, Options{Logger: testLogger(t), Prober: p, RaftListener: raftLn, APIListener: apiLn})
	if err != nil {
		t.Fatal(err)
	}
	th.h = h
	ctx, cancel := context.WithCancel(context.Background())
	th.cancel, th.done = cancel, make(chan error, 1)
	go func() { th.done <- h.Run(ctx) }()
	t.Cleanup(func() { th.stop(t) })
}

// newCluster founds a registry of n hosts; configure, if given, edits each
// host's config before it starts.
func newCluster(t *testing.T, n int, configure ...func(*Config)) *cluster {
	c := &cluster{t: t}
	type pending struct{ raftLn, apiLn net.Listener }
	var ps []pending
	var founding []HostConfig
	for i := range n {
		th, r, a := prepareHost(t, fmt.Sprintf("host %d", i))
		c.hosts = append(c.hosts, th)
		ps = append(ps, pending{r, a})
		founding = append(founding, HostConfig{Key: identity.Ed25519PublicKeyOf(th.key).String(), RaftAddress: r.Addr().String(), APIAddress: a.Addr().String()})
	}
	for i, th := range c.hosts {
		th.cfg.Bootstrap, th.cfg.Hosts = true, founding
		for _, f := range configure {
			f(th.cfg)
		}
		c.start(th, ps[i].raftLn, ps[i].apiLn)
	}
	return c
}

func (c *cluster) hostKeys() []ed25519.PublicKey {
	var out []ed25519.PublicKey
	for _, th := range c.hosts {
		out = append(out, th.key.Public().(ed25519.PublicKey))
	}
	return out
}

// eventually polls cond until it holds or the deadline passes. The
// deadline is for a busy machine running -race: a quiet one takes well
// under a second for anything these tests wait for.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventuallyShow(t, what, cond, nil)
}

// eventuallyShow is eventually that, when it gives up, also prints what
// show returns: the state that explains why the wait failed.
func eventuallyShow(t *testing.T, what string, cond func() bool, show func() string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			if show != nil {
				t.Fatalf("timed out waiting for %s; %s", what, show())
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// describe names a host's view: its role, leader, epochs, nodes, hosts
// and the snapshot it serves.
func (th *testHost) describe() string {
	if th.h == nil {
		return "not started"
	}
	st := th.h.Status()
	served := "none"
	if raw, epoch := th.h.SignedSnapshot(); raw != nil {
		served = fmt.Sprintf("epoch %d", epoch)
		if s, err := snapshot.Decode(raw); err == nil {
			served += fmt.Sprintf(" with %d signatures and %d nodes", len(s.Signatures), len(s.Nodes))
		}
	}
	leader := st.Leader
	if len(leader) > 8 {
		leader = leader[:8]
	}
	return fmt.Sprintf("host %.8s: %s (leader %q), epoch %d, signed epoch %d, %d nodes, %d hosts, %d rejected, serving %s",
		st.Host, st.Role, leader, st.Epoch, st.SignedEpoch, st.Nodes, len(st.Hosts), st.Rejected, served)
}

// describe names every live host's view.
func (c *cluster) describe() string {
	var b strings.Builder
	for _, th := range c.hosts {
		if th.cancel == nil {
			fmt.Fprintf(&b, "\n  host %.8s: stopped", identity.Ed25519PublicKeyOf(th.key).String())
			continue
		}
		b.WriteString("\n  " + th.describe())
	}
	return b.String()
}

// untilAvailable calls f until it answers anything but ErrUnavailable
// (no leader, or a forward to one that just lost office: on a loaded
// machine leadership moves, and a node or an admin would ask again), and
// returns that answer.
func untilAvailable(t *testing.T, f func() error) error {
	t.Helper()
	var err error
	eventuallyShow(t, "an answer from a leader", func() bool {
		err = f()
		return !errors.Is(err, entry.ErrUnavailable)
	}, func() string { return fmt.Sprintf("last answer: %v", err) })
	return err
}

// leader waits for a live host to lead and returns it.
func (c *cluster) leader() *testHost {
	var l *testHost
	eventuallyShow(c.t, "a leader", func() bool {
		for _, th := range c.hosts {
			if th.cancel != nil && th.h.Status().Role == "leader" && th.h.fsm.hasGenesis() {
				l = th
				return true
			}
		}
		return false
	}, c.describe)
	return l
}

type testNode struct {
	key  ed25519.PrivateKey
	desc entry.SignedDescriptor
}

func newNode(t testing.TB, i int) testNode {
	t.Helper()
	k := testKey(fmt.Sprintf("node %d", i))
	id, err := identity.Ed25519PublicKeyOf(k).AccountID()
	if err != nil {
		t.Fatal(err)
	}
	d := entry.Descriptor{Ed25519: identity.Ed25519PublicKeyOf(k), X25519: snapshot.X25519Key(id.PubKey()),
		Address: fmt.Sprintf("127.0.0.1:%d", 20000+i), Version: "0.1.0", TimestampMs: time.Now().UnixMilli()}
	sd, err := entry.SignDescriptor(testNet, d, k)
	if err != nil {
		t.Fatal(err)
	}
	return testNode{key: k, desc: sd}
}

func (n testNode) pub() identity.Ed25519PublicKey { return identity.Ed25519PublicKeyOf(n.key) }

func (n testNode) admission() *entry.Admission {
	a := entry.Admit(testNet, n.pub(), time.Now().UnixMilli(), steward)
	return &a
}

// register registers n through th's API, retrying while the registry
// has no leader (as a node would).
func register(t *testing.T, th *testHost, n testNode) {
	t.Helper()
	c := th.client()
	defer c.Close()
	var err error
	eventuallyShow(t, "registration", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = c.Register(ctx, n.desc, n.admission())
		if errors.Is(err, entry.ErrStale) {
			// An earlier attempt was committed after all, though its
			// leader lost office before it could say so.
			info, ok := th.h.Node(n.pub())
			return ok && info.Descriptor.TimestampMs == n.desc.TimestampMs
		}
		if err != nil && !errors.Is(err, entry.ErrUnavailable) {
			t.Fatalf("register: %v", err)
		}
		return err == nil
	}, func() string { return fmt.Sprintf("last answer: %v; %s", err, th.describe()) })
}

// verifiedSnapshot waits until th serves a majority-signed snapshot that
// verifies against keys and satisfies cond.
func verifiedSnapshot(t *testing.T, th *testHost, keys []ed25519.PublicKey, what string, cond func(*snapshot.Snapshot) bool) *snapshot.Snapshot {
	t.Helper()
	var got *snapshot.Snapshot
	eventuallyShow(t, what, func() bool {
		raw, _ := th.h.SignedSnapshot()
		if raw == nil {
			return false
		}
		s, err := snapshot.Verify(raw, keys, testNet, time.Now(), 0)
		if err != nil {
			// Until membership settles, the served snapshot may be signed
			// by a host set other than keys; any other failure is a bug.
			if !errors.Is(err, snapshot.ErrTooFewSignatures) {
				t.Fatalf("served snapshot does not verify: %v", err)
			}
			return false
		}
		got = s
		return cond(s)
	}, th.describe)
	return got
}

func hasNode(s *snapshot.Snapshot, k identity.Ed25519PublicKey) bool {
	n, ok := s.Node(k)
	return ok && n.Swarm != snapshot.Unassigned
}
