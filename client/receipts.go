package client

import (
	"crypto/rand"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
)

// queueControl puts a Content body that is not a chat message (a
// receipt, an unsend request, a timer change) for account to
// in the outbox for namespace ns; the next flush seals and sends it.
func (c *Client) queueControl(to identity.AccountID, ns int32, ttl time.Duration, content *envelope.Content) error {
	now := c.now()
	mid := make([]byte, envelope.MessageIDSize)
	rand.Read(mid)
	content.MessageId, content.SentAtMs = mid, uint64(now.UnixMilli())
	encoded, err := envelope.MarshalContent(content)
	if err != nil {
		return sizeErr(err)
	}
	data, err := unsealedPayload(encoded, now)
	if err != nil {
		return err
	}
	_, err = c.db.EnqueueOutbox(clientdb.OutboxItem{To: to, Namespace: int(ns), TTL: ttl, Payload: data}, c.clock())
	return err
}

// sendReceipt queues a receipt of typ for messages ids to peer, when
// receipts are on and peer is an accepted, unblocked contact: a request's
// sender learns nothing until the user accepts it.
func (c *Client) sendReceipt(peer identity.AccountID, typ envelope.ReceiptMessage_Type, ids [][]byte) error {
	if len(ids) == 0 || IsGroupID(peer) {
		// Receipts are off in groups: one per member would flood the
		// group, and tell every member when each read.
		return nil
	}
	if on, err := c.Receipts(); err != nil || !on {
		return err
	}
	st, err := c.peerState(peer)
	if err != nil || !st.accepted || st.blocked {
		return err
	}
	return c.queueControl(peer, NamespaceInbox, InboxTTL, &envelope.Content{
		Body: &envelope.Content_Receipt{Receipt: &envelope.ReceiptMessage{Type: typ, MessageIds: ids}},
	})
}

// applyReceipt moves the messages a receipt from sender names forward.
// Only messages we sent to sender are touched: a receipt naming anything
// else is ignored. A read receipt starts an after-read message's timer
// at the receipt's signed time.
func (c *Client) applyReceipt(sender identity.AccountID, r *envelope.ReceiptMessage, signed time.Time) error {
	status := clientdb.StatusDelivered
	if r.GetType() == envelope.ReceiptMessage_TYPE_READ {
		status = clientdb.StatusRead
	}
	self := c.acct.ID()
	for _, raw := range r.GetMessageIds() {
		var mid clientdb.MessageID
		if len(raw) != len(mid) {
			continue
		}
		copy(mid[:], raw)
		m, err := c.db.LookupMessage(self, mid)
		if err != nil {
			continue // unknown, deleted, or not ours
		}
		conv, err := c.db.ConversationByID(m.Conversation)
		if err != nil || !conv.Peer.Equal(sender) || m.Direction != clientdb.Outgoing {
			continue
		}
		changed, err := c.db.SetMessageStatus(m.ID, status, c.clock())
		if err != nil {
			return err
		}
		if changed {
			if msg, err := c.Message(int64(m.ID)); err == nil {
				c.emit(Event{Kind: EventStatus, Message: msg})
			}
		}
		if status == clientdb.StatusRead && m.Disappearing.Mode == clientdb.DisappearAfterRead {
			if err := c.startReadTimer(m, signed); err != nil {
				return err
			}
		}
	}
	return nil
}

// startReadTimer sets an outgoing after-read message to disappear at
// read + its timer, here and in the own swarm (the sync copy), never
// later than it would anyway.
func (c *Client) startReadTimer(m clientdb.Message, read time.Time) error {
	deadline := read.Add(m.Disappearing.After)
	if !m.ExpiresAt.IsZero() && m.ExpiresAt.Before(deadline) {
		return nil
	}
	if err := c.db.SetExpiry(m.ID, deadline); err != nil {
		return err
	}
	return c.addPendingExpiries(m.SwarmHashes, deadline)
}

// acceptData stores an incoming data message from sender: its profile
// name is noted (an unknown sender becomes a request) and the timer it
// carries adopted.
func (c *Client) acceptData(sender identity.AccountID, content *envelope.Content, hash string) ([]Message, error) {
	data := content.GetData()
	signed := time.UnixMilli(int64(content.GetSentAtMs()))
	before, err := c.peerState(sender)
	if err != nil {
		return nil, err
	}
	if err := c.noteProfile(sender, data.GetProfile().GetDisplayName()); err != nil {
		return nil, err
	}
	if err := c.noteAvatar(sender, data.GetProfile().GetAvatar()); err != nil { // avatar.go
		return nil, err
	}
	if err := c.adoptTimer(sender, fromWire(data.GetExpiration()), signed); err != nil {
		return nil, err
	}
	msg, ok, err := c.storeData(sender, sender, content, hash, clientdb.Incoming)
	if err != nil || !ok {
		return nil, err
	}
	if opens, err := c.opensRequest(sender, before); err != nil {
		return nil, err
	} else if opens {
		req := []Message{msg}
		c.decorate(req)
		c.emit(Event{Kind: EventRequest, Message: req[0]})
	}
	return []Message{msg}, nil // the poll sends its delivery receipts
}

// opensRequest reports whether a message from sender, just stored, opened
// a request: the account was unknown, or is neither accepted nor blocked
// and the message is its conversation's only one. The second case is a
// stranger whose earlier message was dropped after noteProfile had made
// it a contact (one stamped before a deleted chat's deletion): its next
// message opens the request.
func (c *Client) opensRequest(sender identity.AccountID, before peerState) (bool, error) {
	if !before.known {
		return true, nil
	}
	if !before.isRequest() {
		return false, nil
	}
	cv, err := c.db.Conversation(sender)
	if err != nil {
		return false, err
	}
	return cv.Messages == 1, nil
}

// afterRead does what reading messages from peer entails: a read receipt
// and, for after-read messages, their swarm copies shortened to the
// deadline that reading started.
func (c *Client) afterRead(peer identity.AccountID, ms []clientdb.Message) error {
	var ids [][]byte
	for _, m := range ms {
		ids = append(ids, m.MessageID[:])
		if m.Disappearing.Mode == clientdb.DisappearAfterRead && !m.ExpiresAt.IsZero() {
			if err := c.addPendingExpiries(m.SwarmHashes, m.ExpiresAt); err != nil {
				return err
			}
		}
	}
	return c.sendReceipt(peer, envelope.ReceiptMessage_TYPE_READ, ids)
}
