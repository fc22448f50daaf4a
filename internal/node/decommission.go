package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/nodeconfig"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/internal/registry/registryclient"
	"github.com/hushnet/hush/protocol/snapshot"
)

// ErrStillRunning is returned by [Decommission] when the node still
// answers at its registered address: it must be stopped first.
var ErrStillRunning = errors.New("the node is still running")

// Decommission takes the stopped node that cfg describes out of its
// network and returns once a majority-signed snapshot no longer lists
// it (or at once, if none does).
//
// The registry has no entry by which a node withdraws itself yet, so
// the node leaves the way an unreachable one does: it no longer answers,
// the registry hosts vote it unreachable after their unreachable_after
// time, and the next epoch drops it. Decommission checks that nothing
// answers at the node's address with its key (else [ErrStillRunning])
// and then follows the snapshots until the node is gone. Before that it
// hands every account it holds to the other members of the account's
// swarm (internal/replication), which accept it because the snapshot
// still lists this node; the data also stays on disk.
func Decommission(ctx context.Context, cfg nodeconfig.Config, logger *slog.Logger) error {
	if cfg.Network == "" {
		return errors.New("decommission: a standalone node has no network to leave")
	}
	id, err := LoadOrCreateIdentity(cfg.Data)
	if err != nil {
		return err
	}
	net, err := LoadNetwork(cfg.Network)
	if err != nil {
		return err
	}
	self := entry.KeyOf(id.Ed25519)
	pool := registryclient.NewPoolForNetwork(net)
	defer pool.Close()
	v := registryclient.Verifier{NetworkID: net.ID, Hosts: net.RegistryKeys()}

	raw, err := pool.Snapshot(ctx, 0, 0)
	if err != nil {
		return fmt.Errorf("decommission: %w", err)
	}
	var after uint64
	if raw != nil {
		s, err := v.Verify(raw, 0)
		if err != nil {
			return fmt.Errorf("decommission: %w", err)
		}
		n, listed := s.Node(self)
		if !listed {
			logger.Info("the node is not in the network's snapshot; nothing to do", "epoch", s.Epoch)
			return nil
		}
		if answers(ctx, n) {
			return fmt.Errorf("%w at %s; stop it first, then decommission", ErrStillRunning, n.Address)
		}
		if err := handOffBeforeLeaving(ctx, cfg, id, net.ID, s, logger); err != nil {
			return err
		}
		after = s.Epoch
		logger.Info("waiting for the registry to drop the node", "epoch", s.Epoch, "key", self.String())
	}
	gone := errors.New("gone")
	err = pool.Follow(ctx, v, after, func(s *snapshot.Snapshot, _ []byte) error {
		if _, listed := s.Node(self); !listed {
			logger.Info("the node has left the network", "epoch", s.Epoch)
			return gone
		}
		return nil
	})
	switch {
	case errors.Is(err, gone):
		return nil
	case err != nil:
		return fmt.Errorf("decommission: %w", err)
	}
	return fmt.Errorf("decommission: %w", ctx.Err())
}

// answers reports whether the node n describes answers info with its key.
func answers(ctx context.Context, n snapshot.Node) bool {
	c, err := nodeclient.New("https://"+n.Address, identity.Ed25519PublicKey(n.Ed25519[:]))
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err = c.Info(ctx)
	return err == nil
}
