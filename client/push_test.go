package client

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/snapshot"
)

// standInPush is a stand-in push server for the client's tests: an HTTPS
// server pinned by its Ed25519 key, reached only through the relays as an
// onion destination, that keeps subscriptions in memory by the rules of
// protocol/push (signatures, timestamps, the notify secret) and hands
// every accepted notify's payload to Notified instead of a provider. The
// real server (internal/push, hushd push) is another helper's; this is
// the seam the client is tested against until they are merged.
type standInPush struct {
	svc      *netfile.Service
	server   relay.StewardServer
	priv     *ecdh.PrivateKey
	Notified chan []byte
	// Ops receives every request's op that was accepted.
	Ops chan string

	mu   sync.Mutex
	subs map[[32]byte]*standInSub
	// down, when set, answers every request with unavailable.
	down bool
	// gone, when set, answers renewals with gone.
	gone bool
	// downAfterRegister, when set, goes down once a register is accepted.
	downAfterRegister bool
}

type standInSub struct {
	secretHash [32]byte
	mgmt       ed25519.PublicKey
	lastTS     time.Time
	expiry     time.Time
}

func startStandInPush(t testing.TB) *standInPush {
	t.Helper()
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	cert, err := keytls.Certificate(edPriv)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var x snapshot.X25519Key
	copy(x[:], priv.PublicKey().Bytes())
	ed := identity.Ed25519PublicKeyOf(edPriv)
	p := &standInPush{
		svc:      &netfile.Service{Address: ln.Addr().String(), Ed25519: &ed, X25519: &x},
		priv:     priv,
		Notified: make(chan []byte, 16),
		Ops:      make(chan string, 64),
		subs:     map[[32]byte]*standInSub{},
	}
	p.server = relay.StewardServer{Target: p.svc.OnionTarget(push.Target), Ed25519: ed}
	conf := keytls.ServerConfig(cert, nil)
	keytls.RequestClientCerts(conf)
	srv := &http.Server{Handler: p, TLSConfig: conf}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *standInPush) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	buf.ReadFrom(r.Body)
	l, err := onion.Peel(p.priv, buf.Bytes())
	if err != nil || l.Instruction.Kind != onion.KindDestination || r.URL.Path != push.Target {
		http.Error(w, "bad frame", http.StatusBadRequest)
		return
	}
	a := p.answer(l.Inner)
	status := http.StatusOK
	if !a.OK {
		status = push.Status(a.Error)
	}
	resp, err := l.Responder.Seal(status, a.Marshal())
	if err != nil {
		http.Error(w, "seal", http.StatusInternalServerError)
		return
	}
	w.Write(resp)
}

func (p *standInPush) answer(body []byte) *push.Answer {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return push.ErrorAnswer(push.CodeUnavailable, "down", time.Second)
	}
	req, err := push.ParseRequest(body)
	if err != nil {
		return push.ErrorAnswer(push.CodeBadRequest, err.Error(), 0)
	}
	now := time.Now()
	sub := p.subs[req.SubID]
	switch req.Op {
	case push.OpInfo:
		return &push.Answer{OK: true, VAPIDPublicKey: "stand-in"}
	case push.OpRegister:
		if sub != nil {
			return push.ErrorAnswer(push.CodeForbidden, "sub_id taken", 0)
		}
		if err := req.Verify(req.MgmtKey); err != nil {
			return push.ErrorAnswer(push.CodeForbidden, err.Error(), 0)
		}
		if err := push.CheckTimestamp(req.TS, time.Time{}, now); err != nil {
			return push.ErrorAnswer(push.CodeReplay, err.Error(), 0)
		}
		p.subs[req.SubID] = &standInSub{secretHash: req.SecretHash, mgmt: req.MgmtKey, lastTS: req.TS, expiry: req.Expiry}
		p.down = p.downAfterRegister
	case push.OpNotify:
		if sub == nil {
			return push.ErrorAnswer(push.CodeNotFound, "", 0)
		}
		h := push.SecretHash(req.NotifySecret)
		if subtle.ConstantTimeCompare(h[:], sub.secretHash[:]) != 1 {
			return push.ErrorAnswer(push.CodeForbidden, "notify secret", 0)
		}
		p.Notified <- req.Payload
	default: // renew, update, unsubscribe
		if sub == nil {
			return push.ErrorAnswer(push.CodeNotFound, "", 0)
		}
		if err := req.Verify(sub.mgmt); err != nil {
			return push.ErrorAnswer(push.CodeForbidden, err.Error(), 0)
		}
		if err := push.CheckTimestamp(req.TS, sub.lastTS, now); err != nil {
			return push.ErrorAnswer(push.CodeReplay, err.Error(), 0)
		}
		sub.lastTS = req.TS
		switch req.Op {
		case push.OpRenew:
			if p.gone {
				delete(p.subs, req.SubID)
				return push.ErrorAnswer(push.CodeGone, "token gone", 0)
			}
			sub.expiry = req.Expiry
		case push.OpUnsubscribe:
			delete(p.subs, req.SubID)
		}
	}
	p.Ops <- req.Op
	return &push.Answer{OK: true}
}

func (p *standInPush) set(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
}

func (p *standInPush) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs)
}

// pushNetwork is testNetwork with a stand-in push server the relays
// forward to and the network file names.
func pushNetwork(t testing.TB) (*relaytest.Network, *netfile.Network, *standInPush) {
	t.Helper()
	nw, nf, ps := pushNetworkN(t, 1)
	return nw, nf, ps[0]
}

// pushNetworkN starts n stand-in push servers the relays forward to; the
// network file names the first.
func pushNetworkN(t testing.TB, n int) (*relaytest.Network, *netfile.Network, []*standInPush) {
	t.Helper()
	var ps []*standInPush
	var servers []relay.StewardServer
	for range n {
		p := startStandInPush(t)
		ps, servers = append(ps, p), append(servers, p.server)
	}
	p := ps[0]
	nw := relaytest.Start(t, relaytest.Options{Nodes: 6, Swarms: 2, StewardServers: servers})
	reg := identity.Ed25519PublicKeyOf(nw.RegistryKey)
	seed := nw.Nodes[0].Info
	nf := &netfile.Network{
		ID:         relaytest.NetworkID,
		Registries: []netfile.Registry{{Address: "127.0.0.1:9", Ed25519: reg}},
		Seeds:      []netfile.Seed{{Address: seed.Address, Ed25519: seed.Ed25519, X25519: seed.X25519}},
		Loopback:   true,
		Limits:     netfile.DefaultLimits(),
		Services:   netfile.Services{Push: p.svc},
	}
	return nw, nf, ps
}

// testWebPush is RFC 8291 Appendix A's subscriber, in the padded
// standard base64 some tools print (the client normalises it).
var testWebPush = &WebPushTarget{
	Endpoint: "https://push.example.net/push/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV",
	P256dh:   "BCVxsr7N/eNgVRqvHtD0zTZsEc6+VV+JvLexhqUzORcxaOzi6+AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4=",
	Auth:     "BTBZMqHH6r4Tts7J_aSIgg==",
}

func expectOp(t *testing.T, p *standInPush, want string) {
	t.Helper()
	select {
	case op := <-p.Ops:
		if op != want {
			t.Fatalf("push server got %s, want %s", op, want)
		}
	case <-time.After(time.Minute):
		t.Fatalf("push server got no %s", want)
	}
}

// ownRecords returns the push records in c's own swarm, parsed: those
// of every member, once each.
func ownRecords(t *testing.T, c *Client) []*push.Record {
	t.Helper()
	ctx := context.Background()
	members, err := c.dir.SwarmFor(ctx, c.acct.ID())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []*push.Record
	for _, n := range members {
		msgs, err := c.retrieve(ctx, n, push.Namespace, time.Time{}, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if seen[m.Hash] {
				continue
			}
			seen[m.Hash] = true
			data, err := base64.StdEncoding.DecodeString(m.Data)
			if err != nil {
				t.Fatal(err)
			}
			r, err := push.ParseRecord(data, c.acct.ID(), time.Now())
			if err != nil {
				t.Fatalf("a record in namespace 4 does not parse: %v", err)
			}
			out = append(out, r)
		}
	}
	return out
}

// TestPush subscribes bob through a real onion path to a stand-in push
// server, checks the record in his swarm, plays the notifying node for a
// message from alice, opens the payload and fetches the message; then a
// test push, a renewal at two thirds of the lifetime, and leaving push
// mode (a signed unsubscribe and the record deleted).
func TestPush(t *testing.T) {
	_, nf, p := pushNetwork(t)
	ctx := context.Background()
	alice := open(t, newHome(t), Options{Network: nf})
	bob := open(t, newHome(t), Options{Network: nf})

	if err := bob.SubscribePush(ctx, PushTarget{WebPush: testWebPush}); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpRegister)
	st, err := bob.Notifications()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != NotifyPush || st.Push == nil || st.Push.Provider != "webpush" || st.Push.Target != "https://push.example.net" || st.Push.State != "active" {
		t.Fatalf("status %+v %+v", st, st.Push)
	}
	for _, words := range []string{"sees your device's IP address, its push token", "no Account ID, no IP address", "learn the subscription ID", "by timing", "can link them directly"} {
		if !strings.Contains(st.Explanation, words) {
			t.Errorf("the push explanation does not say %q", words)
		}
	}
	recs := ownRecords(t, bob)
	if len(recs) != 1 {
		t.Fatalf("%d records in namespace 4, want 1", len(recs))
	}
	rec := recs[0]
	if rec.Server != [32]byte(*p.svc.X25519) || len(rec.Namespaces) != 1 || rec.Namespaces[0] != NamespaceInbox {
		t.Fatalf("record %+v", rec)
	}
	if d := time.Until(rec.Expiry); d < push.MaxLifetime-time.Hour || d > push.MaxLifetime+time.Minute {
		t.Fatalf("record expires in %s", d)
	}

	// Alice writes; a node of bob's swarm would notify with the record.
	if _, err := alice.Send(ctx, bob.Account(), "wake up"); err != nil {
		t.Fatal(err)
	}
	// The store confirmed two copies; the third member may not have it
	// yet.
	members, _ := bob.dir.SwarmFor(ctx, bob.acct.ID())
	var hash string
	for _, n := range members {
		msgs, err := bob.retrieve(ctx, n, NamespaceInbox, time.Time{}, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) > 0 {
			hash = msgs[len(msgs)-1].Hash
			break
		}
	}
	if hash == "" {
		t.Fatal("alice's message is in no member of bob's swarm")
	}
	payload, err := push.SealPayload(rec.EncKey, push.Inner{Namespace: NamespaceInbox, Hash: hash, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	notify := &push.Request{Op: push.OpNotify, SubID: rec.SubID, NotifySecret: rec.NotifySecret, Tag: push.Tag(rec.EncKey, hash), Payload: payload}
	if a := p.answer(notify.Marshal()); !a.OK {
		t.Fatalf("notify refused: %+v", a)
	}
	<-p.Ops
	delivered := <-p.Notified
	in, err := bob.OpenPush(delivered)
	if err != nil || in.Hash != hash || in.Test || in.Count != 1 {
		t.Fatalf("OpenPush: %+v, %v", in, err)
	}
	got, found, err := bob.FetchPushed(ctx, in)
	if err != nil || !found || len(got) != 1 || got[0].Text != "wake up" {
		t.Fatalf("FetchPushed: %v found=%v err=%v", got, found, err)
	}
	if _, err := bob.OpenPush(payload[:len(payload)-1]); !errors.Is(err, ErrBadPush) {
		t.Fatalf("OpenPush of a cut payload: %v", err)
	}

	// A test push goes out through the push server and opens as a test.
	if err := bob.TestPush(ctx); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpNotify)
	if in, err := bob.OpenPush(<-p.Notified); err != nil || !in.Test {
		t.Fatalf("test push opens to %+v, %v", in, err)
	}

	// Two thirds of the lifetime later, the duties renew it and replace
	// the record.
	age(t, bob, 10*24*time.Hour)
	if err := bob.pushDuties(ctx); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpRenew)
	recs = ownRecords(t, bob)
	if len(recs) != 1 || recs[0].SubID != rec.SubID || !recs[0].Expiry.After(rec.Expiry.Add(-time.Minute)) {
		t.Fatalf("after renewal: %d records %+v", len(recs), recs)
	}
	if st, _ := bob.Notifications(); time.Until(st.Push.RenewAt) < 9*24*time.Hour {
		t.Fatalf("renewed subscription is due again at %s", st.Push.RenewAt)
	}

	// Leaving push mode unsubscribes and deletes the record.
	if err := bob.SwitchNotifications(ctx, NotifyFast); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpUnsubscribe)
	if n := p.count(); n != 0 {
		t.Fatalf("push server keeps %d subscriptions", n)
	}
	if recs := ownRecords(t, bob); len(recs) != 0 {
		t.Fatalf("%d records left in namespace 4", len(recs))
	}
	if st, _ := bob.Notifications(); st.Mode != NotifyFast || st.Push != nil {
		t.Fatalf("after leaving push: %+v", st)
	}
	if err := bob.SetNotifications(NotifyPush); !errors.Is(err, ErrBadNotificationMode) {
		t.Fatalf("push without a subscription: %v", err)
	}
}

// age moves c's subscription's dates back by d, as if made d ago.
func age(t *testing.T, c *Client, d time.Duration) {
	t.Helper()
	s, err := c.loadPush()
	if err != nil || s == nil {
		t.Fatalf("no subscription: %v", err)
	}
	s.Created -= d.Milliseconds()
	s.Expiry -= d.Milliseconds()
	if err := c.savePush(s); err != nil {
		t.Fatal(err)
	}
}

// TestPushCancelRetried: leaving push mode while the push server is
// unreachable keeps the subscription marked for cancelling, which the
// next background duties finish; a subscription the provider dropped
// shows as gone at its renewal.
func TestPushCancelRetried(t *testing.T) {
	_, nf, p := pushNetwork(t)
	ctx := context.Background()
	bob := open(t, newHome(t), Options{Network: nf})
	if err := bob.SubscribePush(ctx, PushTarget{APNs: strings.Repeat("AB", 32)}); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpRegister)
	p.set(func() { p.down = true })
	if err := bob.SwitchNotifications(ctx, NotifySlow); err == nil {
		t.Fatal("unsubscribe through a down push server succeeded")
	}
	st, _ := bob.Notifications()
	if st.Mode != NotifySlow || st.Push == nil || st.Push.State != "unsubscribing" || st.Push.Problem == "" {
		t.Fatalf("status %+v %+v", st, st.Push)
	}
	p.set(func() { p.down = false })
	if _, err := bob.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpUnsubscribe)
	if st, _ := bob.Notifications(); st.Push != nil {
		t.Fatalf("subscription left after the duties: %+v", st.Push)
	}
	if recs := ownRecords(t, bob); len(recs) != 0 {
		t.Fatalf("%d records left", len(recs))
	}

	// Gone: the renewal is refused for good; polling goes on.
	if err := bob.SubscribePush(ctx, PushTarget{FCM: "fcm-token:1"}); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpRegister)
	p.set(func() { p.gone = true })
	age(t, bob, 10*24*time.Hour)
	if err := bob.pushDuties(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := bob.Notifications(); st.Push == nil || st.Push.State != "gone" || !strings.Contains(st.Push.Problem, "subscribe again") {
		t.Fatalf("status after gone: %+v", st.Push)
	}
}

// TestPushOrphanCancelled: a subscribe whose record cannot be stored, and
// whose registration then cannot be taken back either, leaves no
// registration at the push server: the duties cancel it later. It used to
// be forgotten at once, and a subscribe after it made a second one, so
// every message would wake the device twice.
func TestPushOrphanCancelled(t *testing.T) {
	_, nf, p := pushNetwork(t)
	ctx := context.Background()
	bob := open(t, newHome(t), Options{Network: nf})
	// The own swarm is full of records (push.MaxRecordsPerAccount) at
	// every member: the nodes refuse the new one.
	members, err := bob.dir.SwarmFor(ctx, bob.Account())
	if err != nil {
		t.Fatal(err)
	}
	for range push.MaxRecordsPerAccount {
		r := &push.Record{Namespaces: []int32{NamespaceInbox}, Expiry: time.Now().Add(time.Hour).Truncate(time.Millisecond)}
		copy(r.Server[:], p.svc.X25519[:])
		for _, k := range [][]byte{r.SubID[:], r.NotifySecret[:], r.EncKey[:]} {
			rand.Read(k)
		}
		if err := push.SignRecord(r, bob.acct); err != nil {
			t.Fatal(err)
		}
		for _, n := range members {
			if _, err := bob.storeOnce(ctx, n, bob.Account(), push.Namespace, time.Hour, r.Marshal()); err != nil {
				t.Fatal(err)
			}
		}
	}
	p.set(func() { p.downAfterRegister = true })
	if err := bob.SubscribePush(ctx, PushTarget{APNs: strings.Repeat("AB", 32)}); err == nil {
		t.Fatal("a subscribe whose record was refused succeeded")
	}
	expectOp(t, p, push.OpRegister)
	if n := p.count(); n != 1 {
		t.Fatalf("%d registrations at the server after the failed subscribe, want the orphan", n)
	}
	p.set(func() { p.down, p.downAfterRegister = false, false })
	if err := bob.pushDuties(ctx); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpUnsubscribe)
	if n := p.count(); n != 0 {
		t.Fatalf("%d registrations left at the server after the duties", n)
	}
	if b, err := bob.db.Setting(pushOrphansSetting); err == nil && len(b) > 0 {
		t.Fatalf("orphans left after the duties: %s", b)
	}
}

// TestPushRefusals: targets of the wrong form are refused before anything
// is sent, and a client without a push server says so.
func TestPushRefusals(t *testing.T) {
	ctx := context.Background()
	_, nf, p := pushNetwork(t)
	bob := open(t, newHome(t), Options{Network: nf})
	tests := []struct {
		name   string
		target PushTarget
	}{
		{"none", PushTarget{}},
		{"two", PushTarget{APNs: strings.Repeat("ab", 32), FCM: "x"}},
		{"http endpoint", PushTarget{WebPush: &WebPushTarget{Endpoint: "http://push.example.net/x", P256dh: testWebPush.P256dh, Auth: testWebPush.Auth}}},
		{"bad p256dh", PushTarget{WebPush: &WebPushTarget{Endpoint: testWebPush.Endpoint, P256dh: "AAAA", Auth: testWebPush.Auth}}},
		{"short apns", PushTarget{APNs: "abcd"}},
		{"fcm with a space", PushTarget{FCM: "a b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := bob.SubscribePush(ctx, tt.target); !errors.Is(err, ErrBadPushTarget) {
				t.Fatalf("SubscribePush: %v", err)
			}
		})
	}
	if n := p.count(); n != 0 {
		t.Fatalf("push server got %d subscriptions", n)
	}
	if err := bob.TestPush(ctx); !errors.Is(err, ErrNotSubscribed) {
		t.Fatalf("TestPush without a subscription: %v", err)
	}
	nf2 := *nf
	nf2.Services = netfile.Services{}
	carol := open(t, newHome(t), Options{Network: &nf2})
	if err := carol.SubscribePush(ctx, PushTarget{FCM: "tok"}); !errors.Is(err, ErrNoPushServer) {
		t.Fatalf("SubscribePush without a push server: %v", err)
	}
}

// TestPushReceive: Receive in push mode still delivers, by its safety-net
// poll.
func TestPushReceive(t *testing.T) {
	_, nf, p := pushNetwork(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	alice := open(t, newHome(t), Options{Network: nf})
	bob := open(t, newHome(t), Options{Network: nf, PushSafetyNetInterval: 200 * time.Millisecond})
	if err := bob.SubscribePush(ctx, PushTarget{FCM: "tok"}); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpRegister)
	got := make(chan Message, 4)
	done := make(chan error, 1)
	go func() {
		done <- bob.Receive(ctx, func(ms []Message) error {
			for _, m := range ms {
				got <- m
			}
			return nil
		})
	}()
	if _, err := alice.Send(ctx, bob.Account(), "by the safety net"); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Text != "by the safety net" {
			t.Fatalf("got %q", m.Text)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("nothing received in push mode")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestPushReplace: subscribing again replaces the subscription (a new
// sub_id; the old one unsubscribed and its record deleted), and a
// subscription that lapsed while the device was off is replaced by the
// duties with one to the same target.
func TestPushReplace(t *testing.T) {
	_, nf, p := pushNetwork(t)
	ctx := context.Background()
	bob := open(t, newHome(t), Options{Network: nf})
	if err := bob.SubscribePush(ctx, PushTarget{FCM: "first"}); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpRegister)
	first := ownRecords(t, bob)
	if err := bob.SubscribePush(ctx, PushTarget{FCM: "second"}); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpRegister)
	expectOp(t, p, push.OpUnsubscribe)
	second := ownRecords(t, bob)
	if len(first) != 1 || len(second) != 1 || first[0].SubID == second[0].SubID {
		t.Fatalf("records before %d, after %d (a sub_id must never be reused)", len(first), len(second))
	}
	if n := p.count(); n != 1 {
		t.Fatalf("push server keeps %d subscriptions, want 1", n)
	}

	age(t, bob, push.MaxLifetime+time.Hour)
	if err := bob.pushDuties(ctx); err != nil {
		t.Fatal(err)
	}
	expectOp(t, p, push.OpRegister)
	third := ownRecords(t, bob)
	st, _ := bob.Notifications()
	if len(third) != 1 || third[0].SubID == second[0].SubID || st.Mode != NotifyPush || st.Push == nil || st.Push.State != "active" || st.Push.Target != "second…" {
		t.Fatalf("after the lapse: %d records, status %+v", len(third), st.Push)
	}
}

// TestPushServerMoved: when the network file names another push server,
// the next renewal subscribes there afresh, and leaving push mode does
// not wait forever on the old server, which the client can no longer
// reach.
func TestPushServerMoved(t *testing.T) {
	_, nf, ps := pushNetworkN(t, 2)
	ctx := context.Background()
	home := newHome(t)
	bob := open(t, home, Options{Network: nf})
	if err := bob.SubscribePush(ctx, PushTarget{FCM: "tok"}); err != nil {
		t.Fatal(err)
	}
	expectOp(t, ps[0], push.OpRegister)
	bob.Close()

	moved := *nf
	moved.Services = netfile.Services{Push: ps[1].svc}
	bob = open(t, home, Options{Network: &moved})
	age(t, bob, 10*24*time.Hour)
	if err := bob.pushDuties(ctx); err != nil {
		t.Fatal(err)
	}
	expectOp(t, ps[1], push.OpRegister)
	recs := ownRecords(t, bob)
	if len(recs) != 1 || recs[0].Server != [32]byte(*ps[1].svc.X25519) {
		t.Fatalf("after the move: %d records", len(recs))
	}
	bob.Close()

	// Back to the first server's network file: leaving push cannot reach
	// the subscription's server, and finishes anyway.
	bob = open(t, home, Options{Network: nf})
	if err := bob.SwitchNotifications(ctx, NotifySlow); err != nil {
		t.Fatal(err)
	}
	if st, _ := bob.Notifications(); st.Push != nil {
		t.Fatalf("subscription left: %+v", st.Push)
	}
	if recs := ownRecords(t, bob); len(recs) != 0 {
		t.Fatalf("%d records left", len(recs))
	}
}
