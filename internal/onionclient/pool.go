package onionclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/protocol/onion"
)

// OnionPath is where every node serves onion requests.
const OnionPath = "/onion_req/v2"

// RPCPath is a node's direct storage RPC, used to test a guard.
const RPCPath = "/storage_rpc/v1"

// Poster sends one POST to a node, over a connection pinned to key. It
// returns the HTTP status and at most limit bytes of body; a longer body is
// an error. It must be safe for concurrent use. [Pool] implements it.
type Poster interface {
	Post(ctx context.Context, key identity.Ed25519PublicKey, addr, path string, body []byte, limit int) (status int, resp []byte, err error)
}

// ErrTooLong is returned by [Pool.Post] for a response body over the limit.
var ErrTooLong = errors.New("onionclient: response too long")

// PoolConfig configures a [Pool]. The zero value works.
type PoolConfig struct {
	// Cert, when set, is presented as a client certificate, so that a
	// node receiving relayed traffic can tell which node sent it.
	Cert *tls.Certificate
	// Dialer dials TCP; nil means a default dialer. Tests set LocalAddr
	// to give every in-process node its own loopback address.
	Dialer *net.Dialer
	// IdleTimeout closes idle connections; 0 means 90 s.
	IdleTimeout time.Duration
	// HandshakeTimeout bounds a TLS handshake; 0 means 10 s.
	HandshakeTimeout time.Duration
}

// Pool holds pinned HTTPS transports to nodes, one per node key. It is
// safe for concurrent use.
type Pool struct {
	cfg PoolConfig

	mu sync.Mutex // guards byKey
	// byKey is the transport for each node key seen. It grows with the
	// nodes contacted (bounded by the snapshot), and idle connections
	// time out on their own.
	byKey map[identity.Ed25519PublicKey]*http.Client
}

var _ Poster = (*Pool)(nil)

// NewPool returns an empty pool.
func NewPool(cfg PoolConfig) *Pool {
	if cfg.Dialer == nil {
		cfg.Dialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 90 * time.Second
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = 10 * time.Second
	}
	return &Pool{cfg: cfg, byKey: map[identity.Ed25519PublicKey]*http.Client{}}
}

func (p *Pool) client(key identity.Ed25519PublicKey) *http.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.byKey[key]; ok {
		return c
	}
	tr := &http.Transport{
		DialContext:         p.cfg.Dialer.DialContext,
		TLSClientConfig:     keytls.ClientConfig(p.cfg.Cert, keytls.Only(key)),
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: p.cfg.HandshakeTimeout,
		IdleConnTimeout:     p.cfg.IdleTimeout,
		MaxIdleConnsPerHost: 8,
	}
	c := &http.Client{Transport: tr}
	p.byKey[key] = c
	return c
}

// Post implements [Poster]. The deadline comes from ctx only.
func (p *Pool) Post(ctx context.Context, key identity.Ed25519PublicKey, addr, path string, body []byte, limit int) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := p.client(key).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return 0, nil, fmt.Errorf("reading response: %w", err)
	}
	if len(b) > limit {
		return 0, nil, fmt.Errorf("%w: over %d bytes", ErrTooLong, limit)
	}
	return resp.StatusCode, b, nil
}

// Close closes idle connections. The pool stays usable.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.byKey {
		c.CloseIdleConnections()
	}
}

// maxResponse is the most a node may answer to an onion request: the
// largest size class, plus nothing.
const maxResponse = onion.MaxFrameSize
