package push

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/internal/replay"
	"github.com/hushnet/hush/protocol/onion"
	pushproto "github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/snapshot"
)

// TagWindow is how long a notify tag is remembered: longer than the
// nodes' retry bound (internal/pushnotify retries for a few minutes), so
// that no member's late retry causes a second push.
const TagWindow = 10 * time.Minute

// sendTimeout bounds one provider call. It stays below the 10 s the last
// relay waits for a steward server's answer (relay.Config.HopTimeout), so
// that a notify whose push is
// still going never looks lost to the node while its tag is claimed (a
// retry then would be dropped as a repeat).
const sendTimeout = 8 * time.Second

// maxFrame is the largest frame read: a request of at most
// MaxRequestSize through 15 layers fits the 32 KiB class. Anything larger
// is refused before any work.
const maxFrame = 32 << 10

// Limits are the server's budgets; each names whom it is per.
type Limits struct {
	// PerSubscription bounds notifies that reach a provider, per sub_id
	// (repeats of a tag are dropped before it): whoever knows a notify
	// secret (the device, its swarm's nodes) can flood no faster.
	PerSubscription ratelimit.Rate
	// PerEndpointHost bounds pushes per Web Push endpoint host, so that
	// many subscriptions cannot turn the server against one host.
	PerEndpointHost ratelimit.Rate
	// Registrations bounds register and update requests in total, and
	// RegistrationsPerRelay per relay node identity (the last hop, which
	// is all the server knows of where a request came from).
	Registrations         ratelimit.Rate
	RegistrationsPerRelay ratelimit.Rate
}

// DefaultLimits are the budgets of a server with no configured ones.
func DefaultLimits() Limits {
	return Limits{
		PerSubscription:       ratelimit.Rate{Burst: 10, PerSecond: 0.5},
		PerEndpointHost:       ratelimit.Rate{Burst: 1000, PerSecond: 200},
		Registrations:         ratelimit.Rate{Burst: 200, PerSecond: 20},
		RegistrationsPerRelay: ratelimit.Rate{Burst: 20, PerSecond: 2},
	}
}

// Config is what [New] assembles a server from.
type Config struct {
	// X25519 is the key of the final onion layer (the network file's
	// pubkey_x25519 for the push service).
	X25519 *ecdh.PrivateKey
	Store  *Store
	// Providers by name (ProviderWebPush, ProviderAPNs, ProviderFCM);
	// registrations for a provider not here are refused.
	Providers map[string]Provider
	// VAPIDPublic is the Web Push key info answers with (nil without
	// Web Push).
	VAPIDPublic []byte
	Limits      Limits
	// Relays, when set, is the snapshot whose nodes may reach the server
	// (their TLS client certificates, keytls.PeerNode); see [Server.SetSnapshot].
	// With RequireRelay false and no snapshot, any peer may (a standalone
	// server for tests and a local devnet).
	RequireRelay bool
	// AllowLoopback is the Web Push test setting (see WebPushConfig).
	AllowLoopback bool
	Metrics       *Metrics
	Clock         func() time.Time
	Logger        *slog.Logger
}

// Server is the push server's request handling. Its handler serves the
// one onion endpoint; it never listens itself (cmd/hushd does).
type Server struct {
	cfg    Config
	replay *replay.Cache

	// snap is the newest verified snapshot, nil until the first; relays
	// are its nodes.
	snap atomic.Pointer[snapshot.Snapshot]

	perSub      *ratelimit.Keyed[[32]byte]
	perHost     *ratelimit.Keyed[string]
	regTotal    *ratelimit.Keyed[struct{}]
	regPerRelay *ratelimit.Keyed[identity.Ed25519PublicKey]
}

// New assembles a server; it does no I/O.
func New(cfg Config) (*Server, error) {
	if cfg.X25519 == nil || cfg.Store == nil {
		return nil, errors.New("push: server needs an X25519 key and a store")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil, nil)
	}
	return &Server{
		cfg: cfg,
		// Onion layers carry no time; a minute bounds how long a layer
		// could be replayed, as at the relays (internal/node).
		replay:      replay.New(200_000, time.Minute),
		perSub:      ratelimit.NewKeyed[[32]byte](cfg.Limits.PerSubscription, 0),
		perHost:     ratelimit.NewKeyed[string](cfg.Limits.PerEndpointHost, 0),
		regTotal:    ratelimit.NewKeyed[struct{}](cfg.Limits.Registrations, 1),
		regPerRelay: ratelimit.NewKeyed[identity.Ed25519PublicKey](cfg.Limits.RegistrationsPerRelay, 0),
	}, nil
}

// SetSnapshot installs a newer verified snapshot: from then on only its
// nodes are relays the server answers.
func (s *Server) SetSnapshot(snap *snapshot.Snapshot) { s.snap.Store(snap) }

// relay returns the identity of the relay that sent r and whether it may.
func (s *Server) relay(r *http.Request) (identity.Ed25519PublicKey, bool) {
	snap := s.snap.Load()
	if r.TLS == nil {
		return identity.Ed25519PublicKey{}, snap == nil && !s.cfg.RequireRelay
	}
	k, ok := keytls.PeerNode(r.TLS, func(k identity.Ed25519PublicKey) bool {
		if snap == nil {
			return !s.cfg.RequireRelay
		}
		_, ok := snap.Node(k)
		return ok
	})
	if !ok && snap == nil && !s.cfg.RequireRelay {
		return identity.Ed25519PublicKey{}, true
	}
	return k, ok
}

// ServeHTTP serves onion frames at pushproto.Target.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != pushproto.Target {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	relay, ok := s.relay(r)
	if !ok {
		s.cfg.Metrics.request("frame", "not_relay")
		http.Error(w, "not a relay of this network", http.StatusForbidden)
		return
	}
	if r.ContentLength > maxFrame {
		s.cfg.Metrics.request("frame", "too_large")
		http.Error(w, "frame too large", http.StatusRequestEntityTooLarge)
		return
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, maxFrame+1)); err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if buf.Len() > maxFrame {
		s.cfg.Metrics.request("frame", "too_large")
		http.Error(w, "frame too large", http.StatusRequestEntityTooLarge)
		return
	}
	l, err := onion.Peel(s.cfg.X25519, buf.Bytes())
	if err != nil && l == nil {
		s.cfg.Metrics.request("frame", "bad_frame")
		http.Error(w, "bad frame", http.StatusBadRequest)
		return
	}
	var resp []byte
	switch {
	case err != nil || l.Instruction.Kind != onion.KindDestination:
		s.cfg.Metrics.request("frame", "bad_instruction")
		resp, err = l.Responder.Fail(onion.CodeBadInstruction)
	case s.replay.Seen(l.Ephemeral(), s.cfg.Clock()):
		s.cfg.Metrics.request("frame", "replay")
		resp, err = l.Responder.Fail(onion.CodeReplay)
	default:
		a := s.Handle(r.Context(), relay, l.Inner)
		status := http.StatusOK
		if a.Error != "" {
			status = pushproto.Status(a.Error)
		}
		resp, err = l.Responder.Seal(status, a.Marshal())
	}
	if err != nil {
		http.Error(w, "seal", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(resp)
}

// Handle answers one request (the body of an onion layer) from relay.
func (s *Server) Handle(ctx context.Context, relay identity.Ed25519PublicKey, body []byte) *pushproto.Answer {
	op := "unknown"
	a := s.handle(ctx, relay, body, &op)
	code := a.Error
	if code == "" {
		code = "ok"
	}
	s.cfg.Metrics.request(op, code)
	// Debug logs name the op and the outcome only: no sub_id, token,
	// endpoint or relay.
	s.cfg.Logger.Debug("push request", "op", op, "result", code)
	return a
}

func errAnswer(code, msg string) *pushproto.Answer { return pushproto.ErrorAnswer(code, msg, 0) }

func (s *Server) handle(ctx context.Context, relay identity.Ed25519PublicKey, body []byte, op *string) *pushproto.Answer {
	if len(body) > pushproto.MaxRequestSize {
		return errAnswer(pushproto.CodeTooLarge, fmt.Sprintf("request over %d bytes", pushproto.MaxRequestSize))
	}
	req, err := pushproto.ParseRequest(body)
	if err != nil {
		return errAnswer(pushproto.CodeBadRequest, err.Error())
	}
	*op = req.Op
	now := s.cfg.Clock()
	switch req.Op {
	case pushproto.OpInfo:
		if s.cfg.VAPIDPublic == nil {
			return &pushproto.Answer{OK: true}
		}
		return &pushproto.Answer{OK: true, VAPIDPublicKey: b64url(s.cfg.VAPIDPublic)}
	case pushproto.OpRegister:
		return s.register(ctx, relay, req, now)
	case pushproto.OpRenew, pushproto.OpUpdate, pushproto.OpUnsubscribe:
		return s.manage(ctx, relay, req, now)
	case pushproto.OpNotify:
		return s.notify(ctx, req, now)
	}
	return errAnswer(pushproto.CodeBadRequest, "unknown op")
}

// targetOf converts a request's provider target and checks the server
// serves that provider.
func (s *Server) targetOf(req *pushproto.Request) (Target, *pushproto.Answer) {
	t := Target{Provider: req.Provider}
	switch req.Provider {
	case pushproto.ProviderWebPush:
		t.Endpoint, t.P256dh, t.Auth = req.WebPush.Endpoint, req.WebPush.P256dh, req.WebPush.Auth
		if err := CheckEndpoint(t.Endpoint, s.cfg.AllowLoopback); err != nil {
			return t, errAnswer(pushproto.CodeBadRequest, err.Error())
		}
	case pushproto.ProviderAPNs:
		t.Token = req.APNs
	case pushproto.ProviderFCM:
		t.Token = req.FCM
	}
	if s.cfg.Providers[t.Provider] == nil {
		return t, errAnswer(pushproto.CodeBadRequest, fmt.Sprintf("this server does not push through %s", t.Provider))
	}
	return t, nil
}

func (s *Server) allowRegistration(relay identity.Ed25519PublicKey, now time.Time) *pushproto.Answer {
	if ok, wait := s.regPerRelay.Allow(relay, now); !ok {
		return pushproto.ErrorAnswer(pushproto.CodeRateLimited, "too many registrations through this relay", wait)
	}
	if ok, wait := s.regTotal.Allow(struct{}{}, now); !ok {
		return pushproto.ErrorAnswer(pushproto.CodeRateLimited, "too many registrations", wait)
	}
	return nil
}

func (s *Server) register(ctx context.Context, relay identity.Ed25519PublicKey, req *pushproto.Request, now time.Time) *pushproto.Answer {
	if err := req.Verify(req.MgmtKey); err != nil {
		return errAnswer(pushproto.CodeForbidden, err.Error())
	}
	old, err := s.cfg.Store.Get(ctx, req.SubID)
	switch {
	case errors.Is(err, ErrNotFound):
		old = nil
	case err != nil:
		return s.internal(err)
	case !bytes.Equal(old.MgmtKey, req.MgmtKey):
		// A sub_id is random and never reused; another key claiming one
		// is not its owner.
		return errAnswer(pushproto.CodeForbidden, "sub_id is registered with another management key")
	}
	var last time.Time
	if old != nil {
		last = old.LastTS
	}
	if err := pushproto.CheckTimestamp(req.TS, last, now); err != nil {
		return errAnswer(pushproto.CodeReplay, err.Error())
	}
	if !req.Expiry.After(now) {
		return errAnswer(pushproto.CodeBadRequest, "expiry is in the past")
	}
	t, bad := s.targetOf(req)
	if bad != nil {
		return bad
	}
	if a := s.allowRegistration(relay, now); a != nil {
		return a
	}
	sub := &Subscription{SubID: req.SubID, SecretHash: req.SecretHash, Target: t, MgmtKey: req.MgmtKey, Expiry: req.Expiry, LastTS: req.TS}
	if err := s.cfg.Store.Put(ctx, sub); err != nil {
		return s.internal(err)
	}
	return &pushproto.Answer{OK: true, ExpiryMs: req.Expiry.UnixMilli()}
}

// manage handles renew, update and unsubscribe: signed by the registered
// management key, with a timestamp newer than the last accepted.
func (s *Server) manage(ctx context.Context, relay identity.Ed25519PublicKey, req *pushproto.Request, now time.Time) *pushproto.Answer {
	sub, err := s.cfg.Store.Get(ctx, req.SubID)
	if errors.Is(err, ErrNotFound) || err == nil && !sub.Expiry.After(now) {
		return errAnswer(pushproto.CodeNotFound, "no such subscription")
	}
	if err != nil {
		return s.internal(err)
	}
	if err := req.Verify(sub.MgmtKey); err != nil {
		return errAnswer(pushproto.CodeForbidden, err.Error())
	}
	if err := pushproto.CheckTimestamp(req.TS, sub.LastTS, now); err != nil {
		return errAnswer(pushproto.CodeReplay, err.Error())
	}
	sub.LastTS = req.TS
	switch req.Op {
	case pushproto.OpUnsubscribe:
		if err := s.cfg.Store.Delete(ctx, req.SubID); err != nil {
			return s.internal(err)
		}
		return &pushproto.Answer{OK: true}
	case pushproto.OpRenew:
		sub.Expiry = req.Expiry
	case pushproto.OpUpdate:
		t, bad := s.targetOf(req)
		if bad != nil {
			return bad
		}
		if a := s.allowRegistration(relay, now); a != nil {
			return a
		}
		sub.Target = t
	}
	if err := s.cfg.Store.Put(ctx, sub); err != nil {
		return s.internal(err)
	}
	return &pushproto.Answer{OK: true, ExpiryMs: sub.Expiry.UnixMilli()}
}

func (s *Server) notify(ctx context.Context, req *pushproto.Request, now time.Time) *pushproto.Answer {
	sub, err := s.cfg.Store.Get(ctx, req.SubID)
	if errors.Is(err, ErrNotFound) || err == nil && !sub.Expiry.After(now) {
		return errAnswer(pushproto.CodeNotFound, "no such subscription")
	}
	if err != nil {
		return s.internal(err)
	}
	h := sha256.Sum256(req.NotifySecret[:])
	if subtle.ConstantTimeCompare(h[:], sub.SecretHash[:]) != 1 {
		return errAnswer(pushproto.CodeForbidden, "wrong notify secret")
	}
	// Every member of the swarm notifies the same message with the same
	// tag: the first is pushed, the others are dropped here, before any
	// budget is spent.
	fresh, err := s.cfg.Store.ClaimTag(ctx, req.Tag, now)
	if err != nil {
		return s.internal(err)
	}
	if !fresh {
		s.cfg.Metrics.dedupe()
		return &pushproto.Answer{OK: true, Sent: false}
	}
	send := func() *pushproto.Answer {
		if ok, wait := s.perSub.Allow(req.SubID, now); !ok {
			return pushproto.ErrorAnswer(pushproto.CodeRateLimited, "too many pushes for this subscription", wait)
		}
		if sub.Target.Provider == pushproto.ProviderWebPush {
			if ok, wait := s.perHost.Allow(endpointHost(sub.Target.Endpoint), now); !ok {
				return pushproto.ErrorAnswer(pushproto.CodeRateLimited, "too many pushes to this endpoint host", wait)
			}
		}
		p := s.cfg.Providers[sub.Target.Provider]
		if p == nil {
			return errAnswer(pushproto.CodeUnavailable, "provider not configured")
		}
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		err := p.Send(sctx, sub.Target, req.Payload)
		cancel()
		s.cfg.Metrics.send(sub.Target.Provider, err, time.Since(start))
		var pe *ProviderError
		switch {
		case err == nil:
			return &pushproto.Answer{OK: true, Sent: true}
		case errors.Is(err, ErrGone):
			if err := s.cfg.Store.Delete(ctx, req.SubID); err != nil {
				return s.internal(err)
			}
			return errAnswer(pushproto.CodeGone, "the provider says this device is gone; the subscription was deleted")
		case errors.Is(err, ErrUnsafeEndpoint):
			return errAnswer(pushproto.CodeForbidden, "endpoint refused")
		case errors.As(err, &pe) && pe.RetryAfter > 0:
			return pushproto.ErrorAnswer(pushproto.CodeUnavailable, "provider: "+pe.Reason, pe.RetryAfter)
		default:
			// The error is not passed on or logged above debug: it may
			// quote the endpoint.
			s.cfg.Logger.Debug("push: provider failed", "provider", sub.Target.Provider, "kind", errKind(err))
			return pushproto.ErrorAnswer(pushproto.CodeUnavailable, "provider failed", 5*time.Second)
		}
	}
	a := send()
	if !a.OK {
		// Not pushed: the nodes' retries of this tag must not be dropped.
		if err := s.cfg.Store.ReleaseTag(ctx, req.Tag); err != nil {
			return s.internal(err)
		}
	}
	return a
}

// errKind names which of the provider errors err is, for logs.
func errKind(err error) string {
	for _, e := range []struct {
		err  error
		name string
	}{{ErrGone, "gone"}, {ErrRejected, "rejected"}, {ErrUnavailable, "unavailable"}, {ErrUnsafeEndpoint, "unsafe_endpoint"}} {
		if errors.Is(err, e.err) {
			return e.name
		}
	}
	return "other"
}

func (s *Server) internal(err error) *pushproto.Answer {
	s.cfg.Logger.Error("push: database", "err", err)
	return errAnswer(pushproto.CodeInternal, "internal error")
}

// Sweep deletes expired subscriptions and tags past [TagWindow].
func (s *Server) Sweep(ctx context.Context) error {
	now := s.cfg.Clock()
	subs, tags, err := s.cfg.Store.Sweep(ctx, now, now.Add(-TagWindow))
	if err != nil {
		return err
	}
	s.cfg.Logger.Debug("push: sweep", "expired_subscriptions", subs, "old_tags", tags)
	return nil
}

// Run sweeps every interval until ctx is done. Listening is the caller's.
func (s *Server) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Error("push: sweep", "err", err)
			}
		}
	}
}
