package push

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/webpush"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/push/pushtest"
	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/protocol/onion"
	pushproto "github.com/hushnet/hush/protocol/push"
)

// env is a push server with all three providers against stand-ins, served
// over plain HTTP on loopback (no relay check: the relay side is tested
// with real relays in internal/devnet).
type env struct {
	t     *testing.T
	srv   *Server
	store *Store
	dir   string
	url   string
	x     *ecdh.PrivateKey
	vapid *webpush.VAPIDKey
	wp    *pushtest.WebPushReceiver
	apns  *pushtest.APNs
	fcm   *pushtest.FCM
	logs  *syncBuffer
	now   time.Time
	clock func() time.Time
	mu    sync.Mutex
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type envOpts struct {
	strict bool // Web Push without the test setting
	limits Limits
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), logs: &syncBuffer{}}
	ca := pushtest.NewCA(t)
	e.wp = pushtest.StartWebPush(t, ca)
	e.apns = pushtest.StartAPNs(t, ca, "net.hush.app")
	e.fcm = pushtest.StartFCM(t, ca, "hush-test")
	var err error
	if e.store, err = OpenStore(filepath.Join(e.dir, "push.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	e.vapid, _ = webpush.GenerateVAPIDKey(rand.Reader)
	e.wp.ExpectVAPID(e.vapid.PublicKey())
	apns, err := NewAPNs(APNsConfig{BaseURL: e.apns.URL, TeamID: e.apns.Team, KeyID: e.apns.KeyID, Key: e.apns.Key, Topic: e.apns.Topic, ExtraRoots: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	sa, key, _ := ParseServiceAccount(e.fcm.ServiceAccountJSON)
	fcm, err := NewFCM(FCMConfig{BaseURL: e.fcm.URL, ProjectID: sa.ProjectID, ClientEmail: sa.ClientEmail, Key: key, TokenURL: sa.TokenURI, ExtraRoots: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	e.x, _ = ecdh.X25519().GenerateKey(rand.Reader)
	e.now = time.Now()
	e.clock = func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
	e.srv, err = New(Config{
		X25519: e.x,
		Store:  e.store,
		Providers: map[string]Provider{
			ProviderWebPush: NewWebPush(WebPushConfig{VAPID: e.vapid, Subject: "mailto:ops@example.org", AllowLoopback: !o.strict, ExtraRoots: ca.Pool(), Now: e.clock}),
			ProviderAPNs:    apns,
			ProviderFCM:     fcm,
		},
		VAPIDPublic:   e.vapid.PublicKey(),
		Limits:        o.limits,
		AllowLoopback: !o.strict,
		Clock:         e.clock,
		Logger:        slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(e.srv)
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// frame builds an onion frame carrying body to the server.
func (e *env) frame(body []byte) ([]byte, *onion.ClientState) {
	e.t.Helper()
	f, st, err := onion.Build(nil, onion.Destination{Node: onion.Hop{X25519: e.x.PublicKey()}}, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return f, st
}

// post sends a frame and returns the HTTP status and the opened answer.
func (e *env) post(f []byte, st *onion.ClientState) (int, *pushproto.Answer, error) {
	resp, err := http.Post(e.url+pushproto.Target, "application/octet-stream", bytes.NewReader(f))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, nil
	}
	status, body, err := onion.OpenResponse(st, b)
	if err != nil {
		return 0, nil, err
	}
	a, err := pushproto.ParseAnswer(body)
	if err != nil {
		e.t.Fatalf("answer %q: %v", body, err)
	}
	return status, a, nil
}

// do sends raw request bytes through an onion frame.
func (e *env) doRaw(body []byte) (int, *pushproto.Answer) {
	e.t.Helper()
	f, st := e.frame(body)
	status, a, err := e.post(f, st)
	if err != nil {
		e.t.Fatal(err)
	}
	return status, a
}

func (e *env) do(r *pushproto.Request) *pushproto.Answer {
	e.t.Helper()
	status, a := e.doRaw(r.Marshal())
	if a == nil {
		e.t.Fatalf("no answer (HTTP %d)", status)
	}
	if want := http.StatusOK; a.Error != "" {
		want = pushproto.Status(a.Error)
		if status != want {
			e.t.Fatalf("status %d for %s", status, a.Error)
		}
	}
	return a
}

// device is one subscription as a device holds it.
type device struct {
	sub    [32]byte
	secret [32]byte
	enc    [32]byte
	mgmt   ed25519.PrivateKey
	target func(r *pushproto.Request)
	ts     time.Time
}

func (e *env) newDevice(provider string) *device {
	d := &device{}
	rand.Read(d.sub[:])
	rand.Read(d.secret[:])
	rand.Read(d.enc[:])
	_, d.mgmt, _ = ed25519.GenerateKey(rand.Reader)
	switch provider {
	case ProviderWebPush:
		s := e.wp.Subscribe(e.t)
		d.target = func(r *pushproto.Request) {
			r.Provider, r.WebPush = ProviderWebPush, &pushproto.WebPushTarget{Endpoint: s.Endpoint, P256dh: s.P256dh, Auth: s.Auth}
		}
	case ProviderAPNs:
		tok := e.apns.DeviceToken()
		d.target = func(r *pushproto.Request) { r.Provider, r.APNs = ProviderAPNs, tok }
	case ProviderFCM:
		tok := e.fcm.DeviceToken()
		d.target = func(r *pushproto.Request) { r.Provider, r.FCM = ProviderFCM, tok }
	}
	return d
}

func (e *env) nextTS(d *device) time.Time {
	ts := e.clock().Truncate(time.Millisecond)
	if !ts.After(d.ts) {
		ts = d.ts.Add(time.Millisecond)
	}
	d.ts = ts
	return ts
}

func (e *env) registerReq(d *device) *pushproto.Request {
	ts := e.nextTS(d)
	r := &pushproto.Request{Op: pushproto.OpRegister, SubID: d.sub, SecretHash: pushproto.SecretHash(d.secret), TS: ts, Expiry: ts.Add(14 * 24 * time.Hour)}
	d.target(r)
	pushproto.SignRequest(r, d.mgmt)
	return r
}

// msgHash stands for the hash of a message named label.
func msgHash(label string) string {
	h := sha256.Sum256([]byte(label))
	return base64.RawStdEncoding.EncodeToString(h[:])
}

func (e *env) notifyReq(d *device, label string) *pushproto.Request {
	hash := msgHash(label)
	p, err := pushproto.SealPayload(d.enc, pushproto.Inner{Namespace: 0, Hash: hash, Count: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	return &pushproto.Request{Op: pushproto.OpNotify, SubID: d.sub, NotifySecret: d.secret, Tag: pushproto.Tag(d.enc, hash), Payload: p}
}

func (e *env) mustOK(a *pushproto.Answer) *pushproto.Answer {
	e.t.Helper()
	if !a.OK {
		e.t.Fatalf("answer %+v", a)
	}
	return a
}

func expectPush(t *testing.T, d *device, pushes chan pushtest.Push, refused chan string, hash string) {
	t.Helper()
	select {
	case p := <-pushes:
		in, err := pushproto.OpenPayload(d.enc, p.Payload)
		if err != nil || in.Hash != msgHash(hash) {
			t.Fatalf("payload: %+v %v", in, err)
		}
	case r := <-refused:
		t.Fatalf("stand-in refused: %s", r)
	case <-time.After(30 * time.Second):
		t.Fatal("no push")
	}
}

func noPush(t *testing.T, pushes chan pushtest.Push) {
	t.Helper()
	select {
	case <-pushes:
		t.Fatal("unexpected push")
	default:
	}
}

// TestNotifyEachProvider registers a subscription per provider through
// onion frames, notifies it as every member of a swarm would (one tag,
// three times) and checks exactly one push arrives, which the device
// opens.
func TestNotifyEachProvider(t *testing.T) {
	e := newEnv(t, envOpts{})
	if a := e.mustOK(e.do(&pushproto.Request{Op: pushproto.OpInfo})); a.VAPIDPublicKey != b64url(e.vapid.PublicKey()) {
		t.Fatalf("info: %+v", a)
	}
	for _, tc := range []struct {
		provider string
		pushes   chan pushtest.Push
		refused  chan string
	}{
		{ProviderWebPush, e.wp.Pushes, e.wp.Refused},
		{ProviderAPNs, e.apns.Pushes, e.apns.Refused},
		{ProviderFCM, e.fcm.Pushes, e.fcm.Refused},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			d := e.newDevice(tc.provider)
			e.mustOK(e.do(e.registerReq(d)))
			hash := "msg-" + tc.provider
			for i := range 3 {
				a := e.mustOK(e.do(e.notifyReq(d, hash)))
				if a.Sent != (i == 0) {
					t.Fatalf("notify %d: sent %v", i, a.Sent)
				}
			}
			expectPush(t, d, tc.pushes, tc.refused, hash)
			noPush(t, tc.pushes)
		})
	}
}

// TestBadInput: every bad request gets its clear 4xx and changes nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t, envOpts{})
	d := e.newDevice(ProviderWebPush)
	e.mustOK(e.do(e.registerReq(d)))
	renew := &pushproto.Request{Op: pushproto.OpRenew, SubID: d.sub, TS: e.nextTS(d), Expiry: e.clock().Add(24 * time.Hour)}
	pushproto.SignRequest(renew, d.mgmt)
	e.mustOK(e.do(renew))
	before, _ := e.store.Get(context.Background(), d.sub)

	forged := e.notifyReq(d, "h1")
	forged.NotifySecret[0] ^= 1
	unknown := e.notifyReq(d, "h2")
	unknown.SubID[0] ^= 1
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	badSig := &pushproto.Request{Op: pushproto.OpRenew, SubID: d.sub, TS: e.nextTS(d), Expiry: e.clock().Add(48 * time.Hour)}
	pushproto.SignRequest(badSig, otherKey)
	stale := &pushproto.Request{Op: pushproto.OpUnsubscribe, SubID: d.sub, TS: e.clock().Add(-10 * time.Minute)}
	pushproto.SignRequest(stale, d.mgmt)
	oversizePayload := strings.Replace(string(e.notifyReq(d, "h3").Marshal()), `","tag"`, `AAAA","tag"`, 1)
	otherOwner := e.registerReq(&device{sub: d.sub, mgmt: otherKey, target: d.target})

	tests := []struct {
		name string
		body []byte
		code string
	}{
		{"forged notify secret", forged.Marshal(), pushproto.CodeForbidden},
		{"unknown sub_id", unknown.Marshal(), pushproto.CodeNotFound},
		{"replayed management signature", renew.Marshal(), pushproto.CodeReplay},
		{"management signature by another key", badSig.Marshal(), pushproto.CodeForbidden},
		{"management timestamp off the clock", stale.Marshal(), pushproto.CodeReplay},
		{"register over another's sub_id", otherOwner.Marshal(), pushproto.CodeForbidden},
		{"oversize payload", []byte(oversizePayload), pushproto.CodeBadRequest},
		{"oversize request", bytes.Repeat([]byte{' '}, pushproto.MaxRequestSize+1), pushproto.CodeTooLarge},
		{"not json", []byte("notify"), pushproto.CodeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, a := e.doRaw(tc.body)
			if a == nil || a.Error != tc.code || status != pushproto.Status(tc.code) {
				t.Fatalf("status %d answer %+v, want %s", status, a, tc.code)
			}
		})
	}
	after, err := e.store.Get(context.Background(), d.sub)
	if err != nil || after.Expiry != before.Expiry || after.LastTS != before.LastTS || !bytes.Equal(after.MgmtKey, before.MgmtKey) {
		t.Fatalf("subscription changed: %+v → %+v (%v)", before, after, err)
	}
	if n, _ := e.store.Count(context.Background()); n[ProviderWebPush] != 1 || len(n) != 1 {
		t.Fatalf("subscriptions %v", n)
	}
	noPush(t, e.wp.Pushes)
}

// TestOnionFrames: a replayed frame is refused by its ephemeral key, an
// oversize frame before it is opened, garbage with a plain 400.
func TestOnionFrames(t *testing.T) {
	e := newEnv(t, envOpts{})
	f, st := e.frame((&pushproto.Request{Op: pushproto.OpInfo}).Marshal())
	if status, a, err := e.post(f, st); err != nil || status != 200 || !a.OK {
		t.Fatalf("first: %d %+v %v", status, a, err)
	}
	if _, _, err := e.post(f, st); !errors.Is(err, onion.ErrReplay) {
		t.Fatalf("replayed frame: %v, want onion.ErrReplay", err)
	}
	if status, _, _ := e.post(make([]byte, 128<<10), nil); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversize frame: %d", status)
	}
	if status, _, _ := e.post(make([]byte, 2<<10), nil); status != http.StatusBadRequest {
		t.Fatalf("garbage frame: %d", status)
	}
}

// TestEndpointRefused: outside the test setting, loopback and private
// endpoints are refused at registration, and an endpoint that passed but
// now leads to loopback (a name re-pointed) is refused at the send.
func TestEndpointRefused(t *testing.T) {
	e := newEnv(t, envOpts{strict: true})
	sub := e.wp.Subscribe(t)
	for _, ep := range []string{sub.Endpoint, "https://127.0.0.1/p", "https://10.0.0.7/p", "https://192.168.0.1/p", "https://[::1]/p", "https://169.254.169.254/latest"} {
		t.Run(ep, func(t *testing.T) {
			d := e.newDevice(ProviderAPNs)
			d.target = func(r *pushproto.Request) {
				r.Provider, r.WebPush = ProviderWebPush, &pushproto.WebPushTarget{Endpoint: ep, P256dh: sub.P256dh, Auth: sub.Auth}
			}
			if a := e.do(e.registerReq(d)); a.Error != pushproto.CodeBadRequest {
				t.Fatalf("registered: %+v", a)
			}
		})
	}
	// As if registered while its name resolved elsewhere.
	d := e.newDevice(ProviderAPNs)
	st := &Subscription{SubID: d.sub, SecretHash: pushproto.SecretHash(d.secret), MgmtKey: d.mgmt.Public().(ed25519.PublicKey),
		Target: Target{Provider: ProviderWebPush, Endpoint: strings.Replace(sub.Endpoint, "localhost", "127.0.0.1", 1), P256dh: sub.P256dh, Auth: sub.Auth},
		Expiry: e.clock().Add(time.Hour), LastTS: e.clock()}
	if err := e.store.Put(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if a := e.do(e.notifyReq(d, "h")); a.Error != pushproto.CodeForbidden {
		t.Fatalf("notify to loopback: %+v", a)
	}
	noPush(t, e.wp.Pushes)
}

// TestSelfNotifyFlood: whoever knows the notify secret (the device
// itself) sends many notifies with distinct tags; the subscription's
// budget lets its burst through and refuses the rest with a retry time.
func TestSelfNotifyFlood(t *testing.T) {
	lim := DefaultLimits()
	lim.PerSubscription = ratelimit.Rate{Burst: 5, PerSecond: 0.2}
	e := newEnv(t, envOpts{limits: lim})
	d := e.newDevice(ProviderFCM)
	e.mustOK(e.do(e.registerReq(d)))
	sent, limited := 0, 0
	for i := range 50 {
		a := e.do(e.notifyReq(d, "flood-"+string(rune('a'+i))))
		switch {
		case a.OK && a.Sent:
			sent++
		case a.Error == pushproto.CodeRateLimited && a.RetryAfterMs > 0:
			limited++
		default:
			t.Fatalf("notify %d: %+v", i, a)
		}
	}
	if sent != 5 || limited != 45 {
		t.Fatalf("sent %d, limited %d; want 5 and 45", sent, limited)
	}
	// A refused notify's tag is not kept: its retry after the wait goes
	// through.
	e.advance(5 * time.Second)
	if a := e.do(e.notifyReq(d, "flood-z")); !a.Sent {
		t.Fatalf("after the wait: %+v", a)
	}
}

// TestGoneDeletes: a provider saying the device is gone deletes the
// subscription, for each provider.
func TestGoneDeletes(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, provider := range []string{ProviderWebPush, ProviderAPNs, ProviderFCM} {
		t.Run(provider, func(t *testing.T) {
			d := e.newDevice(provider)
			reg := e.registerReq(d)
			e.mustOK(e.do(reg))
			switch provider {
			case ProviderWebPush:
				e.wp.Unsubscribe(reg.WebPush.Endpoint)
			case ProviderAPNs:
				e.apns.Unregister(reg.APNs)
			case ProviderFCM:
				e.fcm.Unregister(reg.FCM)
			}
			if a := e.do(e.notifyReq(d, "h")); a.Error != pushproto.CodeGone {
				t.Fatalf("notify: %+v", a)
			}
			if _, err := e.store.Get(context.Background(), d.sub); !errors.Is(err, ErrNotFound) {
				t.Fatalf("subscription kept: %v", err)
			}
		})
	}
}

// TestManagement: renew, update and unsubscribe, each signed.
func TestManagement(t *testing.T) {
	e := newEnv(t, envOpts{})
	d := e.newDevice(ProviderAPNs)
	e.mustOK(e.do(e.registerReq(d)))
	exp := e.clock().Add(3 * 24 * time.Hour).Truncate(time.Millisecond)
	renew := &pushproto.Request{Op: pushproto.OpRenew, SubID: d.sub, TS: e.nextTS(d), Expiry: exp}
	pushproto.SignRequest(renew, d.mgmt)
	if a := e.mustOK(e.do(renew)); a.ExpiryMs != exp.UnixMilli() {
		t.Fatalf("renew: %+v", a)
	}
	tok := e.fcm.DeviceToken()
	upd := &pushproto.Request{Op: pushproto.OpUpdate, SubID: d.sub, TS: e.nextTS(d), Provider: ProviderFCM, FCM: tok}
	pushproto.SignRequest(upd, d.mgmt)
	e.mustOK(e.do(upd))
	e.mustOK(e.do(e.notifyReq(d, "after-update")))
	expectPush(t, d, e.fcm.Pushes, e.fcm.Refused, "after-update")
	unsub := &pushproto.Request{Op: pushproto.OpUnsubscribe, SubID: d.sub, TS: e.nextTS(d)}
	pushproto.SignRequest(unsub, d.mgmt)
	e.mustOK(e.do(unsub))
	if a := e.do(e.notifyReq(d, "after-unsubscribe")); a.Error != pushproto.CodeNotFound {
		t.Fatalf("notify after unsubscribe: %+v", a)
	}
	// Expiry: a subscription past it is gone for notify and swept.
	d2 := e.newDevice(ProviderFCM)
	e.mustOK(e.do(e.registerReq(d2)))
	e.advance(15 * 24 * time.Hour)
	if a := e.do(e.notifyReq(d2, "late")); a.Error != pushproto.CodeNotFound {
		t.Fatalf("notify after expiry: %+v", a)
	}
	if err := e.srv.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.store.Count(context.Background()); len(n) != 0 {
		t.Fatalf("after sweep: %v", n)
	}
}

// TestPrivacy runs the whole flow with debug logs and checks that the
// database files and logs hold no Account ID and no IP address, and that
// the transparency report lists every table with a description and the
// right counts.
func TestPrivacy(t *testing.T) {
	e := newEnv(t, envOpts{})
	acct := identity.NewAccount()
	var devs []*device
	for _, p := range []string{ProviderWebPush, ProviderAPNs, ProviderFCM} {
		d := e.newDevice(p)
		devs = append(devs, d)
		e.mustOK(e.do(e.registerReq(d)))
		// The hash a node would send is the message's, which the push
		// server only sees sealed; the account is nowhere in a request.
		e.mustOK(e.do(e.notifyReq(d, string(acct.ID().String()))))
	}
	forged := e.notifyReq(devs[0], "x")
	forged.NotifySecret[0] ^= 1
	e.do(forged)

	rep, err := e.store.Transparency(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString(rep.Text())
	counts := map[string]int64{}
	for _, k := range rep.Records {
		counts[k.Name] = k.Count
		if k.Description == "undocumented" || len(k.Fields) == 0 {
			t.Errorf("table %s: %+v", k.Name, k)
		}
	}
	rows, _ := e.store.db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		if _, ok := counts[n]; !ok {
			t.Errorf("table %s missing from the transparency report", n)
		}
	}
	rows.Close()
	if counts["subscriptions"] != 3 || counts["tags"] != 3 {
		t.Errorf("counts %v\n%s", counts, buf.String())
	}
	// The whole export (hushd push transparency): the same tables and
	// counts, and every file of the data directory in a described kind.
	full, err := Transparency(context.Background(), e.dir, config.DefaultPush())
	if err != nil {
		t.Fatal(err)
	}
	var counted, onDisk int64
	for _, k := range full.Records {
		if k.Kind == "table" && k.Count != counts[k.Name] {
			t.Errorf("table %s: %d in the export, %d in the store's", k.Name, k.Count, counts[k.Name])
		}
		if k.Kind == "files" {
			counted += k.Count
			if k.Name == "other" {
				t.Errorf("files of no known kind: %+v", k)
			}
		}
	}
	filepath.WalkDir(e.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			onDisk++
		}
		return err
	})
	if counted != onDisk {
		t.Errorf("the export counts %d files, the directory holds %d", counted, onDisk)
	}
	buf.WriteString(full.Text())

	var data []byte
	files, _ := filepath.Glob(filepath.Join(e.dir, "push.db*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		data = append(data, b...)
	}
	for name, blob := range map[string][]byte{"database": data, "logs": []byte(e.logs.String()), "report": buf.Bytes()} {
		for _, secret := range []string{acct.ID().String(), "127.0.0.1", "::1"} {
			if bytes.Contains(blob, []byte(secret)) {
				t.Errorf("%s contains %q", name, secret)
			}
		}
	}
	if !strings.Contains(e.logs.String(), "level=DEBUG") {
		t.Error("no debug logs were written; the check saw nothing")
	}
}

// TestRegistrationBudgets: registrations are budgeted per relay identity
// (the last hop, all the server knows of a request's origin) and in
// total; pushes per Web Push endpoint host.
func TestRegistrationBudgets(t *testing.T) {
	lim := DefaultLimits()
	lim.RegistrationsPerRelay = ratelimit.Rate{Burst: 2, PerSecond: 0.001}
	lim.Registrations = ratelimit.Rate{Burst: 3, PerSecond: 0.001}
	lim.PerEndpointHost = ratelimit.Rate{Burst: 1, PerSecond: 0.001}
	e := newEnv(t, envOpts{limits: lim})
	relayA, relayB := identity.Ed25519PublicKeyFromRaw32([32]byte{1}), identity.Ed25519PublicKeyFromRaw32([32]byte{2})
	register := func(relay identity.Ed25519PublicKey, d *device) *pushproto.Answer {
		return e.srv.Handle(context.Background(), relay, e.registerReq(d).Marshal())
	}
	d1, d2 := e.newDevice(ProviderWebPush), e.newDevice(ProviderWebPush)
	for _, d := range []*device{d1, d2} {
		e.mustOK(register(relayA, d))
	}
	if a := register(relayA, e.newDevice(ProviderAPNs)); a.Error != pushproto.CodeRateLimited || a.RetryAfterMs <= 0 {
		t.Fatalf("third through one relay: %+v", a)
	}
	e.mustOK(register(relayB, e.newDevice(ProviderAPNs)))
	if a := register(relayB, e.newDevice(ProviderAPNs)); a.Error != pushproto.CodeRateLimited {
		t.Fatalf("past the total: %+v", a)
	}
	// Two subscriptions on one endpoint host: the host's budget of one.
	if a := e.do(e.notifyReq(d1, "one")); !a.Sent {
		t.Fatalf("first push to the host: %+v", a)
	}
	if a := e.do(e.notifyReq(d2, "two")); a.Error != pushproto.CodeRateLimited {
		t.Fatalf("second push to the host: %+v", a)
	}
}

// TestDedupeCost: a message every member of a swarm notifies (one tag,
// four times) costs the database one tag claim and at most one
// subscription read, not four of each: the repeats are dropped from
// memory. A tag released after a refused push (the rate limit) is
// claimable again, so the nodes' retry of it is pushed.
func TestDedupeCost(t *testing.T) {
	lim := DefaultLimits()
	lim.PerSubscription = ratelimit.Rate{Burst: 1, PerSecond: 0.1}
	e := newEnv(t, envOpts{limits: lim})
	d := e.newDevice(ProviderFCM)
	e.mustOK(e.do(e.registerReq(d)))
	gets, claims := e.store.gets.Load(), e.store.claims.Load()
	for i := range 4 {
		if a := e.mustOK(e.do(e.notifyReq(d, "once"))); a.Sent != (i == 0) {
			t.Fatalf("notify %d: sent %v", i, a.Sent)
		}
	}
	expectPush(t, d, e.fcm.Pushes, e.fcm.Refused, "once")
	if g, c := e.store.gets.Load()-gets, e.store.claims.Load()-claims; g > 1 || c != 1 {
		t.Errorf("four notifies of one tag: %d subscription reads and %d tag claims in the database, want at most 1 and 1", g, c)
	}

	if a := e.do(e.notifyReq(d, "limited")); a.Error != pushproto.CodeRateLimited {
		t.Fatalf("over the budget: %+v", a)
	}
	e.advance(10 * time.Second)
	if a := e.mustOK(e.do(e.notifyReq(d, "limited"))); !a.Sent {
		t.Fatalf("the retry of a released tag: %+v", a)
	}
	expectPush(t, d, e.fcm.Pushes, e.fcm.Refused, "limited")
}
