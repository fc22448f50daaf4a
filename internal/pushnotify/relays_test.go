package pushnotify_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/internal/pushnotify"
	"github.com/hushnet/hush/internal/pushnotify/notifytest"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/internal/store/sqlite"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// TestThroughRealRelays: node 0 of a network of real relays notifies a
// stand-in push server through an onion path of its own that avoids
// itself; the server gets one notify per deposit it may open, from a
// relay that is not node 0, and none for a record naming a server the
// network does not list.
// relayed is a notifier on node 0 of a network of real relays whose
// relays forward to a stand-in push server.
type relayed struct {
	posts *countingPoster
	srv   *notifytest.Server
	nw    *relaytest.Network
	self  *relaytest.Node
	db    *sqlite.DB
	paths *paths.Manager
	n     *pushnotify.Notifier
}

func startRelayed(t testing.TB, interval time.Duration) *relayed {
	r := &relayed{srv: notifytest.Start(t)}
	r.nw = relaytest.Start(t, relaytest.Options{Nodes: 5, StewardServers: []relay.StewardServer{r.srv.Steward()}})
	r.self = r.nw.Nodes[0]
	var err error
	if r.db, err = sqlite.Open(filepath.Join(t.TempDir(), "node.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.db.Close() })
	r.posts = &countingPoster{Poster: r.self.Pool}
	r.paths, err = paths.New(paths.Options{
		Snapshot:  pushnotify.WithoutNode(func() *snapshot.Snapshot { return r.nw.Snapshot }, r.self.Key()),
		Loopback:  true,
		Transport: r.posts,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.n, err = pushnotify.New(pushnotify.Config{
		Store: r.db, Server: pushnotify.Server{Target: r.srv.Steward().Target, Key: r.srv.Key}, Sender: r.paths,
		Clock: time.Now, Logger: slog.New(slog.DiscardHandler), Interval: interval,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func (r *relayed) put(t testing.TB, acct identity.AccountID, ns int32, data []byte) store.Message {
	m := store.Message{Account: acct, Namespace: ns, Hash: rpc.MessageHash(acct, ns, data), Data: data,
		Timestamp: time.Now().Truncate(time.Millisecond), Expiry: time.Now().Add(time.Hour)}
	if _, err := r.db.Put(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (r *relayed) record(t testing.TB, acct *identity.Account, server snapshot.X25519Key) *push.Record {
	rec := &push.Record{Server: server, Namespaces: []int32{0}, Expiry: time.Now().Add(time.Hour)}
	rand.Read(rec.SubID[:])
	rand.Read(rec.NotifySecret[:])
	rand.Read(rec.EncKey[:])
	if err := push.SignRecord(rec, acct); err != nil {
		t.Fatal(err)
	}
	r.put(t, acct.ID(), push.Namespace, rec.Marshal())
	return rec
}

// TestThroughRealRelays: node 0 of a network of real relays notifies a
// stand-in push server through an onion path of its own that avoids
// itself; the server gets one notify per deposit it may open, from a
// relay that is not node 0, and none for a record naming a server the
// network does not list.
func TestThroughRealRelays(t *testing.T) {
	r := startRelayed(t, time.Hour)
	srv := r.srv
	elsewhere := identity.NewAccount()
	other := notifytest.Start(t) // a push server the network does not list
	r.record(t, elsewhere, other.Key)
	r.n.Deposited(r.put(t, elsewhere.ID(), 0, []byte("to an unlisted server")))

	bob := identity.NewAccount()
	rec := r.record(t, bob, srv.Key)
	m := r.put(t, bob.ID(), 0, []byte("hello bob"))
	r.n.Deposited(m)
	var req *push.Request
	select {
	case req = <-srv.Requests:
	case <-time.After(time.Minute):
		t.Fatal("no notify reached the push server")
	}
	if req.Op != push.OpNotify || req.SubID != rec.SubID || req.NotifySecret != rec.NotifySecret || req.Tag != push.Tag(rec.EncKey, m.Hash) {
		t.Fatalf("the server got %+v", req)
	}
	in, err := push.OpenPayload(rec.EncKey, req.Payload)
	if err != nil || in != (push.Inner{Namespace: 0, Hash: m.Hash, Count: 1}) {
		t.Fatalf("payload %+v, %v", in, err)
	}
	if last := <-srv.Relays; last == r.self.Key() || r.nw.Node(last) == nil {
		t.Fatalf("the notify came from %v, not from a relay of the network other than the notifying node", last)
	}
	select {
	case x := <-srv.Requests:
		t.Fatalf("a second notify: %+v", x)
	case x := <-other.Requests:
		t.Fatalf("the unlisted server got a notify: %+v", x)
	case <-time.After(200 * time.Millisecond):
	}
}

// BenchmarkNotifyLatency compares a deposit's way to the push server
// (Deposited until the server has the notify) with one onion request to
// it through the same paths (until its answer is back): the notify
// reaches the server before its answer returns, so the ratio is about
// the notifier's own cost.
func BenchmarkNotifyLatency(b *testing.B) {
	r := startRelayed(b, time.Nanosecond)
	accts := make([]*identity.Account, b.N+1)
	for i := range accts {
		accts[i] = identity.NewAccount()
		r.record(b, accts[i], r.srv.Key)
	}
	body := (&push.Request{Op: push.OpNotify, Payload: make([]byte, push.PayloadSize)}).Marshal()
	// Build the paths and warm the connections.
	if _, _, err := r.paths.DoServer(context.Background(), r.srv.Steward().Target, r.srv.Key, body); err != nil {
		b.Fatal(err)
	}
	<-r.srv.Requests
	var rpcTime, notifyTime time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, _, err := r.paths.DoServer(context.Background(), r.srv.Steward().Target, r.srv.Key, body); err != nil {
			b.Fatal(err)
		}
		rpcTime += time.Since(start)
		<-r.srv.Requests
		m := r.put(b, accts[i].ID(), 0, []byte("hello"))
		start = time.Now()
		r.n.Deposited(m)
		<-r.srv.Requests
		notifyTime += time.Since(start)
	}
	b.ReportMetric(float64(rpcTime.Microseconds())/float64(b.N)/1000, "rpc-ms")
	b.ReportMetric(float64(notifyTime.Microseconds())/float64(b.N)/1000, "notify-ms")
	b.ReportMetric(float64(notifyTime)/float64(rpcTime), "ratio")
}

// countingPoster counts the node's posts by path: guard tests go to
// onionclient.RPCPath (one per guard a path build takes on), onion
// requests to onionclient.OnionPath.
type countingPoster struct {
	onionclient.Poster
	guardTests, onions atomic.Int64
}

func (c *countingPoster) Post(ctx context.Context, key identity.Ed25519PublicKey, addr, path string, body []byte, limit int) (int, []byte, error) {
	switch path {
	case onionclient.RPCPath:
		c.guardTests.Add(1)
	case onionclient.OnionPath:
		c.onions.Add(1)
	}
	return c.Poster.Post(ctx, key, addr, path, body, limit)
}

// TestPathsBuiltOnce: a node's notifies share its paths, built once (by
// the warm-up when the notifier starts): n notifies through real relays
// cost the guard tests of one build and one onion request each, not a
// path per notify.
func TestPathsBuiltOnce(t *testing.T) {
	const n = 6
	r := startRelayed(t, time.Nanosecond)
	deadline := time.Now().Add(time.Minute)
	for r.srv.Infos.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the notifier did not warm its path up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if g := r.posts.guardTests.Load(); g != paths.Guards {
		t.Fatalf("%d guard tests to warm up, want %d", g, paths.Guards)
	}
	onions := r.posts.onions.Load()
	for i := range n {
		acct := identity.NewAccount()
		r.record(t, acct, r.srv.Key)
		r.n.Deposited(r.put(t, acct.ID(), 0, []byte("hello")))
		select {
		case <-r.srv.Requests:
		case <-time.After(time.Minute):
			t.Fatalf("notify %d did not reach the push server", i)
		}
	}
	if g := r.posts.guardTests.Load(); g != paths.Guards {
		t.Errorf("%d guard tests after %d notifies, want the %d of one build", g, n, paths.Guards)
	}
	// Warm-ups may add onion requests while the test runs, never fewer.
	if o := r.posts.onions.Load() - onions; o < n {
		t.Errorf("%d onion requests for %d notifies", o, n)
	}
}
