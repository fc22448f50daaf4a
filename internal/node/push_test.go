package node_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/pushnotify/notifytest"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// TestNodesNotify runs a devnet whose network file lists a stand-in push
// server: a deposit for an account with a record wakes it once per member
// of the account's swarm (each member notifies through paths of its own;
// the tag is the same, so the real server sends one push), an old deposit
// and a record naming an unlisted server wake nobody, and the nodes
// refuse a ninth record and a malformed one.
func TestNodesNotify(t *testing.T) {
	srv := notifytest.Start(t)
	unlisted := notifytest.Start(t)
	// A bound for a hang, not a speed: a devnet's in-process nodes take
	// over ten seconds each to start under -race on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	// Five nodes: a node's paths leave it out, and two guards and two
	// other relays need four more.
	d, err := devnet.Up(ctx, devnet.Options{Dir: t.TempDir(), Nodes: 5, Timeout: 6 * time.Minute, EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond,
		UnreachableAfter: time.Minute, Services: netfile.Services{Push: srv.Service()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	_, snap, err := devnet.FetchSnapshot(ctx, d.Network())
	if err != nil {
		t.Fatal(err)
	}
	swarmOf := func(a identity.AccountID) []snapshot.Node {
		_, ms, ok := snap.SwarmOf(a)
		if !ok {
			t.Fatal("no swarm")
		}
		return ms
	}
	client := func(n snapshot.Node) *nodeclient.Client {
		c, err := nodeclient.New("https://"+n.Address, n.Ed25519)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	record := func(acct *identity.Account, server snapshot.X25519Key) *push.Record {
		r := &push.Record{Server: server, Namespaces: []int32{0}, Expiry: time.Now().Add(time.Hour)}
		rand.Read(r.SubID[:])
		rand.Read(r.NotifySecret[:])
		rand.Read(r.EncKey[:])
		if err := push.SignRecord(r, acct); err != nil {
			t.Fatal(err)
		}
		return r
	}
	storeRecord := func(c *nodeclient.Client, acct *identity.Account, data []byte) error {
		params := fmt.Sprintf(`{"namespace":%d,"data":%q,"ttl":%d}`, push.Namespace, base64.StdEncoding.EncodeToString(data), time.Hour.Milliseconds())
		_, err := c.Signed(ctx, acct, rpc.MethodStore, json.RawMessage(params))
		return err
	}
	deposit := func(c *nodeclient.Client, acct identity.AccountID, text string, ts time.Time) string {
		params, _ := json.Marshal(map[string]any{"pubkey": acct.String(), "data": base64.StdEncoding.EncodeToString([]byte(text)),
			"ttl": time.Hour.Milliseconds(), "timestamp": ts.UnixMilli()})
		body, err := c.Call(ctx, rpc.MethodStore, params)
		if err != nil {
			t.Fatalf("store: %v", err)
		}
		var res rpc.StoreResult
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		return res.Hash
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case r := <-srv.Requests:
			t.Fatalf("%s: a notify for sub %x", what, r.SubID[:4])
		case r := <-unlisted.Requests:
			t.Fatalf("%s: the unlisted server got a notify for sub %x", what, r.SubID[:4])
		case <-time.After(time.Second):
		}
	}

	// An account whose record names a server the network does not list.
	carol := identity.NewAccount()
	cc := client(swarmOf(carol.ID())[0])
	if err := storeRecord(cc, carol, record(carol, unlisted.Key).Marshal()); err != nil {
		t.Fatal(err)
	}
	deposit(cc, carol.ID(), "to carol", time.Now())

	bob := identity.NewAccount()
	members := swarmOf(bob.ID())
	bc := client(members[0])
	rec := record(bob, srv.Key)
	if err := storeRecord(bc, bob, rec.Marshal()); err != nil {
		t.Fatal(err)
	}
	// Every member must hold the record before the deposit reaches it,
	// or it has nobody to wake: the record's forward to the third member
	// can time out under load and wait for anti-entropy while the
	// deposit's arrives (a node notifies for deposits, never for records
	// repaired later). A client stores its record long before anyone
	// writes to it; the test waits for what that time gives.
	for _, m := range members {
		c := client(m)
		var last string
		for {
			body, err := c.Signed(ctx, bob, rpc.MethodRetrieve, json.RawMessage(fmt.Sprintf(`{"namespace":%d}`, push.Namespace)))
			var res rpc.RetrieveResult
			if err == nil {
				if err = json.Unmarshal(body, &res); err == nil && len(res.Messages) > 0 {
					break
				}
			}
			last = fmt.Sprintf("%d records, %v", len(res.Messages), err)
			select {
			case <-ctx.Done():
				t.Fatalf("member %s never held bob's record (last: %s)", m.Ed25519.String()[:12], last)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	hash := deposit(bc, bob.ID(), "hello bob", time.Now())
	for i := range members {
		select {
		case req := <-srv.Requests:
			if req.SubID != rec.SubID || req.NotifySecret != rec.NotifySecret || req.Tag != push.Tag(rec.EncKey, hash) {
				t.Fatalf("notify %d: %+v", i, req)
			}
			if in, err := push.OpenPayload(rec.EncKey, req.Payload); err != nil || in != (push.Inner{Namespace: 0, Hash: hash, Count: 1}) {
				t.Fatalf("notify %d: payload %+v, %v", i, in, err)
			}
		case <-ctx.Done():
			t.Fatalf("%d of %d members notified (the relays that carried them: %d)", i, len(members), len(srv.Relays))
		}
	}
	quiet("after one notify per member")

	// An old deposit wakes nobody, also for a subscription never notified
	// (which would be notified at once, not coalesced).
	dave := identity.NewAccount()
	dc := client(swarmOf(dave.ID())[0])
	if err := storeRecord(dc, dave, record(dave, srv.Key).Marshal()); err != nil {
		t.Fatal(err)
	}
	deposit(dc, dave.ID(), "from long ago", time.Now().Add(-2*time.Minute))
	quiet("an old deposit")

	// Seven more records fill the account's eight; the ninth is refused,
	// and so is a malformed one, and the node keeps serving.
	for i := range push.MaxRecordsPerAccount - 1 {
		if err := storeRecord(bc, bob, record(bob, srv.Key).Marshal()); err != nil {
			t.Fatalf("record %d: %v", i+2, err)
		}
	}
	var ne *nodeclient.Error
	if err := storeRecord(bc, bob, record(bob, srv.Key).Marshal()); !errors.As(err, &ne) || ne.Status != 403 || ne.Code != rpc.CodeQuota {
		t.Fatalf("a ninth record: %v", err)
	}
	if err := storeRecord(bc, bob, []byte(`{"v":1}`)); !errors.As(err, &ne) || ne.Status != 400 || ne.Code != rpc.CodeBadField {
		t.Fatalf("a malformed record: %v", err)
	}
	if _, err := bc.Info(ctx); err != nil {
		t.Fatalf("the node stopped serving: %v", err)
	}
}
