// Package relaynode mounts the onion relay (internal/relay) in a service
// node (internal/node): [Routes] returns the function node.WithRoutes
// takes, which serves POST /onion_req/v2 next to the storage RPC, with the
// node's own keys, a replay cache, and a connection pool to other nodes
// that presents the node's certificate and pins each peer's key. The
// certificate is also presented to steward servers: it is how the next
// hop tells a relay from a client (internal/relay, "Budgets").
//
// The node's snapshot only exists once node.New has returned, after the
// routes are mounted, so the relay looks it up through a [Late] filled in
// afterwards:
//
//	var late relaynode.Late
//	n, err := node.New(cfg, logger, node.WithRoutes(relaynode.Routes(relaynode.Options{Snapshot: late.Snapshot, Logger: logger})))
//	...
//	late.Set(n)
//
// Until Set, and on a standalone node (no snapshot), the relay still
// answers as a destination; relaying to a next node fails with
// next_node_not_found.
package relaynode

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/nodeconfig"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/replay"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Options configure the mounted relay. Snapshot and Logger are required.
type Options struct {
	// Snapshot returns the node's current verified snapshot, or nil.
	Snapshot func() *snapshot.Snapshot
	// StewardAllow lists the steward endpoints (file and push servers of
	// the network file) this node forwards to; empty refuses them all.
	StewardAllow []onion.ServerTarget
	Logger       *slog.Logger
	// ReplayEntries bounds the replay cache; 0 means 200,000 (about 35 MB,
	// 3,300 layers a second over the window).
	ReplayEntries int
	// HopTimeout and HopSlack: see relay.Config.
	HopTimeout, HopSlack time.Duration
}

// replayWindow is how long an ephemeral key is remembered. Onion layers
// carry no timestamp (see internal/replay), so this is what bounds the
// replay of a captured layer; a minute covers any honest retry by a relay
// and keeps the cache small.
const replayWindow = time.Minute

// Routes returns the mount function for node.WithRoutes.
func Routes(o Options) func(mux *http.ServeMux, id *node.Identity, rpc http.Handler) error {
	return func(mux *http.ServeMux, id *node.Identity, rpc http.Handler) error {
		if o.Snapshot == nil || o.Logger == nil {
			return errors.New("relaynode: snapshot source and logger are required")
		}
		if o.ReplayEntries == 0 {
			o.ReplayEntries = 200_000
		}
		cert, err := node.Certificate(id.Ed25519, time.Now())
		if err != nil {
			return err
		}
		self := id.Ed25519Public()
		rl, err := relay.New(relay.Config{
			X25519:       id.X25519,
			Ed25519:      self,
			Directory:    relay.SnapshotDirectory(o.Snapshot),
			Local:        rpc,
			Forwarder:    onionclient.NewPool(onionclient.PoolConfig{Cert: &cert}),
			Steward:      relay.HTTPSteward{Client: stewardClient(cert)},
			StewardAllow: o.StewardAllow,
			Replay:       replay.New(o.ReplayEntries, replayWindow),
			Clock:        time.Now,
			Logger:       o.Logger,
			HopTimeout:   o.HopTimeout,
			HopSlack:     o.HopSlack,
		})
		if err != nil {
			return err
		}
		mux.Handle(relay.Path, rl)
		return nil
	}
}

// stewardClient reaches steward servers with their usual certificate
// checks, presenting the node's certificate so that a steward server can
// budget this relay per node identity (keytls.PeerNode) as nodes do.
func stewardClient(cert tls.Certificate) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	return &http.Client{Transport: tr}
}

// Late is a snapshot source set once the node exists. It is safe for
// concurrent use.
type Late struct {
	n atomic.Pointer[node.Node]
}

// Set makes Snapshot follow n.
func (l *Late) Set(n *node.Node) { l.n.Store(n) }

// Snapshot returns the node's current snapshot, nil before Set.
func (l *Late) Snapshot() *snapshot.Snapshot {
	if n := l.n.Load(); n != nil {
		return n.Snapshot()
	}
	return nil
}

// NewNode builds a service node with the onion relay mounted. It is the one
// place that assembles a full node, shared by `hushd node` and the
// in-process devnet, so both serve exactly the same routes.
func NewNode(cfg nodeconfig.Config, logger *slog.Logger, opts ...node.Option) (*node.Node, error) {
	var late Late
	opts = append(opts, node.WithRoutes(Routes(Options{Snapshot: late.Snapshot, Logger: logger})))
	n, err := node.New(cfg, logger, opts...)
	if err != nil {
		return nil, err
	}
	late.Set(n)
	return n, nil
}
