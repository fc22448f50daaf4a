package turn

import (
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	pionturn "github.com/pion/turn/v4"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/protocol/onion"
	wire "github.com/hushnet/hush/protocol/turn"
)

// maxFrame bounds a credential request's body: the request is tiny, but
// it arrives padded to an onion size class.
const maxFrame = onion.MaxFrameSize

// totalKey is the one key of the total issuance budget's limiter.
var totalKey = netip.IPv4Unspecified()

// nodesOnly serves h to relays that are nodes of the network (any relay
// without one).
func (s *Server) nodesOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.source(r); !ok {
			s.metrics.credentials.WithLabelValues("not_a_node").Inc()
			w.Header().Set("Connection", "close")
			http.Error(w, "not a node of this network", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// source is whom a request is charged to: the relaying node.
func (s *Server) source(r *http.Request) (ratelimit.Source, bool) {
	if s.nodes == nil {
		return ratelimit.SourceOf(r, func(identity.Ed25519PublicKey) bool { return true }), true
	}
	k, ok := keytls.PeerNode(r.TLS, s.nodes)
	return ratelimit.NodeSource(k), ok
}

// serveCredential answers POST wire.Target: peel, replay check, the
// relay's and the total issuance budgets, then a fresh credential.
func (s *Server) serveCredential(w http.ResponseWriter, r *http.Request) {
	status, body := s.credential(r)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) credential(r *http.Request) (int, []byte) {
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, []byte("use POST\n")
	}
	src, _ := s.source(r)
	frame, err := io.ReadAll(io.LimitReader(r.Body, maxFrame+1))
	if err != nil || len(frame) > maxFrame {
		return http.StatusBadRequest, []byte("bad request\n")
	}
	l, err := onion.Peel(s.id.X25519, frame)
	if l == nil {
		s.metrics.credentials.WithLabelValues("bad_frame").Inc()
		return http.StatusBadRequest, []byte("malformed frame\n")
	}
	now := s.clock()
	if s.replay.Seen(l.Ephemeral(), now) {
		s.metrics.credentials.WithLabelValues("replay").Inc()
		return fail(l, onion.CodeReplay)
	}
	if err != nil || l.Instruction.Kind != onion.KindDestination {
		return fail(l, onion.CodeBadInstruction)
	}
	if err := wire.ParseRequest(l.Inner); err != nil {
		return s.answerError(l, &wire.Error{Code: wire.CodeBadRequest, Message: err.Error()})
	}
	if ok, retry := s.rates.Allow(src, now); !ok {
		s.metrics.credentials.WithLabelValues("relay_rate").Inc()
		return s.answerError(l, &wire.Error{Code: wire.CodeRateLimited, Message: "this relay's credential budget is used up", RetryAfter: retry})
	}
	if ok, retry := s.total.Allow(totalKey, now); !ok {
		s.metrics.credentials.WithLabelValues("total_rate").Inc()
		return s.answerError(l, &wire.Error{Code: wire.CodeRateLimited, Message: "the server is busy", RetryAfter: retry})
	}
	c := s.Issue(now)
	body, err := c.Marshal()
	if err != nil {
		s.logger.Error("encoding a credential", "err", err)
		return s.answerError(l, &wire.Error{Code: wire.CodeInternal})
	}
	s.metrics.credentials.WithLabelValues("issued").Inc()
	return seal(l, http.StatusOK, body)
}

// Issue makes a credential valid from now for credential_ttl (the
// endpoint's work; tests call it directly).
func (s *Server) Issue(now time.Time) *wire.Credential {
	random := make([]byte, wire.RandomSize)
	rand.Read(random)
	exp := time.Unix(now.Add(s.cfg.CredentialTTL.D()).Unix(), 0)
	u := wire.Username(exp, random)
	return &wire.Credential{Username: u, Password: wire.Password(s.secret, u), Expires: exp}
}

// auth is pion's AuthHandler: the key of a username this server could
// have issued and that has not expired. A wrong password then fails the
// request's MESSAGE-INTEGRITY (401).
func (s *Server) auth(username, realm string, _ net.Addr) ([]byte, bool) {
	exp, err := wire.ParseUsername(username)
	now := s.clock()
	switch {
	case err != nil:
		s.metrics.auth.WithLabelValues("malformed").Inc()
		return nil, false
	case !now.Before(exp):
		s.metrics.auth.WithLabelValues("expired").Inc()
		return nil, false
	case exp.After(now.Add(s.cfg.CredentialTTL.D() + time.Minute)):
		// Longer than this server issues: not one of its credentials.
		s.metrics.auth.WithLabelValues("too_long").Inc()
		return nil, false
	}
	return pionturn.GenerateAuthKey(username, realm, wire.Password(s.secret, username)), true
}

func (s *Server) answerError(l *onion.Layer, e *wire.Error) (int, []byte) {
	status, body, err := wire.MarshalError(e)
	if err != nil {
		return fail(l, onion.CodeUnavailable)
	}
	return seal(l, status, body)
}

func seal(l *onion.Layer, status int, body []byte) (int, []byte) {
	b, err := l.Responder.Seal(status, body)
	if err != nil {
		return fail(l, onion.CodeUnavailable)
	}
	return http.StatusOK, b
}

func fail(l *onion.Layer, code onion.ErrorCode) (int, []byte) {
	b, err := l.Responder.Fail(code)
	if err != nil {
		return http.StatusInternalServerError, []byte("internal error\n")
	}
	return http.StatusOK, b
}
