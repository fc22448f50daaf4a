package node

import (
	"crypto/tls"
	"net/http"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/replay"
)

// The onion relay (internal/relay) serves POST /onion_req/v2 next to the
// storage RPC, with the node's own keys, a replay cache, and a connection
// pool to other nodes that presents the node's certificate and pins each
// peer's key. The certificate is also presented to steward servers: it is
// how the next hop tells a relay from a client (internal/relay,
// "Budgets"). The relay finds next nodes in the node's current snapshot;
// a standalone node has none, so it answers as a destination only and
// relaying to a next node fails with next_node_not_found.

// relayReplayWindow is how long an ephemeral key is remembered. Onion
// layers carry no timestamp (see internal/replay), so this is what bounds
// the replay of a captured layer; a minute covers any honest retry by a
// relay and keeps the cache small.
const relayReplayWindow = time.Minute

// relayReplayEntries bounds the relay's replay cache: about 35 MB, 3,300
// layers a second over the window.
const relayReplayEntries = 200_000

// newRelay builds the node's onion relay. local is the storage RPC, which
// answers the final hop of an onion request. No steward endpoint is
// allowed yet (the network file names none), so steward forwards are
// refused.
func (n *Node) newRelay(cert tls.Certificate, local http.Handler) (*relay.Relay, error) {
	return relay.New(relay.Config{
		X25519:    n.id.X25519,
		Ed25519:   identity.Ed25519PublicKey(n.id.Ed25519Public()),
		Directory: relay.SnapshotDirectory(n.Snapshot),
		Local:     local,
		Forwarder: onionclient.NewPool(onionclient.PoolConfig{Cert: &cert}),
		Steward:   relay.HTTPSteward{Client: stewardClient(cert)},
		Replay:    replay.New(relayReplayEntries, relayReplayWindow),
		Clock:     time.Now,
		Logger:    n.logger,
		MaxHold:   relayMaxHold(n.cfg.MaxHold.D()),
		MaxHeld:   n.cfg.MaxHeldRelayed,
	})
}

// relayMaxHold maps the max_hold key (0: honour no hold) to
// relay.Config.MaxHold (0 there is the default, negative none).
func relayMaxHold(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// stewardClient reaches steward servers with their usual certificate
// checks, presenting the node's certificate so that a steward server can
// budget this relay per node identity (keytls.PeerNode) as nodes do.
func stewardClient(cert tls.Certificate) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	return &http.Client{Transport: tr}
}
