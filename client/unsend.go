package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
)

// ErrCannotUnsend: the message is not one the user sent to that peer.
var ErrCannotUnsend = errors.New("only a message you sent to that account can be unsent")

// Unsend deletes a message the user sent to peer for everyone: here (with
// a tombstone), its sync copy in the own swarm, and, through a signed
// unsend request, at the recipient, whose client deletes it locally and
// from its own swarm (no one can delete from another account's swarm).
// msgID is the message's hex ID (Message.MessageID). The request waits in
// the outbox when the network is out of reach. It returns
// [ErrNotFound] for an unknown message and [ErrCannotUnsend].
func (c *Client) Unsend(ctx context.Context, peer identity.AccountID, msgID string) error {
	var mid clientdb.MessageID
	b, err := hex.DecodeString(msgID)
	if err != nil || len(b) != len(mid) {
		return fmt.Errorf("%w: message ID must be %d hex bytes", clientdb.ErrInvalid, len(mid))
	}
	copy(mid[:], b)
	self := c.acct.ID()
	m, err := c.db.LookupMessage(self, mid)
	if err != nil {
		return err
	}
	conv, err := c.db.ConversationByID(m.Conversation)
	if err != nil {
		return err
	}
	if m.Direction != clientdb.Outgoing || !conv.Peer.Equal(peer) {
		return ErrCannotUnsend
	}
	req := &envelope.UnsendRequest{Author: self[:], MessageId: mid[:], SentAtMs: uint64(m.SentAt.UnixMilli())}
	if err := c.queueControl(peer, NamespaceInbox, InboxTTL, &envelope.Content{Body: &envelope.Content_Unsend{Unsend: req}}); err != nil {
		return err
	}
	// The same request for the account's other devices, which hold the
	// message from its sync copy.
	if err := c.queueControl(self, NamespaceSync, InboxTTL, &envelope.Content{Body: &envelope.Content_Unsend{Unsend: req}}); err != nil {
		return err
	}
	d, err := c.db.DeleteMessageByID(self, mid, c.clock())
	if err != nil {
		return err
	}
	if d.Messages > 0 {
		c.emitUnsent(m)
	}
	if err := c.dropDeleted(d); err != nil {
		return err
	}
	_, flushErr := c.FlushOutbox(ctx)
	return errors.Join(flushErr, c.retryDeletes(ctx))
}

// applyUnsend honours an unsend request from sender. The seal proves who
// sent it; it may only name a message whose author is that same account.
// The message goes here (tombstoned, in case it arrives later) and its
// copies go from the own swarm.
func (c *Client) applyUnsend(sender identity.AccountID, u *envelope.UnsendRequest) error {
	author, err := identity.AccountIDFromBytes(u.GetAuthor())
	if err != nil || !author.Equal(sender) {
		return fmt.Errorf("%w: unsend request for a message by another account", ErrDropped)
	}
	var mid clientdb.MessageID
	if len(u.GetMessageId()) != len(mid) {
		return fmt.Errorf("%w: unsend request without a message ID", ErrDropped)
	}
	copy(mid[:], u.GetMessageId())
	m, lookupErr := c.db.LookupMessage(author, mid) // for the event
	d, err := c.db.DeleteMessageByID(author, mid, c.clock())
	if err != nil {
		return err
	}
	if lookupErr == nil && d.Messages > 0 {
		c.emitUnsent(m)
	}
	return c.dropDeleted(d)
}

// emitUnsent raises an [EventUnsent] for each of ms, deleted by their
// author or gone by their timer.
func (c *Client) emitUnsent(ms ...clientdb.Message) {
	peers := map[clientdb.ConversationID]identity.AccountID{}
	for _, m := range ms {
		peer, ok := peers[m.Conversation]
		if !ok {
			conv, err := c.db.ConversationByID(m.Conversation)
			if err != nil {
				continue
			}
			peer, peers[m.Conversation] = conv.Peer, conv.Peer
		}
		c.emit(Event{Kind: EventUnsent, Message: toMessage(peer, m)})
	}
}
