package files

import (
	"context"
	"crypto/ecdh"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/connlimit"
	"github.com/hushnet/hush/internal/inventory"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/logfilter"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/internal/replay"
	"github.com/hushnet/hush/internal/steward"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/transparency"
)

// KeyFile is the server's secret key in its data directory: the Ed25519
// seed in hex, from which the X25519 key of its onion layer is derived, as
// a node's (internal/node.KeyFile).
const KeyFile = "files_ed25519.key"

// SnapshotFile keeps the newest verified snapshot across restarts, so a
// restarted server knows the network's nodes at once.
const SnapshotFile = steward.SnapshotFile

// replayWindow is how long an onion layer's ephemeral key is remembered:
// as a node's relay does (internal/node), a minute covers any honest
// retry of a relay.
const replayWindow = time.Minute

// Server is a running file server's parts.
type Server struct {
	cfg    config.Files
	logger *slog.Logger
	id     *node.Identity
	clock  func() time.Time

	store   *Store
	replay  *replay.Cache
	rates   *ratelimit.SourceLimiter
	total   *ratelimit.Limiter
	pool    *ratelimit.Pool
	metrics *metrics

	network *netfile.Network // nil: any relay is served
	// nodes says which relays are served; nil serves any (no network).
	nodes func(identity.Ed25519PublicKey) bool
	// follower knows the network's nodes; nil without a network.
	follower *steward.Follower

	api, metricsSrv *http.Server // metricsSrv nil when off

	// Set by Run before ready closes.
	ready     chan struct{}
	apiLn     net.Listener
	metricsLn net.Listener
}

// Option changes how [New] builds a server; tests only.
type Option func(*Server)

// WithClock sets the clock that dates expiries and sweeps.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.clock = now } }

// WithNodes replaces the network's snapshots as the judge of which relays
// are served (tests without a registry).
func WithNodes(nodes func(identity.Ed25519PublicKey) bool) Option {
	return func(s *Server) { s.nodes = nodes }
}

// New assembles a server from a validated configuration: it loads (or
// creates) its keys, the network file and the saved snapshot, and opens
// the store, which removes what a crash left half-done. It opens no
// socket; Run does.
func New(cfg config.Files, logger *slog.Logger, opts ...Option) (_ *Server, err error) {
	s := &Server{cfg: cfg, logger: logger, clock: time.Now, ready: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	if s.id, err = node.LoadOrCreateIdentityFile(cfg.Data, KeyFile); err != nil {
		return nil, err
	}
	if cfg.Network != "" {
		if s.network, err = node.LoadNetwork(cfg.Network); err != nil {
			return nil, err
		}
		s.follower = steward.New(steward.Config{Network: s.network, File: filepath.Join(cfg.Data, SnapshotFile), Logger: logger})
	}
	if s.nodes == nil && s.network != nil {
		s.nodes = s.follower.IsNode
	}
	if s.store, err = OpenStore(cfg.Data, cfg.CapacityBytes, cfg.MaxBlobBytes); err != nil {
		return nil, err
	}
	s.replay = replay.New(cfg.ReplayCacheSize, replayWindow)
	relayRate := ratelimit.Rate{Burst: cfg.RelayBurst, PerSecond: cfg.RelayRatePerSecond}
	s.rates = ratelimit.NewSourceLimiter(relayRate, relayRate, 0)
	s.total = ratelimit.New(cfg.TotalBurst, cfg.TotalRatePerSecond, 1)
	s.pool = ratelimit.NewPool(ratelimit.PoolLimits{
		Total: cfg.MaxInFlight, PerClient: max(1, cfg.MaxInFlight/16),
		NodeShare: cfg.MaxInFlight, NodeMin: max(1, cfg.MaxInFlight/64),
	})

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newMetrics(reg, s.store)

	cert, err := keytls.Certificate(s.id.Ed25519)
	if err != nil {
		s.store.Close()
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(TargetPath, s)
	if s.network != nil {
		// The signed transparency report, for clients through onion
		// paths; relays that are no node are refused as for TargetPath.
		signer := &inventory.Signer{
			NetworkID: s.network.ID, Server: "files", Key: s.id.Ed25519,
			RequestsFile: config.RequestsFile(cfg.TransparencyRequests, cfg.Data), Clock: s.clock,
			Report: func(ctx context.Context) (*transparency.Report, error) { return Transparency(ctx, cfg.Data, cfg) },
		}
		ep := inventory.NewEndpoint(s.id.X25519, signer.Signed, s.replay, s.clock, logger)
		mux.Handle(transparency.Target, s.nodesOnly(ep))
	}
	s.api = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout.D(),
		ReadTimeout:       cfg.ReadTimeout.D(),
		WriteTimeout:      cfg.WriteTimeout.D(),
		IdleTimeout:       cfg.IdleTimeout.D(),
		MaxHeaderBytes:    16 << 10,
		HTTP2:             node.HTTP2Config(),
		// TLS handshake errors name the peer's IP:port.
		ErrorLog: logfilter.ErrorLog(logger.Handler(), cfg.DebugLogPrivate),
		// Relays pin this certificate's key (the network file's
		// services.files.pubkey_ed25519) and present their node
		// certificates, by which they are served and budgeted.
		TLSConfig: keytls.ServerConfig(cert, nil),
	}
	keytls.RequestClientCerts(s.api.TLSConfig)
	if cfg.Metrics != "" {
		m := http.NewServeMux()
		m.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		s.metricsSrv = &http.Server{Handler: m, ReadHeaderTimeout: 5 * time.Second}
	}
	return s, nil
}

// nodesOnly serves h to relays that are nodes of the network.
func (s *Server) nodesOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.source(r); !ok {
			w.Header().Set("Connection", "close")
			http.Error(w, "not a node of this network", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Identity returns the server's keys.
func (s *Server) Identity() *node.Identity { return s.id }

// Ready is closed once Run has opened its listeners.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr is the API listener's address once Ready is closed.
func (s *Server) Addr() net.Addr { return s.apiLn.Addr() }

// MetricsAddr is the metrics listener's address once Ready is closed, nil
// when metrics are off.
func (s *Server) MetricsAddr() net.Addr {
	if s.metricsLn == nil {
		return nil
	}
	return s.metricsLn.Addr()
}

// Store returns the server's store (tests).
func (s *Server) Store() *Store { return s.store }

// Run opens the listeners, serves until ctx is done and then stops in
// this order: snapshot following; the API server (requests in flight get
// the shutdown timeout, an upload in progress completes or leaves nothing
// visible); the sweeper; metrics; the database. It releases everything
// New acquired, also when a listener cannot be opened.
func (s *Server) Run(ctx context.Context) error {
	if err := s.listen(); err != nil {
		s.release()
		return err
	}
	close(s.ready)
	serveErr := make(chan error, 2)
	go func() { serveErr <- s.api.ServeTLS(s.apiLn, "", "") }()
	if s.metricsSrv != nil {
		go func() { serveErr <- s.metricsSrv.Serve(s.metricsLn) }()
	}
	bg, stopBG := context.WithCancel(context.Background())
	var following, sweeper sync.WaitGroup
	if s.network != nil {
		following.Go(func() { s.follower.Run(bg) })
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	sweeper.Go(func() { s.sweep(sweepCtx) })

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("serve: %w", err)
		}
	}
	s.logger.Info("stopping")
	stopBG()
	following.Wait()
	shutCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout.D())
	defer cancel()
	if err := s.api.Shutdown(shutCtx); err != nil {
		s.api.Close()
	}
	stopSweep()
	sweeper.Wait()
	if s.metricsSrv != nil {
		s.metricsSrv.Shutdown(shutCtx)
	}
	if err := s.store.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("close database: %w", err)
	}
	s.logger.Info("stopped")
	return runErr
}

func (s *Server) listen() error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if s.metricsSrv != nil {
		if s.metricsLn, err = net.Listen("tcp", s.cfg.Metrics); err != nil {
			ln.Close()
			return fmt.Errorf("metrics listen: %w", err)
		}
	}
	s.apiLn = connlimit.New(ln, s.cfg.MaxConnections)
	x := s.id.X25519Public()
	s.logger.Info("file server ready", "listen", s.apiLn.Addr().String(), "ed25519", s.id.Ed25519Public().String(),
		"x25519", fmt.Sprintf("%x", x[:]), "network", s.network != nil)
	if s.network == nil && s.nodes == nil {
		s.logger.Warn("no network file: serving any relay; pass --network to serve only the network's nodes")
	}
	return nil
}

func (s *Server) release() {
	if s.apiLn != nil {
		s.apiLn.Close()
	}
	if s.metricsLn != nil {
		s.metricsLn.Close()
	}
	s.store.Close()
}

func (s *Server) sweep(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepInterval.D())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.store.Sweep(ctx, s.clock())
			if err != nil && ctx.Err() == nil {
				s.logger.Error("sweep failed", "err", withoutPaths(err))
			}
			s.metrics.swept.Add(float64(n))
		}
	}
}

// totalKey is the one key of the total budget's limiter.
var totalKey = netip.IPv4Unspecified()

// x25519 is the key the server's onion layer is sealed to.
func (s *Server) x25519() *ecdh.PrivateKey { return s.id.X25519 }

// readBody reads at most onion.MaxFrameSize+1 bytes of r's body.
func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, onion.MaxFrameSize+1))
}

// tlsState is r's TLS state (nil over plain HTTP, which Run never serves).
func tlsState(r *http.Request) *tls.ConnectionState { return r.TLS }
