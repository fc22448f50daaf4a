package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// DeleteAccountData asks every member of the account's swarm to delete
// everything it holds for the account, in all namespaces (a signed
// delete_all with namespace "all"), and returns once enough members
// answered that they did: as many as a store needs confirmations (two, or
// one for a swarm of one). A replicating member forwards the deletion to
// its peers as well; asking every member directly covers one that has not
// replicated yet. Nodes delete only what was stored before the signed
// time, so mail that arrives later is not covered: callers delete the
// account's data last, after they stopped using it.
//
// The outbox is left alone and nothing is deleted locally. It returns an
// error wrapping [ErrUnreachable] when too few members could be reached,
// and the members' own error otherwise.
func (c *Client) DeleteAccountData(ctx context.Context) error {
	members, err := c.dir.SwarmFor(ctx, c.acct.ID())
	if err != nil {
		return err
	}
	errs := make(chan error, len(members))
	for _, n := range members {
		go func(n snapshot.Node) {
			_, err := c.signed(ctx, n, &rpc.DeleteAll{}) // nil namespace: all
			if err != nil {
				err = fmt.Errorf("%s: %w", n.Address, err)
			}
			errs <- err
		}(n)
	}
	done := 0
	var failed []error
	for range members {
		if err := <-errs; err != nil {
			failed = append(failed, err)
		} else {
			done++
		}
	}
	if need := confirmations(len(members)); done < need {
		// The joined errors keep ErrUnreachable visible to errors.Is.
		return fmt.Errorf("%d of %d swarm members deleted the account's data, %d needed: %w", done, len(members), need, errors.Join(failed...))
	}
	return nil
}
