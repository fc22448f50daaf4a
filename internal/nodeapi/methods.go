package nodeapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/rpc"
)

// dispatch runs one request at node time now and returns its status and
// response body. A batch or sequence is run by serveRPC (it costs a rate
// token per sub-request); here it can only be a sub-request, and nested.
//
// top is nil for a sub-request: only a request of its own may hold.
func (h *Handler) dispatch(ctx context.Context, req rpc.Request, now time.Time, top *topLevel) (int, any) {
	var (
		resp any
		err  error
	)
	switch req.Method {
	case rpc.MethodStore:
		resp, err = h.store(ctx, req.Params, now)
	case rpc.MethodRetrieve:
		resp, err = h.retrieve(ctx, req.Params, now, top)
	case rpc.MethodDelete:
		resp, err = h.delete(ctx, req.Params, now)
	case rpc.MethodDeleteAll:
		resp, err = h.deleteAll(ctx, req.Params, now)
	case rpc.MethodDeleteBefore:
		resp, err = h.deleteBefore(ctx, req.Params, now)
	case rpc.MethodExpire:
		resp, err = h.expire(ctx, req.Params, now)
	case rpc.MethodExpireAll:
		resp, err = h.expireAll(ctx, req.Params, now)
	case rpc.MethodGetExpiries:
		resp, err = h.getExpiries(ctx, req.Params, now)
	case rpc.MethodGetSwarm:
		resp, err = h.getSwarm(req.Params, now)
	case rpc.MethodInfo:
		resp, err = h.info(ctx, req.Params, now)
	case MethodGetSnapshot, MethodSnapshot:
		var status int
		if status, resp, err = h.getSnapshot(req.Params, now); err == nil {
			return status, resp
		}
	case rpc.MethodBatch, rpc.MethodSequence:
		err = rpc.Errorf(rpc.CodeUnknownMethod, "%s cannot be nested", req.Method)
	default:
		err = rpc.Errorf(rpc.CodeUnknownMethod, "unknown method %q", truncate(req.Method, 64))
	}
	if err != nil {
		return h.errorBody(err, now)
	}
	return http.StatusOK, resp
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (h *Handler) store(ctx context.Context, params json.RawMessage, now time.Time) (any, error) {
	r, err := rpc.ParseStore(params)
	if err != nil {
		return nil, err
	}
	if err := h.owns(r.Account); err != nil {
		return nil, err
	}
	if err := h.timeCheck(r.CheckTime(now)); err != nil {
		return nil, err
	}
	if r.Auth != nil {
		if err := h.authorize(ctx, r.Auth, r.SigMessage(h.cfg.NetworkID), now, access{rpc.MethodStore, r.Namespace}); err != nil {
			return nil, err
		}
	}
	if err := checkRevocationList(r.Account, r.Namespace, r.Data); err != nil {
		return nil, err
	}
	if err := checkWriter(r.Auth, r.Account, r.Namespace, r.Data); err != nil { // groups.go
		return nil, err
	}
	hash := rpc.MessageHash(r.Account, r.Namespace, r.Data)
	if r.Namespace == push.Namespace {
		// Held until the record is committed, so that two stores at once
		// cannot both find room for the last record.
		unlock, err := h.checkRecord(ctx, r.Auth, r.Account, r.Data, hash, now)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	msg := store.Message{
		Account:   r.Account,
		Namespace: r.Namespace,
		Hash:      hash,
		Data:      r.Data,
		Timestamp: r.Timestamp,
		Expiry:    r.Timestamp.Add(r.TTL),
	}
	// Forwarded even when already stored: a client retrying wants the
	// confirmations that its first attempt may have missed. The peers
	// commit while this node does (storeAndForward).
	var added, deleted bool
	swarm, err := h.storeAndForward(ctx, &rpc.NodeOp{Kind: rpc.OpStore, Account: r.Account, Namespace: nsPtr(r.Namespace), Hash: hash,
		Data: r.Data, Timestamp: r.Timestamp.UnixMilli(), Expiry: r.Timestamp.Add(r.TTL).UnixMilli()}, func() (bool, error) {
		var err error
		if added, err = h.cfg.Store.Put(ctx, msg); err != nil {
			return false, err
		}
		if added && h.cfg.Deposits != nil {
			h.cfg.Deposits.Deposited(msg)
		}
		if h.cfg.LogPrivate {
			h.cfg.Logger.Debug("stored", "account", r.Account.String(), "namespace", r.Namespace, "bytes", len(r.Data), "new", added)
		}
		if !added {
			// already:true would claim the message is there to retrieve;
			// a deleted one is not (and the peers' tombstones refuse it).
			if deleted, err = h.cfg.Store.Deleted(ctx, r.Account, hash); err != nil {
				return false, err
			}
		}
		return !deleted, nil
	})
	if err != nil {
		return nil, err
	}
	if deleted {
		return &rpc.StoreResult{Hash: hash, Deleted: true, T: now.UnixMilli()}, nil
	}
	return &rpc.StoreResult{Hash: hash, Already: !added, T: now.UnixMilli(), Swarm: swarm}, nil
}

func (h *Handler) retrieve(ctx context.Context, params json.RawMessage, now time.Time, top *topLevel) (any, error) {
	r, err := rpc.ParseRetrieve(params)
	if err != nil {
		return nil, err
	}
	if r.Wait > 0 && top == nil {
		// A held sub-request would hold every other answer of its batch.
		return nil, rpc.Errorf(rpc.CodeBadField, "wait: only in a retrieve of its own")
	}
	if err := h.owns(r.Auth.Account); err != nil {
		return nil, err
	}
	if err := h.authorizeRetrieve(ctx, r, now); err != nil {
		return nil, err
	}
	q := store.Query{
		Account:   r.Auth.Account,
		Namespace: r.Namespace,
		After:     store.Cursor{Timestamp: r.AfterTimestamp, Hash: r.AfterHash},
		Limit:     r.MaxCount,
		MaxBytes:  r.MaxSize,
	}
	var known map[string]struct{}
	if len(r.Known) > 0 {
		known = make(map[string]struct{}, len(r.Known))
		for _, k := range r.Known {
			known[k] = struct{}{}
		}
	}
	if r.Wait > 0 && h.cfg.Arrivals != nil {
		who := holder{account: q.Account, unsigned: r.Unsigned}
		if r.Auth.Credential != nil {
			who.member = r.Auth.Credential.Token.Member
		}
		return h.hold(ctx, top, q, known, r.ArrivedAfter, who, r.Wait, now)
	}
	return h.answer(ctx, q, known, r.ArrivedAfter, now)
}

func (h *Handler) delete(ctx context.Context, params json.RawMessage, now time.Time) (any, error) {
	r, err := rpc.ParseDelete(params)
	if err != nil {
		return nil, err
	}
	if err := h.owns(r.Auth.Account); err != nil {
		return nil, err
	}
	if err := h.timeCheck(rpc.CheckSigTime("timestamp", r.Timestamp, now)); err != nil {
		return nil, err
	}
	if err := h.authorize(ctx, r.Auth, r.SigMessage(h.cfg.NetworkID), now, access{method: rpc.MethodDelete}); err != nil {
		return nil, err
	}
	hashes := r.Hashes
	if r.Auth.IsGroup() && r.Auth.Credential != nil {
		if hashes, err = h.memberDeletable(ctx, r.Auth, r.Hashes, now); err != nil { // pushrecords.go
			return nil, err
		}
		if len(hashes) == 0 {
			return deleteResult(nil, now), nil
		}
	}
	deleted, err := h.cfg.Store.Delete(ctx, r.Auth.Account, hashes)
	if err == nil {
		h.forwardDeleted(ctx, rpc.NodeOp{Kind: rpc.OpDelete, Account: r.Auth.Account, Hashes: hashes}, deleted)
	}
	return deleteResult(deleted, now), err
}

func deleteResult(deleted []string, now time.Time) *rpc.DeleteResult {
	deleted = slices.Clone(deleted)
	if deleted == nil {
		deleted = []string{}
	}
	slices.Sort(deleted)
	return &rpc.DeleteResult{Deleted: deleted, T: now.UnixMilli()}
}

func (h *Handler) deleteAll(ctx context.Context, params json.RawMessage, now time.Time) (any, error) {
	r, err := rpc.ParseDeleteAll(params)
	if err != nil {
		return nil, err
	}
	if err := h.owns(r.Auth.Account); err != nil {
		return nil, err
	}
	if err := h.timeCheck(rpc.CheckSigTime("timestamp", r.Timestamp, now)); err != nil {
		return nil, err
	}
	if err := h.authorize(ctx, r.Auth, r.SigMessage(h.cfg.NetworkID), now, access{method: rpc.MethodDeleteAll}); err != nil {
		return nil, err
	}
	// Only what was deposited at or before the signed time: replaying this
	// request within its window cannot erase newer mail.
	deleted, err := h.cfg.Store.DeleteBefore(ctx, r.Auth.Account, r.Namespace, r.Timestamp)
	if err == nil {
		h.forwardDeleted(ctx, rpc.NodeOp{Kind: rpc.OpDeleteBefore, Account: r.Auth.Account, Namespace: r.Namespace, Before: r.Timestamp.UnixMilli()}, deleted)
	}
	return deleteResult(deleted, now), err
}

func (h *Handler) deleteBefore(ctx context.Context, params json.RawMessage, now time.Time) (any, error) {
	r, err := rpc.ParseDeleteBefore(params)
	if err != nil {
		return nil, err
	}
	if err := h.owns(r.Auth.Account); err != nil {
		return nil, err
	}
	if err := h.timeCheck(r.CheckTime(now)); err != nil {
		return nil, err
	}
	if err := h.authorize(ctx, r.Auth, r.SigMessage(h.cfg.NetworkID), now, access{method: rpc.MethodDeleteBefore}); err != nil {
		return nil, err
	}
	deleted, err := h.cfg.Store.DeleteBefore(ctx, r.Auth.Account, r.Namespace, r.Before)
	if err == nil {
		h.forwardDeleted(ctx, rpc.NodeOp{Kind: rpc.OpDeleteBefore, Account: r.Auth.Account, Namespace: r.Namespace, Before: r.Before.UnixMilli()}, deleted)
	}
	return deleteResult(deleted, now), err
}

var expiryModes = map[rpc.ExpireMode]store.ExpiryMode{
	rpc.ExpireAny:     store.ExpiryAny,
	rpc.ExpireShorten: store.ExpiryShorten,
	rpc.ExpireExtend:  store.ExpiryExtend,
}

func expireResult(updated map[string]time.Time, expiry, now time.Time) *rpc.ExpireResult {
	res := &rpc.ExpireResult{Updated: make(map[string]int64, len(updated)), Expiry: expiry.UnixMilli(), T: now.UnixMilli()}
	for h, t := range updated {
		res.Updated[h] = t.UnixMilli()
	}
	return res
}

func (h *Handler) expire(ctx context.Context, params json.RawMessage, now time.Time) (any, error) {
	r, err := rpc.ParseExpire(params)
	if err != nil {
		return nil, err
	}
	if err := h.owns(r.Auth.Account); err != nil {
		return nil, err
	}
	if err := h.timeCheck(rpc.CheckSigTime("timestamp", r.Timestamp, now)); err != nil {
		return nil, err
	}
	expiry, err := rpc.CheckExpiry(r.Expiry, now)
	if err := h.timeCheck(err); err != nil {
		return nil, err
	}
	if err := h.authorize(ctx, r.Auth, r.SigMessage(h.cfg.NetworkID), now, access{method: rpc.MethodExpire}); err != nil {
		return nil, err
	}
	updated, err := h.cfg.Store.SetExpiry(ctx, r.Auth.Account, r.Hashes, expiry, expiryModes[r.Mode], now)
	if err != nil {
		return nil, err
	}
	h.forward(ctx, &rpc.NodeOp{Kind: rpc.OpExpire, Account: r.Auth.Account, Hashes: r.Hashes, Expiry: expiry.UnixMilli(), Mode: r.Mode})
	return expireResult(updated, expiry, now), nil
}

func (h *Handler) expireAll(ctx context.Context, params json.RawMessage, now time.Time) (any, error) {
	r, err := rpc.ParseExpireAll(params)
	if err != nil {
		return nil, err
	}
	if err := h.owns(r.Auth.Account); err != nil {
		return nil, err
	}
	if err := h.timeCheck(rpc.CheckSigTime("timestamp", r.Timestamp, now)); err != nil {
		return nil, err
	}
	expiry, err := rpc.CheckExpiry(r.Expiry, now)
	if err := h.timeCheck(err); err != nil {
		return nil, err
	}
	if err := h.authorize(ctx, r.Auth, r.SigMessage(h.cfg.NetworkID), now, access{method: rpc.MethodExpireAll}); err != nil {
		return nil, err
	}
	updated, err := h.cfg.Store.SetExpiryAll(ctx, r.Auth.Account, r.Namespace, expiry, store.ExpiryShorten, now)
	if err != nil {
		return nil, err
	}
	h.forward(ctx, &rpc.NodeOp{Kind: rpc.OpExpireAll, Account: r.Auth.Account, Namespace: r.Namespace, Expiry: expiry.UnixMilli(), Mode: rpc.ExpireShorten})
	return expireResult(updated, expiry, now), nil
}

func (h *Handler) getExpiries(ctx context.Context, params json.RawMessage, now time.Time) (any, error) {
	r, err := rpc.ParseGetExpiries(params)
	if err != nil {
		return nil, err
	}
	if err := h.owns(r.Auth.Account); err != nil {
		return nil, err
	}
	if err := h.timeCheck(rpc.CheckSigTime("timestamp", r.Timestamp, now)); err != nil {
		return nil, err
	}
	if err := h.authorize(ctx, r.Auth, r.SigMessage(h.cfg.NetworkID), now, access{method: rpc.MethodGetExpiries}); err != nil {
		return nil, err
	}
	got, err := h.cfg.Store.Expiries(ctx, r.Auth.Account, r.Hashes, now)
	if err != nil {
		return nil, err
	}
	res := &rpc.ExpiriesResult{Expiries: make(map[string]int64, len(got)), T: now.UnixMilli()}
	for h, t := range got {
		res.Expiries[h] = t.UnixMilli()
	}
	return res, nil
}

func (h *Handler) getSwarm(params json.RawMessage, now time.Time) (any, error) {
	id, err := rpc.ParseGetSwarm(params)
	if err != nil {
		return nil, err
	}
	if err := h.ready(now); err != nil {
		return nil, err
	}
	res := swarmResult(h.cfg.Membership.SwarmOf(id))
	res.T = now.UnixMilli()
	return &res, nil
}

func (h *Handler) info(ctx context.Context, params json.RawMessage, now time.Time) (any, error) {
	if err := rpc.ParseInfo(params); err != nil {
		return nil, err
	}
	res := &rpc.InfoResult{
		Version:       h.cfg.Version,
		NetworkID:     h.cfg.NetworkID,
		PubkeyEd25519: h.cfg.Ed25519.String(),
		PubkeyX25519:  hexKey(h.cfg.X25519),
		T:             now.UnixMilli(),
	}
	if h.cfg.PublicStats {
		if st, err := h.cfg.Store.Stats(ctx); err == nil {
			res.Messages = &st.Messages
		}
	}
	return res, nil
}

// batch runs the sub-requests of method (batch or sequence): all of them
// concurrently for batch, in order until the first failure for sequence.
// All share the request's node time.
func (h *Handler) batch(ctx context.Context, method string, subs []rpc.Request, now time.Time) *rpc.BatchResult {
	run := func(sub rpc.Request) rpc.SubResult {
		status, body := h.dispatch(ctx, sub, now, nil)
		b, err := json.Marshal(body)
		if err != nil {
			status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal_error","message":"encoding failed"}}`)
		}
		h.metrics.observe(sub.Method, body, 0)
		return rpc.SubResult{Code: status, Body: b}
	}
	res := &rpc.BatchResult{T: now.UnixMilli()}
	if method == rpc.MethodSequence {
		for _, sub := range subs {
			r := run(sub)
			res.Results = append(res.Results, r)
			if r.Code < 200 || r.Code > 299 {
				break
			}
		}
		return res
	}
	res.Results = make([]rpc.SubResult, len(subs))
	var wg sync.WaitGroup
	for i, sub := range subs {
		wg.Go(func() { res.Results[i] = run(sub) })
	}
	wg.Wait()
	return res
}
