package client

import (
	"context"
	"time"

	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Transport carries one storage RPC (a JSON body for POST /storage_rpc/v1)
// to one node and returns the node's HTTP status and body. An error means
// no answer arrived; when an error comes with a non-zero status (a 421 or a
// clock_skew answer through a path), the status and body are the node's
// answer. Implementations must be safe for concurrent use.
type Transport interface {
	Do(ctx context.Context, node snapshot.Node, body []byte) (status int, resp []byte, err error)
}

// HoldTransport is a Transport that can also carry a long-poll (fast
// mode, DESIGN.md §7): DoHold is Do for a request the destination may
// hold for up to hold (a retrieve whose wait is at most hold), so every
// deadline on the way covers hold. A Transport without it gets slow mode
// (polling) only.
type HoldTransport interface {
	Transport
	DoHold(ctx context.Context, node snapshot.Node, body []byte, hold time.Duration) (status int, resp []byte, err error)
}

var (
	_ HoldTransport = (*paths.Manager)(nil)
	_ HoldTransport = (*DirectTransport)(nil)
)

// DirectTransport sends storage RPCs straight to the node over HTTPS pinned
// to its key: the node sees the client's address. It serves standalone
// nodes, `--direct` debugging, and tests.
type DirectTransport struct {
	poster onionclient.Poster
}

// NewDirectTransport returns a DirectTransport over a fresh connection pool.
func NewDirectTransport() *DirectTransport {
	return &DirectTransport{poster: onionclient.NewPool(onionclient.PoolConfig{})}
}

// Do implements [Transport].
func (d *DirectTransport) Do(ctx context.Context, n snapshot.Node, body []byte) (int, []byte, error) {
	return d.poster.Post(ctx, n.Ed25519, n.Address, onionclient.RPCPath, body, maxDirectResponse)
}

// DoHold implements [HoldTransport]: the request ends at ctx's deadline
// or hold plus holdMargin, whichever comes first.
func (d *DirectTransport) DoHold(ctx context.Context, n snapshot.Node, body []byte, hold time.Duration) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, hold+holdMargin)
	defer cancel()
	return d.Do(ctx, n, body)
}

// holdMargin is how much longer than its hold a held request may take:
// the way there and back, and a node's own margin past the wait.
const holdMargin = 10 * time.Second

// maxDirectResponse bounds a direct reply: a full retrieve page is ~7.8 MB.
const maxDirectResponse = 16 << 20
