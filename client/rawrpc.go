package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/nodeclient"
)

// RPC signs params for the account and sends the storage RPC method to a
// member of the account's own swarm through the client's transport (onion
// paths, unless the client was opened Direct), trying other members when
// one is unreachable and looking the swarm up again after a 421. It
// returns the node's JSON answer; a node's refusal is a *NodeError. This
// is `hush tool rpc` with a network file: the operator's and tester's curl,
// with the same privacy as every other request.
func (c *Client) RPC(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	var lastErr error
	for range 3 {
		members, err := c.dir.SwarmFor(ctx, c.acct.ID())
		if err != nil {
			return nil, err
		}
		for _, i := range rand.Perm(len(members)) {
			resp, err := c.signedCall(ctx, members[i], method, params)
			var ne *NodeError
			switch {
			case err == nil:
				return resp, nil
			case errors.As(err, &ne) && ne.Status == 421:
				lastErr = err // the directory was invalidated: look again
			case errors.Is(err, ErrUnreachable):
				lastErr = err
				continue
			default:
				return nil, err
			}
			break
		}
		if lastErr == nil {
			break
		}
	}
	return nil, fmt.Errorf("no member of the account's swarm answered: %w", lastErr)
}

// NodeRPC signs params for the account and sends the storage RPC method
// straight to the one node at nodeURL (https://host:port), pinned to
// nodeKey, or trusting the key it presents first when nodeKey is nil
// (the node then sees the client's address). It needs no network in the
// Options: this is `hush tool rpc --node`. On a non-2xx answer it returns
// the node's body together with a *NodeError.
func (c *Client) NodeRPC(ctx context.Context, nodeURL string, nodeKey identity.Ed25519PublicKey, method string, params json.RawMessage) (json.RawMessage, error) {
	reply, err := nodeclient.SignedCall(ctx, c.acct, nodeURL, nodeKey, method, params)
	var ne *nodeclient.Error
	if errors.As(err, &ne) {
		return reply, &NodeError{Status: ne.Status, Code: ne.Code, Message: ne.Message}
	}
	return reply, err
}
