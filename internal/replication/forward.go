package replication

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"slices"
	"sync"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Forward applies nothing locally: the caller has already committed op to
// this node's store. It sends op to every other member of the account's
// swarm in parallel, waits at most [Config.ForwardTimeout], and for a
// store returns the confirmations keyed by member key (hex), this node's
// own included; for other kinds it returns nil. A peer that fails or is
// slow is left to anti-entropy. For delete kinds, op.Tombstones may name
// the hashes deleted here without their expiries; Forward fills those in
// from the local tombstones.
func (r *Replicator) Forward(ctx context.Context, op *rpc.NodeOp) map[string]rpc.Confirmation {
	r.digests.forget(op.Account) // the caller just changed it here
	var conf map[string]rpc.Confirmation
	if op.Kind == rpc.OpStore {
		conf = map[string]rpc.Confirmation{
			r.self.String(): {Hash: op.Hash, Signature: base64.StdEncoding.EncodeToString(r.confirm(op.Account, op.Hash))},
		}
	}
	if op.Kind == rpc.OpDelete || op.Kind == rpc.OpDeleteBefore {
		r.fillTombstones(ctx, op)
	}
	peers := r.others(op.Account)
	if len(peers) == 0 {
		return conf
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.ForwardTimeout)
	defer cancel()
	var (
		mu sync.Mutex // guards conf
		wg sync.WaitGroup
	)
	for _, p := range peers {
		wg.Go(func() {
			res, err := r.queue(p).send(ctx, *op)
			if err != nil {
				r.cfg.Logger.Debug("forward failed; anti-entropy will repair", "peer", p.Ed25519.String(), "kind", op.Kind, "err", err)
				return
			}
			if res.Error != "" {
				r.cfg.Logger.Debug("peer refused a forward", "peer", p.Ed25519.String(), "err", res.Error)
				return
			}
			if conf == nil || res.Confirmation == "" {
				return
			}
			// Only the form is checked: the client verifies every
			// confirmation against its own snapshot, and verifying here
			// too cost a tenth of a replicated store's CPU.
			sig, err := base64.StdEncoding.DecodeString(res.Confirmation)
			if err != nil || len(sig) != ed25519.SignatureSize {
				r.cfg.Logger.Warn("peer sent a malformed confirmation", "peer", p.Ed25519.String())
				return
			}
			mu.Lock()
			conf[p.Ed25519.String()] = rpc.Confirmation{Hash: op.Hash, Signature: res.Confirmation}
			mu.Unlock()
		})
	}
	wg.Wait()
	return conf
}

// fillTombstones replaces op.Tombstones (hashes deleted here) with the
// local tombstones of those hashes, which carry the expiries peers need.
func (r *Replicator) fillTombstones(ctx context.Context, op *rpc.NodeOp) {
	if len(op.Tombstones) == 0 {
		return
	}
	want := make([]string, len(op.Tombstones))
	for i, t := range op.Tombstones {
		want[i] = t.Hash
	}
	slices.Sort(want)
	ts, err := r.cfg.Store.Tombstones(ctx, op.Account, r.cfg.Clock())
	if err != nil {
		r.cfg.Logger.Warn("reading tombstones to forward failed", "err", err)
		op.Tombstones = nil
		return
	}
	op.Tombstones = op.Tombstones[:0]
	for _, t := range ts {
		if _, ok := slices.BinarySearch(want, t.Hash); ok {
			op.Tombstones = append(op.Tombstones, rpc.HashExpiry{Hash: t.Hash, Expiry: t.Expiry.UnixMilli()})
		}
	}
}

// members returns acct's swarm without this node.
func (r *Replicator) others(acct identity.AccountID) []snapshot.Node {
	var out []snapshot.Node
	for _, m := range r.cfg.Membership.Members(acct) {
		if !m.Ed25519.Equal(r.self) {
			out = append(out, m)
		}
	}
	return out
}
