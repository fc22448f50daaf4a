package client

import (
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
)

// Block blocks peer: from now on everything it sends is dropped unread and
// its copy deleted from the own swarm. Its conversation stays, and leaves
// the requests. The flag lives in the contacts table, where the config
// sync of the account's devices reads it.
func (c *Client) Block(peer identity.AccountID) error {
	return c.setContactFlags(peer, func(ct *clientdb.Contact) { ct.Blocked = true })
}

// Unblock lets peer's messages in again; those dropped while it was
// blocked are gone.
func (c *Client) Unblock(peer identity.AccountID) error {
	return c.setContactFlags(peer, func(ct *clientdb.Contact) { ct.Blocked = false })
}

// blocked reports whether sender is blocked; a database failure counts
// as not blocked (the message is then treated as any other).
func (c *Client) blocked(sender identity.AccountID) bool {
	st, err := c.peerState(sender)
	return err == nil && st.blocked
}
