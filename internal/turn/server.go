package turn

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	pionturn "github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/inventory"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/logfilter"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/internal/replay"
	"github.com/hushnet/hush/internal/steward"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/transparency"
	wire "github.com/hushnet/hush/protocol/turn"
)

// Files of the data directory.
const (
	// KeyFile is the server's Ed25519 seed in hex (its TLS identity; the
	// credential endpoint's onion key derives from it).
	KeyFile = "turn_ed25519.key"
	// SecretFile is the HMAC secret credentials are made with, in hex.
	SecretFile = "turn_secret.key"
	// SnapshotFile keeps the newest verified snapshot across restarts.
	SnapshotFile = steward.SnapshotFile
)

// secretSize is the HMAC-SHA1 secret's length: its block size.
const secretSize = 64

// replayWindow is how long an onion layer's ephemeral key is remembered,
// as for the other steward servers.
const replayWindow = time.Minute

// Server is a TURN server with its credential endpoint.
type Server struct {
	cfg    config.TURN
	logger *slog.Logger
	id     *node.Identity
	secret []byte
	clock  func() time.Time

	replay  *replay.Cache
	rates   *ratelimit.SourceLimiter
	total   *ratelimit.Limiter
	metrics *metrics
	allocs  *allocations

	network *netfile.Network
	nodes   func(identity.Ed25519PublicKey) bool
	// follower knows the network's nodes; nil without a network.
	follower *steward.Follower

	cert       tls.Certificate
	api        *http.Server
	metricsSrv *http.Server

	ready                        chan struct{}
	udp                          net.PacketConn
	tcp, tlsLn, apiLn, metricsLn net.Listener
	turn                         *pionturn.Server
}

// Option changes how [New] builds a server; tests only.
type Option func(*Server)

// WithClock sets the clock credentials are issued and checked by.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.clock = now } }

// WithNodes replaces the network's snapshots as the judge of which
// relays are served.
func WithNodes(nodes func(identity.Ed25519PublicKey) bool) Option {
	return func(s *Server) { s.nodes = nodes }
}

// New assembles a server from a validated configuration: keys, secret,
// network file and saved snapshot. It opens no socket; Run does.
func New(cfg config.TURN, logger *slog.Logger, opts ...Option) (_ *Server, err error) {
	s := &Server{cfg: cfg, logger: logger, clock: time.Now, ready: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	if s.id, err = node.LoadOrCreateIdentityFile(cfg.Data, KeyFile); err != nil {
		return nil, err
	}
	if s.secret, err = loadOrCreateSecret(filepath.Join(cfg.Data, SecretFile)); err != nil {
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
	s.replay = replay.New(cfg.ReplayCacheSize, replayWindow)
	relayRate := ratelimit.Rate{Burst: cfg.RelayBurst, PerSecond: cfg.RelayRatePerSecond}
	s.rates = ratelimit.NewSourceLimiter(relayRate, relayRate, 0)
	s.total = ratelimit.New(cfg.TotalBurst, cfg.TotalRatePerSecond, 1)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.allocs = newAllocations(cfg)
	s.metrics = newMetrics(reg, s.allocs)
	s.allocs.metrics = s.metrics

	if s.cert, err = keytls.Certificate(s.id.Ed25519); err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(wire.Target, s.nodesOnly(http.HandlerFunc(s.serveCredential)))
	if s.network != nil {
		signer := &inventory.Signer{
			NetworkID: s.network.ID, Server: "turn", Key: s.id.Ed25519,
			RequestsFile: config.RequestsFile(cfg.TransparencyRequests, cfg.Data), Clock: s.clock,
			Report: func(ctx context.Context) (*transparency.Report, error) { return s.Transparency(ctx) },
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
		ErrorLog:          logfilter.ErrorLog(logger.Handler(), cfg.DebugLogPrivate),
		TLSConfig:         keytls.ServerConfig(s.cert, nil),
	}
	keytls.RequestClientCerts(s.api.TLSConfig)
	if cfg.Metrics != "" {
		m := http.NewServeMux()
		m.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		s.metricsSrv = &http.Server{Handler: m, ReadHeaderTimeout: 5 * time.Second}
	}
	return s, nil
}

// loadOrCreateSecret reads the HMAC secret, creating it on first start.
func loadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		secret := make([]byte, secretSize)
		rand.Read(secret)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("turn secret: %w", err)
		}
		return secret, nil
	}
	if err != nil {
		return nil, fmt.Errorf("turn secret: %w", err)
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(secret) < 16 {
		return nil, fmt.Errorf("turn secret %s: not at least 16 bytes in hex", path)
	}
	return secret, nil
}

// Identity returns the server's keys.
func (s *Server) Identity() *node.Identity { return s.id }

// Ready is closed once Run has opened its listeners.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// TURNAddr is the UDP STUN/TURN listener's address once Ready is closed
// (the TCP listener has the same port).
func (s *Server) TURNAddr() net.Addr { return s.udp.LocalAddr() }

// TLSAddr is the TURN-over-TLS listener's address, nil when off.
func (s *Server) TLSAddr() net.Addr {
	if s.tlsLn == nil {
		return nil
	}
	return s.tlsLn.Addr()
}

// EndpointAddr is the credential endpoint's address once Ready is closed.
func (s *Server) EndpointAddr() net.Addr { return s.apiLn.Addr() }

// MetricsAddr is the metrics listener's address, nil when off.
func (s *Server) MetricsAddr() net.Addr {
	if s.metricsLn == nil {
		return nil
	}
	return s.metricsLn.Addr()
}

// Allocations is the number of live allocations.
func (s *Server) Allocations() int { return int(s.allocs.total.Load()) }

// Run opens the listeners, serves until ctx is done, then stops: snapshot
// following, the credential endpoint, the TURN server (its allocations
// end), metrics.
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
	var following sync.WaitGroup
	if s.network != nil {
		following.Go(func() { s.follower.Run(bg) })
	}
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
	if err := s.turn.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("turn: %w", err)
	}
	if s.metricsSrv != nil {
		s.metricsSrv.Shutdown(shutCtx)
	}
	s.logger.Info("stopped")
	return runErr
}

func (s *Server) listen() (err error) {
	if s.udp, s.tcp, err = listenPair(s.cfg.Listen, net.Listen); err != nil {
		return err
	}
	if s.cfg.TLSListen != "" {
		tc := &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12}
		if s.tlsLn, err = tls.Listen("tcp", s.cfg.TLSListen, tc); err != nil {
			return fmt.Errorf("listen tls: %w", err)
		}
	}
	if s.apiLn, err = net.Listen("tcp", s.cfg.Endpoint); err != nil {
		return fmt.Errorf("listen endpoint: %w", err)
	}
	if s.metricsSrv != nil {
		if s.metricsLn, err = net.Listen("tcp", s.cfg.Metrics); err != nil {
			return fmt.Errorf("metrics listen: %w", err)
		}
	}
	gen := s.allocs.generator(s.relayGenerator())
	perm := s.allocs.permission
	pc := pionturn.ServerConfig{
		Realm:         s.cfg.Realm,
		AuthHandler:   s.auth,
		QuotaHandler:  s.allocs.quota,
		EventHandler:  s.allocs.events(),
		LoggerFactory: newPionLogs(s.logger, s.cfg.DebugLogPrivate),
		// Relayed sockets are on relay_ip alone: an Allocate without
		// REQUESTED-ADDRESS-FAMILY gets IPv4 (RFC 6156), not the family
		// of the socket it came in on.
		StrictAddressFamily: true,
		PacketConnConfigs: []pionturn.PacketConnConfig{{
			PacketConn: s.udp, RelayAddressGenerator: gen, PermissionHandler: perm,
		}},
		ListenerConfigs: []pionturn.ListenerConfig{{
			Listener: s.tcp, RelayAddressGenerator: gen, PermissionHandler: perm,
		}},
	}
	if s.tlsLn != nil {
		pc.ListenerConfigs = append(pc.ListenerConfigs, pionturn.ListenerConfig{Listener: s.tlsLn, RelayAddressGenerator: gen, PermissionHandler: perm})
	}
	if s.turn, err = pionturn.NewServer(pc); err != nil {
		return fmt.Errorf("turn: %w", err)
	}
	x := s.id.X25519Public()
	args := []any{"listen", s.udp.LocalAddr().String(), "endpoint", s.apiLn.Addr().String(), "relay_ip", s.cfg.RelayAddr().String(),
		"ed25519", s.id.Ed25519Public().String(), "x25519", fmt.Sprintf("%x", x[:]), "network", s.network != nil}
	if s.tlsLn != nil {
		args = append(args, "tls_listen", s.tlsLn.Addr().String())
	}
	s.logger.Info("turn server ready", args...)
	if s.cfg.AllowPrivatePeers {
		s.logger.Warn("allow_private_peers is on: allocations may relay to loopback and private addresses (devnets only)")
	}
	if s.network == nil && s.nodes == nil {
		s.logger.Warn("no network file: issuing credentials to any relay; pass --network to serve only the network's nodes")
	}
	return nil
}

// relayGenerator is pion's generator of relayed sockets on relay_ip, in
// the configured port range.
func (s *Server) relayGenerator() pionturn.RelayAddressGenerator {
	ip := net.IP(s.cfg.RelayAddr().AsSlice())
	if s.cfg.RelayPortMin != 0 {
		return &pionturn.RelayAddressGeneratorPortRange{RelayAddress: ip, Address: ip.String(),
			MinPort: uint16(s.cfg.RelayPortMin), MaxPort: uint16(s.cfg.RelayPortMax)}
	}
	return &pionturn.RelayAddressGeneratorStatic{RelayAddress: ip, Address: ip.String()}
}

// listenPairTries bounds the ports listenPair draws when the TCP side
// of a drawn UDP port is taken.
const listenPairTries = 20

// listenPair opens the UDP socket at addr and a TCP listener (from
// listenTCP) on the same port, as the network file names one address for
// both. With port 0 the kernel picks a free UDP port whose TCP twin may
// be in use (another listener, an outgoing connection's local port): then
// it closes the UDP socket and draws again. A configured port that is
// taken is an error.
func listenPair(addr string, listenTCP func(network, addr string) (net.Listener, error)) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	drawn := port == "0" || port == ""
	for try := 1; ; try++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("listen udp: %w", err)
		}
		p := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := listenTCP("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if !drawn || !errors.Is(err, syscall.EADDRINUSE) || try == listenPairTries {
			return nil, nil, fmt.Errorf("listen tcp: %w", err)
		}
	}
}

func (s *Server) release() {
	if s.udp != nil {
		s.udp.Close()
	}
	for _, l := range []net.Listener{s.tcp, s.tlsLn, s.apiLn, s.metricsLn} {
		if l != nil {
			l.Close()
		}
	}
}
