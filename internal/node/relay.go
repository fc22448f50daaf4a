package node

import (
	"crypto/tls"
	"net/http"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/replay"
	"github.com/hushnet/hush/protocol/files"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/transparency"
	"github.com/hushnet/hush/protocol/turn"
)

// The onion relay (internal/relay) serves POST /onion_req/v2 next to the
// storage RPC, with the node's own keys, a replay cache, and a connection
// pool to other nodes that presents the node's certificate and pins each
// peer's key. The certificate is also presented to steward servers: it is
// how the next hop tells a relay from a client (internal/relay,
// "Budgets"). The relay finds next nodes in the node's current snapshot;
// a standalone node has none, so it answers as a destination only and
// relaying to a next node fails with next_node_not_found.
//
// Steward servers (file server, push server) come from the network file:
// the relay forwards to exactly their endpoints ([stewardEndpoints]) and
// reaches each over TLS pinned to the Ed25519 key the file gives for it
// (relay.PinnedSteward), never through system roots. A standalone node
// forwards to none.

// relayReplayWindow is how long an ephemeral key is remembered. Onion
// layers carry no timestamp (see internal/replay), so this is what bounds
// the replay of a captured layer; a minute covers any honest retry by a
// relay and keeps the cache small.
const relayReplayWindow = time.Minute

// relayReplayEntries bounds the relay's replay cache: about 35 MB, 3,300
// layers a second over the window.
const relayReplayEntries = 200_000

// stewardEndpoints are the steward services a relay forwards to and the
// path each serves its onion endpoint at; a new service (push) is one
// more entry.
var stewardEndpoints = []struct {
	service func(netfile.Services) *netfile.Service
	path    string
}{
	// One endpoint for every operation of a server, so the last relay
	// sees none.
	{func(s netfile.Services) *netfile.Service { return s.Files }, files.Target},
	{func(s netfile.Services) *netfile.Service { return s.Push }, push.Target},
	// The TURN server's credential endpoint (its Endpoint address, not
	// the TURN port: netfile.Service.OnionTarget).
	{func(s netfile.Services) *netfile.Service { return s.TURN }, turn.Target},
	// Their signed transparency reports (protocol/transparency), which
	// clients fetch through onion paths like any request to them.
	{func(s netfile.Services) *netfile.Service { return s.Files }, transparency.Target},
	{func(s netfile.Services) *netfile.Service { return s.Push }, transparency.Target},
	{func(s netfile.Services) *netfile.Service { return s.TURN }, transparency.Target},
}

// stewardServers lists the steward servers of network (none for nil).
func stewardServers(network *netfile.Network) []relay.StewardServer {
	if network == nil {
		return nil
	}
	var out []relay.StewardServer
	for _, e := range stewardEndpoints {
		svc := e.service(network.Services)
		if svc == nil || svc.Ed25519 == nil {
			continue // netfile.Validate requires the key; nil is no service
		}
		out = append(out, relay.StewardServer{Target: svc.OnionTarget(e.path), Ed25519: *svc.Ed25519})
	}
	// Registry hosts are onion destinations for their transparency report
	// only: the API address the network file names, pinned to the host's
	// key, whose onion key derives from it (internal/registry).
	for _, r := range network.Registries {
		svc := netfile.Service{Address: r.Address}
		out = append(out, relay.StewardServer{Target: svc.OnionTarget(transparency.Target), Ed25519: r.Ed25519})
	}
	return out
}

// newRelay builds the node's onion relay. local is the storage RPC, which
// answers the final hop of an onion request.
func (n *Node) newRelay(cert tls.Certificate, local http.Handler) (*relay.Relay, error) {
	servers := stewardServers(n.network)
	steward, err := relay.NewPinnedSteward(&cert, servers)
	if err != nil {
		return nil, err
	}
	return relay.New(relay.Config{
		X25519:    n.id.X25519,
		Ed25519:   identity.Ed25519PublicKey(n.id.Ed25519Public()),
		Signer:    n.id.Ed25519, // signs onion session_unknown answers
		Directory: relay.SnapshotDirectory(n.Snapshot),
		Local:     local,
		Forwarder: onionclient.NewPool(onionclient.PoolConfig{Cert: &cert}),
		// The node's certificate goes to steward servers too, so that they
		// can budget this relay per node identity (keytls.PeerNode).
		Steward:      steward,
		StewardAllow: relay.AllowList(servers),
		Replay:       replay.New(relayReplayEntries, relayReplayWindow),
		Clock:        n.now,
		Logger:       n.logger,
		MaxHold:      relayMaxHold(n.cfg.MaxHold.D()),
		MaxHeld:      n.cfg.MaxHeldRelayed,
		Limits:       relayLimits(n.cfg.RateLimitBurst, n.cfg.RateLimitPerSecond, n.cfg.RelayNodeBurst, n.cfg.RelayNodePerSecond),
	})
}

// relayLimits maps the rate keys to the relay's budgets: a client's
// onion requests share the per-IP rate_limit keys with its direct ones
// (0 there leaves the relay's default, as a relay is never unlimited),
// and relay_node_* budget each relay identity (0: the relay's default,
// relay.DefaultNodeRateFactor times the client's).
func relayLimits(burst int, perSecond float64, nodeBurst int, nodePerSecond float64) relay.Limits {
	var lim relay.Limits
	if perSecond > 0 {
		lim.ClientRate = ratelimit.Rate{Burst: burst, PerSecond: perSecond}
	}
	if nodePerSecond > 0 {
		lim.NodeRate = ratelimit.Rate{Burst: nodeBurst, PerSecond: nodePerSecond}
	}
	return lim
}

// relayMaxHold maps the max_hold key (0: honour no hold) to
// relay.Config.MaxHold (0 there is the default, negative none).
func relayMaxHold(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
