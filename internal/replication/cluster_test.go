package replication_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/nodeapi"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/replay"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/internal/store/arrivals"
	"github.com/hushnet/hush/internal/store/sqlite"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

const testNetwork = "replnet"

// testNode is one in-process node: a real sqlite store, the storage RPC
// and the node RPC behind real TLS bound to the node key, on 127.0.0.1.
type testNode struct {
	t    testing.TB
	key  ed25519.PrivateKey
	x    [32]byte
	addr string
	dir  string
	// reserved, until start, holds the node's port (see reserve).
	reserved func() *net.TCPListener
	fault    atomic.Bool
	cfg      func(*replication.Config)
	// stall, while it holds an open channel, makes the node RPC handler
	// wait for the channel to close before serving (a peer that hangs);
	// stalled counts the requests that reached it meanwhile.
	stall   atomic.Pointer[chan struct{}]
	stalled atomic.Int32

	db     *sqlite.DB
	hub    *arrivals.Hub        // every insert of the node's, as internal/node wires it
	reg    *prometheus.Registry // the storage RPC's metrics
	mem    *replication.SnapshotMembership
	repl   *replication.Replicator
	srv    *http.Server
	client *nodeclient.Client
}

func (n *testNode) pub() identity.Ed25519PublicKey {
	return identity.Ed25519PublicKeyOf(n.key)
}

// cluster is a network of test nodes and the registry key that signs its
// snapshots.
type cluster struct {
	t     testing.TB
	reg   ed25519.PrivateKey
	nodes []*testNode
	epoch uint64
	snap  *snapshot.Snapshot
}

func newCluster(t testing.TB, n int, cfg func(*replication.Config)) *cluster {
	_, reg, _ := ed25519.GenerateKey(rand.Reader)
	c := &cluster{t: t, reg: reg}
	for range n {
		c.addNode(cfg)
	}
	return c
}

// addNode creates a node that is not yet in any snapshot and not running.
func (c *cluster) addNode(cfg func(*replication.Config)) *testNode {
	seed := make([]byte, 32)
	rand.Read(seed)
	h := sha512.Sum512(seed)
	xk, err := ecdh.X25519().NewPrivateKey(h[:32])
	if err != nil {
		c.t.Fatal(err)
	}
	n := &testNode{t: c.t, key: ed25519.NewKeyFromSeed(seed), dir: c.t.TempDir(), cfg: cfg}
	copy(n.x[:], xk.PublicKey().Bytes())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	// The port stays bound until start serves on it: closed, the next
	// node's listen could draw the same port (TestStrayHandOff: "nodes[2]
	// .address already used by nodes[0]") and any outgoing connection
	// could take it. Until then connections are refused at once, as by a
	// node that is down.
	n.addr, n.reserved = ln.Addr().String(), reserve(ln.(*net.TCPListener))
	c.t.Cleanup(func() {
		if n.reserved != nil {
			n.reserved().Close()
		}
	})
	c.nodes = append(c.nodes, n)
	return n
}

// publish signs a snapshot that puts node i in swarms[i] (absent from the
// map: not registered) and hands it to every running node.
func (c *cluster) publish(swarms map[*testNode]uint64) {
	c.t.Helper()
	c.epoch++
	now := time.Now()
	s := &snapshot.Snapshot{NetworkID: testNetwork, Epoch: c.epoch, IssuedAt: now, ExpiresAt: now.Add(time.Hour), SwarmMinSize: 3, SwarmIdealSize: 4}
	for n, sw := range swarms {
		s.Nodes = append(s.Nodes, snapshot.Node{Ed25519: n.pub(), X25519: snapshot.X25519Key(n.x), Address: n.addr, Version: "test", Swarm: sw})
	}
	if err := snapshot.Sign(s, c.reg); err != nil {
		c.t.Fatal(err)
	}
	raw, err := snapshot.Encode(s)
	if err != nil {
		c.t.Fatal(err)
	}
	v, err := snapshot.Verify(raw, []ed25519.PublicKey{c.reg.Public().(ed25519.PublicKey)}, testNetwork, now, c.epoch)
	if err != nil {
		c.t.Fatal(err)
	}
	c.snap = v
	for _, n := range c.nodes {
		if n.mem != nil {
			n.mem.Update(v)
		}
	}
}

// oneSwarm puts every node into swarm 1.
func (c *cluster) oneSwarm() {
	m := map[*testNode]uint64{}
	for _, n := range c.nodes {
		m[n] = 1
	}
	c.publish(m)
}

func (c *cluster) startAll() {
	for _, n := range c.nodes {
		c.start(n)
	}
}

// start opens the node's store and serves it.
func (c *cluster) start(n *testNode) {
	t := c.t
	t.Helper()
	logger := testLogger(n)
	db, err := sqlite.Open(filepath.Join(n.dir, "messages.db"))
	if err != nil {
		t.Fatal(err)
	}
	n.db = db
	n.hub, n.reg = arrivals.New(), prometheus.NewRegistry()
	n.mem = replication.NewSnapshotMembership(n.pub(), c.snap)
	commit := sqlite.NewGroupCommit(db) // shared by both sides, as internal/node does
	cfg := replication.Config{
		Key: n.key, NetworkID: testNetwork, Store: n.hub.Replica(commit), Membership: n.mem, Clock: time.Now, Logger: logger,
		ForwardTimeout: 2 * time.Second, AntiEntropyInterval: 20 * time.Millisecond, FaultDropForwards: &n.fault,
	}
	if n.cfg != nil {
		n.cfg(&cfg)
	}
	n.repl, err = replication.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	api, err := nodeapi.New(nodeapi.Config{
		Store: n.hub.Store(commit), Arrivals: n.hub, Metrics: n.reg,
		Clock: time.Now, Membership: n.mem, Replay: replay.New(1<<16, 2*rpc.SigTolerance+time.Second),
		Logger: logger, NetworkID: testNetwork, Version: "test", Ed25519: n.pub(), X25519: n.x, Replicator: n.repl,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle(rpc.NodeRPCPath, n.stallable(n.repl.Handler()))
	var ln net.Listener
	if n.reserved != nil {
		ln, n.reserved = n.reserved(), nil
	} else if ln, err = net.Listen("tcp", n.addr); err != nil { // a restart after kill
		t.Fatal(err)
	}
	n.srv = &http.Server{Handler: mux, TLSConfig: &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert(t, n.key)}}}
	go n.srv.ServeTLS(ln, "", "")
	if n.client, err = nodeclient.New("https://"+n.addr, n.pub()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.kill(n) })
}

// stallable wraps the node RPC handler with n.stall.
func (n *testNode) stallable(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ch := n.stall.Load(); ch != nil {
			n.stalled.Add(1)
			<-*ch
		}
		h.ServeHTTP(w, r)
	})
}

// stallPeer makes n's node RPC hang until the returned release is called
// (at the latest when the test ends).
func (n *testNode) stallPeer(t testing.TB) (release func()) {
	ch := make(chan struct{})
	n.stall.Store(&ch)
	var once sync.Once
	release = func() {
		once.Do(func() {
			n.stall.Store(nil)
			close(ch)
		})
	}
	t.Cleanup(release)
	return release
}

// reserve keeps ln's port while closing every connection it accepts, and
// returns the function that stops that and hands ln over.
func reserve(ln *net.TCPListener) func() *net.TCPListener {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return func() *net.TCPListener {
		ln.SetDeadline(time.Now()) // ends the Accept
		<-done
		ln.SetDeadline(time.Time{})
		return ln
	}
}

// kill stops a node abruptly, as kill -9 would: connections drop and the
// store closes with whatever it committed.
func (c *cluster) kill(n *testNode) {
	if n.srv == nil {
		return
	}
	n.srv.Close()
	n.repl.Close()
	n.db.Close()
	n.srv, n.db = nil, nil
}

func cert(t testing.TB, key ed25519.PrivateKey) tls.Certificate {
	c, err := keytls.Certificate(key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// storeMsg deposits data into acct's DM inbox through n and returns the
// reply.
func storeMsg(t testing.TB, n *testNode, acct identity.AccountID, data string, ts time.Time) rpc.StoreResult {
	t.Helper()
	res, err := tryStore(n, acct, data, ts)
	if err != nil {
		t.Fatalf("store through %s: %v", n.addr, err)
	}
	return res
}

// tryStore is storeMsg for goroutines other than the test's.
func tryStore(n *testNode, acct identity.AccountID, data string, ts time.Time) (rpc.StoreResult, error) {
	params, _ := json.Marshal(map[string]any{"pubkey": acct.String(), "data": base64.StdEncoding.EncodeToString([]byte(data)),
		"ttl": int64(time.Hour / time.Millisecond), "timestamp": ts.UnixMilli()})
	body, err := n.client.Call(context.Background(), rpc.MethodStore, params)
	if err != nil {
		return rpc.StoreResult{}, err
	}
	var res rpc.StoreResult
	err = json.Unmarshal(body, &res)
	return res, err
}

// retrieve lists acct's DMs on n after the cursor (zero: all).
func retrieve(t testing.TB, n *testNode, acct *identity.Account, after store.Cursor) []rpc.Message {
	t.Helper()
	p := map[string]any{}
	switch {
	case after.Hash != "":
		p["after_timestamp"], p["after_hash"] = after.Timestamp.UnixMilli(), after.Hash
	case !after.Timestamp.IsZero():
		// A lookback cursor: a time with the lowest valid hash (base64
		// sorts '+' first; the last character carries two zero bits).
		p["after_timestamp"], p["after_hash"] = after.Timestamp.UnixMilli(), strings.Repeat("+", 42)+"A"
	}
	params, _ := json.Marshal(p)
	body, err := n.client.Signed(context.Background(), acct, rpc.MethodRetrieve, params)
	if err != nil {
		t.Fatalf("retrieve from %s: %v", n.addr, err)
	}
	var res rpc.RetrieveResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	return res.Messages
}

// holds returns how many unexpired messages of acct n stores.
func holds(t testing.TB, n *testNode, acct identity.AccountID) int {
	t.Helper()
	hs, err := n.db.Hashes(context.Background(), acct, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return len(hs)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute) // busy machines: a hand-off under -race at load 50 took over one
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runAntiEntropy runs n's loop until the test ends.
func runAntiEntropy(t testing.TB, n *testNode) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	repl := n.repl
	go func() { repl.RunAntiEntropy(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// confirmations counts the valid confirmations in res by members of
// acct's swarm in the cluster's current snapshot.
func (c *cluster) confirmations(acct identity.AccountID, res rpc.StoreResult) int {
	mem := replication.NewSnapshotMembership(identity.Ed25519PublicKey{}, c.snap)
	return rpc.CountConfirmations(testNetwork, acct, res.Hash, res.Swarm, func(k identity.Ed25519PublicKey) bool { return mem.IsMember(k, acct) })
}

// nodeRequest sends a hand-made node RPC to n, signed by key for
// recipient at ts, and returns the status and body.
func nodeRequest(t testing.TB, n *testNode, key ed25519.PrivateKey, recipient identity.Ed25519PublicKey, ts time.Time, body []byte, sigOverride []byte) (int, string) {
	t.Helper()
	sender := identity.Ed25519PublicKeyOf(key)
	sum := sha256sum(body)
	sig := ed25519.Sign(key, rpc.SigNodeRequest(testNetwork, sender, recipient, ts, sum))
	if sigOverride != nil {
		sig = sigOverride
	}
	req, _ := http.NewRequest(http.MethodPost, "https://"+n.addr+rpc.NodeRPCPath, bytesReader(body))
	req.Header.Set(rpc.HeaderNode, sender.String())
	req.Header.Set(rpc.HeaderTimestamp, itoa(ts.UnixMilli()))
	req.Header.Set(rpc.HeaderBodySHA256, hex.EncodeToString(sum[:]))
	req.Header.Set(rpc.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestClusterHoldsPortsUntilStart: the harness keeps each node's port
// from addNode to start, so no other listen (another node's) gets it,
// and a node not yet started refuses connections at once.
func TestClusterHoldsPortsUntilStart(t *testing.T) {
	c := newCluster(t, 2, nil)
	n := c.nodes[0]
	if ln, err := net.Listen("tcp", n.addr); err == nil {
		ln.Close()
		t.Fatal("a node's port was free before start")
	}
	conn, err := net.DialTimeout("tcp", n.addr, time.Minute)
	if err == nil {
		conn.SetReadDeadline(time.Now().Add(time.Minute))
		if _, err := conn.Read(make([]byte, 1)); err == nil {
			t.Fatal("a node not yet started answered")
		}
		conn.Close()
	}
	c.oneSwarm()
	c.start(n)
	if _, err := n.client.Info(context.Background()); err != nil {
		t.Fatalf("the started node: %v", err)
	}
}
