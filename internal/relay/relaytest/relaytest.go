// Package relaytest runs a small hush network inside a test: real HTTPS
// service nodes on their own loopback addresses (127.0.0.10, .11, …), each
// with the storage RPC of internal/nodeapi over SQLite and the onion relay
// of internal/relay, TLS certificates bound to their Ed25519 keys as
// internal/node makes them, and a snapshot signed by a test registry key.
// Every node records what it receives, so tests can ask what each node
// learned. It is a fake for tests, kept as its own package like
// wireguard-go's conn/bindtest.
// Nodes serve the network's signed snapshot (get_snapshot) as real nodes
// do.
package relaytest

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/nodeapi"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/replay"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/internal/store/sqlite"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// NetworkID is the test network's ID.
const NetworkID = "relaytest"

// ClientIP is the loopback address clients should dial from
// ([Network.ClientPool]); nodes use 127.0.0.10 and up.
const ClientIP = "127.0.0.2"

// Options shape a network. Zero values take the defaults noted.
type Options struct {
	Nodes  int // default 6
	Swarms int // default 1; every swarm gets at least 3 nodes
	// HopTimeout and HopSlack go to every relay (default 10 s, as in a
	// node, and 200 ms). Tests of time-outs set short ones; a short default
	// made a destination starved of CPU on a busy machine answer 503.
	HopTimeout, HopSlack time.Duration
	// Steward and StewardAllow go to every relay.
	Steward      relay.Steward
	StewardAllow []onion.ServerTarget
	// StewardServers, when set, makes every relay a node's steward
	// forwarding: a relay.PinnedSteward presenting the node's certificate,
	// allowed exactly these servers' targets (Steward and StewardAllow are
	// then ignored).
	StewardServers []relay.StewardServer
	// Wrap, when set, wraps node i's storage handler (to inject faults).
	Wrap func(i int, h http.Handler) http.Handler
	// Front, when set, wraps node i's whole HTTP handler (to watch
	// requests arrive before the relay sees them).
	Front func(i int, h http.Handler) http.Handler
	// MaxInFlight and Limits go to every relay (relay.Config).
	MaxInFlight int
	Limits      relay.Limits
	// Relay, when set, edits node i's relay configuration last (to give
	// one node its own limits).
	Relay func(i int, c *relay.Config)
	// ServerTimeout, when set, is every node's HTTP read and write
	// time-out (a node's read_timeout and write_timeout).
	ServerTimeout time.Duration
}

// Node is one running node.
type Node struct {
	Index   int
	Ed25519 ed25519.PrivateKey
	X25519  *ecdh.PrivateKey
	Info    snapshot.Node
	IP      string
	// Relay is the node's relay; RestartRelay replaces it.
	Relay *relay.Relay
	// Pool is the node's connection pool to other nodes.
	Pool *onionclient.Pool

	// Accepted counts the TCP connections the node has accepted, to
	// check that neighbours reuse theirs.
	Accepted atomic.Int64

	srv *http.Server
	ln  net.Listener
	net *Network
	// relayCfg makes the relay anew; current is the one serving.
	relayCfg func() relay.Config
	current  atomic.Pointer[relay.Relay]
}

// RestartRelay replaces the node's relay with a new one of the same
// keys and configuration, as a node restart does: its onion sessions
// and replay cache are forgotten. Requests in flight finish on the old
// one.
func (n *Node) RestartRelay() {
	rl, err := relay.New(n.relayCfg())
	if err != nil {
		panic(err) // the same configuration passed New before
	}
	n.Relay = rl
	n.current.Store(rl)
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// Key is the node's Ed25519 key in snapshot form.
func (n *Node) Key() identity.Ed25519PublicKey { return n.Info.Ed25519 }

// Stop closes the node's listener and connections: it becomes
// unreachable, as after a crash.
func (n *Node) Stop() {
	n.srv.Close()
	n.Pool.Close()
}

// RPCSeen is what a node's storage handler was called with.
type RPCSeen struct {
	Node   identity.Ed25519PublicKey
	Remote string
	Body   []byte
}

// Network is a running test network.
type Network struct {
	Nodes       []*Node
	Snapshot    *snapshot.Snapshot
	Raw         []byte // the signed snapshot's encoding
	RegistryKey ed25519.PrivateKey

	mu   sync.Mutex // guards obs and rpcs
	obs  []relay.Observation
	rpcs []RPCSeen
}

// Record implements relay.Recorder for all nodes.
func (nw *Network) Record(o relay.Observation) {
	o.Request = bytes.Clone(o.Request)
	o.Response = bytes.Clone(o.Response)
	o.Inner = bytes.Clone(o.Inner)
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.obs = append(nw.obs, o)
}

// Observations returns and forgets what relays have recorded.
func (nw *Network) Observations() []relay.Observation {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	o := nw.obs
	nw.obs = nil
	return o
}

// RPCs returns and forgets what storage handlers were called with.
func (nw *Network) RPCs() []RPCSeen {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	r := nw.rpcs
	nw.rpcs = nil
	return r
}

// SnapshotVerifier is what the network's snapshots verify against.
func (nw *Network) SnapshotVerifier() snapshot.Verifier {
	return snapshot.Verifier{NetworkID: NetworkID, Hosts: []ed25519.PublicKey{nw.RegistryKey.Public().(ed25519.PublicKey)}}
}

// ClientPool returns a pool that dials from [ClientIP].
func (nw *Network) ClientPool() *onionclient.Pool {
	return nw.ClientPoolFrom(ClientIP)
}

// ClientPoolFrom returns a pool that dials from ip, a loopback address
// below 127.0.0.10, for tests that need clients with distinct addresses.
func (nw *Network) ClientPoolFrom(ip string) *onionclient.Pool {
	return onionclient.NewPool(onionclient.PoolConfig{Dialer: dialerFrom(ip)})
}

// Node returns the node with key k, or nil.
func (nw *Network) Node(k identity.Ed25519PublicKey) *Node {
	for _, n := range nw.Nodes {
		if n.Key() == k {
			return n
		}
	}
	return nil
}

func dialerFrom(ip string) *net.Dialer {
	return &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
}

// SwarmIDs spreads n swarm IDs evenly over the ring.
func swarmIDs(n int) []uint64 {
	ids := make([]uint64, n)
	step := ^uint64(0) / uint64(n+1)
	for i := range ids {
		ids[i] = step * uint64(i+1)
	}
	return ids
}

// Start runs a network until the test ends.
func Start(t testing.TB, o Options) *Network {
	t.Helper()
	if o.Nodes == 0 {
		o.Nodes = 6
	}
	if o.Swarms == 0 {
		o.Swarms = 1
	}
	if o.Nodes < 3*o.Swarms {
		t.Fatalf("relaytest: %d nodes cannot fill %d swarms of 3", o.Nodes, o.Swarms)
	}
	if o.HopTimeout == 0 {
		o.HopTimeout = 10 * time.Second
	}
	if o.HopSlack == 0 {
		o.HopSlack = 200 * time.Millisecond
	}
	_, reg, _ := ed25519.GenerateKey(rand.Reader)
	nw := &Network{RegistryKey: reg}
	ids := swarmIDs(o.Swarms)
	now := time.Now()
	s := &snapshot.Snapshot{
		NetworkID: NetworkID, Epoch: 1,
		IssuedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour),
		SwarmMinSize: 3, SwarmIdealSize: 3,
	}
	for i := range o.Nodes {
		_, ed, _ := ed25519.GenerateKey(rand.Reader)
		x, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		ip := fmt.Sprintf("127.0.0.%d", 10+i)
		ln, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Skipf("relaytest: cannot listen on %s: %v", ip, err)
		}
		n := &Node{Index: i, Ed25519: ed, X25519: x, IP: ip, ln: ln, net: nw}
		n.Info.Ed25519 = identity.Ed25519PublicKeyOf(ed)
		copy(n.Info.X25519[:], x.PublicKey().Bytes())
		n.Info.Address = ln.Addr().String()
		n.Info.Version = "test"
		n.Info.Swarm = ids[i%o.Swarms]
		nw.Nodes = append(nw.Nodes, n)
		s.Nodes = append(s.Nodes, n.Info)
	}
	if err := snapshot.Sign(s, reg); err != nil {
		t.Fatal(err)
	}
	raw, err := snapshot.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if nw.Snapshot, err = nw.SnapshotVerifier().Verify(raw, now, 0); err != nil {
		t.Fatal(err)
	}
	nw.Raw = raw
	for _, n := range nw.Nodes {
		nw.serve(t, n, o)
	}
	return nw
}

func (nw *Network) serve(t testing.TB, n *Node, o Options) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	self := snapshot.Node{Ed25519: identity.Ed25519PublicKeyOf(n.Ed25519), X25519: n.Info.X25519, Address: n.Info.Address}
	api, err := nodeapi.New(nodeapi.Config{
		Store:      db,
		Clock:      time.Now,
		Membership: membership{snap: nw.Snapshot, self: n.Info},
		Replay:     replay.New(10_000, 2*rpc.SigTolerance+time.Second),
		Logger:     logger,
		NetworkID:  NetworkID,
		Version:    "test",
		Ed25519:    self.Ed25519,
		X25519:     self.X25519,
		Snapshot:   func() ([]byte, uint64) { return nw.Raw, nw.Snapshot.Epoch },
	})
	if err != nil {
		t.Fatal(err)
	}
	var local http.Handler = api
	if o.Wrap != nil {
		local = o.Wrap(n.Index, local)
	}
	local = nw.watch(n, local)
	cert, err := keytls.Certificate(n.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	n.Pool = onionclient.NewPool(onionclient.PoolConfig{Cert: &cert, Dialer: dialerFrom(n.IP)})
	rc := relay.Config{
		X25519:       n.X25519,
		Ed25519:      n.Info.Ed25519,
		Signer:       n.Ed25519,
		Directory:    relay.SnapshotDirectory(func() *snapshot.Snapshot { return nw.Snapshot }),
		Local:        local,
		Forwarder:    n.Pool,
		Steward:      o.Steward,
		StewardAllow: o.StewardAllow,
		Replay:       replay.New(10_000, time.Minute),
		Clock:        time.Now,
		Logger:       logger,
		Recorder:     nw,
		HopTimeout:   o.HopTimeout,
		HopSlack:     o.HopSlack,
		MaxInFlight:  o.MaxInFlight,
		Limits:       o.Limits,
	}
	if o.StewardServers != nil {
		st, err := relay.NewPinnedSteward(&cert, o.StewardServers)
		if err != nil {
			t.Fatal(err)
		}
		rc.Steward, rc.StewardAllow = st, relay.AllowList(o.StewardServers)
	}
	if o.Relay != nil {
		o.Relay(n.Index, &rc)
	}
	n.relayCfg = func() relay.Config {
		c := rc
		c.Replay = replay.New(10_000, time.Minute)
		return c
	}
	n.Relay, err = relay.New(rc)
	if err != nil {
		t.Fatal(err)
	}
	n.current.Store(n.Relay)
	mux := http.NewServeMux()
	mux.Handle(nodeapi.RPCPath, local)
	mux.Handle(relay.Path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.current.Load().ServeHTTP(w, r) }))
	var front http.Handler = mux
	if o.Front != nil {
		front = o.Front(n.Index, front)
	}
	// Like a node: relays present their certificate, clients none.
	tlsConf := keytls.ServerConfig(cert, nil)
	keytls.RequestClientCerts(tlsConf)
	n.srv = &http.Server{Handler: front, TLSConfig: tlsConf, HTTP2: node.HTTP2Config(), ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		ReadTimeout: o.ServerTimeout, WriteTimeout: o.ServerTimeout}
	go n.srv.ServeTLS(countingListener{n.ln, &n.Accepted}, "", "")
	t.Cleanup(func() {
		n.Stop()
		db.Close()
	})
}

// watch records what the storage handler is called with.
func (nw *Network) watch(n *Node, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, rpc.MaxBodySize+1))
		nw.mu.Lock()
		nw.rpcs = append(nw.rpcs, RPCSeen{Node: n.Key(), Remote: r.RemoteAddr, Body: body})
		nw.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	})
}

// membership places accounts by the snapshot's swarms, as a registry-
// backed node will.
type membership struct {
	snap *snapshot.Snapshot
	self snapshot.Node
}

func (m membership) swarmOf(id identity.AccountID) (uint64, []snapshot.Node) {
	sid, nodes, ok := m.snap.SwarmOf(id)
	if !ok {
		return snapshot.Unassigned, nil
	}
	return sid, nodes
}

func (m membership) Owns(id identity.AccountID) bool {
	sid, _ := m.swarmOf(id)
	return sid == m.self.Swarm
}

func (m membership) SwarmOf(id identity.AccountID) replication.Swarm {
	sid, nodes := m.swarmOf(id)
	return replication.Swarm{ID: sid, Members: nodes}
}

// SwarmFor returns the members of the swarm holding id.
func (nw *Network) SwarmFor(id identity.AccountID) []snapshot.Node {
	_, nodes := membership{snap: nw.Snapshot}.swarmOf(id)
	return nodes
}

// Direct posts a storage RPC straight to node n, bypassing onion paths:
// the baseline for benchmarks.
func Direct(ctx context.Context, p onionclient.Poster, n snapshot.Node, body []byte) (int, []byte, error) {
	return p.Post(ctx, n.Ed25519, n.Address, onionclient.RPCPath, body, onion.MaxFrameSize)
}
