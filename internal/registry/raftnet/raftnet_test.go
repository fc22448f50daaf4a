package raftnet

import (
	"crypto/ed25519"
	"crypto/sha256"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
)

func layer(t *testing.T, label string, trusted func(identity.Ed25519PublicKey) bool) (*Layer, ed25519.PrivateKey) {
	t.Helper()
	s := sha256.Sum256([]byte(label))
	k := ed25519.NewKeyFromSeed(s[:])
	cert, err := keytls.Certificate(k)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(ln, "", cert, trusted)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, k
}

func TestPinnedBothWays(t *testing.T) {
	trusted := map[identity.Ed25519PublicKey]bool{}
	trust := func(k identity.Ed25519PublicKey) bool { return trusted[k] }
	a, aKey := layer(t, "a", trust)
	b, bKey := layer(t, "b", trust)
	go func() {
		for {
			c, err := a.Accept()
			if err != nil {
				return
			}
			go func() { c.Write([]byte("hi")); c.Close() }()
		}
	}()
	roundTrip := func() error {
		c, err := b.Dial(raft.ServerAddress(a.Addr().String()), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = io.ReadAll(c)
		return err
	}
	tests := []struct {
		name    string
		trusted []ed25519.PrivateKey
		ok      bool
	}{
		{"neither trusted", nil, false},
		{"only the server trusted", []ed25519.PrivateKey{aKey}, false},
		{"both trusted", []ed25519.PrivateKey{aKey, bKey}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clear(trusted)
			for _, k := range tt.trusted {
				trusted[identity.Ed25519PublicKeyOf(k)] = true
			}
			if err := roundTrip(); (err == nil) != tt.ok {
				t.Fatalf("round trip: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
