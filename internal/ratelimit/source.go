package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
)

// Source is whom a budget is per: a node of the network, proven by its
// TLS client certificate, or else a client address (a /64 for IPv6). The
// zero Source is the client whose address is unknown; all such requests
// share its budget. Sources are comparable and can key maps.
type Source struct {
	node bool
	key  identity.Ed25519PublicKey
	addr netip.Addr
}

// ClientSource is the source for a client at addr.
func ClientSource(addr netip.Addr) Source { return Source{addr: addrKey(addr)} }

// NodeSource is the source for the node with key k.
func NodeSource(k identity.Ed25519PublicKey) Source { return Source{node: true, key: k} }

// Node reports the node's key, and whether the source is a node at all.
func (s Source) Node() (identity.Ed25519PublicKey, bool) { return s.key, s.node }

// String names the kind of source and, for a node, its key. It never
// shows a client's address, so it may be logged.
func (s Source) String() string {
	if s.node {
		return "node " + s.key.String()
	}
	return "client"
}

// SourceOf is whom r is charged to: the node whose certificate r's TLS
// peer proved, when nodes (membership in the current snapshot) accepts its
// key, and otherwise the client at r's remote address. A server must ask
// for client certificates (tls.RequestClientCert) for nodes to be told
// apart; without one, or with a key that is no current node, the peer is
// a client like any other. See keytls.PeerNode.
func SourceOf(r *http.Request, nodes func(identity.Ed25519PublicKey) bool) Source {
	if k, ok := keytls.PeerNode(r.TLS, nodes); ok {
		return NodeSource(k)
	}
	return ClientSource(remoteAddr(r.RemoteAddr))
}

// remoteAddr parses an http.Request's RemoteAddr, the zero Addr when it
// is not an address.
func remoteAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr()
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, _ := netip.ParseAddr(host)
	return a
}

// SourceLimiter holds a token bucket per [Source]: each client address
// gets one of Client's shape, each node one of Node's. It is safe for
// concurrent use.
type SourceLimiter struct {
	clients *table[Source]
	nodes   *table[Source]
}

// NewSourceLimiter returns a limiter with the given shapes, remembering
// at most maxSources clients (0 means DefaultMaxClients). The nodes of a
// snapshot are few, so their table is bounded by the same number.
func NewSourceLimiter(client, node Rate, maxSources int) *SourceLimiter {
	return &SourceLimiter{clients: newTable[Source](client, maxSources), nodes: newTable[Source](node, maxSources)}
}

// Allow takes one token for src at now. When none is left it reports
// false and how long until one will be.
func (l *SourceLimiter) Allow(src Source, now time.Time) (bool, time.Duration) {
	if src.node {
		return l.nodes.allow(src, now)
	}
	return l.clients.allow(src, now)
}
