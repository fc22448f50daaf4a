package nodeclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/netclock"
	"github.com/hushnet/hush/protocol/rpc"
)

// maxResponse bounds how much of a reply the client reads (a full
// retrieve is ~7.8 MB).
const maxResponse = 16 << 20

// Error is a storage RPC answered with a non-2xx status.
type Error struct {
	Status  int
	Code    rpc.Code
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("node answered %d %s: %s", e.Status, e.Code, e.Message)
}

// Client talks to one node. It is safe for concurrent use.
type Client struct {
	rpcURL string
	tls    bool
	hc     *http.Client

	mu sync.Mutex // guards the fields below
	// pinned is the node key every handshake must show; zero until known.
	pinned identity.Ed25519PublicKey
	// presented is the key of the last handshake, for TOFU.
	presented identity.Ed25519PublicKey
	info      *rpc.InfoResult
	// clock is the node's time (one node: its own word, bounded by
	// netclock.MaxOffset), the local clock until Info measured it.
	clock *netclock.Clock
}

// New returns a client for the node at nodeURL (https://host:port, or
// http:// for a node run with --insecure-http). With a zero nodeKey the
// first node reached is trusted and its key pinned (TOFU); otherwise every
// connection must present nodeKey. A node presenting another key fails
// the handshake, and an info reply naming another key than the one
// presented is refused, both with an error wrapping keytls.ErrWrongKey.
func New(nodeURL string, nodeKey identity.Ed25519PublicKey) (*Client, error) {
	u, err := url.Parse(nodeURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("node URL %q: want https://host:port", nodeURL)
	}
	c := &Client{rpcURL: u.Scheme + "://" + u.Host + "/storage_rpc/v1", tls: u.Scheme == "https", pinned: nodeKey,
		clock: netclock.New(time.Now, 0)}
	tr := &http.Transport{
		TLSClientConfig:     keytls.ClientConfig(nil, c.trust),
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
	}
	c.hc = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	return c, nil
}

// trust is the key pin (keytls.ClientConfig), run in every handshake:
// it admits the pinned key, or any key before one is pinned, and records
// the key shown for Info's check.
func (c *Client) trust(k identity.Ed25519PublicKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.pinned.IsZero() && c.pinned != k {
		return false
	}
	c.presented = k
	return true
}

// NodeKey returns the pinned node key, zero before the first Info of a
// TOFU client.
func (c *Client) NodeKey() identity.Ed25519PublicKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pinned
}

// Info asks the node for its version, time, network ID and keys, checks
// the reported key against the connection's, pins it, and measures the
// node's clock offset.
func (c *Client) Info(ctx context.Context) (*rpc.InfoResult, error) {
	start := time.Now()
	body, err := c.Call(ctx, rpc.MethodInfo, nil)
	if err != nil {
		return nil, err
	}
	rtt := time.Since(start)
	var info rpc.InfoResult
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("info reply: %w", err)
	}
	key, err := identity.ParseEd25519PublicKey(info.PubkeyEd25519)
	if err != nil {
		return nil, fmt.Errorf("info reply: %w", err)
	}
	if err := rpcNetworkID(info.NetworkID); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tls && key != c.presented {
		return nil, fmt.Errorf("%w: info reports %s, TLS presented %s", keytls.ErrWrongKey, key, c.presented)
	}
	if !c.pinned.IsZero() && c.pinned != key {
		return nil, fmt.Errorf("%w: info reports %s, expected %s", keytls.ErrWrongKey, key, c.pinned)
	}
	c.pinned = key
	c.info = &info
	c.clock.Observe(key.String(), start, start.Add(rtt), info.T)
	return &info, nil
}

func rpcNetworkID(id string) error {
	if id == "" || len(id) > 255 {
		return fmt.Errorf("info reply: bad network ID %q", id)
	}
	return nil
}

// Now returns the node's estimated time, strictly later than any time
// returned before, so that no two signatures this client makes are equal.
func (c *Client) Now() time.Time { return c.clock.Stamp(1) }

// Call sends one storage RPC with params as given and returns the reply
// body. A non-2xx reply returns the body together with an *Error.
func (c *Client) Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	reqBody, err := json.Marshal(rpc.Request{Method: method, Params: params})
	if err != nil {
		return nil, err
	}
	status, body, err := c.Post(ctx, reqBody)
	if err != nil {
		return nil, err
	}
	if status/100 == 2 {
		return body, nil
	}
	e := &Error{Status: status, Code: rpc.CodeInternal, Message: strings.TrimSpace(string(body))}
	var eb rpc.ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil {
		e.Code, e.Message = eb.Error.Code, eb.Error.Message
	}
	return body, e
}

// Post sends body to the node's storage RPC endpoint and returns the
// reply's status and body (at most maxResponse bytes).
func (c *Client) Post(ctx context.Context, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.rpcURL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, nil, fmt.Errorf("reading reply: %w", err)
	}
	return resp.StatusCode, reply, nil
}

// Signed signs hand-written params for acct (see [SignDraft]) with the
// node's network ID and clock, learning both from info first if needed,
// and sends them.
func (c *Client) Signed(ctx context.Context, acct *identity.Account, method string, params json.RawMessage) (json.RawMessage, error) {
	netID, now, err := c.signing(ctx, method)
	if err != nil {
		return nil, err
	}
	signed, err := SignDraft(acct, netID, method, params, now)
	if err != nil {
		return nil, err
	}
	return c.Call(ctx, method, signed)
}

// signing returns the network ID and the time to sign a method with.
func (c *Client) signing(ctx context.Context, method string) (string, time.Time, error) {
	c.mu.Lock()
	known := c.info != nil
	c.mu.Unlock()
	if !known {
		if _, err := c.Info(ctx); err != nil {
			return "", time.Time{}, err
		}
	}
	c.mu.Lock()
	netID := c.info.NetworkID
	c.mu.Unlock()
	// A batch signs sub-request i at now + i ms: reserve them all, and
	// only for a batch, or fast calls would run the clock ahead.
	reserve := int64(1)
	if method == rpc.MethodBatch || method == rpc.MethodSequence {
		reserve = rpc.MaxBatch
	}
	return netID, c.clock.Stamp(reserve), nil
}

// SignedCall is what `hush tool rpc` runs: connect to the node at nodeURL
// (pinned to nodeKey, or trusting the first key seen when nodeKey is nil),
// sign params for acct and send them. On a non-2xx reply it returns the
// reply body and an *Error.
func SignedCall(ctx context.Context, acct *identity.Account, nodeURL string, nodeKey identity.Ed25519PublicKey, method string, params json.RawMessage) (json.RawMessage, error) {
	c, err := New(nodeURL, nodeKey)
	if err != nil {
		return nil, err
	}
	defer c.hc.CloseIdleConnections()
	return c.Signed(ctx, acct, method, params)
}
