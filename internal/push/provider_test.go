package push

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/webpush"
	"github.com/hushnet/hush/internal/push/pushtest"
)

func testPayload() []byte {
	p := make([]byte, 296)
	rand.Read(p)
	return p
}

func recv(t *testing.T, c chan pushtest.Push, refused chan string) pushtest.Push {
	t.Helper()
	select {
	case p := <-c:
		return p
	case r := <-refused:
		t.Fatalf("stand-in refused: %s", r)
	case <-time.After(30 * time.Second):
		t.Fatal("no push")
	}
	return pushtest.Push{}
}

// TestWebPushProvider sends through the Web Push provider to the
// receiver, which checks VAPID and decrypts; an unsubscribed endpoint is
// gone; loopback is refused outside the test setting.
func TestWebPushProvider(t *testing.T) {
	ca := pushtest.NewCA(t)
	rcv := pushtest.StartWebPush(t, ca)
	vapid, _ := webpush.GenerateVAPIDKey(rand.Reader)
	rcv.ExpectVAPID(vapid.PublicKey())
	wp := NewWebPush(WebPushConfig{VAPID: vapid, Subject: "mailto:ops@example.org", AllowLoopback: true, ExtraRoots: ca.Pool()})
	sub := rcv.Subscribe(t)
	tgt := Target{Provider: ProviderWebPush, Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}
	p := testPayload()
	if err := wp.Send(context.Background(), tgt, p); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, rcv.Pushes, rcv.Refused); !bytes.Equal(got.Payload, p) {
		t.Fatal("payload differs")
	}
	rcv.Unsubscribe(sub.Endpoint)
	if err := wp.Send(context.Background(), tgt, p); !errors.Is(err, ErrGone) {
		t.Fatalf("unsubscribed: %v", err)
	}

	strict := NewWebPush(WebPushConfig{VAPID: vapid, Subject: "mailto:ops@example.org", ExtraRoots: ca.Pool()})
	sub2 := rcv.Subscribe(t)
	for _, ep := range []string{sub2.Endpoint, "https://localhost:1/x", "https://10.1.2.3/x", "https://[fe80::1]/x", "https://169.254.169.254/x", "http://push.example.com/x"} {
		err := strict.Send(context.Background(), Target{Provider: ProviderWebPush, Endpoint: ep, P256dh: sub2.P256dh, Auth: sub2.Auth}, p)
		if !errors.Is(err, ErrUnsafeEndpoint) {
			t.Errorf("%s: %v, want ErrUnsafeEndpoint", ep, err)
		}
	}
}

// TestSafeDialerAfterResolution: a name (localhost) passes the
// registration check in the test setting only; without it, the dial
// itself refuses the resolved loopback address, which is what catches a
// public name that resolves to a private address.
func TestSafeDialerAfterResolution(t *testing.T) {
	dial := safeDialer(false)
	for _, addr := range []string{"localhost:443", "127.0.0.1:443", "[::1]:443", "10.0.0.1:443", "192.168.1.1:443"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := dial(ctx, "tcp", addr)
		cancel()
		if !errors.Is(err, ErrUnsafeEndpoint) {
			t.Errorf("%s: %v, want ErrUnsafeEndpoint", addr, err)
		}
	}
}

func TestAPNsProvider(t *testing.T) {
	ca := pushtest.NewCA(t)
	for _, pt := range []string{"alert", "background"} {
		t.Run(pt, func(t *testing.T) {
			s := pushtest.StartAPNs(t, ca, "net.hush.app")
			a, err := NewAPNs(APNsConfig{BaseURL: s.URL, TeamID: s.Team, KeyID: s.KeyID, Key: s.Key, Topic: s.Topic, PushType: pt, ExtraRoots: ca.Pool()})
			if err != nil {
				t.Fatal(err)
			}
			tok := s.DeviceToken()
			p := testPayload()
			if err := a.Send(context.Background(), Target{Provider: ProviderAPNs, Token: tok}, p); err != nil {
				t.Fatal(err)
			}
			got := recv(t, s.Pushes, s.Refused)
			if !bytes.Equal(got.Payload, p) || got.Header.Get("apns-push-type") != pt {
				t.Fatalf("push %+v", got)
			}
			s.Unregister(tok)
			if err := a.Send(context.Background(), Target{Provider: ProviderAPNs, Token: tok}, p); !errors.Is(err, ErrGone) {
				t.Fatalf("unregistered: %v", err)
			}
		})
	}
}

func TestFCMProvider(t *testing.T) {
	ca := pushtest.NewCA(t)
	s := pushtest.StartFCM(t, ca, "hush-test")
	sa, key, err := ParseServiceAccount(s.ServiceAccountJSON)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFCM(FCMConfig{BaseURL: s.URL, ProjectID: sa.ProjectID, ClientEmail: sa.ClientEmail, Key: key, TokenURL: sa.TokenURI, ExtraRoots: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	tok := s.DeviceToken()
	for range 2 {
		p := testPayload()
		if err := f.Send(context.Background(), Target{Provider: ProviderFCM, Token: tok}, p); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, s.Pushes, s.Refused); !bytes.Equal(got.Payload, p) {
			t.Fatal("payload differs")
		}
	}
	if n := len(s.TokenRequests); n != 1 {
		t.Errorf("%d token exchanges for two sends, want 1 (the bearer is reused)", n)
	}
	s.Unregister(tok)
	if err := f.Send(context.Background(), Target{Provider: ProviderFCM, Token: tok}, testPayload()); !errors.Is(err, ErrGone) {
		t.Fatalf("unregistered: %v", err)
	}
}

// TestProviderReuse: pushes through one provider share one connection to
// it and one credential — the VAPID JWT per push service origin, the APNs
// provider token, the FCM bearer — instead of a handshake and a signature
// (or a token exchange) per push, which a push's latency would pay.
func TestProviderReuse(t *testing.T) {
	const n = 5
	ca := pushtest.NewCA(t)
	tests := []struct {
		name string
		// start returns a send of one push, the stand-in's pushes and
		// refusals, its connection count, and how many credentials the
		// provider made so far.
		start func(t *testing.T) (send func() error, pushes chan pushtest.Push, refused chan string, conns func() int64, creds func(seen []pushtest.Push) int)
	}{
		{"webpush", func(t *testing.T) (func() error, chan pushtest.Push, chan string, func() int64, func([]pushtest.Push) int) {
			rcv := pushtest.StartWebPush(t, ca)
			vapid, _ := webpush.GenerateVAPIDKey(rand.Reader)
			rcv.ExpectVAPID(vapid.PublicKey())
			wp := NewWebPush(WebPushConfig{VAPID: vapid, Subject: "mailto:ops@example.org", AllowLoopback: true, ExtraRoots: ca.Pool()})
			// Two subscriptions of one push service: one origin.
			subs := []pushtest.WebPushSubscription{rcv.Subscribe(t), rcv.Subscribe(t)}
			i := 0
			send := func() error {
				s := subs[i%len(subs)]
				i++
				return wp.Send(context.Background(), Target{Provider: ProviderWebPush, Endpoint: s.Endpoint, P256dh: s.P256dh, Auth: s.Auth}, testPayload())
			}
			return send, rcv.Pushes, rcv.Refused, rcv.Conns, distinctHeader("Authorization")
		}},
		{"apns", func(t *testing.T) (func() error, chan pushtest.Push, chan string, func() int64, func([]pushtest.Push) int) {
			s := pushtest.StartAPNs(t, ca, "net.hush.app")
			a, err := NewAPNs(APNsConfig{BaseURL: s.URL, TeamID: s.Team, KeyID: s.KeyID, Key: s.Key, Topic: s.Topic, ExtraRoots: ca.Pool()})
			if err != nil {
				t.Fatal(err)
			}
			tok := s.DeviceToken()
			send := func() error {
				return a.Send(context.Background(), Target{Provider: ProviderAPNs, Token: tok}, testPayload())
			}
			return send, s.Pushes, s.Refused, s.Conns, distinctHeader("Authorization")
		}},
		{"fcm", func(t *testing.T) (func() error, chan pushtest.Push, chan string, func() int64, func([]pushtest.Push) int) {
			s := pushtest.StartFCM(t, ca, "hush-test")
			sa, key, err := ParseServiceAccount(s.ServiceAccountJSON)
			if err != nil {
				t.Fatal(err)
			}
			f, err := NewFCM(FCMConfig{BaseURL: s.URL, ProjectID: sa.ProjectID, ClientEmail: sa.ClientEmail, Key: key, TokenURL: sa.TokenURI, ExtraRoots: ca.Pool()})
			if err != nil {
				t.Fatal(err)
			}
			tok := s.DeviceToken()
			send := func() error {
				return f.Send(context.Background(), Target{Provider: ProviderFCM, Token: tok}, testPayload())
			}
			// The token exchange goes to the stand-in too, over the
			// same connection.
			return send, s.Pushes, s.Refused, s.Conns, func([]pushtest.Push) int { return len(s.TokenRequests) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send, pushes, refused, conns, creds := tt.start(t)
			var seen []pushtest.Push
			for range n {
				if err := send(); err != nil {
					t.Fatal(err)
				}
				seen = append(seen, recv(t, pushes, refused))
			}
			if c := conns(); c != 1 {
				t.Errorf("%d connections opened for %d pushes, want 1", c, n)
			}
			if c := creds(seen); c != 1 {
				t.Errorf("%d credentials (JWTs signed or bearers fetched) for %d pushes, want 1", c, n)
			}
		})
	}
}

// distinctHeader counts the distinct values of a header over pushes.
func distinctHeader(name string) func([]pushtest.Push) int {
	return func(ps []pushtest.Push) int {
		seen := map[string]bool{}
		for _, p := range ps {
			seen[p.Header.Get(name)] = true
		}
		return len(seen)
	}
}

// TestVAPIDRenewal: one origin's VAPID header is reused until less than
// vapidRenew of its JWT is left, then signed anew; another origin gets
// its own (its aud differs).
func TestVAPIDRenewal(t *testing.T) {
	vapid, _ := webpush.GenerateVAPIDKey(rand.Reader)
	now := time.Unix(1_800_000_000, 0)
	wp := NewWebPush(WebPushConfig{VAPID: vapid, Subject: "mailto:ops@example.org", Now: func() time.Time { return now }})
	get := func(ep string) string {
		t.Helper()
		h, err := wp.authorization(ep)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	first := get("https://push.example.org/a")
	now = now.Add(vapidLifetime - vapidRenew - time.Second)
	if get("https://push.example.org/b") != first {
		t.Fatal("renewed before its time")
	}
	if get("https://other.example.org/a") == first {
		t.Fatal("another origin got the same JWT")
	}
	now = now.Add(time.Second)
	if get("https://push.example.org/a") == first {
		t.Fatal("not renewed with vapidRenew left")
	}
}
