package devnet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/internal/registry/registryclient"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/snapshot"
)

// pingTimeout bounds each reachability check in [Inspect].
const pingTimeout = 2 * time.Second

// FetchSnapshot fetches the current snapshot from the network file's
// seed nodes, trying each in turn, over TLS pinned to the seed's key, and
// verifies it against the file's registry keys. It never contacts a
// registry host: this is how a fresh client gets its first snapshot.
func FetchSnapshot(ctx context.Context, n *netfile.Network) ([]byte, *snapshot.Snapshot, error) {
	var errs []error
	for _, seed := range n.Seeds {
		c, err := nodeclient.New("https://"+seed.Address, seed.Ed25519)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		raw, s, err := FetchSnapshotFrom(ctx, c, n, 0)
		if err == nil {
			return raw, s, nil
		}
		errs = append(errs, fmt.Errorf("seed %s: %w", seed.Address, err))
	}
	return nil, nil, fmt.Errorf("no seed node served a valid snapshot: %w", errors.Join(errs...))
}

// FetchSnapshotFrom asks the node c talks to for its snapshot and
// verifies it against n's registry keys, with an epoch of at least
// minEpoch (paths.FetchSnapshot over c's pinned connection).
func FetchSnapshotFrom(ctx context.Context, c *nodeclient.Client, n *netfile.Network, minEpoch uint64) ([]byte, *snapshot.Snapshot, error) {
	return paths.FetchSnapshot(ctx, c.Post, n.SnapshotVerifier(), time.Now(), minEpoch)
}

// Status is what `hush devnet status` shows: the registry hosts, the
// nodes of the current snapshot with whether each answers, and the
// swarms. Keys are lowercase hex; a swarm ID is 16 hex digits, as
// get_swarm gives it.
type Status struct {
	NetworkID  string           `json:"network_id"`
	Epoch      uint64           `json:"epoch"`
	IssuedAt   time.Time        `json:"issued_at"`
	ExpiresAt  time.Time        `json:"expires_at"`
	Registries []RegistryStatus `json:"registries"`
	Nodes      []NodeStatus     `json:"nodes"`
	Swarms     []SwarmStatus    `json:"swarms"`
}

// RegistryStatus is one registry host. Role and Epoch are known only
// when the host answered.
type RegistryStatus struct {
	Address       string `json:"address"`
	PubkeyEd25519 string `json:"pubkey_ed25519"`
	Up            bool   `json:"up"`
	Role          string `json:"role,omitempty"`
	Epoch         uint64 `json:"epoch,omitempty"`
}

// NodeStatus is one node of the snapshot. SwarmID is null for a node
// in no swarm.
type NodeStatus struct {
	PubkeyEd25519 string  `json:"pubkey_ed25519"`
	PubkeyX25519  string  `json:"pubkey_x25519"`
	Address       string  `json:"address"`
	Version       string  `json:"version"`
	Up            bool    `json:"up"`
	SwarmID       *string `json:"swarm_id"`
	// Messages is how many messages the node holds (nodes started with
	// --public-stats, as a devnet's are), so a swarm can be seen converging.
	Messages *int64 `json:"messages,omitempty"`
}

// SwarmStatus is one swarm and its members' Ed25519 keys.
type SwarmStatus struct {
	SwarmID string   `json:"swarm_id"`
	Members []string `json:"members"`
}

// SwarmID formats a swarm ID as get_swarm does.
func SwarmID(id uint64) string { return fmt.Sprintf("%016x", id) }

// Inspect builds the status of the network n describes: the snapshot
// from a seed node (see [FetchSnapshot]), each node's info for "up", and
// each registry host's own status when it answers (optional: clients
// need no registry contact, but the host list is worth showing).
func Inspect(ctx context.Context, n *netfile.Network) (*Status, error) {
	_, s, err := FetchSnapshot(ctx, n)
	if err != nil {
		return nil, err
	}
	st := &Status{NetworkID: s.NetworkID, Epoch: s.Epoch, IssuedAt: s.IssuedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(),
		Registries: make([]RegistryStatus, len(n.Registries)), Nodes: make([]NodeStatus, len(s.Nodes)), Swarms: []SwarmStatus{}}
	var wg sync.WaitGroup
	for i, r := range n.Registries {
		st.Registries[i] = RegistryStatus{Address: r.Address, PubkeyEd25519: r.Ed25519.String()}
		wg.Go(func() {
			c := registryclient.New(r.Address, r.Ed25519)
			defer c.Close()
			ctx, cancel := context.WithTimeout(ctx, pingTimeout)
			defer cancel()
			if rs, err := c.Status(ctx); err == nil {
				st.Registries[i].Up, st.Registries[i].Role, st.Registries[i].Epoch = true, rs.Role, rs.SignedEpoch
			}
		})
	}
	for i, nd := range s.Nodes {
		ns := NodeStatus{PubkeyEd25519: nd.Ed25519.String(), PubkeyX25519: nd.X25519.String(), Address: nd.Address, Version: nd.Version}
		if nd.Swarm != snapshot.Unassigned {
			id := SwarmID(nd.Swarm)
			ns.SwarmID = &id
		}
		st.Nodes[i] = ns
		wg.Go(func() { st.Nodes[i].Up, st.Nodes[i].Messages = ping(ctx, nd) })
	}
	for _, id := range s.SwarmIDs() {
		sw := SwarmStatus{SwarmID: SwarmID(id)}
		for _, m := range s.Members(id) {
			sw.Members = append(sw.Members, m.Ed25519.String())
		}
		st.Swarms = append(st.Swarms, sw)
	}
	wg.Wait()
	return st, nil
}

// ping reports whether a node answers info with its key and network, and
// the message count it reports if it publishes one.
func ping(ctx context.Context, n snapshot.Node) (bool, *int64) {
	c, err := nodeclient.New("https://"+n.Address, n.Ed25519)
	if err != nil {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	info, err := c.Info(ctx)
	if err != nil {
		return false, nil
	}
	return true, info.Messages
}
