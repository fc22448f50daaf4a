package relaytest

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"net"
	"net/http"
	"testing"

	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Steward is a stand-in steward server (file server, push server): it
// opens its own onion layer and answers "ok: " and the request.
type Steward struct {
	Target onion.ServerTarget
	Key    snapshot.X25519Key
	// Seen receives "METHOD /path body" for each request it opened.
	Seen chan string

	priv *ecdh.PrivateKey
}

// StartSteward serves a Steward over plain HTTP on 127.0.0.1 until the
// test ends. Plain HTTP is enough here: the payload is sealed to the
// server's key.
func StartSteward(t testing.TB, path string) *Steward {
	t.Helper()
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Steward{Seen: make(chan string, 64), priv: priv}
	copy(s.Key[:], priv.PublicKey().Bytes())
	port := ln.Addr().(*net.TCPAddr).Port
	s.Target = onion.ServerTarget{Host: "127.0.0.1", Port: uint16(port), Protocol: "http", Target: path, Method: http.MethodPost}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
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
	resp, err := l.Responder.Seal(http.StatusOK, append([]byte("ok: "), l.Inner...))
	if err != nil {
		http.Error(w, "seal", http.StatusInternalServerError)
		return
	}
	w.Write(resp)
}
