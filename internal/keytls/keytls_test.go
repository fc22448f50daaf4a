package keytls

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"testing"

	"github.com/hushnet/hush/identity"
)

func key(label string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(label))
	return ed25519.NewKeyFromSeed(s[:])
}

// serve answers TLS handshakes with priv's certificate until the test ends.
func serve(t *testing.T, priv ed25519.PrivateKey) string {
	t.Helper()
	cert, err := Certificate(priv)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ServerConfig(cert, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// TestClientPinning: a client config admits the server's own key and
// refuses any other in the handshake, with ErrWrongKey.
func TestClientPinning(t *testing.T) {
	node := key("node")
	addr := serve(t, node)
	tests := []struct {
		name    string
		key     identity.Ed25519PublicKey
		wantErr error
	}{
		{"right key", identity.Ed25519PublicKeyOf(node), nil},
		{"another node's key", identity.Ed25519PublicKeyOf(key("other")), ErrWrongKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tls.Dialer{Config: ClientConfig(nil, Only(tt.key))}
			c, err := d.DialContext(context.Background(), "tcp", addr)
			if err == nil {
				c.Close()
			}
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("dial: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestMutualPinning(t *testing.T) {
	srvKey, good, bad := key("server"), key("trusted client"), key("untrusted client")
	srvCert, _ := Certificate(srvKey)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ServerConfig(srvCert, Only(identity.Ed25519PublicKeyOf(good))))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				// TLS 1.3 clients learn of a rejected certificate on read.
				c.(*tls.Conn).Handshake()
				c.Write([]byte("x"))
				c.Close()
			}()
		}
	}()
	dial := func(client ed25519.PrivateKey) error {
		cert, _ := Certificate(client)
		c, err := tls.Dial("tcp", ln.Addr().String(), ClientConfig(&cert, Only(identity.Ed25519PublicKeyOf(srvKey))))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Read(make([]byte, 1))
		return err
	}
	if err := dial(good); err != nil {
		t.Fatalf("trusted client refused: %v", err)
	}
	if err := dial(bad); err == nil {
		t.Fatal("untrusted client accepted")
	}
}

// TestPeerNode: a server that only requests client certificates learns the
// key of a relay that presents one, and nothing from a client without.
func TestPeerNode(t *testing.T) {
	srvKey, relayKey, strangerKey := key("server"), key("relay"), key("stranger")
	srvCert, _ := Certificate(srvKey)
	cfg := ServerConfig(srvCert, nil)
	RequestClientCerts(cfg)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	states := make(chan tls.ConnectionState, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			tc.Handshake()
			states <- tc.ConnectionState()
			c.Close()
		}
	}()
	isNode := Only(identity.Ed25519PublicKeyOf(relayKey))
	tests := []struct {
		name string
		cert ed25519.PrivateKey
		want bool
	}{
		{"relay of the snapshot", relayKey, true},
		{"key outside the snapshot", strangerKey, false},
		{"no certificate", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cert *tls.Certificate
			if tt.cert != nil {
				c, _ := Certificate(tt.cert)
				cert = &c
			}
			c, err := tls.Dial("tcp", ln.Addr().String(), ClientConfig(cert, Only(identity.Ed25519PublicKeyOf(srvKey))))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			st := <-states
			k, ok := PeerNode(&st, isNode)
			if ok != tt.want || (ok && k != identity.Ed25519PublicKeyOf(relayKey)) {
				t.Fatalf("PeerNode = %s, %v", k, ok)
			}
		})
	}
	if _, ok := PeerNode(nil, isNode); ok {
		t.Fatal("a connection without TLS names a node")
	}
}
