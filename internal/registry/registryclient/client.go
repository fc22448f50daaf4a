// Package registryclient calls a registry host's HTTPS API (package
// registryapi) for service nodes, `hushd registry` and the other hosts.
// Every connection is pinned to the host's Ed25519 key (package keytls);
// there is no certificate authority.
//
// A [Client] talks to one host. A [Pool] spreads calls over all the hosts
// of a network file, moving on to the next when one is down or has no
// leader: what a service node uses to register and to follow snapshots.
package registryclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/internal/registry/registryapi"
)

// Client calls one registry host. It is safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
}

// New returns a client for the host at apiAddress (host:port) whose key
// is hostKey. The client's transport is its own; [Client.Close] releases
// its idle connections.
func New(apiAddress string, hostKey identity.Ed25519PublicKey) *Client {
	tr := &http.Transport{
		TLSClientConfig:     keytls.ClientConfig(nil, keytls.Only(hostKey)),
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
	}
	return &Client{base: "https://" + apiAddress, hc: &http.Client{Transport: tr}}
}

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Register submits a node's signed descriptor, with a steward's admission
// if the node has not been admitted before. The host checks that the node
// answers at its address with its key before the registry accepts it.
// Errors wrap entry's errors (ErrBadSignature, ErrNotAdmitted,
// ErrUnreachable, ...) or ErrUnavailable for transport failures.
func (c *Client) Register(ctx context.Context, d entry.SignedDescriptor, adm *entry.Admission) error {
	return c.post(ctx, "/v1/register", entry.Register{Descriptor: d, Admission: adm})
}

// Admit submits a steward's admission of a node key.
func (c *Client) Admit(ctx context.Context, a entry.Admission) error {
	return c.post(ctx, "/v1/admit", a)
}

// Deregister submits a node's signed request to leave the network. The
// registry drops the node when the entry is applied; its swarm changes
// at the next epoch. Errors wrap entry's errors (ErrBadSignature,
// ErrUnknownNode, ErrStale, ...) or ErrUnavailable for transport failures.
func (c *Client) Deregister(ctx context.Context, d entry.Deregister) error {
	return c.post(ctx, "/v1/deregister", d)
}

// Submit submits a signed command (vote, host change, epoch signature).
func (c *Client) Submit(ctx context.Context, cmd *entry.Command) error {
	b, err := entry.Encode(cmd)
	if err != nil {
		return err
	}
	return c.postRaw(ctx, "/v1/commands", b, false)
}

// Forward is [Client.Submit] for a registry host passing a command on to
// the leader: the receiver will not forward it again.
func (c *Client) Forward(ctx context.Context, cmd *entry.Command) error {
	b, err := entry.Encode(cmd)
	if err != nil {
		return err
	}
	return c.postRaw(ctx, "/v1/commands", b, true)
}

// Snapshot returns the newest majority-signed snapshot with an epoch
// above after, waiting up to wait for one (wait 0 asks without waiting).
// It returns nil and no error when there is none. The bytes are
// unverified: check them with snapshot.Verify against the network file.
func (c *Client) Snapshot(ctx context.Context, after uint64, wait time.Duration) ([]byte, error) {
	q := url.Values{"after": {strconv.FormatUint(after, 10)}, "wait": {wait.String()}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/snapshot?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", entry.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return nil, nil
	case http.StatusOK:
		return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	}
	return nil, readError(resp)
}

// Status returns the host's status.
func (c *Client) Status(ctx context.Context) (*registryapi.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", entry.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, readError(resp)
	}
	var s registryapi.Status
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s); err != nil {
		return nil, fmt.Errorf("registry status: %w", err)
	}
	return &s, nil
}

func (c *Client) post(ctx context.Context, path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.postRaw(ctx, path, b, false)
}

func (c *Client) postRaw(ctx context.Context, path string, body []byte, forwarded bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if forwarded {
		req.Header.Set(registryapi.ForwardedHeader, "1")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", entry.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusOK {
		return nil
	}
	return readError(resp)
}

// Error is an error answer from a registry host. It unwraps to the entry
// error its code names, if any.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return "registry: " + e.Message }

// Unwrap returns the entry error the code names.
func (e *Error) Unwrap() error { return entry.FromCode(e.Code) }

func readError(resp *http.Response) error {
	var body registryapi.ErrorBody
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil || body.Error.Code == "" {
		return &Error{Status: resp.StatusCode, Code: "internal", Message: fmt.Sprintf("http status %d", resp.StatusCode)}
	}
	return &Error{Status: resp.StatusCode, Code: body.Error.Code, Message: body.Error.Message}
}

// Pool calls the first host that can answer among several.
type Pool struct {
	clients []*Client
}

// NewPool returns a pool over the given hosts, tried in order.
func NewPool(hosts []entry.HostInfo) *Pool {
	p := &Pool{}
	for _, h := range hosts {
		p.clients = append(p.clients, New(h.APIAddress, h.Key))
	}
	return p
}

// Close releases idle connections.
func (p *Pool) Close() {
	for _, c := range p.clients {
		c.Close()
	}
}

// retryable reports whether another host might succeed where one failed.
func retryable(err error) bool {
	return errors.Is(err, entry.ErrUnavailable) || entry.Code(err) == "internal"
}

// Register is [Client.Register] on the first host that can answer.
func (p *Pool) Register(ctx context.Context, d entry.SignedDescriptor, adm *entry.Admission) error {
	return p.each(func(c *Client) error { return c.Register(ctx, d, adm) })
}

// Deregister is [Client.Deregister] on the first host that can answer;
// a follower forwards it to the leader.
func (p *Pool) Deregister(ctx context.Context, d entry.Deregister) error {
	return p.each(func(c *Client) error { return c.Deregister(ctx, d) })
}

// Snapshot is [Client.Snapshot] on the first host that can answer.
func (p *Pool) Snapshot(ctx context.Context, after uint64, wait time.Duration) ([]byte, error) {
	var raw []byte
	err := p.each(func(c *Client) error {
		var err error
		raw, err = c.Snapshot(ctx, after, wait)
		return err
	})
	return raw, err
}

func (p *Pool) each(f func(*Client) error) error {
	err := fmt.Errorf("%w: no registry hosts", entry.ErrUnavailable)
	for _, c := range p.clients {
		if err = f(c); err == nil || !retryable(err) {
			return err
		}
	}
	return err
}

// Transparency fetches the host's signed transparency report (its bytes,
// unverified: the caller verifies them with protocol/transparency).
func (c *Client) Transparency(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/transparency", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", entry.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, readError(resp)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}
