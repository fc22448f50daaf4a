package replication

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// peerClient is a connection pool to one peer, pinned to its key
// (internal/keytls): a peer presenting another key fails the handshake
// with keytls.ErrWrongKey.
type peerClient struct {
	url string
	hc  *http.Client
}

func (r *Replicator) client(m snapshot.Node) *peerClient {
	id := m.Ed25519.String() + "@" + m.Address
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[id]; ok {
		return c
	}
	tr := &http.Transport{
		TLSClientConfig: keytls.ClientConfig(nil, keytls.Only(m.Ed25519)),
		// HTTP/2 multiplexes the many small forwards over one connection.
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	scheme := "https://"
	if r.cfg.PlainHTTP {
		scheme = "http://"
	}
	c := &peerClient{url: scheme + m.Address + rpc.NodeRPCPath, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
	r.clients[id] = c
	return c
}

// envelope is a node-to-node request body. Nonce makes every body, and so
// every signature, unique even for equal requests in the same millisecond.
type envelope struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Nonce  string          `json:"nonce"`
}

// PeerError is a peer's non-2xx answer.
type PeerError struct {
	Status int
	Text   string
}

func (e *PeerError) Error() string { return fmt.Sprintf("peer answered %d: %s", e.Status, e.Text) }

// call sends one signed node request to m and decodes the reply into out.
func (r *Replicator) call(ctx context.Context, m snapshot.Node, method string, params, out any) error {
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	body, err := json.Marshal(envelope{Method: method, Params: p, Nonce: base64.RawStdEncoding.EncodeToString(nonce[:])})
	if err != nil {
		return err
	}
	now := r.cfg.Clock()
	sum := sha256.Sum256(body)
	sig := ed25519.Sign(r.cfg.Key, rpc.SigNodeRequest(r.cfg.NetworkID, r.self, m.Ed25519, now, sum))
	c := r.client(m)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(rpc.HeaderNode, r.self.String())
	req.Header.Set(rpc.HeaderTimestamp, strconv.FormatInt(now.UnixMilli(), 10))
	req.Header.Set(rpc.HeaderBodySHA256, hex.EncodeToString(sum[:]))
	req.Header.Set(rpc.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, rpc.MaxNodeBody))
	if err != nil {
		return fmt.Errorf("reading %s reply: %w", method, err)
	}
	if resp.StatusCode/100 != 2 {
		return &PeerError{Status: resp.StatusCode, Text: strings.TrimSpace(string(b))}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s reply: %w", method, err)
	}
	return nil
}
