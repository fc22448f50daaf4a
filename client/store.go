package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// NodeError is a node's error answer to a storage RPC.
type NodeError struct {
	Status  int
	Code    rpc.Code
	Message string
	// RetryAfter is how long the node asked the client to wait before it
	// asks again (with rpc.CodeHoldFull); zero if it did not say.
	RetryAfter time.Duration
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("node answered %d %s: %s", e.Status, e.Code, e.Message)
}

// call sends req to n as it is and returns the answer's body. It gives
// every answer's "t" to the network clock (trust.go), which takes the
// median over distinct nodes, and reports a 421 to the directory. A transport failure wraps ErrUnreachable.
func (c *Client) call(ctx context.Context, n snapshot.Node, req rpc.Outgoing) (json.RawMessage, error) {
	return c.callHold(ctx, n, req, 0)
}

// callHold is call for a request the node may hold up to hold (a retrieve
// with a wait, fast mode): with a non-zero hold it goes through the
// transport's DoHold, which the caller has checked it has, and its answer's
// "t" is not given to the network clock.
func (c *Client) callHold(ctx context.Context, n snapshot.Node, req rpc.Outgoing, hold time.Duration) (json.RawMessage, error) {
	body, err := json.Marshal(rpc.Request{Method: req.Method(), Params: req.Params()})
	if err != nil {
		return nil, err
	}
	start := c.clock()
	var status int
	var resp []byte
	if ht, ok := c.tr.(HoldTransport); ok && hold > 0 {
		status, resp, err = ht.DoHold(ctx, n, body, hold)
	} else {
		status, resp, err = c.tr.Do(ctx, n, body)
	}
	if status == 0 {
		if err == nil {
			err = errors.New("no answer")
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, n.Address, err)
	}
	var t struct {
		T int64 `json:"t"`
	}
	// A held answer is dated when the node answered, at the end of a
	// wait of unknown length, not halfway through the round trip: it is
	// no clock sample (it would move the clock by up to half the wait).
	if json.Unmarshal(resp, &t) == nil && t.T > 0 && hold == 0 {
		c.observeTime(n, start, c.clock(), t.T)
	}
	if status/100 == 2 {
		return resp, nil
	}
	ne := &NodeError{Status: status, Code: rpc.CodeInternal}
	var eb rpc.ErrorBody
	if json.Unmarshal(resp, &eb) == nil && eb.Error != nil {
		ne.Code, ne.Message = eb.Error.Code, eb.Error.Message
		ne.RetryAfter = time.Duration(max(eb.RetryAfterMs, 0)) * time.Millisecond
	}
	if ne.Code == rpc.CodeWrongSwarm || status == rpc.CodeWrongSwarm.Status() {
		c.dir.Invalidate()
	}
	return nil, ne
}

// signed stamps req with the network time, signs it for the account and
// sends it, once more with a fresh time if the node found the clock
// skewed (call has corrected it).
func (c *Client) signed(ctx context.Context, n snapshot.Node, req rpc.Outgoing) (json.RawMessage, error) {
	return c.signedEach(ctx, n, func(now time.Time) (rpc.Outgoing, error) {
		req.Stamp(now)
		return req, nil
	})
}

// signedCall signs hand-written params ([Client.RPC]) for the account and
// sends them as signed does: [rpc.ParseDraft] reads them, the times they
// leave out being the network time.
func (c *Client) signedCall(ctx context.Context, n snapshot.Node, method string, params json.RawMessage) (json.RawMessage, error) {
	return c.signedEach(ctx, n, func(now time.Time) (rpc.Outgoing, error) {
		return rpc.ParseDraft(method, params, c.acct.ID(), now)
	})
}

// signedEach sends the request build returns for the network time, signed
// for the account. It builds and signs it again, once, with a later stamp
// when the node found the clock skewed, or found the signature already
// used: the devices of one account share its key, and Ed25519 signatures
// are deterministic, so two devices that sign the same request in the
// same millisecond make the same signature and the node keeps only the
// first. (A request that reached the node twice through a transport retry
// is then sent once more: the reads, stores, deletes and expiries are
// idempotent, and a repeated delete_all deletes what the account asked
// to be rid of anyway.)
func (c *Client) signedEach(ctx context.Context, n snapshot.Node, build func(now time.Time) (rpc.Outgoing, error)) (json.RawMessage, error) {
	return c.signedHold(ctx, n, 0, build)
}

// signedHold is signedEach for a request the node may hold up to hold
// (callHold).
func (c *Client) signedHold(ctx context.Context, n snapshot.Node, hold time.Duration, build func(now time.Time) (rpc.Outgoing, error)) (json.RawMessage, error) {
	for attempt := 0; ; attempt++ {
		req, err := build(c.signTime())
		if err != nil {
			return nil, err
		}
		// The account, or a group's admin or member key (groupnet.go).
		req.Sign(c.dir.NetworkID(), c.signerFor(ctx))
		resp, err := c.callHold(ctx, n, req, hold)
		var ne *NodeError
		if attempt == 0 && errors.As(err, &ne) && (ne.Code == rpc.CodeClockSkew || ne.Code == rpc.CodeReplayed) {
			continue
		}
		return resp, err
	}
}

// confirmations returns how many members of a swarm of size members must
// confirm a copy before it counts as stored: two, as DESIGN.md §4 asks,
// so the loss of one node right after its answer loses nothing; one for a
// swarm of one (a standalone node).
func confirmations(members int) int { return min(2, members) }

// store deposits data for account to in namespace ns with ttl and returns
// its hash once enough members confirmed it. It stores to one random
// member first: a replicating node answers with its peers' signed
// confirmations, which are verified against the swarm and usually
// suffice. When they do not (a member that does not replicate, or a
// forward that failed), it stores to further members itself, as many at
// once as confirmations are still missing, replacing each that fails.
//
// A member that answers 421 made the directory stale; the store is then
// tried once more on the swarm a fresh snapshot names.
func (c *Client) store(ctx context.Context, to identity.AccountID, ns int32, ttl time.Duration, data []byte) (string, error) {
	hash, _, err := c.storeOrDeleted(ctx, to, ns, ttl, data)
	return hash, err
}

// storeOrDeleted is store, also reporting whether a member answered that
// this very data was deleted before (rpc.StoreResult.Deleted), so it was
// not stored again. A message counts as delivered then; a device record
// does not, since its publisher needs it in the swarm (v2keys.go).
func (c *Client) storeOrDeleted(ctx context.Context, to identity.AccountID, ns int32, ttl time.Duration, data []byte) (string, bool, error) {
	hash, deleted, err := c.storeRound(ctx, to, ns, ttl, data)
	var ne *NodeError
	if errors.As(err, &ne) && ne.Code == rpc.CodeWrongSwarm {
		hash, deleted, err = c.storeRound(ctx, to, ns, ttl, data)
	}
	return hash, deleted, err
}

func (c *Client) storeRound(ctx context.Context, to identity.AccountID, ns int32, ttl time.Duration, data []byte) (string, bool, error) {
	members, err := c.dir.SwarmFor(ctx, to)
	if err != nil {
		return "", false, err
	}
	hash := rpc.MessageHash(to, ns, data)
	need := confirmations(len(members))
	type answer struct {
		from snapshot.Node
		res  *rpc.StoreResult
		err  error
	}
	order := rand.Perm(len(members))
	results := make(chan answer, len(order)) // buffered: late answers never block
	confirmed := map[identity.Ed25519PublicKey]bool{}
	asked := map[identity.Ed25519PublicKey]bool{}
	next, inflight := 0, 0
	launch := func(k int) {
		for ; k > 0 && next < len(order); next++ {
			n := members[order[next]]
			if confirmed[n.Ed25519] || asked[n.Ed25519] {
				continue
			}
			asked[n.Ed25519] = true
			inflight++
			k--
			go func() {
				res, err := c.storeOnce(ctx, n, to, ns, ttl, data)
				results <- answer{n, res, err}
			}()
		}
	}
	launch(1)
	var lastErr error
	deleted := false
	for inflight > 0 {
		a := <-results
		inflight--
		if a.err != nil {
			var ne *NodeError
			// A 421 is the most telling failure: keep it for store.
			if !errors.As(lastErr, &ne) || ne.Code != rpc.CodeWrongSwarm {
				lastErr = a.err
			}
			if ctx.Err() != nil {
				return "", false, ctx.Err()
			}
		} else {
			deleted = deleted || a.res.Deleted
			c.countConfirmations(confirmed, members, a.from, to, hash, a.res)
			if len(confirmed) >= need {
				return hash, deleted, nil
			}
		}
		if missing := need - len(confirmed) - inflight; missing > 0 {
			launch(missing)
		}
	}
	if lastErr == nil {
		lastErr = ErrUnreachable
	}
	return "", false, fmt.Errorf("%d of the %d confirmations needed: %w", len(confirmed), need, lastErr)
}

// countConfirmations adds to confirmed the members that confirmed hash in
// from's store reply. A reply without confirmations (a standalone or
// non-replicating node) confirms from alone: it came over a connection or
// onion layer bound to from's key. Confirmations are checked against the
// verified swarm, never against keys the reply names.
//
// A deleted answer (the recipient already received and deleted this very
// message, so the node refused to store it again) also confirms from
// alone: the message needs no further copies, but one member's word is
// not enough to stop trying, so a lying member cannot make it be dropped.
func (c *Client) countConfirmations(confirmed map[identity.Ed25519PublicKey]bool, members []snapshot.Node, from snapshot.Node, to identity.AccountID, hash string, res *rpc.StoreResult) {
	if len(res.Swarm) == 0 || res.Deleted {
		confirmed[from.Ed25519] = true
		return
	}
	for _, m := range members {
		// A plain signature, or a batch's with its Merkle proof.
		if conf, ok := res.Swarm[m.Ed25519.String()]; ok && conf.Verify(c.dir.NetworkID(), m.Ed25519, to, hash) {
			confirmed[m.Ed25519] = true
		}
	}
}

func (c *Client) storeOnce(ctx context.Context, n snapshot.Node, to identity.AccountID, ns int32, ttl time.Duration, data []byte) (*rpc.StoreResult, error) {
	var (
		resp json.RawMessage
		err  error
	)
	for attempt := 0; attempt < 2; attempt++ {
		// depositTime: v2keys.go.
		req := &rpc.Store{Account: to, Namespace: ns, TTL: ttl, Timestamp: depositTime(ctx, c.now()), Data: data}
		if rpc.IsPublicNamespace(ns) {
			resp, err = c.call(ctx, n, req)
		} else {
			// An owner-only namespace: only the account itself deposits.
			resp, err = c.signed(ctx, n, req)
		}
		// A local clock that jumped makes the deposit's timestamp skewed;
		// call has corrected the offset from the answer, so try once more.
		var ne *NodeError
		if !errors.As(err, &ne) || (ne.Code != rpc.CodeClockSkew && ne.Code != rpc.CodeBadTimestamp) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	var r rpc.StoreResult
	if err := json.Unmarshal(resp, &r); err != nil {
		return nil, fmt.Errorf("store reply: %w", err)
	}
	if want := rpc.MessageHash(to, ns, data); r.Hash != want {
		return nil, fmt.Errorf("store reply names hash %q, want %q", r.Hash, want)
	}
	return &r, nil
}

// lowHash sorts before every message hash: with after_timestamp it makes a
// retrieve start at that millisecond, not after one message of it.
var lowHash = func() string {
	b := make([]byte, rpc.HashLen)
	for i := range b {
		b[i] = '+'
	}
	b[len(b)-1] = '0' // the last character carries 2 zero bits
	return string(b)
}()

// retrievePageSize keeps a page under the onion layer's largest frame
// (2 MiB) after base64 and JSON.
const retrievePageSize = 1 << 20

// retrieve reads the account's namespace ns on node n from position
// (after, afterHash) on, within the page bound.
func (c *Client) retrieve(ctx context.Context, n snapshot.Node, ns int32, after time.Time, afterHash string) ([]rpc.Message, error) {
	return c.retrieveAll(ctx, n, &rpc.Retrieve{Namespace: ns, AfterTimestamp: after, AfterHash: afterHash})
}

// retrievePublic reads account's public-read namespace ns on node n, all
// pages, without a signature: a sender reads a contact's records so.
func (c *Client) retrievePublic(ctx context.Context, n snapshot.Node, account identity.AccountID, ns int32) ([]rpc.Message, error) {
	return c.retrieveAll(ctx, n, rpc.PublicRetrieve(account, ns))
}

// retrieveAll reads what req names on node n from its cursor on, all
// pages within the bounds of one poll.
func (c *Client) retrieveAll(ctx context.Context, n snapshot.Node, req *rpc.Retrieve) ([]rpc.Message, error) {
	msgs, cut, err := c.retrievePages(ctx, n, req, c.pollBudget(), nil)
	if err == nil && cut {
		err = fmt.Errorf("%w: more than %d pages or %d bytes", errPaging, c.limits.pages, c.limits.pollBytes)
	}
	return msgs, err
}

// retrievePages reads what req names on node n (the account's own
// namespace, signed; with req.Unsigned another account's public-read
// namespace) from req's cursor on, page by page, until the node has no
// more, at most c.limits.pages pages and while budget (bytes of answers,
// shared by a poll's retrievals) lasts. cut reports that a bound ended it
// with more to read. A node whose pages do not move forward in swarm
// order fails with errPaging. It moves req's cursor. With ar, the first
// page also asks for what arrived at n after ar.asked behind the cursor,
// and ar gets the answer (receive.go, arrival marks).
func (c *Client) retrievePages(ctx context.Context, n snapshot.Node, req *rpc.Retrieve, budget *atomic.Int64, ar *arrival) (out []rpc.Message, cut bool, err error) {
	req.MaxSize = retrievePageSize
	if ar != nil {
		req.ArrivedAfter = &ar.asked
	}
	for page := 0; ; page++ {
		if page == c.limits.pages || budget.Load() <= 0 {
			return out, true, nil
		}
		var resp json.RawMessage
		if req.Unsigned {
			req.Timestamp = c.now()
			resp, err = c.call(ctx, n, req)
		} else {
			resp, err = c.signed(ctx, n, req)
		}
		if len(req.Known) > 0 && refusedKnown(err) {
			// A node from before the known list (issue 23) refuses it:
			// read the bodies again, as then. One more round trip, on
			// such nodes only.
			req.Known = nil
			page--
			continue
		}
		if req.ArrivedAfter != nil && refusedField(err, "arrived_after") {
			// A node from before arrival marks: without, as then.
			req.ArrivedAfter = nil
			page--
			continue
		}
		if err != nil {
			return out, false, err
		}
		budget.Add(-int64(len(resp)))
		var r rpc.RetrieveResult
		if err := json.Unmarshal(resp, &r); err != nil {
			return out, false, fmt.Errorf("retrieve reply: %w", err)
		}
		if req.ArrivedAfter != nil {
			// Late messages and the mark come with the first page only.
			ar.mark, ar.late = r.Arrived, r.Late
			req.ArrivedAfter = nil
		}
		out = append(out, r.Messages...)
		if !r.More || len(r.Messages) == 0 {
			return out, false, nil
		}
		last := r.Messages[len(r.Messages)-1]
		if after := req.AfterTimestamp; !after.IsZero() && !(position{after.UnixMilli(), req.AfterHash}).before(posOf(last)) {
			return out, false, fmt.Errorf("%w: a page did not move forward", errPaging)
		}
		req.AfterTimestamp, req.AfterHash = time.UnixMilli(last.Timestamp), last.Hash
	}
}

// refusedKnown reports whether err is a node's refusal of a retrieve's
// known list, a field it does not know (strict parsing, protocol/rpc).
func refusedKnown(err error) bool { return refusedField(err, "known") }

// refusedField reports whether err is a node's refusal of a retrieve's
// field name, one it does not know.
func refusedField(err error, name string) bool {
	var ne *NodeError
	return errors.As(err, &ne) && ne.Code == rpc.CodeBadField && strings.Contains(ne.Message, `"`+name+`"`)
}

// deleteOwn deletes hashes from the account's own swarm, on every member
// (so a member that has not yet replicated the delete cannot serve the
// copy to the next poll). It succeeds when at least one member did.
func (c *Client) deleteOwn(ctx context.Context, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	members, err := c.dir.SwarmFor(ctx, c.acct.ID())
	if err != nil {
		return err
	}
	ok := 0
	var lastErr error
	for _, n := range members {
		failed := false
		for start := 0; start < len(hashes); start += rpc.MaxHashes {
			chunk := hashes[start:min(start+rpc.MaxHashes, len(hashes))]
			_, err := c.signed(ctx, n, &rpc.Delete{Hashes: chunk})
			var ne *NodeError
			// Each call signs its own request time, so a replay answer
			// means this very request already reached the node (a
			// transport retry inside one millisecond): it is done.
			if errors.As(err, &ne) && ne.Code == rpc.CodeReplayed {
				err = nil
			}
			if err != nil {
				lastErr, failed = err, true
				break
			}
		}
		if !failed {
			ok++
		}
	}
	if ok == 0 {
		return lastErr
	}
	return nil
}
