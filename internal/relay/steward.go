package relay

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/protocol/onion"
)

// HTTPSteward is a [Steward] over an http.Client. Steward servers are
// reached over HTTPS with the client's certificate checks; the payload
// inside is sealed to the server's own X25519 key, so the relay could not
// read it even over plain HTTP. Nodes use [PinnedSteward] instead; this
// one serves tests whose stand-in servers speak plain HTTP.
type HTTPSteward struct {
	Client *http.Client
}

var _ Steward = HTTPSteward{}

// Do implements [Steward].
func (s HTTPSteward) Do(ctx context.Context, t onion.ServerTarget, frame []byte, limit int) (int, []byte, error) {
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	return post(ctx, c, t, frame, limit)
}

// post sends frame to t with c and reads at most limit bytes of answer.
func post(ctx context.Context, c *http.Client, t onion.ServerTarget, frame []byte, limit int) (int, []byte, error) {
	u := t.Protocol + "://" + hostPort(t) + t.Target
	// The frame goes as the body whatever the method: the server's own
	// request is inside it.
	req, err := http.NewRequestWithContext(ctx, t.Method, u, bytes.NewReader(frame))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return 0, nil, err
	}
	if len(b) > limit {
		return 0, nil, fmt.Errorf("relay: steward answer over %d bytes", limit)
	}
	return resp.StatusCode, b, nil
}

// hostPort is t's host:port. An IPv6 host is already in brackets in a
// target (protocol/onion), so net.JoinHostPort would bracket it twice.
func hostPort(t onion.ServerTarget) string {
	return t.Host + ":" + strconv.Itoa(int(t.Port))
}

// StewardServer is one steward server a relay forwards to: the endpoint
// it is allowed under (an entry of [Config.StewardAllow]) and the
// Ed25519 key its TLS certificate must carry. A node builds its list from
// the network file's services (internal/node).
type StewardServer struct {
	Target  onion.ServerTarget
	Ed25519 identity.Ed25519PublicKey
}

// ErrStewardNotPinned is returned by [PinnedSteward.Do] for a target
// whose host and port name no server of its list, or that is not HTTPS:
// a relay never reaches a steward server without a key to pin.
var ErrStewardNotPinned = errors.New("relay: no pinned key for this steward server")

// PinnedSteward is the [Steward] of a node: it reaches each server of its
// list over HTTPS pinned to that server's Ed25519 key (keytls), never
// through system roots, and presents the node's certificate so that the
// server can budget this relay per node identity (keytls.PeerNode). It is
// safe for concurrent use.
type PinnedSteward struct {
	cert *tls.Certificate
	// byAddr is the key of each server by host:port, fixed at creation.
	byAddr map[string]identity.Ed25519PublicKey

	mu sync.Mutex // guards clients
	// clients holds one pinned transport per server key, made on first
	// use; it is bounded by the list.
	clients map[identity.Ed25519PublicKey]*http.Client
}

var _ Steward = (*PinnedSteward)(nil)

// NewPinnedSteward returns a PinnedSteward for servers, presenting cert
// (nil: none). Two entries with one host and port must name one key.
func NewPinnedSteward(cert *tls.Certificate, servers []StewardServer) (*PinnedSteward, error) {
	s := &PinnedSteward{cert: cert, byAddr: map[string]identity.Ed25519PublicKey{}, clients: map[identity.Ed25519PublicKey]*http.Client{}}
	for _, sv := range servers {
		addr := hostPort(sv.Target)
		if k, ok := s.byAddr[addr]; ok && k != sv.Ed25519 {
			return nil, fmt.Errorf("relay: steward server %s listed with two keys", addr)
		}
		if sv.Target.Protocol != "https" {
			return nil, fmt.Errorf("relay: steward server %s: protocol %q cannot be pinned; use https", addr, sv.Target.Protocol)
		}
		s.byAddr[addr] = sv.Ed25519
	}
	return s, nil
}

// AllowList returns the targets of servers, for [Config.StewardAllow].
func AllowList(servers []StewardServer) []onion.ServerTarget {
	out := make([]onion.ServerTarget, len(servers))
	for i, s := range servers {
		out[i] = s.Target
	}
	return out
}

// Do implements [Steward].
func (s *PinnedSteward) Do(ctx context.Context, t onion.ServerTarget, frame []byte, limit int) (int, []byte, error) {
	k, ok := s.byAddr[hostPort(t)]
	if !ok || t.Protocol != "https" {
		return 0, nil, ErrStewardNotPinned
	}
	return post(ctx, s.client(k), t, frame, limit)
}

func (s *PinnedSteward) client(k identity.Ed25519PublicKey) *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[k]; ok {
		return c
	}
	c := &http.Client{Transport: &http.Transport{
		Proxy:               nil, // a relay reaches its servers directly
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     keytls.ClientConfig(s.cert, keytls.Only(k)),
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 8,
	}}
	s.clients[k] = c
	return c
}

// Close closes idle connections; s stays usable.
func (s *PinnedSteward) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		c.CloseIdleConnections()
	}
}
