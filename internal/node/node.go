// Package node is the one wiring point of a service node (`hushd node`
// and the in-process devnet): it loads the node's keys, opens the store,
// builds the storage RPC handler with its rate limiter and replay cache,
// the onion relay (internal/relay) at /onion_req/v2 and, in a network, the
// replication route, serves them over TLS pinned to the node key
// (internal/keytls), serves metrics on a separate address, sweeps expired
// messages, and (in a network) registers with the registry and follows
// its snapshots.
//
// # Lifetime
//
// [New] assembles the whole node: it reads the node's files (keys,
// network file, registration, saved snapshot) and opens its database, so
// that configuration errors surface before it serves, but it opens no
// socket and contacts nobody. [Node.Run] opens the listeners (closing
// [Node.Ready] once they are open, after which [Node.Addr] and
// [Node.Advertise] are known), serves until its context is cancelled and
// then stops in this order:
//
//  1. registration and snapshot following stop, so no new view of the
//     network arrives while the node winds down;
//  2. the API server stops accepting connections and waits, up to the
//     shutdown timeout, for requests in flight (held retrieves are
//     answered at once); a store acknowledged to a client is already
//     committed;
//     2a. replication stops: anti-entropy and hand-offs, after the
//     handlers that forward through it;
//     2b. the push notifier stops (notifies in flight are cancelled),
//     after everything that reports deposits to it;
//  3. the sweeper stops (after its current sweep);
//  4. the metrics server stops;
//  5. the database closes, after everything that used it.
//
// # Push notifications
//
// In a network whose file lists a push server, the node notifies it of
// new deposits for accounts with push subscription records, through
// onion paths of its own that avoid itself (push.go, internal/pushnotify);
// config fields push_notify_interval and push_notify_queue shape it.
//
// # Standalone
//
// A standalone node is a one-node network that owns every account, with a
// network ID derived from its key ([Identity.StandaloneNetworkID]) unless
// one is configured.
//
// # In a network
//
// With a network file (config field network) the node takes its network
// ID and registry hosts from the file. Once it serves, it registers a
// signed descriptor (with the steward admission named by the config field
// registration, unless the registry admits every node, as a devnet's
// does), long-polls the registry hosts for snapshots, verifies each
// against the file's host keys, and answers from the newest: it owns the
// accounts that map to its swarm, answers 421 with the right swarm for the
// others and get_swarm for any account, and serves the snapshot's bytes to
// clients (get_snapshot), so clients never contact a registry host.
//
// Epochs only go up: an older snapshot is refused, and the newest is
// saved in the data directory ([SnapshotFile]) so a restart neither rolls
// back nor starts blind. Through a registry outage the node keeps serving
// its last snapshot until that snapshot expires; after that it answers
// account requests with 503 "unavailable" (never a 421 built from an
// expired view) until a newer snapshot arrives. A node the registry
// dropped (voted unreachable) registers again when it sees a snapshot
// without itself.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/connlimit"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/labnet"
	"github.com/hushnet/hush/internal/logfilter"
	"github.com/hushnet/hush/internal/nodeapi"
	"github.com/hushnet/hush/internal/pushnotify"
	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/replay"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/internal/store/arrivals"
	"github.com/hushnet/hush/internal/store/sqlite"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Version is reported by info.
const Version = "0.1.0-dev"

// DBFile is the message database inside the data directory.
const DBFile = "messages.db"

// Node is a running service node's subsystems.
type Node struct {
	cfg       config.Node
	logger    *slog.Logger
	now       func() time.Time // time.Now unless WithClock
	id        *Identity
	networkID string
	db        *sqlite.DB

	api, metrics *http.Server // metrics nil when off

	// Set by Run before ready closes, never after.
	ready     chan struct{}
	apiLn     net.Listener
	metricsLn net.Listener // nil when metrics are off
	advertise string

	network *netfile.Network    // nil when standalone
	members *snapshotMembership // nil when standalone
	link    *registryLink       // nil when standalone
	rep     *replicationState   // nil when standalone
	push    *pushState          // nil when it notifies nobody
}

// Option changes how [New] builds a node.
type Option func(*options)

type options struct {
	replication []func(*replication.Config)
	push        []func(*pushnotify.Config)
	wrapRPC     func(http.Handler) http.Handler
	clock       func() time.Time
}

// WithRPCWrapper wraps the storage RPC handler (direct requests and the
// final hop of onion requests alike) in wrap. It exists for tests that
// make a real node misbehave (internal/misbehave); hushd never sets it.
func WithRPCWrapper(wrap func(http.Handler) http.Handler) Option {
	return func(o *options) { o.wrapRPC = wrap }
}

// WithClock makes the node read now instead of time.Now wherever it
// judges time: request timestamps, deposit times and expiry, the sweeper,
// onion hops, replication and push. It exists for tests that need the
// network at a given hour of the day (the prekey epochs are UTC days);
// hushd never sets it.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.clock = now }
}

// standalone owns every account: one swarm holding only this node, at the
// address Run advertises (no request is served before Run sets it).
type standalone struct{ n *Node }

func (standalone) Owns(identity.AccountID) bool { return true }
func (s standalone) SwarmOf(identity.AccountID) replication.Swarm {
	self := snapshot.Node{Ed25519: s.n.id.Ed25519Public(), X25519: s.n.id.X25519Public(), Address: s.n.advertise}
	return replication.Swarm{ID: 0, Members: []snapshot.Node{self}}
}

// New assembles a node from a validated configuration, without opening a
// socket (see the package documentation). On error everything acquired
// is released; after success, Run releases it.
func New(cfg config.Node, logger *slog.Logger, opts ...Option) (_ *Node, err error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	// n is not the named result: every error return sets that to nil
	// before the deferred release runs, and release needs what n holds.
	n := &Node{cfg: cfg, logger: logger, now: time.Now, ready: make(chan struct{})}
	if o.clock != nil {
		n.now = o.clock
	}
	defer func() {
		if err != nil {
			n.release()
		}
	}()
	if n.id, err = LoadOrCreateIdentity(cfg.Data); err != nil {
		return nil, err
	}
	n.networkID = cfg.NetworkID
	var admission *entry.Admission
	if cfg.Network != "" {
		if n.network, err = LoadNetwork(cfg.Network); err != nil {
			return nil, err
		}
		if n.networkID != "" && n.networkID != n.network.ID {
			return nil, fmt.Errorf("config field network_id %q differs from the network file's %q; drop it", n.networkID, n.network.ID)
		}
		n.networkID = n.network.ID
		if cfg.Registration != "" {
			if admission, err = loadAdmission(cfg.Registration, identity.Ed25519PublicKeyOf(n.id.Ed25519)); err != nil {
				return nil, err
			}
		}
	}
	if n.networkID == "" {
		n.networkID = n.id.StandaloneNetworkID()
	}
	warnIfClockLooksWrong(logger, n.now())

	dbOpts := []sqlite.Option{
		sqlite.WithLogger(logger),
		sqlite.WithAccountQuota(cfg.AccountQuotaBytes, cfg.AccountQuotaMessages),
		sqlite.WithPublicQuota(cfg.PublicQuotaBytes, cfg.PublicQuotaMessages),
		sqlite.WithMaxTotalBytes(cfg.MaxDBBytes),
		sqlite.WithClock(n.now),
	}
	if cfg.FloodPolicy == "refuse" {
		dbOpts = append(dbOpts, sqlite.WithFloodPolicy(sqlite.Refuse))
	}
	if n.db, err = sqlite.Open(n.dataPath(DBFile), dbOpts...); err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	n.registerStoreMetrics(reg)

	var limiter nodeapi.Limiter
	if cfg.RateLimitPerSecond > 0 {
		limiter = ratelimit.New(cfg.RateLimitBurst, cfg.RateLimitPerSecond, 0)
	}
	var membership nodeapi.Membership = standalone{n}
	var snapshots nodeapi.SnapshotSource
	if n.network != nil {
		n.members = &snapshotMembership{self: identity.Ed25519PublicKeyOf(n.id.Ed25519)}
		membership, snapshots = n.members, n.members.snapshot
		n.link = newRegistryLink(n.network, n.id, admission, n.members, logger, cfg.Data)
		n.link.loadSaved()
	}
	// The certificate also identifies the node when it relays (to the next
	// node and to steward servers) and when it sends its own notifies, so
	// a node serving plain HTTP has one.
	cert, err := keytls.Certificate(n.id.Ed25519)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	// Before replication and the storage RPC, which report new deposits
	// to it.
	if err := n.setUpPush(o, cert, n.db, reg); err != nil {
		return nil, err
	}
	// Every path that inserts messages (the storage RPC, replication's
	// forwards, anti-entropy and hand-offs) goes through the hub, so a
	// held retrieve wakes whichever way its message came.
	hub := arrivals.New()
	if err := n.setUpReplication(o, hub); err != nil {
		return nil, err
	}
	n.registerReplicationMetrics(reg)
	h, err := nodeapi.New(nodeapi.Config{
		Store:             hub.Store(n.apiStore()),
		Arrivals:          hub,
		MaxHeld:           cfg.MaxHeldRetrieves,
		MaxHeldPerAccount: cfg.MaxHeldPerAccount,
		Clock:             n.now,
		Membership:        membership,
		Snapshot:          snapshots,
		// Entries must outlive the whole ±SigTolerance window of the
		// signature they record.
		Replay:      replay.New(cfg.ReplayCacheSize, 2*rpc.SigTolerance+time.Second),
		Limiter:     limiter,
		Logger:      logger,
		Metrics:     reg,
		NetworkID:   n.networkID,
		Version:     Version,
		Ed25519:     n.id.Ed25519Public(),
		X25519:      n.id.X25519Public(),
		MaxBodySize: cfg.MaxBodyBytes,
		LogPrivate:  cfg.DebugLogPrivate,
		PublicStats: cfg.PublicStats,
		Replicator:  n.replicator(),
		Deposits:    n.deposits(),
	})
	if err != nil {
		return nil, err
	}
	var rpcHandler http.Handler = h
	if o.wrapRPC != nil {
		rpcHandler = o.wrapRPC(h)
	}
	rl, err := n.newRelay(cert, rpcHandler)
	if err != nil {
		return nil, err
	}
	reg.MustRegister(rl.Metrics()...)
	mux := http.NewServeMux()
	mux.Handle("/", rpcHandler)
	mux.Handle(relay.Path, rl)
	n.mountReplication(mux)
	n.api = &http.Server{
		// Its time-outs are for ordinary requests; a held retrieve
		// extends its own (nodeapi, hold.go).
		Handler:           mux,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout.D(),
		ReadTimeout:       cfg.ReadTimeout.D(),
		WriteTimeout:      cfg.WriteTimeout.D(),
		IdleTimeout:       cfg.IdleTimeout.D(),
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		HTTP2:             HTTP2Config(),
		// TLS handshake errors name the client's IP:port.
		ErrorLog: logfilter.ErrorLog(logger.Handler(), cfg.DebugLogPrivate),
	}
	// Shutdown waits for requests in flight: held retrieves are answered
	// at once instead of after their wait.
	n.api.RegisterOnShutdown(h.StopHolding)
	if !cfg.InsecureHTTP {
		// Relays present their node certificate so that this node can
		// budget them per node identity (keytls.PeerNode, internal/relay);
		// clients present none.
		n.api.TLSConfig = keytls.ServerConfig(cert, nil)
		keytls.RequestClientCerts(n.api.TLSConfig)
	}

	if cfg.Metrics != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		n.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	}
	return n, nil
}

// listen opens the API and metrics listeners and works out the advertised
// address; on error it closes what it opened.
func (n *Node) listen() error {
	ln, err := labnet.Listen("tcp", n.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if n.metrics != nil {
		if n.metricsLn, err = net.Listen("tcp", n.cfg.Metrics); err != nil {
			ln.Close()
			return fmt.Errorf("metrics listen: %w", err)
		}
	}
	n.apiLn = connlimit.New(ln, n.cfg.MaxConnections)
	n.advertise = n.cfg.Advertise
	if host, port, _ := net.SplitHostPort(n.advertise); port == "0" {
		// Listening on an ephemeral port (tests, devnets): advertise the
		// port the system chose.
		n.advertise = net.JoinHostPort(host, strconv.Itoa(n.apiLn.Addr().(*net.TCPAddr).Port))
	}
	if n.link != nil {
		n.link.advertise = n.advertise
	}
	n.logger.Info("node ready",
		"network_id", n.networkID, "ed25519", n.id.Ed25519Public().String(),
		"listen", n.apiLn.Addr().String(), "advertise", n.advertise, "tls", !n.cfg.InsecureHTTP, "registry", n.network != nil)
	if n.cfg.InsecureHTTP {
		n.logger.Warn("serving plain HTTP: clients cannot authenticate this node; use only for debugging")
	}
	return nil
}

func (n *Node) dataPath(name string) string { return filepath.Join(n.cfg.Data, name) }

// Ready is closed once Run has opened the listeners. If it cannot, Run
// returns the error without closing Ready.
func (n *Node) Ready() <-chan struct{} { return n.ready }

// Addr is the API listener's address, once Ready is closed.
func (n *Node) Addr() net.Addr { return n.apiLn.Addr() }

// MetricsAddr is the metrics listener's address once Ready is closed, or
// nil when metrics are off.
func (n *Node) MetricsAddr() net.Addr {
	if n.metricsLn == nil {
		return nil
	}
	return n.metricsLn.Addr()
}

// Advertise is the address the node tells the registry and clients, once
// Ready is closed.
func (n *Node) Advertise() string { return n.advertise }

// Network returns the node's network file, nil for a standalone node.
func (n *Node) Network() *netfile.Network { return n.network }

// Snapshot returns the newest verified snapshot the node serves, nil
// before the first or for a standalone node.
func (n *Node) Snapshot() *snapshot.Snapshot {
	if n.members == nil {
		return nil
	}
	return n.members.current()
}

// Identity returns the node's keys.
func (n *Node) Identity() *Identity { return n.id }

// NetworkID returns the network the node serves.
func (n *Node) NetworkID() string { return n.networkID }

// Run opens the listeners, serves until ctx is cancelled, then stops in
// the order the package documentation gives. It returns nil after a clean
// stop. It releases everything New acquired, also when the listeners
// cannot be opened; a Node runs once.
func (n *Node) Run(ctx context.Context) error {
	if err := n.listen(); err != nil {
		n.release()
		return err
	}
	close(n.ready)
	serveErr := make(chan error, 2)
	go func() {
		var err error
		if n.api.TLSConfig != nil {
			err = n.api.ServeTLS(n.apiLn, "", "")
		} else {
			err = n.api.Serve(n.apiLn)
		}
		serveErr <- err
	}()
	if n.metrics != nil {
		go func() { serveErr <- n.metrics.Serve(n.metricsLn) }()
	}
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	var sweeper sync.WaitGroup
	sweeper.Go(func() { n.sweep(sweepCtx) })
	// The registry probes the node while accepting its registration, so
	// the link starts after the API serves.
	linkCtx, stopLink := context.WithCancel(context.Background())
	var linker sync.WaitGroup
	if n.link != nil {
		linker.Go(func() { n.link.run(linkCtx) })
	}
	stopReplication := n.startReplication()
	stopPush := n.startPush(n.logger)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("serve: %w", err)
		}
	}
	n.logger.Info("stopping")

	// 1. Stop following the registry.
	stopLink()
	linker.Wait()
	// 2. Stop accepting; let requests in flight finish.
	shutCtx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownTimeout.D())
	defer cancel()
	if err := n.api.Shutdown(shutCtx); err != nil {
		n.logger.Warn("requests still running at shutdown timeout; closing them", "err", err)
		n.api.Close()
	}
	// 2a. Stop replication (anti-entropy, hand-offs) after the handlers
	// that forward through it.
	stopReplication()
	// 2b. Stop the push notifier, which they fed.
	stopPush()
	// 3. Stop the sweeper.
	stopSweep()
	sweeper.Wait()
	// 4. Stop metrics.
	if n.metrics != nil {
		n.metrics.Shutdown(shutCtx)
	}
	// 5. Close the database last: nothing uses it any more.
	if err := n.db.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("close database: %w", err)
	}
	n.logger.Info("stopped")
	return runErr
}

// release frees what New (and a failed listen) acquired.
func (n *Node) release() {
	if n.apiLn != nil {
		n.apiLn.Close()
	}
	if n.metricsLn != nil {
		n.metricsLn.Close()
	}
	if n.db != nil {
		n.db.Close()
	}
}

func (n *Node) sweep(ctx context.Context) {
	t := time.NewTicker(n.cfg.SweepInterval.D())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if k, err := n.db.Sweep(ctx, n.now()); err != nil && ctx.Err() == nil {
				n.logger.Error("sweep failed", "err", err)
			} else if k > 0 {
				n.logger.Debug("swept expired messages", "count", k)
			}
		}
	}
}

// registerStoreMetrics exports store-wide totals, read at scrape time.
func (n *Node) registerStoreMetrics(reg prometheus.Registerer) {
	stat := func(pick func(s store.Stats) int64) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s, err := n.db.Stats(ctx)
			if err != nil {
				return 0
			}
			return float64(pick(s))
		}
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hush", Subsystem: "store", Name: "messages", Help: "Messages stored."},
			stat(func(s store.Stats) int64 { return s.Messages })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hush", Subsystem: "store", Name: "bytes", Help: "Message data bytes stored."},
			stat(func(s store.Stats) int64 { return s.Bytes })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "hush", Subsystem: "store", Name: "accounts", Help: "Accounts with stored messages."},
			stat(func(s store.Stats) int64 { return s.Accounts })),
	)
}

// warnIfClockLooksWrong compares the clock with the time the binary was
// built (from version control metadata): a clock before it is certainly
// wrong, and would make the node refuse every signed request.
func warnIfClockLooksWrong(logger *slog.Logger, now time.Time) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	for _, s := range info.Settings {
		if s.Key != "vcs.time" {
			continue
		}
		built, err := time.Parse(time.RFC3339, s.Value)
		if err == nil && now.Before(built.Add(-24*time.Hour)) {
			logger.Warn("system clock is before this binary's build time; the clock looks wrong and signed requests will be refused; check NTP",
				"now", now.UTC().Format(time.RFC3339), "built", built.Format(time.RFC3339))
		}
	}
}
