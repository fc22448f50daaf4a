package push_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/push"
	"github.com/hushnet/hush/internal/push/pushtest"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/onion"
	pushproto "github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/snapshot"
)

// startService runs a push Service as hushd push does (TLS with its
// Ed25519 key, the test setting for Web Push) and returns it with the
// relay-side description of it.
func startService(t *testing.T, ca *pushtest.CA, logs io.Writer) (*push.Service, relay.StewardServer, snapshot.X25519Key) {
	t.Helper()
	dir := t.TempDir()
	roots := filepath.Join(dir, "ca.pem")
	os.WriteFile(roots, ca.PEM, 0o600)
	cfg := config.DefaultPush()
	cfg.Data, cfg.Listen = filepath.Join(dir, "data"), "127.0.0.1:0"
	cfg.TestAllowLoopback, cfg.TestExtraRoots = true, roots
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	svc, err := push.NewService(cfg, push.Keys{Ed25519: edPriv, X25519: x}, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-svc.Ready():
	case err := <-done:
		done <- err // for the cleanup, which waits for Run
		t.Fatal(err)
	}
	port := svc.Addr().(*net.TCPAddr).Port
	target := onion.ServerTarget{Host: "127.0.0.1", Port: uint16(port), Protocol: "https", Method: http.MethodPost, Target: pushproto.Target}
	var xk snapshot.X25519Key
	copy(xk[:], x.PublicKey().Bytes())
	return svc, relay.StewardServer{Target: target, Ed25519: identity.Ed25519PublicKeyOf(edPriv)}, xk
}

// TestThroughRelays: a device registers and a node notifies through real
// onion paths of three relays that pin the push server's TLS key; one
// push reaches the Web Push receiver. Once the server follows a snapshot
// that does not list the relays, it refuses them.
func TestThroughRelays(t *testing.T) {
	ca := pushtest.NewCA(t)
	rcv := pushtest.StartWebPush(t, ca)
	var logs syncBuffer
	svc, server, xk := startService(t, ca, &logs)
	nw := relaytest.Start(t, relaytest.Options{Nodes: 3, StewardServers: []relay.StewardServer{server}})
	pool := nw.ClientPool()
	path := []snapshot.Node{nw.Nodes[0].Info, nw.Nodes[1].Info, nw.Nodes[2].Info}
	send := func(r *pushproto.Request) (*pushproto.Answer, error) {
		t.Helper()
		status, body, err := onionclient.SendServer(context.Background(), pool, path, server.Target, xk, r.Marshal())
		if err != nil {
			return nil, err
		}
		a, err := pushproto.ParseAnswer(body)
		if err != nil {
			t.Fatalf("answer %q: %v", body, err)
		}
		if a.OK != (status == http.StatusOK) {
			t.Fatalf("status %d with %+v", status, a)
		}
		return a, nil
	}

	info, err := send(&pushproto.Request{Op: pushproto.OpInfo})
	if err != nil || !info.OK {
		t.Fatalf("info: %+v %v", info, err)
	}
	vapid, _ := base64.RawURLEncoding.DecodeString(info.VAPIDPublicKey)
	rcv.ExpectVAPID(vapid)

	sub := rcv.Subscribe(t)
	var subID, secret, enc [32]byte
	rand.Read(subID[:])
	rand.Read(secret[:])
	rand.Read(enc[:])
	_, mgmt, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Now()
	reg := &pushproto.Request{Op: pushproto.OpRegister, SubID: subID, SecretHash: pushproto.SecretHash(secret), Provider: pushproto.ProviderWebPush,
		WebPush: &pushproto.WebPushTarget{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}, TS: now, Expiry: now.Add(24 * time.Hour)}
	pushproto.SignRequest(reg, mgmt)
	if a, err := send(reg); err != nil || !a.OK {
		t.Fatalf("register: %+v %v", a, err)
	}
	h := sha256.Sum256([]byte("a message"))
	hash := base64.RawStdEncoding.EncodeToString(h[:])
	payload, _ := pushproto.SealPayload(enc, pushproto.Inner{Hash: hash, Count: 1})
	notify := &pushproto.Request{Op: pushproto.OpNotify, SubID: subID, NotifySecret: secret, Tag: pushproto.Tag(enc, hash), Payload: payload}
	if a, err := send(notify); err != nil || !a.Sent {
		t.Fatalf("notify: %+v %v", a, err)
	}
	select {
	case p := <-rcv.Pushes:
		in, err := pushproto.OpenPayload(enc, p.Payload)
		if err != nil || in.Hash != hash {
			t.Fatalf("push: %+v %v", in, err)
		}
	case r := <-rcv.Refused:
		t.Fatal(r)
	case <-time.After(30 * time.Second):
		t.Fatal("no push")
	}

	// A snapshot of another network's nodes: these relays are no longer
	// served.
	other := *nw.Snapshot
	other.Nodes = nil
	svc.Server().SetSnapshot(&other)
	_, err = send(&pushproto.Request{Op: pushproto.OpInfo})
	var he *onionclient.HopError
	if !errors.As(err, &he) || !errors.Is(err, onion.ErrDestinationFailed) {
		t.Fatalf("unregistered relay: %v", err)
	}
	svc.Server().SetSnapshot(nw.Snapshot)
	if a, err := send(&pushproto.Request{Op: pushproto.OpInfo}); err != nil || !a.OK {
		t.Fatalf("registered relay: %+v %v", a, err)
	}

	// Neither the client's address nor the relays' (the only IPs the
	// server ever sees) is in its database or its debug logs.
	var data []byte
	files, _ := filepath.Glob(filepath.Join(svc.DataDir(), push.DBFile+"*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		data = append(data, b...)
	}
	if len(files) == 0 || !strings.Contains(logs.String(), "level=DEBUG") {
		t.Fatalf("nothing to check: %d files, logs %q", len(files), logs.String())
	}
	ips := []string{relaytest.ClientIP}
	for _, n := range nw.Nodes {
		ips = append(ips, n.IP)
	}
	for _, ip := range ips {
		for name, blob := range map[string]string{"database": string(data), "logs": logs.String()} {
			if strings.Contains(blob, ip) {
				t.Errorf("%s holds address %s", name, ip)
			}
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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
