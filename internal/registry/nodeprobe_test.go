package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/protocol/rpc"
)

func TestNodeProber(t *testing.T) {
	nodeKey, otherKey := testKey("node 1"), testKey("node 2")
	serve := func(t *testing.T, reported identity.Ed25519PublicKey, netID string) string {
		cert, err := keytls.Certificate(nodeKey) // what internal/node presents: a self-signed cert for its key
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(rpc.InfoResult{Version: "0.1.0", NetworkID: netID, PubkeyEd25519: reported.String(), T: time.Now().UnixMilli()})
		})}
		srv.TLSConfig = keytls.ServerConfig(cert, nil)
		go srv.ServeTLS(ln, "", "")
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().String()
	}
	tests := []struct {
		name     string
		reported identity.Ed25519PublicKey
		netID    string
		probeKey identity.Ed25519PublicKey
		ok       bool
	}{
		{"answers with its key", identity.Ed25519PublicKeyOf(nodeKey), testNet, identity.Ed25519PublicKeyOf(nodeKey), true},
		{"another key in TLS", identity.Ed25519PublicKeyOf(nodeKey), testNet, identity.Ed25519PublicKeyOf(otherKey), false},
		{"reports another key", identity.Ed25519PublicKeyOf(otherKey), testNet, identity.Ed25519PublicKeyOf(nodeKey), false},
		{"another network", identity.Ed25519PublicKeyOf(nodeKey), "othernet", identity.Ed25519PublicKeyOf(nodeKey), false},
		{"nobody listening", identity.Ed25519PublicKey{}, "", identity.Ed25519PublicKeyOf(nodeKey), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var addr string
			if tt.netID == "" {
				closed, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr = closed.Addr().String()
				closed.Close()
			} else {
				addr = serve(t, tt.reported, tt.netID)
			}
			p := &NodeProber{NetworkID: testNet}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := p.Probe(ctx, addr, tt.probeKey)
			if tt.ok != (err == nil) {
				t.Fatalf("Probe: %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, entry.ErrUnreachable) {
				t.Fatalf("error %v does not wrap ErrUnreachable", err)
			}
		})
	}
}
