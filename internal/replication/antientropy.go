package replication

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// RoundStats counts what one anti-entropy round (or hand-off) did.
type RoundStats struct {
	Peers         int // peers reconciled with
	Accounts      int // accounts whose digests differed
	Fetched       int // messages fetched from peers
	Pushed        int // messages pushed to peers
	TombstonesIn  int // tombstones learnt from peers
	TombstonesOut int // tombstones pushed to peers
	Expiries      int // expiries shortened here or pushed
	HandedOff     int // accounts handed to their new swarm and dropped here
	// StraysLeft counts accounts a decommission could not hand off because
	// this node is no longer in their swarm and the swarm refused it (see
	// [Replicator.Decommission]); they stay on disk.
	StraysLeft int
	Bytes      int64 // message data moved
}

func (s *RoundStats) add(o RoundStats) {
	s.Peers += o.Peers
	s.Accounts += o.Accounts
	s.Fetched += o.Fetched
	s.Pushed += o.Pushed
	s.TombstonesIn += o.TombstonesIn
	s.TombstonesOut += o.TombstonesOut
	s.Expiries += o.Expiries
	s.HandedOff += o.HandedOff
	s.StraysLeft += o.StraysLeft
	s.Bytes += o.Bytes
}

// errBudget ends a round whose byte budget is spent.
var errBudget = errors.New("round byte budget spent")

var errWrongResults = errors.New("peer answered apply with the wrong number of results")

// RunAntiEntropy runs a round every [Config.AntiEntropyInterval] until ctx
// is cancelled (a clean exit, nil). Each round first hands off accounts
// this node no longer stores (a hand-off refused because a receiver had
// not yet seen the new snapshot is retried here), then reconciles with
// each peer in turn. Failures are logged and retried at the next round.
func (r *Replicator) RunAntiEntropy(ctx context.Context) error {
	t := time.NewTicker(r.cfg.AntiEntropyInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		st, err := r.Round(ctx)
		if err != nil && ctx.Err() == nil {
			r.cfg.Logger.Warn("anti-entropy round incomplete", "err", err)
		}
		if st.Accounts > 0 || st.HandedOff > 0 {
			r.cfg.Logger.Info("anti-entropy repaired", "accounts", st.Accounts, "fetched", st.Fetched, "pushed", st.Pushed,
				"tombstones_in", st.TombstonesIn, "tombstones_out", st.TombstonesOut, "expiries", st.Expiries, "handed_off", st.HandedOff)
		}
	}
}

// Round runs one hand-off pass and one reconciliation with every peer,
// within [Config.RoundBytes] of message data. It returns the first error
// met; the other peers are still reconciled.
func (r *Replicator) Round(ctx context.Context) (RoundStats, error) {
	budget := r.cfg.RoundBytes
	var st RoundStats
	var first error
	ho, err := r.handOffStrays(ctx, &budget)
	st.add(ho)
	if err != nil {
		first = err
	}
	for _, p := range r.cfg.Membership.Peers() {
		if budget <= 0 || ctx.Err() != nil {
			break
		}
		var ps RoundStats
		err := r.syncPeer(ctx, p, &ps, &budget)
		st.add(ps)
		st.Peers++
		if err != nil && !errors.Is(err, errBudget) && first == nil {
			first = err
		}
	}
	return st, first
}

// syncPeer reconciles every account this node shares with p.
func (r *Replicator) syncPeer(ctx context.Context, p snapshot.Node, st *RoundStats, budget *int64) error {
	var theirs rpc.SummaryReply
	if err := r.call(ctx, p, rpc.NodeSummary, struct{}{}, &theirs); err != nil {
		return err
	}
	mine, err := r.summarize(ctx, p.Ed25519, r.cfg.Clock())
	if err != nil {
		return err
	}
	var diff []int
	for b, d := range mine.buckets {
		if theirs.Buckets[b] != hexDigest(d) {
			diff = append(diff, b)
		}
	}
	for b := range theirs.Buckets {
		if _, ok := mine.buckets[b]; !ok {
			diff = append(diff, b)
		}
	}
	if len(diff) == 0 {
		return nil
	}
	slices.Sort(diff)
	var accts rpc.AccountsReply
	if err := r.call(ctx, p, rpc.NodeAccounts, rpc.AccountsParams{Buckets: diff}, &accts); err != nil {
		return err
	}
	inDiff := func(a identity.AccountID) bool { _, ok := slices.BinarySearch(diff, bucket(a)); return ok }
	var todo []identity.AccountID
	for a, d := range mine.accounts {
		if inDiff(a) && accts.Accounts[a.String()] != hexDigest(d) {
			todo = append(todo, a)
		}
	}
	for s := range accts.Accounts {
		a, err := rpc.ParseStorageAccount(s)
		if err != nil {
			continue
		}
		if _, ok := mine.accounts[a]; !ok && r.cfg.Membership.Owns(a) && r.cfg.Membership.IsMember(p.Ed25519, a) {
			todo = append(todo, a)
		}
	}
	slices.SortFunc(todo, func(a, b identity.AccountID) int { return compareAccounts(a, b) })
	for _, a := range todo {
		if *budget <= 0 {
			return errBudget
		}
		st.Accounts++
		if err := r.reconcile(ctx, p, a, st, budget); err != nil {
			return err
		}
	}
	return nil
}

func compareAccounts(a, b identity.AccountID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// reconcile makes this node and p agree on one account, in both
// directions, as the package doc describes.
func (r *Replicator) reconcile(ctx context.Context, p snapshot.Node, acct identity.AccountID, st *RoundStats, budget *int64) error {
	var theirs rpc.HashesReply
	if err := r.call(ctx, p, rpc.NodeHashes, rpc.HashesParams{Account: acct}, &theirs); err != nil {
		return err
	}
	defer r.digests.forget(acct)
	now := r.cfg.Clock()
	mine, err := r.loadAccount(ctx, acct, now)
	if err != nil {
		return err
	}
	myMsgs := make(map[string]store.HashInfo, len(mine.msgs))
	for _, m := range mine.msgs {
		myMsgs[m.Hash] = m
	}
	myTombs := make(map[string]bool, len(mine.tombs))
	for _, t := range mine.tombs {
		myTombs[t.Hash] = true
	}
	theirMsgs := make(map[string]rpc.HashExpiry, len(theirs.Messages))
	for _, m := range theirs.Messages {
		theirMsgs[m.Hash] = m
	}
	theirTombs := make(map[string]bool, len(theirs.Tombstones))
	for _, t := range theirs.Tombstones {
		theirTombs[t.Hash] = true
	}

	// Deletions first, so that nothing deleted on one side is copied back.
	var tin []store.HashInfo
	for _, t := range theirs.Tombstones {
		if !myTombs[t.Hash] && rpc.ValidHash(t.Hash) && t.Expiry > 0 {
			tin = append(tin, store.HashInfo{Hash: t.Hash, Expiry: time.UnixMilli(t.Expiry).UTC()})
		}
	}
	if len(tin) > 0 {
		if _, err := r.cfg.Store.ApplyTombstones(ctx, acct, tin); err != nil {
			return err
		}
		st.TombstonesIn += len(tin)
	}
	var tout []rpc.HashExpiry
	for _, t := range mine.tombs {
		if !theirTombs[t.Hash] {
			tout = append(tout, rpc.HashExpiry{Hash: t.Hash, Expiry: t.Expiry.UnixMilli()})
		}
	}
	if len(tout) > 0 {
		if err := r.pushTombstones(ctx, p, rpc.SourceRepair, acct, tout); err != nil {
			return err
		}
		st.TombstonesOut += len(tout)
	}

	var missing, extra []string
	shorter := map[int64][]string{} // expiry → hashes p should shorten to it
	for _, m := range theirs.Messages {
		mm, ok := myMsgs[m.Hash]
		switch {
		case !ok && !myTombs[m.Hash] && rpc.ValidHash(m.Hash):
			missing = append(missing, m.Hash)
		case ok && m.Expiry < mm.Expiry.UnixMilli() && m.Expiry > now.UnixMilli():
			if _, err := r.cfg.Store.SetExpiry(ctx, acct, []string{m.Hash}, time.UnixMilli(m.Expiry).UTC(), store.ExpiryShorten, now); err != nil {
				return err
			}
			st.Expiries++
		case ok && mm.Expiry.UnixMilli() < m.Expiry:
			shorter[mm.Expiry.UnixMilli()] = append(shorter[mm.Expiry.UnixMilli()], m.Hash)
		}
	}
	for _, m := range mine.msgs {
		if _, ok := theirMsgs[m.Hash]; !ok && !theirTombs[m.Hash] {
			extra = append(extra, m.Hash)
		}
	}
	if len(shorter) > 0 {
		var ops []rpc.NodeOp
		for exp, hs := range shorter {
			ops = append(ops, rpc.NodeOp{Kind: rpc.OpExpire, Account: acct, Hashes: hs, Expiry: exp, Mode: rpc.ExpireShorten})
			st.Expiries += len(hs)
		}
		if err := r.push(ctx, p, rpc.SourceRepair, ops); err != nil {
			return err
		}
	}
	if err := r.fetch(ctx, p, acct, missing, st, budget); err != nil {
		return err
	}
	n, err := r.pushMessages(ctx, []snapshot.Node{p}, acct, extra, rpc.SourceRepair, budget, st)
	if err != nil {
		return err
	}
	if n[0] != nil {
		return n[0]
	}
	return nil
}

// fetch copies the given messages from p into the local store, in
// requests of at most rpc.MaxFetchHashes hashes and replies of at most
// [Config.BatchBytes], one commit per reply.
func (r *Replicator) fetch(ctx context.Context, p snapshot.Node, acct identity.AccountID, hashes []string, st *RoundStats, budget *int64) error {
	for len(hashes) > 0 {
		if *budget <= 0 {
			return errBudget
		}
		chunk := hashes[:min(len(hashes), rpc.MaxFetchHashes)]
		var reply rpc.FetchReply
		if err := r.call(ctx, p, rpc.NodeFetch, rpc.HashesParams{Account: acct, Hashes: chunk}, &reply); err != nil {
			return err
		}
		if len(reply.Messages) == 0 {
			hashes = hashes[len(chunk):] // gone from p meanwhile (expired or deleted)
			continue
		}
		now := r.cfg.Clock()
		got := make(map[string]bool, len(reply.Messages))
		batch := make([]store.Message, 0, len(reply.Messages))
		for _, m := range reply.Messages {
			op := rpc.NodeOp{Kind: rpc.OpStore, Account: acct, Namespace: &m.Namespace, Hash: m.Hash, Data: m.Data, Timestamp: m.Timestamp, Expiry: m.Expiry}
			// A peer's reply is checked like a repair it pushed: the hash
			// must match and the times be possible.
			if !slices.Contains(chunk, m.Hash) || op.Check() != nil || op.CheckTime(rpc.SourceRepair, now) != nil {
				continue
			}
			got[m.Hash] = true
			batch = append(batch, storeMessage(&op))
			*budget -= int64(len(m.Data))
			st.Bytes += int64(len(m.Data))
		}
		if _, err := r.cfg.Store.PutBatch(ctx, batch); err != nil {
			return err
		}
		st.Fetched += len(batch)
		rest := hashes[:0:0]
		for _, h := range hashes {
			if !got[h] {
				rest = append(rest, h)
			}
		}
		if len(rest) == len(hashes) {
			return nil // nothing usable came back; try again next round
		}
		hashes = rest
	}
	return nil
}

// maxTombstonesPerApply keeps an apply of tombstones (about 80 bytes of
// JSON each) far under rpc.MaxNodeRequestBody.
const maxTombstonesPerApply = 20_000

// pushTombstones sends acct's tombstones ts to p as deletes, in applies
// that fit a request body.
func (r *Replicator) pushTombstones(ctx context.Context, p snapshot.Node, source string, acct identity.AccountID, ts []rpc.HashExpiry) error {
	for len(ts) > 0 {
		chunk := ts[:min(len(ts), maxTombstonesPerApply)]
		ts = ts[len(chunk):]
		op := rpc.NodeOp{Kind: rpc.OpDelete, Account: acct, Tombstones: chunk}
		if err := r.push(ctx, p, source, []rpc.NodeOp{op}); err != nil {
			return err
		}
	}
	return nil
}

// push sends ops to p and fails if p refused any.
func (r *Replicator) push(ctx context.Context, p snapshot.Node, source string, ops []rpc.NodeOp) error {
	var reply rpc.ApplyReply
	if err := r.call(ctx, p, rpc.NodeApply, rpc.ApplyParams{Source: source, Ops: ops}, &reply); err != nil {
		return err
	}
	if len(reply.Results) != len(ops) {
		return errWrongResults
	}
	for _, res := range reply.Results {
		if res.Error != "" {
			return &PeerError{Status: 200, Text: res.Error}
		}
	}
	return nil
}

// pushMessages sends the account's given messages to each target as store
// ops, in applies of at most [Config.BatchBytes] (and rpc.MaxNodeOps ops).
// It returns, per target, nil if the target accepted every message.
func (r *Replicator) pushMessages(ctx context.Context, targets []snapshot.Node, acct identity.AccountID, hashes []string, source string, budget *int64, st *RoundStats) ([]error, error) {
	errs := make([]error, len(targets))
	for len(hashes) > 0 {
		if *budget <= 0 {
			return errs, errBudget
		}
		chunk := hashes[:min(len(hashes), 256)]
		hashes = hashes[len(chunk):]
		msgs, err := r.cfg.Store.Messages(ctx, acct, chunk, r.cfg.Clock())
		if err != nil {
			return errs, err
		}
		for len(msgs) > 0 {
			n, size := 0, 0
			for n < len(msgs) && n < rpc.MaxNodeOps && (n == 0 || size+len(msgs[n].Data) <= r.cfg.BatchBytes) {
				size += len(msgs[n].Data)
				n++
			}
			ops := make([]rpc.NodeOp, n)
			for i, m := range msgs[:n] {
				ns := m.Namespace
				ops[i] = rpc.NodeOp{Kind: rpc.OpStore, Account: acct, Namespace: &ns, Hash: m.Hash, Data: m.Data, Timestamp: m.Timestamp.UnixMilli(), Expiry: m.Expiry.UnixMilli()}
			}
			msgs = msgs[n:]
			for i, t := range targets {
				if errs[i] != nil {
					continue
				}
				if err := r.push(ctx, t, source, ops); err != nil {
					errs[i] = err
					continue
				}
				st.Pushed += n
				st.Bytes += int64(size)
				*budget -= int64(size)
			}
		}
	}
	return errs, nil
}
