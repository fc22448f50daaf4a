package replication

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/strictjson"
)

// Handler returns the node-to-node handler, to be mounted at
// rpc.NodeRPCPath on the node's TLS server.
func (r *Replicator) Handler() http.Handler { return r.handler }

// requestError is an answer with a status and a short text for the peer.
type requestError struct {
	status int
	text   string
}

func (e *requestError) Error() string { return e.text }

func refuse(status int, format string, args ...any) error {
	return &requestError{status: status, text: fmt.Sprintf(format, args...)}
}

func (r *Replicator) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	now := r.cfg.Clock()
	// Nothing is read of the body, and no slot taken, before the headers
	// prove a registered node sent it: they carry the body's hash, which
	// the signature covers.
	sender, sum, err := r.authenticate(req.Header, now)
	if err != nil {
		writeRefusal(w, err)
		return
	}
	release, err := r.enter(sender)
	if err != nil {
		writeRefusal(w, err)
		return
	}
	defer release()
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, rpc.MaxNodeRequestBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if sha256.Sum256(body) != sum {
		writeRefusal(w, refuse(http.StatusUnauthorized, "body does not match its signed hash"))
		return
	}
	var env envelope
	if err := strictjson.Decode(body, &env); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	if !r.limiter(sender).AllowN(now, methodCost(env.Method)) {
		writeRefusal(w, refuse(http.StatusTooManyRequests, "too many requests from node %s", sender))
		return
	}
	out, err := r.dispatch(req.Context(), sender, env, now)
	if err != nil {
		writeRefusal(w, err)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// enter takes one of sender's in-flight slots (and one of the node's),
// or refuses with 503: a member that holds its requests open, or trickles
// their bodies, spends only its own share. The returned func gives the
// slots back.
func (r *Replicator) enter(sender identity.Ed25519PublicKey) (func(), error) {
	k := sender.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inFlight[k] >= r.cfg.PeerInFlight {
		return nil, refuse(http.StatusServiceUnavailable, "too many requests in flight from node %s", sender)
	}
	if r.inFlightTotal >= r.cfg.InFlight {
		return nil, refuse(http.StatusServiceUnavailable, "too many node requests in flight")
	}
	r.inFlight[k]++
	r.inFlightTotal++
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.inFlightTotal--
		if r.inFlight[k]--; r.inFlight[k] == 0 {
			delete(r.inFlight, k)
		}
	}, nil
}

func writeRefusal(w http.ResponseWriter, err error) {
	var re *requestError
	if errors.As(err, &re) {
		http.Error(w, re.text, re.status)
		return
	}
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// authenticate checks the headers alone, cheapest first: their form, the
// time, that the sender is a registered node (current or previous
// snapshot: hand-offs come from former members), the signature over the
// announced body hash, and the replay cache (only for valid signatures,
// so forgeries cannot fill it). It returns the sender's key and the body
// hash the body must match; serve then charges the sender's limits.
func (r *Replicator) authenticate(h http.Header, now time.Time) (identity.Ed25519PublicKey, [32]byte, error) {
	var sum [32]byte
	sender, err := identity.ParseEd25519PublicKey(h.Get(rpc.HeaderNode))
	if err != nil {
		return identity.Ed25519PublicKey{}, sum, refuse(http.StatusUnauthorized, "bad %s header", rpc.HeaderNode)
	}
	ms, err := strconv.ParseInt(h.Get(rpc.HeaderTimestamp), 10, 64)
	if err != nil {
		return identity.Ed25519PublicKey{}, sum, refuse(http.StatusUnauthorized, "bad %s header", rpc.HeaderTimestamp)
	}
	ts := time.UnixMilli(ms)
	if d := ts.Sub(now); d > rpc.SigTolerance || d < -rpc.SigTolerance {
		return identity.Ed25519PublicKey{}, sum, refuse(http.StatusUnauthorized, "timestamp %d is %s from node time %d", ms, d.Round(time.Millisecond), now.UnixMilli())
	}
	if hs := h.Get(rpc.HeaderBodySHA256); len(hs) != 2*len(sum) {
		return identity.Ed25519PublicKey{}, sum, refuse(http.StatusUnauthorized, "bad %s header", rpc.HeaderBodySHA256)
	} else if _, err := hex.Decode(sum[:], []byte(hs)); err != nil {
		return identity.Ed25519PublicKey{}, sum, refuse(http.StatusUnauthorized, "bad %s header", rpc.HeaderBodySHA256)
	}
	sig, err := base64.StdEncoding.DecodeString(h.Get(rpc.HeaderSignature))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return identity.Ed25519PublicKey{}, sum, refuse(http.StatusUnauthorized, "bad %s header", rpc.HeaderSignature)
	}
	if !r.cfg.Membership.Known(sender) {
		return identity.Ed25519PublicKey{}, sum, refuse(http.StatusForbidden, "sender is not a registered node")
	}
	if !ed25519.Verify(sender.Bytes(), rpc.SigNodeRequest(r.cfg.NetworkID, sender, r.self, ts, sum), sig) {
		return identity.Ed25519PublicKey{}, sum, refuse(http.StatusUnauthorized, "bad signature")
	}
	if r.replay.Seen(sha256.Sum256(sig), now) {
		return identity.Ed25519PublicKey{}, sum, refuse(http.StatusConflict, "replayed request")
	}
	return sender, sum, nil
}

// methodCost is what a method takes from the sender's token bucket:
// summary and accounts digest every shared account, so a member asking
// for them in a loop would cost far more than its forwards.
func methodCost(method string) int {
	switch method {
	case rpc.NodeSummary, rpc.NodeAccounts:
		return 100
	}
	return 1
}

// limiter returns sender's token bucket. Only authenticated, registered
// nodes reach here; the table is reset if it ever reaches its bound.
func (r *Replicator) limiter(sender identity.Ed25519PublicKey) *rate.Limiter {
	k := sender.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.limiters[k]
	if !ok {
		if len(r.limiters) >= maxPeerLimiters {
			clear(r.limiters)
		}
		l = rate.NewLimiter(rate.Limit(r.cfg.PeerRate), r.cfg.PeerBurst)
		r.limiters[k] = l
	}
	return l
}

func (r *Replicator) dispatch(ctx context.Context, sender identity.Ed25519PublicKey, env envelope, now time.Time) (any, error) {
	switch env.Method {
	case rpc.NodeApply:
		var p rpc.ApplyParams
		if err := strictjson.Decode(env.Params, &p); err != nil || len(p.Ops) > rpc.MaxNodeOps {
			return nil, refuse(http.StatusBadRequest, "bad apply params")
		}
		return r.apply(ctx, sender, p, now)
	case rpc.NodeSummary:
		ls, err := r.summarize(ctx, sender, now)
		if err != nil {
			return nil, err
		}
		out := &rpc.SummaryReply{Buckets: make(map[int]string, len(ls.buckets))}
		for b, d := range ls.buckets {
			out.Buckets[b] = hexDigest(d)
		}
		return out, nil
	case rpc.NodeAccounts:
		var p rpc.AccountsParams
		if err := strictjson.Decode(env.Params, &p); err != nil || len(p.Buckets) > 256 {
			return nil, refuse(http.StatusBadRequest, "bad accounts params")
		}
		ls, err := r.summarize(ctx, sender, now)
		if err != nil {
			return nil, err
		}
		want := make(map[int]bool, len(p.Buckets))
		for _, b := range p.Buckets {
			want[b] = true
		}
		out := &rpc.AccountsReply{Accounts: make(map[string]string)}
		for a, d := range ls.accounts {
			if want[bucket(a)] {
				out.Accounts[a.String()] = hexDigest(d)
			}
		}
		return out, nil
	case rpc.NodeHashes:
		var p rpc.HashesParams
		if err := strictjson.Decode(env.Params, &p); err != nil {
			return nil, refuse(http.StatusBadRequest, "bad hashes params")
		}
		if err := r.checkShared(sender, p.Account); err != nil {
			return nil, err
		}
		st, err := r.loadAccount(ctx, p.Account, now)
		if err != nil {
			return nil, err
		}
		return &rpc.HashesReply{Messages: wireInfo(st.msgs), Tombstones: wireInfo(st.tombs)}, nil
	case rpc.NodeFetch:
		var p rpc.HashesParams
		if err := strictjson.Decode(env.Params, &p); err != nil || len(p.Hashes) > rpc.MaxFetchHashes {
			return nil, refuse(http.StatusBadRequest, "bad fetch params")
		}
		if err := r.checkShared(sender, p.Account); err != nil {
			return nil, err
		}
		msgs, err := r.cfg.Store.Messages(ctx, p.Account, p.Hashes, now)
		if err != nil {
			return nil, err
		}
		out := &rpc.FetchReply{Messages: []rpc.NodeMessage{}}
		total := 0
		for _, m := range msgs {
			if total > 0 && total+len(m.Data) > r.cfg.BatchBytes {
				break
			}
			total += len(m.Data)
			out.Messages = append(out.Messages, rpc.NodeMessage{Namespace: m.Namespace, Hash: m.Hash, Data: m.Data, Timestamp: m.Timestamp.UnixMilli(), Expiry: m.Expiry.UnixMilli()})
		}
		return out, nil
	}
	return nil, refuse(http.StatusBadRequest, "unknown method")
}

// checkShared allows reading an account only to a current member of its
// swarm, and only if this node stores it too.
func (r *Replicator) checkShared(sender identity.Ed25519PublicKey, acct identity.AccountID) error {
	if !r.cfg.Membership.Owns(acct) || !r.cfg.Membership.IsMember(sender, acct) {
		return refuse(http.StatusForbidden, "not a member of that account's swarm")
	}
	return nil
}

func wireInfo(hs []store.HashInfo) []rpc.HashExpiry {
	out := make([]rpc.HashExpiry, len(hs))
	for i, h := range hs {
		out[i] = rpc.HashExpiry{Hash: h.Hash, Namespace: h.Namespace, Expiry: h.Expiry.UnixMilli()}
	}
	return out
}

// apply runs a peer's operations. Each op is authorised on its own: the
// sender must be a current member of the account's swarm (or, for a
// hand-off, have been one in the previous snapshot), and this node must
// store the account. Stores are committed together (one fsync).
func (r *Replicator) apply(ctx context.Context, sender identity.Ed25519PublicKey, p rpc.ApplyParams, now time.Time) (*rpc.ApplyReply, error) {
	switch p.Source {
	case rpc.SourceForward:
		if f := r.cfg.FaultDropForwards; f != nil && f.Load() {
			return nil, refuse(http.StatusServiceUnavailable, "dropping forwards (test fault)")
		}
	case rpc.SourceRepair, rpc.SourceHandoff:
	default:
		return nil, refuse(http.StatusBadRequest, "unknown source")
	}
	out := &rpc.ApplyReply{Results: make([]rpc.ApplyResult, len(p.Ops))}
	var (
		batch []store.Message
		index []int // op index of each batch entry
	)
	for i := range p.Ops {
		op := &p.Ops[i]
		if err := op.Check(); err != nil {
			out.Results[i].Error = err.Error()
			continue
		}
		if err := op.CheckTime(p.Source, now); err != nil {
			out.Results[i].Error = err.Error()
			continue
		}
		allowed := r.cfg.Membership.IsMember(sender, op.Account) ||
			(p.Source == rpc.SourceHandoff && r.cfg.Membership.WasMember(sender, op.Account))
		if !allowed {
			out.Results[i].Error = "sender is not a member of the account's swarm"
			continue
		}
		if !r.cfg.Membership.Owns(op.Account) {
			out.Results[i].Error = "this node does not store the account"
			continue
		}
		defer r.digests.forget(op.Account) // after the commit below
		if op.Kind == rpc.OpStore {
			batch = append(batch, storeMessage(op))
			index = append(index, i)
			continue
		}
		if err := r.applyChange(ctx, op, now); err != nil {
			r.cfg.Logger.Warn("applying a peer's change failed", "kind", op.Kind, "err", err)
			out.Results[i].Error = "could not apply"
		}
	}
	if len(batch) > 0 {
		res, err := r.cfg.Store.PutBatch(ctx, batch)
		if err != nil {
			return nil, err
		}
		var (
			stored []rpc.Stored
			at     []int // op index of each stored entry
		)
		for j, pr := range res {
			i := index[j]
			if pr.Err != nil {
				out.Results[i].Error = "account quota"
				continue
			}
			stored, at = append(stored, rpc.Stored{Account: batch[j].Account, Hash: batch[j].Hash}), append(at, i)
			if pr.Added && p.Source == rpc.SourceForward && r.cfg.Deposits != nil {
				r.cfg.Deposits.Deposited(batch[j])
			}
		}
		// One signature for the whole apply (a Merkle root), however
		// many stores it carried: rpc.SignConfirmations.
		for k, c := range rpc.SignConfirmations(r.cfg.NetworkID, r.cfg.Key, stored) {
			out.Results[at[k]].Confirmation, out.Results[at[k]].Proof = c.Signature, c.Proof
		}
	}
	return out, nil
}

func storeMessage(op *rpc.NodeOp) store.Message {
	ns := int32(0)
	if op.Namespace != nil {
		ns = *op.Namespace
	}
	data := op.Data
	if data == nil {
		data = []byte{}
	}
	return store.Message{Account: op.Account, Namespace: ns, Hash: op.Hash, Data: data,
		Timestamp: time.UnixMilli(op.Timestamp).UTC(), Expiry: time.UnixMilli(op.Expiry).UTC()}
}

var storeModes = map[rpc.ExpireMode]store.ExpiryMode{
	rpc.ExpireAny:     store.ExpiryAny,
	rpc.ExpireShorten: store.ExpiryShorten,
	rpc.ExpireExtend:  store.ExpiryExtend,
}

// applyChange applies a delete or expire op to the local store.
func (r *Replicator) applyChange(ctx context.Context, op *rpc.NodeOp, now time.Time) error {
	if len(op.Tombstones) > 0 {
		ts := make([]store.HashInfo, len(op.Tombstones))
		for i, t := range op.Tombstones {
			ts[i] = store.HashInfo{Hash: t.Hash, Expiry: time.UnixMilli(t.Expiry).UTC()}
		}
		if _, err := r.cfg.Store.ApplyTombstones(ctx, op.Account, ts); err != nil {
			return err
		}
	}
	var err error
	switch op.Kind {
	case rpc.OpDelete:
		if len(op.Hashes) > 0 {
			_, err = r.cfg.Store.Delete(ctx, op.Account, op.Hashes)
		}
	case rpc.OpDeleteBefore:
		_, err = r.cfg.Store.DeleteBefore(ctx, op.Account, op.Namespace, time.UnixMilli(op.Before))
	case rpc.OpExpire:
		mode, ok := storeModes[op.Mode]
		if !ok {
			return fmt.Errorf("unknown expire mode %d", op.Mode)
		}
		_, err = r.cfg.Store.SetExpiry(ctx, op.Account, op.Hashes, time.UnixMilli(op.Expiry).UTC(), mode, now)
	case rpc.OpExpireAll:
		mode, ok := storeModes[op.Mode]
		if !ok {
			return fmt.Errorf("unknown expire mode %d", op.Mode)
		}
		_, err = r.cfg.Store.SetExpiryAll(ctx, op.Account, op.Namespace, time.UnixMilli(op.Expiry).UTC(), mode, now)
	}
	return err
}
