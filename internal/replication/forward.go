package replication

import (
	"context"
	"slices"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Forward applies nothing locally: the caller has already committed op to
// this node's store. It queues op for every other member of the account's
// swarm and returns once one of them accepted it (two members, this one
// included, hold the write: the most a client needs, DESIGN.md §4), once
// all of them answered, or after [Config.ForwardTimeout] or ctx, whichever
// comes first. The forwards to the other members go on in the background,
// bounded by their peers' queues and by ForwardTimeout from now; what they
// miss is left to anti-entropy ([Replicator.ForwardStats] counts it). For
// a store it returns the confirmations received by then keyed by member
// key (hex), this node's own included; for other kinds it returns nil. For
// delete kinds, op.Tombstones may name the hashes deleted here without
// their expiries; Forward fills those in from the local tombstones.
func (r *Replicator) Forward(ctx context.Context, op *rpc.NodeOp) map[string]rpc.Confirmation {
	if op.Kind == rpc.OpDelete || op.Kind == rpc.OpDeleteBefore {
		r.fillTombstones(ctx, op)
	}
	f := r.start(op)
	return f.wait(ctx)
}

// StoreAndForward forwards a store while the caller commits it here. It
// queues op (a store) for the other members first and then runs commit,
// so this node's commit and the peers' run at the same time instead of
// one after the other: a replicated store costs about one commit's wait,
// not two, and under load each member's group commit gathers the stores
// of all waiting clients rather than half of them. This node's
// confirmation is signed only after commit succeeded, and nothing is
// returned before it did.
//
// commit reports whether the store is to be confirmed (false, for
// instance, for a message deleted here). If it fails or says false,
// StoreAndForward returns at once with its error and no confirmations;
// the forwards already queued go on. A peer may thus hold a message this
// node refused (its quota, a failed commit): the client was told the
// store failed and retries it, and a tombstone here reaches a peer that
// lacked it by anti-entropy, so nothing acknowledged depends on it.
// Otherwise it returns as [Replicator.Forward] does.
func (r *Replicator) StoreAndForward(ctx context.Context, op *rpc.NodeOp, commit func() (bool, error)) (map[string]rpc.Confirmation, error) {
	f := r.start(op)
	ok, err := commit()
	if err != nil || !ok {
		return nil, err
	}
	return f.wait(ctx), nil
}

// forwarding is an op queued for the peers, waiting for their answers.
type forwarding struct {
	r       *Replicator
	op      *rpc.NodeOp
	results chan forwardResult
	queued  int
}

// start queues op for every other member of the account's swarm.
func (r *Replicator) start(op *rpc.NodeOp) *forwarding {
	r.digests.forget(op.Account)
	peers := r.others(op.Account)
	// Buffered for every peer, so a queue hands over its result without
	// waiting, also after wait returned; nothing else outlives the call.
	f := &forwarding{r: r, op: op, results: make(chan forwardResult, len(peers))}
	deadline := r.cfg.Clock().Add(r.cfg.ForwardTimeout)
	for _, p := range peers {
		if err := r.queue(p).enqueue(&forwardReq{op: *op, deadline: deadline, results: f.results}); err != nil {
			r.cfg.Logger.Debug("forward skipped; anti-entropy will repair", "peer", p.Ed25519.String(), "kind", op.Kind, "err", err)
			continue
		}
		f.queued++
	}
	return f
}

// wait returns once a peer accepted the op, all answered, ForwardTimeout
// passed or ctx ended, with the confirmations as Forward describes. The
// caller has committed the op here by now.
func (f *forwarding) wait(ctx context.Context) map[string]rpc.Confirmation {
	r, op := f.r, f.op
	// Again: an anti-entropy round may have cached the account's digest
	// between start and the caller's commit.
	r.digests.forget(op.Account)
	var conf map[string]rpc.Confirmation
	if op.Kind == rpc.OpStore {
		conf = map[string]rpc.Confirmation{r.self.String(): r.signer.sign(rpc.Stored{Account: op.Account, Hash: op.Hash})}
	}
	if f.queued == 0 {
		return conf
	}
	timer := time.NewTimer(r.cfg.ForwardTimeout)
	defer timer.Stop()
	for answered := 0; answered < f.queued; answered++ {
		var fr forwardResult
		select {
		case fr = <-f.results:
		case <-timer.C:
			return conf
		case <-ctx.Done():
			return conf
		}
		if r.accepted(fr, conf) {
			return conf
		}
	}
	return conf
}

// accepted reports whether a peer applied the op, and adds its
// confirmation to conf (for a store).
func (r *Replicator) accepted(fr forwardResult, conf map[string]rpc.Confirmation) bool {
	p, res := fr.peer, fr.result
	if fr.err != nil {
		r.cfg.Logger.Debug("forward failed; anti-entropy will repair", "peer", p.Ed25519.String(), "err", fr.err)
		return false
	}
	if res.Error != "" {
		r.cfg.Logger.Debug("peer refused a forward", "peer", p.Ed25519.String(), "err", res.Error)
		return false
	}
	if conf == nil {
		return true
	}
	// Only the form is checked: the client verifies every confirmation
	// against its own snapshot, and verifying here too cost a tenth of a
	// replicated store's CPU.
	c := rpc.Confirmation{Hash: fr.hash, Signature: res.Confirmation, Proof: res.Proof}
	if !c.WellFormed() {
		r.cfg.Logger.Warn("peer sent a malformed confirmation", "peer", p.Ed25519.String())
		return false
	}
	conf[p.Ed25519.String()] = c
	return true
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
