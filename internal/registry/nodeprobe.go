package registry

import (
	"context"
	"fmt"
	"sync"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/registry/entry"
)

// Prober checks that a service node answers at its advertised address
// with its key. Probe returns nil only if a TLS server at address
// completes a handshake presenting key; otherwise its error wraps
// entry.ErrUnreachable. It must return when ctx is done.
type Prober interface {
	Probe(ctx context.Context, address string, key identity.Ed25519PublicKey) error
}

// NodeProber is the registry's default prober: it asks the node for its
// info over the storage RPC (internal/nodeclient), so a probe passes only
// if the TLS handshake presents the node's key, the node reports that
// same key, and it serves this registry's network.
//
// It keeps one client per node and address, because a nodeclient.Client
// owns its connection pool and has no Close; the cache is bounded by the
// registered nodes, and entries for a node's old address are replaced.
type NodeProber struct {
	NetworkID string

	mu      sync.Mutex // guards clients
	clients map[identity.Ed25519PublicKey]probeClient
}

type probeClient struct {
	address string
	c       *nodeclient.Client
}

var _ Prober = (*NodeProber)(nil)

// Probe implements [Prober].
func (p *NodeProber) Probe(ctx context.Context, address string, key identity.Ed25519PublicKey) error {
	c, err := p.client(address, key)
	if err != nil {
		return fmt.Errorf("%w: %v", entry.ErrUnreachable, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", entry.ErrUnreachable, err)
	}
	if info.NetworkID != p.NetworkID {
		return fmt.Errorf("%w: node serves network %q", entry.ErrUnreachable, info.NetworkID)
	}
	return nil
}

func (p *NodeProber) client(address string, key identity.Ed25519PublicKey) (*nodeclient.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pc, ok := p.clients[key]; ok && pc.address == address {
		return pc.c, nil
	}
	c, err := nodeclient.New("https://"+address, key)
	if err != nil {
		return nil, err
	}
	if p.clients == nil {
		p.clients = map[identity.Ed25519PublicKey]probeClient{}
	}
	p.clients[key] = probeClient{address: address, c: c}
	return c, nil
}
