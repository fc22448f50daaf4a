package registry

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/internal/registry/registryapi"
	"github.com/hushnet/hush/internal/registry/registryclient"
	"github.com/hushnet/hush/protocol/transparency"
)

// Admin is what an operator's commands (`hushd registry admit|join|leave|
// status`) do against a running host, from the host's own config and key:
// build and sign the request, then send it to the host's API, which
// passes it to the leader.
type Admin struct {
	cfg *Config
	key ed25519.PrivateKey
	c   *registryclient.Client
}

// NewAdmin returns an Admin for the host that cfg and key describe.
func NewAdmin(cfg *Config, key ed25519.PrivateKey) *Admin {
	return &Admin{cfg: cfg, key: key, c: registryclient.New(cfg.APIAdvertise, identity.Ed25519PublicKeyOf(key))}
}

// HostKey returns the host's private key, the default steward key.
func (a *Admin) HostKey() ed25519.PrivateKey { return a.key }

// Close releases the client's connections.
func (a *Admin) Close() { a.c.Close() }

// Admit signs an admission of node with steward (a key listed among the
// registry's stewards) and submits it.
func (a *Admin) Admit(ctx context.Context, node identity.Ed25519PublicKey, steward ed25519.PrivateKey) error {
	adm := entry.Admit(a.cfg.NetworkID, node, time.Now().UnixMilli(), steward)
	return a.c.Admit(ctx, adm)
}

// Join adds the host whose API answers at apiAddress with hostKey. It
// asks that host for its Raft address (over TLS pinned to hostKey, so
// the address cannot be spoofed), then submits the host change signed
// by this host; the leader then adds it as a Raft voter. The new host
// must already be running with this registry's hosts in its config.
func (a *Admin) Join(ctx context.Context, apiAddress string, hostKey identity.Ed25519PublicKey) error {
	nc := registryclient.New(apiAddress, hostKey)
	defer nc.Close()
	st, err := nc.Status(ctx)
	if err != nil {
		return fmt.Errorf("new host at %s: %w", apiAddress, err)
	}
	if st.NetworkID != a.cfg.NetworkID {
		return fmt.Errorf("%w: new host is configured for network %q", entry.ErrConflict, st.NetworkID)
	}
	hi := entry.HostInfo{Key: hostKey, RaftAddress: st.RaftAddress, APIAddress: apiAddress}
	return a.change(ctx, true, hi)
}

// Leave removes the host with hostKey from the registry.
func (a *Admin) Leave(ctx context.Context, hostKey identity.Ed25519PublicKey) error {
	return a.change(ctx, false, entry.HostInfo{Key: hostKey})
}

func (a *Admin) change(ctx context.Context, add bool, hi entry.HostInfo) error {
	c := entry.SignHostChange(a.cfg.NetworkID, entry.HostChange{Add: add, Host: hi, TimestampMs: time.Now().UnixMilli()}, a.key)
	return a.c.Submit(ctx, &entry.Command{Type: entry.TypeHost, Host: &c})
}

// Status returns the host's status.
func (a *Admin) Status(ctx context.Context) (*registryapi.Status, error) { return a.c.Status(ctx) }

// Transparency returns the host's report, fetched from its API and
// verified against its own key.
func (a *Admin) Transparency(ctx context.Context) (*transparency.Signed, error) {
	b, err := a.c.Transparency(ctx)
	if err != nil {
		return nil, err
	}
	return transparency.Verify(b, a.cfg.NetworkID, "registry", identity.Ed25519PublicKeyOf(a.key))
}
