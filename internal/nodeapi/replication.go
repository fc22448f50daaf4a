package nodeapi

import (
	"context"

	"github.com/hushnet/hush/protocol/rpc"
)

// Replicator passes this node's committed writes on to the other members
// of the account's swarm; internal/replication implements it. Forward
// returns, for a store, the members' signed confirmations (this node's
// included) keyed by member key hex, and nil for other kinds. It returns
// within a bounded time whatever the peers do.
type Replicator interface {
	Forward(ctx context.Context, op *rpc.NodeOp) map[string]rpc.Confirmation
	// StoreAndForward forwards a store while commit commits it here, and
	// then returns as Forward does; it returns commit's error, or no
	// confirmations if commit reports false, without waiting for peers.
	StoreAndForward(ctx context.Context, op *rpc.NodeOp, commit func() (bool, error)) (map[string]rpc.Confirmation, error)
}

// storeAndForward commits a store through commit and forwards it, at the
// same time when there is a replicator.
func (h *Handler) storeAndForward(ctx context.Context, op *rpc.NodeOp, commit func() (bool, error)) (map[string]rpc.Confirmation, error) {
	if h.cfg.Replicator == nil {
		_, err := commit()
		return nil, err
	}
	return h.cfg.Replicator.StoreAndForward(ctx, op, commit)
}

// forward hands op to the replicator, if there is one.
func (h *Handler) forward(ctx context.Context, op *rpc.NodeOp) map[string]rpc.Confirmation {
	if h.cfg.Replicator == nil {
		return nil
	}
	return h.cfg.Replicator.Forward(ctx, op)
}

// forwardDeleted forwards a deletion of the account's deleted hashes; the
// replicator adds their tombstones' expiries. Hashes asked for but not
// held here go along, so peers holding them delete them too.
func (h *Handler) forwardDeleted(ctx context.Context, op rpc.NodeOp, deleted []string) {
	for _, d := range deleted {
		op.Tombstones = append(op.Tombstones, rpc.HashExpiry{Hash: d})
	}
	h.forward(ctx, &op)
}

func nsPtr(ns int32) *int32 { return &ns }
