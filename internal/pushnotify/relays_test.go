package pushnotify_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
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
func TestThroughRealRelays(t *testing.T) {
	srv := notifytest.Start(t)
	nw := relaytest.Start(t, relaytest.Options{Nodes: 5, StewardServers: []relay.StewardServer{srv.Steward()}})
	self := nw.Nodes[0]
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pm, err := paths.New(paths.Options{
		Snapshot:  pushnotify.WithoutNode(func() *snapshot.Snapshot { return nw.Snapshot }, self.Key()),
		Loopback:  true,
		Transport: self.Pool,
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := pushnotify.New(pushnotify.Config{
		Store: db, Server: pushnotify.Server{Target: srv.Steward().Target, Key: srv.Key}, Sender: pm,
		Clock: time.Now, Logger: slog.New(slog.DiscardHandler), Interval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	put := func(acct identity.AccountID, ns int32, data []byte) store.Message {
		m := store.Message{Account: acct, Namespace: ns, Hash: rpc.MessageHash(acct, ns, data), Data: data,
			Timestamp: time.Now().Truncate(time.Millisecond), Expiry: time.Now().Add(time.Hour)}
		if _, err := db.Put(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	record := func(acct *identity.Account, server snapshot.X25519Key) *push.Record {
		r := &push.Record{Server: server, Namespaces: []int32{0}, Expiry: time.Now().Add(time.Hour)}
		rand.Read(r.SubID[:])
		rand.Read(r.NotifySecret[:])
		rand.Read(r.EncKey[:])
		if err := push.SignRecord(r, acct); err != nil {
			t.Fatal(err)
		}
		put(acct.ID(), push.Namespace, r.Marshal())
		return r
	}
	elsewhere := identity.NewAccount()
	other := notifytest.Start(t) // a push server the network does not list
	record(elsewhere, other.Key)
	n.Deposited(put(elsewhere.ID(), 0, []byte("to an unlisted server")))

	bob := identity.NewAccount()
	rec := record(bob, srv.Key)
	m := put(bob.ID(), 0, []byte("hello bob"))
	n.Deposited(m)
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
	if last := <-srv.Relays; last == self.Key() || nw.Node(last) == nil {
		t.Fatalf("the notify came from %v, not from a relay of the network other than the notifying node", last)
	}
	select {
	case r := <-srv.Requests:
		t.Fatalf("a second notify: %+v", r)
	case r := <-other.Requests:
		t.Fatalf("the unlisted server got a notify: %+v", r)
	case <-time.After(200 * time.Millisecond):
	}
}
