package client

import (
	"context"
	"errors"
	"time"

	"github.com/hushnet/hush/identity"
)

// Typing indicators are ephemeral: a TypingMessage through protocol v2
// with a short TTL, never a history row, never an outbox item. A "started"
// that is lost is harmless, and one delivered late is worse than none.

// TypingExpiry is how long a receiver shows a contact as typing after a
// "started" with no "stopped": the sender does not repeat it while the
// user types on.
const TypingExpiry = 15 * time.Second

// typingTTL is the TTL of a typing indicator in the recipient's swarm:
// one that waits longer than this is stale news.
const typingTTL = time.Minute

// Typing is what an [EventTyping] reports.
type Typing struct {
	Peer   identity.AccountID `json:"peer"`
	Typing bool               `json:"typing"`
}

// SendTyping tells peer this user started (true) or stopped (false)
// typing: a TypingMessage through protocol v2 with a TTL of a minute, not
// stored in history and not queued in the outbox when the network cannot
// be reached (typing is ephemeral: the error is returned). It is never sent
// to a request (a contact not accepted) or a blocked contact: then it
// does nothing and returns nil.
func (c *Client) SendTyping(ctx context.Context, peer identity.AccountID, typing bool) error {
	return errors.New("typing indicators: not yet implemented")
}
