package push

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hushnet/hush/crypto/webpush"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/inventory"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/logfilter"
	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/internal/steward"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/transparency"
)

// DBFile is the database inside the data directory.
const DBFile = "push.db"

// Keys are the push server's identity: Ed25519 for its TLS certificate
// (which relays pin: the network file's pubkey_ed25519) and X25519 for
// its onion layer (pubkey_x25519).
type Keys struct {
	Ed25519 ed25519.PrivateKey
	X25519  *ecdh.PrivateKey
}

// Service is a whole push server as `hushd push` runs it: the [Server]
// with its providers from the config, its HTTPS listener, the snapshot
// follower and the sweeper.
type Service struct {
	cfg     config.Push
	keys    Keys
	logger  *slog.Logger
	store   *Store
	srv     *Server
	network *netfile.Network
	reg     *prometheus.Registry

	ready chan struct{}
	addr  net.Addr // set before ready closes
}

// NewService opens the database and assembles the server from cfg
// (validated) and keys. Run starts it.
func NewService(cfg config.Push, keys Keys, logger *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, keys: keys, logger: logger, ready: make(chan struct{}), reg: prometheus.NewRegistry()}
	if cfg.Network != "" {
		b, err := os.ReadFile(cfg.Network)
		if err != nil {
			return nil, fmt.Errorf("network file: %w", err)
		}
		if s.network, err = netfile.Parse(b); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Network, err)
		}
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	store, err := OpenStore(filepath.Join(cfg.Data, DBFile))
	if err != nil {
		return nil, err
	}
	s.store = store
	providers, vapid, err := s.providers(context.Background())
	if err != nil {
		store.Close()
		return nil, err
	}
	lim := Limits{
		PerSubscription:       ratelimit.Rate{Burst: cfg.PerSubscriptionBurst, PerSecond: cfg.PerSubscriptionPerSecond},
		PerEndpointHost:       ratelimit.Rate{Burst: cfg.PerHostBurst, PerSecond: cfg.PerHostPerSecond},
		Registrations:         ratelimit.Rate{Burst: cfg.RegistrationBurst, PerSecond: cfg.RegistrationPerSecond},
		RegistrationsPerRelay: ratelimit.Rate{Burst: cfg.RelayRegistrationBurst, PerSecond: cfg.RelayRegistrationRate},
	}
	s.srv, err = New(Config{
		X25519:        keys.X25519,
		Store:         store,
		Providers:     providers,
		VAPIDPublic:   vapid.PublicKey(),
		Limits:        lim,
		RequireRelay:  s.network != nil,
		AllowLoopback: cfg.TestAllowLoopback,
		Metrics:       NewMetrics(s.reg, store),
		Logger:        logger,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	return s, nil
}

// providers builds the configured providers and loads (or creates) the
// VAPID key.
func (s *Service) providers(ctx context.Context) (map[string]Provider, *webpush.VAPIDKey, error) {
	cfg := s.cfg
	var roots *x509.CertPool
	if cfg.TestExtraRoots != "" {
		b, err := os.ReadFile(cfg.TestExtraRoots)
		if err != nil {
			return nil, nil, fmt.Errorf("test_extra_roots: %w", err)
		}
		if roots, err = x509.SystemCertPool(); err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(b) {
			return nil, nil, fmt.Errorf("test_extra_roots: no certificate in %s", cfg.TestExtraRoots)
		}
	}
	raw, err := s.store.ServerKey(ctx, "vapid", func() ([]byte, error) {
		k, err := webpush.GenerateVAPIDKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return k.Bytes(), nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("vapid key: %w", err)
	}
	vapid, err := webpush.ParseVAPIDKey(raw)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]Provider{
		ProviderWebPush: NewWebPush(WebPushConfig{VAPID: vapid, Subject: cfg.WebPushSubject, TTL: cfg.WebPushTTL.D(), AllowLoopback: cfg.TestAllowLoopback, ExtraRoots: roots}),
	}
	if cfg.APNsKeyFile != "" {
		key, err := readP8(cfg.APNsKeyFile)
		if err != nil {
			return nil, nil, err
		}
		a, err := NewAPNs(APNsConfig{BaseURL: cfg.APNsBaseURL, TeamID: cfg.APNsTeamID, KeyID: cfg.APNsKeyID, Key: key, Topic: cfg.APNsTopic, PushType: cfg.APNsPushType, ExtraRoots: roots})
		if err != nil {
			return nil, nil, err
		}
		out[ProviderAPNs] = a
	}
	if cfg.FCMServiceAccount != "" {
		b, err := os.ReadFile(cfg.FCMServiceAccount)
		if err != nil {
			return nil, nil, fmt.Errorf("fcm_service_account: %w", err)
		}
		sa, key, err := ParseServiceAccount(b)
		if err != nil {
			return nil, nil, err
		}
		tokenURL := cfg.FCMTokenURL
		if tokenURL == "" {
			tokenURL = sa.TokenURI
		}
		f, err := NewFCM(FCMConfig{BaseURL: cfg.FCMBaseURL, ProjectID: sa.ProjectID, ClientEmail: sa.ClientEmail, Key: key, TokenURL: tokenURL, ExtraRoots: roots})
		if err != nil {
			return nil, nil, err
		}
		out[ProviderFCM] = f
	}
	return out, vapid, nil
}

// readP8 reads an APNs signing key: PKCS#8 PEM holding a P-256 key.
func readP8(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("apns_key_file: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("apns_key_file %s: not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("apns_key_file %s: %w", path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("apns_key_file %s: not an EC key", path)
	}
	return ek, nil
}

// Server is the request handling, for tests.
func (s *Service) Server() *Server { return s.srv }

// Store is the database, for tests and transparency.
func (s *Service) Store() *Store { return s.store }

// DataDir is the data directory.
func (s *Service) DataDir() string { return s.cfg.Data }

// handler serves the onion endpoint and, with a network, the signed
// transparency report to the same relays.
func (s *Service) handler() http.Handler {
	if s.network == nil {
		return s.srv
	}
	signer := &inventory.Signer{
		NetworkID: s.network.ID, Server: "push", Key: s.keys.Ed25519,
		RequestsFile: config.RequestsFile(s.cfg.TransparencyRequests, s.cfg.Data), Clock: time.Now,
		Report: func(ctx context.Context) (*transparency.Report, error) { return Transparency(ctx, s.cfg.Data, s.cfg) },
	}
	ep := inventory.NewEndpoint(s.keys.X25519, signer.Signed, s.srv.replay, time.Now, s.logger)
	mux := http.NewServeMux()
	mux.Handle(transparency.Target, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.srv.relay(r); !ok {
			http.Error(w, "not a relay of this network", http.StatusForbidden)
			return
		}
		ep.ServeHTTP(w, r)
	}))
	mux.Handle("/", s.srv)
	return mux
}

// Ready is closed once the listener is open.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// Addr is the listening address, once Ready.
func (s *Service) Addr() net.Addr { return s.addr }

// Run serves until ctx ends, then stops in order: the listener (in-flight
// requests get shutdown_timeout), the follower and sweeper, the database.
func (s *Service) Run(ctx context.Context) error {
	defer s.store.Close()
	cert, err := keytls.Certificate(s.keys.Ed25519)
	if err != nil {
		return err
	}
	conf := keytls.ServerConfig(cert, nil)
	// Relays present their node certificates; the server checks them
	// against the snapshot (Server.relay).
	keytls.RequestClientCerts(conf)
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("push: listen: %w", err)
	}
	hs := &http.Server{
		Handler:           s.handler(),
		TLSConfig:         conf,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		// net/http's own lines (TLS handshake errors) name the peer's
		// address: redacted unless debug_log_private.
		ErrorLog: logfilter.ErrorLog(s.logger.Handler(), s.cfg.DebugLogPrivate),
	}
	var ms *http.Server
	if s.cfg.Metrics != "" {
		mln, err := net.Listen("tcp", s.cfg.Metrics)
		if err != nil {
			ln.Close()
			return fmt.Errorf("push: metrics listen: %w", err)
		}
		ms = &http.Server{Handler: promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		go ms.Serve(mln)
	}
	s.addr = ln.Addr()
	close(s.ready)
	s.logger.Info("push server listening", "listen", s.addr.String(), "relays_from_network", s.network != nil)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { s.srv.Run(ctx, s.cfg.SweepInterval.D()) })
	if s.network != nil {
		// In memory only (no file), as the transparency report says;
		// the server refuses every relay until the first snapshot.
		f := steward.New(steward.Config{Network: s.network, Logger: s.logger, Installed: s.srv.SetSnapshot})
		wg.Go(func() { f.Run(ctx) })
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.ServeTLS(ln, "", "") }()
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	sctx, scancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout.D())
	hs.Shutdown(sctx)
	scancel()
	if ms != nil {
		ms.Close()
	}
	cancel()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
