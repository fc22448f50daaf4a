package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// NodeError is a node's error answer to a storage RPC.
type NodeError struct {
	Status  int
	Code    rpc.Code
	Message string
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("node answered %d %s: %s", e.Status, e.Code, e.Message)
}

// call sends one storage RPC to n and returns the answer's body. It learns
// the clock offset from every answer's "t" and reports a 421 to the
// directory. A transport failure wraps ErrUnreachable.
func (c *Client) call(ctx context.Context, n snapshot.Node, method string, params json.RawMessage) (json.RawMessage, error) {
	body, err := json.Marshal(rpc.Request{Method: method, Params: params})
	if err != nil {
		return nil, err
	}
	start := c.clock()
	status, resp, err := c.tr.Do(ctx, n, body)
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
	if json.Unmarshal(resp, &t) == nil && t.T > 0 {
		// The node read its clock about halfway through the round trip.
		mid := start.Add(c.clock().Sub(start) / 2)
		c.setOffset(time.UnixMilli(t.T).Sub(mid))
	}
	if status/100 == 2 {
		return resp, nil
	}
	ne := &NodeError{Status: status, Code: rpc.CodeInternal}
	var eb rpc.ErrorBody
	if json.Unmarshal(resp, &eb) == nil && eb.Error != nil {
		ne.Code, ne.Message = eb.Error.Code, eb.Error.Message
	}
	if ne.Code == rpc.CodeWrongSwarm || status == rpc.CodeWrongSwarm.Status() {
		c.dir.Invalidate()
	}
	return nil, ne
}

// signedCall signs params for the account and sends them, signing again
// once if the node found the clock skewed (call has corrected it).
func (c *Client) signedCall(ctx context.Context, n snapshot.Node, method string, params json.RawMessage) (json.RawMessage, error) {
	for attempt := 0; ; attempt++ {
		signed, err := nodeclient.SignParams(c.acct, c.dir.NetworkID(), method, params, c.signTime())
		if err != nil {
			return nil, err
		}
		resp, err := c.call(ctx, n, method, signed)
		var ne *NodeError
		if attempt == 0 && errors.As(err, &ne) && ne.Code == rpc.CodeClockSkew {
			continue
		}
		return resp, err
	}
}

// confirmations returns how many members of a swarm of size members must
// confirm a copy before it counts as stored: two, as DESIGN.md §4 asks,
// so the loss of one node right after its answer loses nothing; one for a
// swarm of one (a standalone node).
//
// TODO(replication): nodes will list each member's signed confirmation
// in the store reply; then count verified confirmations from one answer
// (storeOnce) instead of storing to a second member ourselves.
func confirmations(members int) int { return min(2, members) }

// store deposits data for account to in namespace ns with ttl and returns
// its hash once enough members confirmed it. It asks as many members at
// once as confirmations are needed, in random order, and replaces each
// member that fails by the next one.
func (c *Client) store(ctx context.Context, to identity.AccountID, ns int32, ttl time.Duration, data []byte) (string, error) {
	members, err := c.dir.SwarmFor(ctx, to)
	if err != nil {
		return "", err
	}
	need := confirmations(len(members))
	order := rand.Perm(len(members))
	results := make(chan error, len(order)) // buffered: late answers never block
	next, inflight, got := 0, 0, 0
	launch := func() {
		n := members[order[next]]
		next++
		inflight++
		go func() { results <- c.storeOnce(ctx, n, to, ns, ttl, data) }()
	}
	for inflight < need && next < len(order) {
		launch()
	}
	var lastErr error
	for inflight > 0 {
		err := <-results
		inflight--
		if err == nil {
			if got++; got >= need {
				return rpc.MessageHash(to, ns, data), nil
			}
			continue
		}
		lastErr = err
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if next < len(order) {
			launch()
		}
	}
	if lastErr == nil {
		lastErr = ErrUnreachable
	}
	return "", fmt.Errorf("stored on %d of the %d members needed: %w", got, need, lastErr)
}

func (c *Client) storeOnce(ctx context.Context, n snapshot.Node, to identity.AccountID, ns int32, ttl time.Duration, data []byte) error {
	params, _ := json.Marshal(map[string]any{
		"pubkey":    to.String(),
		"namespace": ns,
		"ttl":       ttl.Milliseconds(),
		"timestamp": c.now().UnixMilli(),
		"data":      base64.StdEncoding.EncodeToString(data),
	})
	var (
		resp json.RawMessage
		err  error
	)
	if rpc.IsPublicNamespace(ns) {
		resp, err = c.call(ctx, n, rpc.MethodStore, params)
	} else {
		// An owner-only namespace: only the account itself deposits.
		resp, err = c.signedCall(ctx, n, rpc.MethodStore, params)
	}
	if err != nil {
		return err
	}
	var r rpc.StoreResult
	if err := json.Unmarshal(resp, &r); err != nil {
		return fmt.Errorf("store reply: %w", err)
	}
	if want := rpc.MessageHash(to, ns, data); r.Hash != want {
		return fmt.Errorf("store reply names hash %q, want %q", r.Hash, want)
	}
	return nil
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
// (after, afterHash) on, all pages.
func (c *Client) retrieve(ctx context.Context, n snapshot.Node, ns int32, after time.Time, afterHash string) ([]rpc.Message, error) {
	var out []rpc.Message
	for {
		p := map[string]any{"namespace": ns, "max_size": retrievePageSize}
		if !after.IsZero() {
			p["after_timestamp"], p["after_hash"] = after.UnixMilli(), afterHash
		}
		params, _ := json.Marshal(p)
		resp, err := c.signedCall(ctx, n, rpc.MethodRetrieve, params)
		if err != nil {
			return out, err
		}
		var r rpc.RetrieveResult
		if err := json.Unmarshal(resp, &r); err != nil {
			return out, fmt.Errorf("retrieve reply: %w", err)
		}
		out = append(out, r.Messages...)
		if !r.More || len(r.Messages) == 0 {
			return out, nil
		}
		last := r.Messages[len(r.Messages)-1]
		after, afterHash = time.UnixMilli(last.Timestamp), last.Hash
	}
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
			params, _ := json.Marshal(map[string]any{"messages": chunk})
			_, err := c.signedCall(ctx, n, rpc.MethodDelete, params)
			var ne *NodeError
			// A delete signs no timestamp, so a repeat of one that already
			// reached this node is refused as a replay: it is done.
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
