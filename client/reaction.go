package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/group"
)

// Reactions (issue 22): an emoji on a message, one per emoji per person.
// A reaction is a Content body of its own (envelope.Reaction), sent like
// an unsend request: to the peer's inbox and, inside a one-entry history
// share that names the conversation, to the own sync namespace for this
// account's other devices; in a group, one copy to the group swarm, which
// every member's devices (this account's included) read. Each device keeps
// for (message, reactor, emoji) the one with the latest signed time, ties
// to the greater reaction ID, removals included (clientdb.PutReaction):
// a last-writer-wins register, so two devices reacting at once converge
// whatever order the copies arrive in. Reactions go with their message
// (unsend, delete, disappearing timer); they are never history rows.

// EventReaction: a reaction to a message changed. Message holds the
// message with its reactions now.
const EventReaction EventKind = 80

// Reaction is one emoji on a message with who put it there.
type Reaction struct {
	Emoji string `json:"emoji"`
	Count int    `json:"count"`
	// By are the reactors, in the order they reacted.
	By []identity.AccountID `json:"by"`
}

// ErrBadEmoji: a reaction's emoji is empty, too long, or has spaces or
// control characters.
var ErrBadEmoji = errors.New("an emoji must be 1 to 64 bytes with no spaces or control characters")

// React puts emoji on the message with hex ID msgID in the conversation
// with peer (a contact or a group), or takes it away (remove). A person
// has at most one of each emoji on a message: reacting twice with the same
// one changes nothing. The reaction is queued and sent at once; when the
// network is out of reach it waits in the outbox. It returns
// [ErrNotInChat] for a message not in that chat, [ErrBadEmoji], and
// [ErrNotGroupMember] for a group this account is not in.
func (c *Client) React(ctx context.Context, peer identity.AccountID, msgID, emoji string, remove bool) (Message, error) {
	target, err := c.findMessage(peer, msgID) // reply.go
	if err != nil {
		return Message{}, err
	}
	now := c.signTime()
	var rid clientdb.MessageID
	rand.Read(rid[:])
	r := &envelope.Reaction{MessageId: target.MessageID[:], Author: target.Sender[:], Emoji: emoji, Remove: remove}
	content := &envelope.Content{MessageId: rid[:], SentAtMs: uint64(now.UnixMilli()), Body: &envelope.Content_Reaction{Reaction: r}}
	encoded, err := envelope.MarshalContent(content)
	if err != nil {
		if errors.Is(err, envelope.ErrInvalid) {
			return Message{}, fmt.Errorf("%w: %w", ErrBadEmoji, err)
		}
		return Message{}, sizeErr(err)
	}
	self := c.acct.ID()
	// Recorded here first: the sender's own view never waits for the
	// network, and its own copies, coming back, change nothing.
	if _, err := c.db.PutReaction(peer, clientdb.Reaction{
		Target: target.MessageID, TargetAuthor: target.Sender, Reactor: self, Emoji: emoji,
		Removed: remove, SentAt: now, ID: rid,
	}, c.clock()); err != nil {
		return Message{}, err
	}
	ttl := c.reactionTTL(target)
	if IsGroupID(peer) {
		if err := c.queueGroupReaction(peer, encoded, now, ttl); err != nil {
			return Message{}, err
		}
	} else {
		toPeer, err := unsealedPayload(encoded, now)
		if err != nil {
			return Message{}, err
		}
		toSelf, err := c.syncPayload(peer, encoded, now)
		if err != nil {
			return Message{}, err
		}
		for _, it := range []clientdb.OutboxItem{
			{To: peer, Namespace: int(NamespaceInbox), TTL: ttl, Payload: toPeer},
			{To: self, Namespace: int(NamespaceSync), TTL: ttl, Payload: toSelf},
		} {
			if _, err := c.db.EnqueueOutbox(it, c.clock()); err != nil {
				return Message{}, err
			}
		}
	}
	c.FlushOutbox(ctx)
	m, err := c.Message(int64(target.ID))
	if err == nil {
		c.emit(Event{Kind: EventReaction, Message: m})
	}
	return m, err
}

// reactionTTL is how long a reaction's copies live in swarms: never
// longer than its message, so a reaction to a disappearing message goes
// with it there too.
func (c *Client) reactionTTL(target clientdb.Message) time.Duration {
	ttl := InboxTTL
	if !target.ExpiresAt.IsZero() {
		ttl = min(ttl, max(time.Until(target.ExpiresAt), time.Minute))
	}
	return ttl
}

// syncPayload wraps encoded Content for peer's conversation in a
// one-message history share sealed to the own account, as a sent
// message's sync copy is (send.go), so the account's other devices learn
// which conversation it belongs to.
func (c *Client) syncPayload(peer identity.AccountID, encoded []byte, now time.Time) ([]byte, error) {
	self := c.acct.ID()
	shareID := make([]byte, envelope.ShareIDSize)
	rand.Read(shareID)
	syncID := make([]byte, envelope.MessageIDSize)
	rand.Read(syncID)
	sync := &envelope.Content{
		MessageId: syncID,
		SentAtMs:  uint64(now.UnixMilli()),
		Body: &envelope.Content_HistoryShare{HistoryShare: &envelope.HistoryShare{
			ShareId: shareID, Part: 0, Parts: 1,
			Messages: []*envelope.HistoryShare_SharedMessage{{
				Conversation: peer[:], Author: self[:], Content: encoded, ReceivedAtMs: uint64(now.UnixMilli()),
			}},
		}},
	}
	b, err := envelope.MarshalContent(sync)
	if err != nil {
		return nil, sizeErr(err)
	}
	return unsealedPayload(b, now)
}

// queueGroupReaction seals encoded Content under group id's current key
// and queues it for the group swarm.
func (c *Client) queueGroupReaction(id identity.AccountID, encoded []byte, now time.Time, ttl time.Duration) error {
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
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	_, err = c.db.EnqueueOutbox(clientdb.OutboxItem{To: id, Namespace: int(group.NamespaceMessages), TTL: min(ttl, groupMessageTTL), Payload: sealed}, c.clock())
	return err
}

// applyReaction records a reaction reactor sent in the conversation with
// peer (the contact itself, or a group whose membership the caller
// checked). In a 1:1 chat only the two parties react, and only to the
// chat's messages (clientdb refuses a target held in another chat). A
// reaction to a message deleted here is dropped. It raises an
// [EventReaction] when the target is here and something changed.
func (c *Client) applyReaction(peer, reactor identity.AccountID, content *envelope.Content) error {
	return c.applySignedReaction(peer, reactor, content, nil)
}

// applySignedReaction is [Client.applyReaction] keeping signed, the
// reactor's signed part of the message that carried it (nil for none),
// so that a history share can prove the reaction to a new device
// (history.go).
func (c *Client) applySignedReaction(peer, reactor identity.AccountID, content *envelope.Content, signed []byte) error {
	r := content.GetReaction()
	author, err := identity.AccountIDFromBytes(r.GetAuthor())
	if err != nil {
		return fmt.Errorf("%w: reaction to a bad author", ErrDropped)
	}
	if !IsGroupID(peer) {
		self := c.acct.ID()
		if !reactor.Equal(peer) && !reactor.Equal(self) {
			return fmt.Errorf("%w: reaction by a third account in a 1:1 chat", ErrDropped)
		}
		if !author.Equal(peer) && !author.Equal(self) {
			return fmt.Errorf("%w: reaction to a third account's message", ErrDropped)
		}
		if st, err := c.peerState(peer); err != nil || !st.accepted || st.blocked {
			return err // a request's sender shows nothing before it is accepted
		}
	}
	cr := clientdb.Reaction{
		TargetAuthor: author, Reactor: reactor, Emoji: r.GetEmoji(), Removed: r.GetRemove(),
		SentAt: time.UnixMilli(int64(content.GetSentAtMs())), Signed: signed,
	}
	copy(cr.Target[:], r.GetMessageId())
	copy(cr.ID[:], content.GetMessageId())
	changed, err := c.db.PutReaction(peer, cr, c.clock())
	switch {
	case errors.Is(err, clientdb.ErrDeleted), errors.Is(err, clientdb.ErrNotFound):
		return nil // its message is gone, or there is no such chat here
	case errors.Is(err, clientdb.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrDropped, err)
	case err != nil || !changed:
		return err
	}
	if m, err := c.db.LookupMessage(author, cr.Target); err == nil {
		c.emit(Event{Kind: EventReaction, Message: toMessage(peer, m)})
	}
	return nil
}

// toReactions groups a message's standing reactions by emoji, in the
// order each emoji first appeared.
func toReactions(rs []clientdb.Reaction) []Reaction {
	var out []Reaction
	at := map[string]int{}
	for _, r := range rs {
		i, ok := at[r.Emoji]
		if !ok {
			i = len(out)
			at[r.Emoji] = i
			out = append(out, Reaction{Emoji: r.Emoji})
		}
		out[i].Count++
		out[i].By = append(out[i].By, r.Reactor)
	}
	return out
}
