package relaytest

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"net/http"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Steward is a stand-in steward server (file server, push server): it
// opens its own onion layer and answers "ok: " and the request.
type Steward struct {
	Target onion.ServerTarget
	Key    snapshot.X25519Key
	// Ed25519 is the key of its TLS certificate ([StartPinnedSteward]);
	// zero over plain HTTP.
	Ed25519 identity.Ed25519PublicKey
	// Seen receives "METHOD /path body" for each request it opened.
	Seen chan string
	// Relays receives the node identity each request's connection proved
	// with its client certificate (zero for none), over TLS only.
	Relays chan identity.Ed25519PublicKey

	priv *ecdh.PrivateKey
}

// StartSteward serves a Steward over plain HTTP on 127.0.0.1 until the
// test ends. Plain HTTP is enough here: the payload is sealed to the
// server's key.
func StartSteward(t testing.TB, path string) *Steward {
	t.Helper()
	s, ln := newSteward(t, path, "http")
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// StartPinnedSteward serves a Steward over HTTPS with a certificate for
// a fresh Ed25519 key, as a real steward server does, asking relays for
// their certificates. Nodes reach it through [Options.StewardServers].
func StartPinnedSteward(t testing.TB, path string) *Steward {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	cert, err := keytls.Certificate(priv)
	if err != nil {
		t.Fatal(err)
	}
	s, ln := newSteward(t, path, "https")
	s.Ed25519 = identity.Ed25519PublicKeyOf(priv)
	conf := keytls.ServerConfig(cert, nil)
	keytls.RequestClientCerts(conf)
	srv := &http.Server{Handler: s, TLSConfig: conf}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return s
}

// Server is s as a node's relay lists it.
func (s *Steward) Server() relay.StewardServer {
	return relay.StewardServer{Target: s.Target, Ed25519: s.Ed25519}
}

func newSteward(t testing.TB, path, protocol string) (*Steward, net.Listener) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Steward{Seen: make(chan string, 64), Relays: make(chan identity.Ed25519PublicKey, 64), priv: priv}
	copy(s.Key[:], priv.PublicKey().Bytes())
	port := ln.Addr().(*net.TCPAddr).Port
	s.Target = onion.ServerTarget{Host: "127.0.0.1", Port: uint16(port), Protocol: protocol, Target: path, Method: http.MethodPost}
	return s, ln
}

func (s *Steward) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	buf.ReadFrom(r.Body)
	l, err := onion.Peel(s.priv, buf.Bytes())
	if err != nil || l.Instruction.Kind != onion.KindDestination {
		http.Error(w, "bad frame", http.StatusBadRequest)
		return
	}
	select {
	case s.Seen <- r.Method + " " + r.URL.Path + " " + string(l.Inner):
	default:
	}
	if r.TLS != nil {
		k, _ := keytls.PeerNode(r.TLS, func(identity.Ed25519PublicKey) bool { return true })
		select {
		case s.Relays <- k:
		default:
		}
	}
	resp, err := l.Responder.Seal(http.StatusOK, append([]byte("ok: "), l.Inner...))
	if err != nil {
		http.Error(w, "seal", http.StatusInternalServerError)
		return
	}
	w.Write(resp)
}
