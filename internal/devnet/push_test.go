package devnet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/push/pushtest"
	pushproto "github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/snapshot"
)

// withReceiver points the devnet's push server at a Web Push receiver's
// test CA.
func withReceiver(t *testing.T, o Options) (Options, *pushtest.WebPushReceiver) {
	ca := pushtest.NewCA(t)
	rcv := pushtest.StartWebPush(t, ca)
	roots := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(roots, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	o.Push = func(c *config.Push) { c.TestExtraRoots = roots }
	return o, rcv
}

// pushThrough registers a Web Push subscription at the devnet's push
// server and notifies it, each through an onion path of three of the
// devnet's nodes (the last forwards to the server the network file
// names, pinning its key), and waits for the one push.
func pushThrough(t *testing.T, ctx context.Context, d *Devnet, rcv *pushtest.WebPushReceiver) {
	t.Helper()
	svc := d.Network().Services.Push
	if svc == nil {
		t.Fatal("the network file names no push server")
	}
	target := svc.OnionTarget(pushproto.Target)
	pool := onionclient.NewPool(onionclient.PoolConfig{})
	defer pool.Close()
	nodes := d.Nodes()
	path := []snapshot.Node{nodes[0].Node, nodes[1].Node, nodes[2].Node}
	send := func(r *pushproto.Request) (*pushproto.Answer, error) {
		_, body, err := onionclient.SendServer(ctx, pool, path, target, *svc.X25519, r.Marshal())
		if err != nil {
			return nil, err
		}
		return pushproto.ParseAnswer(body)
	}
	// The server serves the relays of the snapshots it follows; the first
	// may still be on its way.
	var info *pushproto.Answer
	for {
		a, err := send(&pushproto.Request{Op: pushproto.OpInfo})
		if err == nil && a.OK {
			info = a
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("push server never answered: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	vapid, _ := base64.RawURLEncoding.DecodeString(info.VAPIDPublicKey)
	// The key the devnet wrote for local receivers is the one the push
	// server announces.
	if !bytes.Equal(vapid, d.Push().VAPIDPublic) {
		t.Fatalf("the devnet's VAPID key %x, the push server's %x", d.Push().VAPIDPublic, vapid)
	}
	rcv.ExpectVAPID(vapid)
	sub := rcv.Subscribe(t)
	var subID, secret, enc [32]byte
	rand.Read(subID[:])
	rand.Read(secret[:])
	rand.Read(enc[:])
	_, mgmt, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	reg := &pushproto.Request{Op: pushproto.OpRegister, SubID: subID, SecretHash: pushproto.SecretHash(secret), Provider: pushproto.ProviderWebPush,
		WebPush: &pushproto.WebPushTarget{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}, TS: now, Expiry: now.Add(time.Hour)}
	pushproto.SignRequest(reg, mgmt)
	if a, err := send(reg); err != nil || !a.OK {
		t.Fatalf("register: %+v %v", a, err)
	}
	h := sha256.Sum256([]byte("devnet message"))
	hash := base64.RawStdEncoding.EncodeToString(h[:])
	payload, _ := pushproto.SealPayload(enc, pushproto.Inner{Hash: hash, Count: 1})
	n := &pushproto.Request{Op: pushproto.OpNotify, SubID: subID, NotifySecret: secret, Tag: pushproto.Tag(enc, hash), Payload: payload}
	if a, err := send(n); err != nil || !a.Sent {
		t.Fatalf("notify: %+v %v", a, err)
	}
	select {
	case p := <-rcv.Pushes:
		if in, err := pushproto.OpenPayload(enc, p.Payload); err != nil || in.Hash != hash {
			t.Fatalf("push: %+v %v", in, err)
		}
	case r := <-rcv.Refused:
		t.Fatal(r)
	case <-ctx.Done():
		t.Fatal("no push")
	}
}

// TestDevnetPush: a devnet starts a push server, lists it in its network
// file, and its nodes relay to it.
func TestDevnetPush(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o, rcv := withReceiver(t, Options{Nodes: 3})
	d := up(t, ctx, o)
	pushThrough(t, ctx, d, rcv)
}
