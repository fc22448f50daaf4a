// Package notifytest is a stand-in push server for tests of the nodes'
// notifier (internal/pushnotify): a steward server over HTTPS with a
// certificate for its own Ed25519 key, as relays pin it, that opens the
// final onion layer with its X25519 key, parses each request with
// protocol/push and answers as the push server would. It keeps no
// subscriptions: every notify is answered as its answer function says.
// It is a fake for tests, kept as its own package like wireguard-go's
// conn/bindtest.
package notifytest

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Server is a running stand-in push server.
type Server struct {
	// Key is the X25519 key of the final onion layer, which records name.
	Key     snapshot.X25519Key
	Ed25519 identity.Ed25519PublicKey
	Address string // host:port
	// Requests receives every request that parsed but info requests (the
	// nodes' warm-ups, which Infos counts), in arrival order.
	Requests chan *push.Request
	// Relays receives the node identity each such request's connection
	// proved (the last relay of its path).
	Relays chan identity.Ed25519PublicKey
	Infos  atomic.Int64

	priv *ecdh.PrivateKey

	mu     sync.Mutex // guards answer
	answer func(*push.Request) *push.Answer
}

// Start serves a stand-in push server on 127.0.0.1 until the test ends.
// It answers every request {"ok":true,"sent":true} until [Server.Answer]
// says otherwise.
func Start(t testing.TB) *Server {
	t.Helper()
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	cert, err := keytls.Certificate(edPriv)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		Ed25519:  identity.Ed25519PublicKeyOf(edPriv),
		Address:  ln.Addr().String(),
		Requests: make(chan *push.Request, 1024),
		Relays:   make(chan identity.Ed25519PublicKey, 1024),
		priv:     x,
		answer:   func(*push.Request) *push.Answer { return &push.Answer{OK: true, Sent: true} },
	}
	copy(s.Key[:], x.PublicKey().Bytes())
	conf := keytls.ServerConfig(cert, nil)
	keytls.RequestClientCerts(conf)
	srv := &http.Server{Handler: s, TLSConfig: conf}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return s
}

// Answer makes the server answer each request with f's answer.
func (s *Server) Answer(f func(*push.Request) *push.Answer) {
	s.mu.Lock()
	s.answer = f
	s.mu.Unlock()
}

// Service is the server as a network file lists it.
func (s *Server) Service() *netfile.Service {
	ed, x := s.Ed25519, s.Key
	return &netfile.Service{Address: s.Address, Ed25519: &ed, X25519: &x}
}

// Steward is the server as a relay lists it (relaytest.Options.StewardServers).
func (s *Server) Steward() relay.StewardServer {
	return relay.StewardServer{Target: s.Service().OnionTarget(push.Target), Ed25519: s.Ed25519}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	buf.ReadFrom(http.MaxBytesReader(w, r.Body, onion.MaxFrameSize))
	l, err := onion.Peel(s.priv, buf.Bytes())
	if err != nil || l.Instruction.Kind != onion.KindDestination || r.URL.Path != push.Target {
		http.Error(w, "bad frame", http.StatusBadRequest)
		return
	}
	var a *push.Answer
	req, err := push.ParseRequest(l.Inner)
	switch {
	case err != nil:
		a = push.ErrorAnswer(push.CodeBadRequest, err.Error(), 0)
	case req.Op == push.OpInfo:
		// The nodes' warm-ups: counted, not passed on.
		s.Infos.Add(1)
		a = &push.Answer{OK: true}
	default:
		if r.TLS != nil {
			k, _ := keytls.PeerNode(r.TLS, func(identity.Ed25519PublicKey) bool { return true })
			select {
			case s.Relays <- k:
			default:
			}
		}
		select {
		case s.Requests <- req:
		default:
		}
		s.mu.Lock()
		a = s.answer(req)
		s.mu.Unlock()
	}
	status := 200
	if !a.OK {
		status = push.Status(a.Error)
	}
	resp, err := l.Responder.Seal(status, a.Marshal())
	if err != nil {
		http.Error(w, "seal", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp)))
	w.Write(resp)
}
