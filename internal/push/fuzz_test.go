package push

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	pushproto "github.com/hushnet/hush/protocol/push"
)

// countingProvider accepts every push.
type countingProvider struct{ n atomic.Int64 }

func (c *countingProvider) Send(context.Context, Target, []byte) error { c.n.Add(1); return nil }

// FuzzHandle feeds arbitrary request bodies to the server (one
// subscription registered, a provider that accepts everything): it must
// never panic, always answer with something ParseAnswer accepts, and
// never store a subscription whose registration was not signed.
func FuzzHandle(f *testing.F) {
	st, err := OpenStore(filepath.Join(f.TempDir(), DBFile))
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	now := time.Now()
	srv, err := New(Config{X25519: x, Store: st, Providers: map[string]Provider{ProviderFCM: &countingProvider{}, ProviderAPNs: &countingProvider{}},
		Clock: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	var sub, secret, enc [32]byte
	rand.Read(sub[:])
	rand.Read(secret[:])
	_, mgmt, _ := ed25519.GenerateKey(rand.Reader)
	reg := &pushproto.Request{Op: pushproto.OpRegister, SubID: sub, SecretHash: pushproto.SecretHash(secret), Provider: ProviderFCM, FCM: "tok:1",
		TS: now, Expiry: now.Add(time.Hour)}
	pushproto.SignRequest(reg, mgmt)
	if a := srv.Handle(context.Background(), identity.Ed25519PublicKey{}, reg.Marshal()); !a.OK {
		f.Fatalf("%+v", a)
	}
	payload, _ := pushproto.SealPayload(enc, pushproto.Inner{Hash: msgHash("m"), Count: 1})
	renew := &pushproto.Request{Op: pushproto.OpRenew, SubID: sub, TS: now.Add(time.Second), Expiry: now.Add(2 * time.Hour)}
	pushproto.SignRequest(renew, mgmt)
	for _, r := range []*pushproto.Request{
		{Op: pushproto.OpInfo},
		{Op: pushproto.OpNotify, SubID: sub, NotifySecret: secret, Tag: pushproto.Tag(enc, "m"), Payload: payload},
		renew, reg,
	} {
		f.Add(r.Marshal())
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a := srv.Handle(context.Background(), identity.Ed25519PublicKey{}, body)
		if _, err := pushproto.ParseAnswer(a.Marshal()); err != nil {
			t.Fatalf("answer %s: %v", a.Marshal(), err)
		}
		if a.OK {
			if r, err := pushproto.ParseRequest(body); err != nil {
				t.Fatalf("ok for an unparsable request: %v", err)
			} else if r.Op == pushproto.OpRegister && r.Verify(r.MgmtKey) != nil {
				t.Fatal("registered without a valid signature")
			}
		}
	})
}
