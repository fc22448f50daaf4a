package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/internal/registry/registryclient"
	"github.com/hushnet/hush/protocol/snapshot"
)

// DeregisteredWait bounds the wait for an epoch without the node once the
// registry has taken its deregistration; past it, Decommission falls back
// to waiting for the liveness votes.
var DeregisteredWait = 2 * time.Minute

// ErrStillRunning is returned by [Decommission] when the node still
// answers at its registered address: it must be stopped first.
var ErrStillRunning = errors.New("the node is still running")

// Decommission takes the stopped node that cfg describes out of its
// network and returns once a majority-signed snapshot no longer lists
// it (or at once, if none does).
//
// Decommission checks that nothing answers at the node's address with
// its key (else [ErrStillRunning]), then hands every account it holds to
// the other members of the account's swarm (internal/replication), which
// accept it because the snapshot still lists this node; the data also
// stays on disk. It then sends the registry a deregistration signed with
// the node key (entry.Deregister), so the next epoch drops the node, and
// follows the snapshots until the node is gone.
//
// If the registry refuses or cannot take the deregistration, or no epoch
// drops the node within [DeregisteredWait], the node leaves the way an
// unreachable one does: the registry hosts vote it unreachable after
// their unreachable_after time, and Decommission waits for that instead.
func Decommission(ctx context.Context, cfg config.Node, logger *slog.Logger) error {
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
	self := identity.Ed25519PublicKeyOf(id.Ed25519)
	pool := registryclient.NewPoolForNetwork(net)
	defer pool.Close()
	v := net.SnapshotVerifier()

	raw, err := pool.Snapshot(ctx, 0, 0)
	if err != nil {
		return fmt.Errorf("decommission: %w", err)
	}
	var after uint64
	if raw != nil {
		s, err := v.Verify(raw, time.Now(), 0)
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
		if deregister(ctx, pool, net.ID, id, logger) {
			logger.Info("deregistered; waiting for the next epoch to drop the node", "epoch", s.Epoch, "key", self.String())
			wctx, cancel := context.WithTimeout(ctx, DeregisteredWait)
			err := waitGone(wctx, pool, v, after, self, logger)
			cancel()
			if err == nil || ctx.Err() != nil {
				return err
			}
			logger.Warn("no epoch dropped the node in time; waiting for the registry hosts to vote it unreachable (unreachable_after)", "wait", DeregisteredWait.String(), "err", err)
		} else {
			logger.Info("waiting for the registry hosts to vote the node unreachable (unreachable_after)", "epoch", s.Epoch, "key", self.String())
		}
	}
	return waitGone(ctx, pool, v, after, self, logger)
}

// deregister signs and sends the node's deregistration and reports
// whether the registry took it (or had already dropped the node).
func deregister(ctx context.Context, pool *registryclient.Pool, networkID string, id *Identity, logger *slog.Logger) bool {
	d := entry.SignDeregister(networkID, time.Now().UnixMilli(), id.Ed25519)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := pool.Deregister(ctx, d)
	switch {
	case err == nil:
		return true
	case errors.Is(err, entry.ErrUnknownNode):
		// Already out of the registry (voted out, or an earlier run);
		// the next epoch drops it just the same.
		return true
	}
	logger.Warn("the registry did not take the deregistration", "err", err)
	return false
}

// waitGone follows the verified snapshots after epoch after until one no
// longer lists self.
func waitGone(ctx context.Context, pool *registryclient.Pool, v snapshot.Verifier, after uint64, self identity.Ed25519PublicKey, logger *slog.Logger) error {
	gone := errors.New("gone")
	err := pool.Follow(ctx, v, after, func(s *snapshot.Snapshot, _ []byte) error {
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
	c, err := nodeclient.New("https://"+n.Address, n.Ed25519)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err = c.Info(ctx)
	return err == nil
}
