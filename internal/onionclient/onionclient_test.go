package onionclient_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
)

// server is an HTTPS server whose certificate is bound to an Ed25519 key,
// as a node's is, answering every request with answer.
type server struct {
	key   identity.Ed25519PublicKey
	addr  string
	conns atomic.Int64
}

func startServer(t *testing.T, answer http.HandlerFunc) *server {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	cert, err := keytls.Certificate(priv)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{}
	s.key = identity.Ed25519PublicKeyOf(priv)
	ts := httptest.NewUnstartedServer(answer)
	ts.TLS = keytls.ServerConfig(cert, nil)
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	s.addr = ts.Listener.Addr().String()
	return s
}

func TestPool(t *testing.T) {
	s := startServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 100)) })
	raw := s.key.Raw32()
	raw[0] ^= 1
	wrong := identity.Ed25519PublicKeyFromRaw32(raw)
	pool := onionclient.NewPool(onionclient.PoolConfig{})
	ctx := context.Background()
	tests := []struct {
		name  string
		key   identity.Ed25519PublicKey
		limit int
		want  error
	}{
		{"pinned key", s.key, 100, nil},
		{"another key", wrong, 100, keytls.ErrWrongKey},
		{"answer over the limit", s.key, 99, onionclient.ErrTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, err := pool.Post(ctx, tc.key, s.addr, "/x", nil, tc.limit)
			if !errors.Is(err, tc.want) || (err == nil && (status != 200 || len(body) != 100)) {
				t.Fatalf("status %d, %d bytes, %v; want %v", status, len(body), err, tc.want)
			}
		})
	}
	before := s.conns.Load()
	for range 5 {
		if _, _, err := pool.Post(ctx, s.key, s.addr, "/x", nil, 100); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.conns.Load() - before; n != 0 {
		t.Fatalf("5 posts opened %d new connections, want the kept one", n)
	}
}

func TestSendErrors(t *testing.T) {
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	node := func(s *server) snapshot.Node {
		n := snapshot.Node{Ed25519: s.key, Address: s.addr}
		copy(n.X25519[:], x.PublicKey().Bytes())
		return n
	}
	rejects := startServer(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "malformed frame", 400) })
	garbage := startServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, onion.SizeClasses[0])) })
	down := node(garbage)
	down.Address = "127.0.0.1:1"
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		path []snapshot.Node
		hop  int
		want error
	}{
		{"first hop down", context.Background(), []snapshot.Node{down}, 0, onionclient.ErrUnreachable},
		{"first hop refuses the frame", context.Background(), []snapshot.Node{node(rejects)}, 0, onionclient.ErrRejected},
		{"answer that opens under no key", context.Background(), []snapshot.Node{node(garbage)}, -1, onion.ErrResponseUndecryptable},
		{"cancelled by the caller", cancelled, []snapshot.Node{node(garbage)}, 0, context.Canceled},
	}
	pool := onionclient.NewPool(onionclient.PoolConfig{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := onionclient.Send(tc.ctx, pool, tc.path, node(garbage), []byte("{}"))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			var he *onionclient.HopError
			if errors.As(err, &he) != (tc.want != context.Canceled) || (he != nil && he.Hop != tc.hop) {
				t.Fatalf("err %v: want a HopError at %d", err, tc.hop)
			}
		})
	}
	if _, _, err := onionclient.SendServer(context.Background(), pool, nil, onion.ServerTarget{}, snapshot.X25519Key{}, nil); err == nil {
		t.Fatal("SendServer without a path")
	}
}
