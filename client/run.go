package client

import (
	"context"
)

// Run runs every background duty of a long-running client until ctx
// ends: receiving (fast mode's long-poll or slow mode's polling, per the
// notification setting, with the safety-net poll), the outbox flush with
// its backoff, the prekey duties ([Client.KeyDuties]), disappearing timers
// and receipts ([Client.Flush]), automatic downloads and the push
// subscription's renewal. Errors of the network ([ErrUnreachable] and
// its kind) are retried with backoff and never end Run; it returns nil
// when ctx ends. Call it once per Client.
func (c *Client) Run(ctx context.Context) error {
	err := c.Receive(ctx, func([]Message) error { return nil })
	if ctx.Err() != nil {
		return nil
	}
	return err
}
