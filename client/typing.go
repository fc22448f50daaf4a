package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/group"
)

// Typing indicators are ephemeral: a TypingMessage through protocol v2
// with a short TTL, never a history row, never an outbox item. One that is
// lost is harmless, and one delivered after the outbox's backoff would be
// worse than none, so a send that fails returns its error and is over.

// TypingExpiry is how long a receiver shows a contact as typing after a
// "started" with no "stopped": the sender does not repeat it while the
// user types on, and a "stopped" may be lost. A "started" signed longer
// ago than this is stale when it arrives and raises no event.
const TypingExpiry = 15 * time.Second

// typingTTL is a typing indicator's TTL in the recipient's swarm: what
// waits longer is stale news.
const typingTTL = time.Minute

// Typing is what an [EventTyping] reports: Peer is the chat (a contact,
// or a group with From the member typing).
type Typing struct {
	Peer   identity.AccountID `json:"peer"`
	From   identity.AccountID `json:"from,omitzero"`
	Typing bool               `json:"typing"`
}

// SendTyping tells peer this user started (true) or stopped (false)
// typing: a TypingMessage through protocol v2 with a TTL of a minute. It
// is not stored in history and, when the network cannot be reached, not
// queued in the outbox: typing is ephemeral, so the error
// ([ErrUnreachable], [ErrWaitingForKeys]...) is returned and nothing is
// retried. It is never sent to a request (a contact not accepted) or a
// blocked contact, nor while receipts are off ([Client.SetReceipts]):
// then it sends nothing and returns nil. It returns [ErrBadAccountID] for
// an unusable peer.
//
// Typing indicators follow the receipts setting (issue 22): both tell a
// contact when this user is at the keyboard, so the one privacy switch
// that keeps that to the user keeps both. As in Signal, the switch works
// both ways: with receipts off, contacts' typing is not shown either.
func (c *Client) SendTyping(ctx context.Context, peer identity.AccountID, typing bool) error {
	if _, err := peer.X25519(); err != nil && !IsGroupID(peer) {
		return fmt.Errorf("%w: %w", ErrBadAccountID, err)
	}
	if on, err := c.Receipts(); err != nil || !on || c.IsNoteToSelf(peer) { // notetoself.go: nobody to tell
		return err
	}
	if !IsGroupID(peer) {
		st, err := c.requestState(peer)
		if err != nil {
			return err
		}
		if !st.accepted || st.blocked {
			return nil
		}
	}
	action := envelope.TypingMessage_ACTION_STOPPED
	if typing {
		action = envelope.TypingMessage_ACTION_STARTED
	}
	now := c.now()
	mid := make([]byte, envelope.MessageIDSize)
	rand.Read(mid)
	encoded, err := envelope.MarshalContent(&envelope.Content{
		MessageId: mid, SentAtMs: uint64(now.UnixMilli()),
		Body: &envelope.Content_Typing{Typing: &envelope.TypingMessage{Action: action}},
	})
	if err != nil {
		return err
	}
	if IsGroupID(peer) {
		return c.sendGroupTyping(ctx, peer, encoded, now)
	}
	env, err := c.seal.seal(ctx, peer, envelope.Pad(encoded), envelope.CoarseTimestamp(now))
	if err != nil || env.data == nil {
		return err // no device to seal to: no one to tell
	}
	_, err = c.store(ctx, peer, NamespaceInbox, typingTTL, env.data)
	return err
}

// applyTyping reports a typing indicator from sender as an [EventTyping]:
// only from an accepted, unblocked contact (a request's sender must not
// learn, or show, anything before the user accepts it), and only while
// fresh, and only while receipts are on here. Nothing is stored.
func (c *Client) applyTyping(sender identity.AccountID, t *envelope.TypingMessage, signed time.Time) error {
	st, err := c.peerState(sender)
	if err != nil || !st.accepted || st.blocked {
		return err
	}
	if on, err := c.Receipts(); err != nil || !on {
		return err
	}
	if c.now().Sub(signed) > TypingExpiry {
		return nil
	}
	c.emit(Event{Kind: EventTyping, Typing: Typing{Peer: sender, Typing: t.GetAction() == envelope.TypingMessage_ACTION_STARTED}})
	return nil
}

// sendGroupTyping stores a typing indicator in group id's swarm, sealed
// under the group key like a message, with typingTTL: one copy for every
// member (Session has no typing in groups; one copy per burst of typing,
// refreshed every few seconds at most by the UI, costs the group's
// members a small fetch each). Not stored, not queued, as for a contact.
func (c *Client) sendGroupTyping(ctx context.Context, id identity.AccountID, encoded []byte, now time.Time) error {
	g, err := c.loadGroup(id)
	if err != nil {
		return err
	}
	if _, in := g.member(c.acct.ID()); g.Status != GroupJoined || !in {
		return ErrNotGroupMember
	}
	k, ok := c.currentKey(g.ID)
	if !ok {
		return fmt.Errorf("%w: no key of the group yet", ErrWaitingForKeys)
	}
	sealed, err := group.SealMessage(g.ID, k, c.acct, now, encoded)
	if err != nil {
		return err
	}
	sctx, err := groupCtx(ctx, g)
	if err != nil {
		return err
	}
	// Prefixed with the writer's key like every group message (groupnet.go
	// withWriter): the nodes refuse a group store without it.
	_, err = c.store(sctx, id, group.NamespaceMessages, typingTTL, group.WithWriter(c.signerFor(sctx).Ed25519Public(), sealed))
	return err
}

// applyGroupTyping reports a group member's typing indicator (the caller
// checked membership): not this account's own (another device of ours
// typing is no news), only while receipts are on here, only while fresh.
func (c *Client) applyGroupTyping(id, sender identity.AccountID, t *envelope.TypingMessage, signed time.Time) error {
	if sender.Equal(c.acct.ID()) || c.now().Sub(signed) > TypingExpiry {
		return nil
	}
	if on, err := c.Receipts(); err != nil || !on {
		return err
	}
	c.emit(Event{Kind: EventTyping, Typing: Typing{Peer: id, From: sender, Typing: t.GetAction() == envelope.TypingMessage_ACTION_STARTED}})
	return nil
}
