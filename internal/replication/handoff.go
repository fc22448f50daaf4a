package replication

import (
	"context"
	"errors"
	"fmt"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// ErrHandOffIncomplete: some account could not be handed to enough
// members of its swarm; it is still held here.
var ErrHandOffIncomplete = errors.New("hand-off incomplete")

// HandOff runs after the membership moved to a new snapshot: it pushes the
// accounts this node holds but no longer stores to their new swarm and
// drops them here once enough of its members accepted them, then
// reconciles with this node's peers at once, which brings newly joined
// members the swarm's data. It returns [ErrHandOffIncomplete] when some
// account must wait for a later round.
func (r *Replicator) HandOff(ctx context.Context) (RoundStats, error) {
	return r.Round(ctx)
}

// handOffStrays hands off every account held here whose swarm this node
// is not a member of.
func (r *Replicator) handOffStrays(ctx context.Context, budget *int64) (RoundStats, error) {
	var st RoundStats
	accts, err := r.cfg.Store.Accounts(ctx)
	if err != nil {
		return st, err
	}
	incomplete := 0
	for _, a := range accts {
		if r.cfg.Membership.Owns(a) {
			continue
		}
		targets := r.others(a)
		if len(targets) == 0 {
			continue // no swarm at all: keep it until there is one
		}
		now := r.cfg.Clock()
		state, err := r.loadAccount(ctx, a, now)
		if err != nil {
			return st, err
		}
		ok, _, err := r.pushAccount(ctx, a, state, targets, budget, &st)
		if err != nil && !errors.Is(err, errBudget) {
			return st, err
		}
		// Two copies elsewhere, as a client's store needs, before this
		// one goes; all of them in a swarm smaller than that.
		if ok < min(2, len(targets)) {
			incomplete++
			continue
		}
		// Only what was handed goes: a store or a deletion that came
		// in meanwhile (a client with an older snapshot, a peer's
		// forward) stays for the next round.
		_, err = r.cfg.Store.DropHandedOff(ctx, a, state.msgHashes(), state.tombHashes(), now)
		r.digests.forget(a)
		if err != nil {
			return st, err
		}
		st.HandedOff++
	}
	if incomplete > 0 {
		return st, fmt.Errorf("%w: %d accounts wait for their new swarm", ErrHandOffIncomplete, incomplete)
	}
	return st, nil
}

// pushAccount sends state, acct's tombstones and messages, to each target
// and returns how many accepted everything, and the first target's
// refusal (nil if none refused).
func (r *Replicator) pushAccount(ctx context.Context, acct identity.AccountID, state accountState, targets []snapshot.Node, budget *int64, st *RoundStats) (int, error, error) {
	errs := make([]error, len(targets))
	if len(state.tombs) > 0 {
		ts := make([]rpc.HashExpiry, len(state.tombs))
		for i, t := range state.tombs {
			ts[i] = rpc.HashExpiry{Hash: t.Hash, Expiry: t.Expiry.UnixMilli()}
		}
		for i, t := range targets {
			errs[i] = r.pushTombstones(ctx, t, rpc.SourceHandoff, acct, ts)
		}
	}
	hashes := state.msgHashes()
	// Targets that refused the tombstones are skipped for the messages.
	live := make([]snapshot.Node, 0, len(targets))
	idx := make([]int, 0, len(targets))
	for i, t := range targets {
		if errs[i] == nil {
			live = append(live, t)
			idx = append(idx, i)
		}
	}
	perr, err := r.pushMessages(ctx, live, acct, hashes, rpc.SourceHandoff, budget, st)
	for j, e := range perr {
		errs[idx[j]] = e
	}
	ok := 0
	var refused error
	for i, e := range errs {
		if e == nil {
			ok++
			continue
		}
		r.cfg.Logger.Debug("hand-off to a member failed", "peer", targets[i].Ed25519.String(), "err", e)
		if refused == nil {
			refused = fmt.Errorf("member %s: %w", targets[i].Ed25519.String(), e)
		}
	}
	if err != nil {
		return 0, refused, err // budget spent or store failed: nobody got everything
	}
	return ok, refused, nil
}

// Decommission hands every account this node holds to the other members
// of its swarm before the node leaves, without dropping anything here. It
// returns [ErrHandOffIncomplete] if some account of this node's swarm
// reached fewer than two other members (all of them, in a smaller swarm).
//
// An account of a swarm this node is no longer in (a stray its running
// hand-off could not place) is offered to that swarm too, which accepts
// it within [PastSnapshots] of the node leaving it. Past that the swarm
// refuses a stranger's data, as it must (a node's copy of an owner-only
// namespace carries no owner signature); the account is then counted in
// [RoundStats.StraysLeft] and left on disk, and the decommission goes on:
// running it again could not change the answer.
func (r *Replicator) Decommission(ctx context.Context) (RoundStats, error) {
	var st RoundStats
	accts, err := r.cfg.Store.Accounts(ctx)
	if err != nil {
		return st, err
	}
	budget := int64(1) << 62 // leaving: no bandwidth bound, only ctx
	incomplete := 0
	var first error // the first refusal, named in the error
	for _, a := range accts {
		targets := r.others(a)
		if len(targets) == 0 {
			incomplete++
			continue
		}
		state, err := r.loadAccount(ctx, a, r.cfg.Clock())
		if err != nil {
			return st, err
		}
		ok, refused, err := r.pushAccount(ctx, a, state, targets, &budget, &st)
		if err != nil {
			return st, err
		}
		if first == nil {
			first = refused
		}
		if ok < min(2, len(targets)) {
			if !r.cfg.Membership.Owns(a) {
				st.StraysLeft++
				continue
			}
			incomplete++
			continue
		}
		st.HandedOff++
	}
	if incomplete > 0 {
		if first != nil {
			return st, fmt.Errorf("%w: %d accounts not handed off (first refusal: %v)", ErrHandOffIncomplete, incomplete, first)
		}
		return st, fmt.Errorf("%w: %d accounts not handed off", ErrHandOffIncomplete, incomplete)
	}
	return st, nil
}

func (s accountState) msgHashes() []string {
	hs := make([]string, len(s.msgs))
	for i, m := range s.msgs {
		hs[i] = m.Hash
	}
	return hs
}

func (s accountState) tombHashes() []string {
	hs := make([]string, len(s.tombs))
	for i, t := range s.tombs {
		hs[i] = t.Hash
	}
	return hs
}
