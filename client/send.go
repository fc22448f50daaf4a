package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
)

// Send queues text for peer and tries to deliver it at once. The returned
// message is StatusSent when its copy reached the recipient's swarm, or
// still queued when the network could not be reached: the outbox sends it
// later, and the error is nil either way. It returns [ErrEmptyMessage],
// [ErrTooLarge] for text that does not fit the size limit, and
// [ErrBadAccountID] for an unusable peer.
func (c *Client) Send(ctx context.Context, peer identity.AccountID, text string) (Message, error) {
	if strings.TrimSpace(text) == "" {
		return Message{}, ErrEmptyMessage
	}
	if IsGroupID(peer) {
		return c.SendGroup(ctx, peer, text) // group.go
	}
	id, items, err := c.queueItems(peer, c.withPreviews(ctx, &envelope.DataMessage{Body: text}), nil)
	if err != nil {
		return Message{}, err
	}
	c.sendNow(ctx, items)
	return c.Message(id)
}

// sendNow sends the outbox items of a message just queued, before anything
// else the outbox holds (issue 23): a send waits for its own stores only,
// never for a backlog, and a backlog's failures cannot leave it queued
// untried. Without a background loop (Run) to send the rest, the rest
// goes next, as before.
func (c *Client) sendNow(ctx context.Context, items []clientdb.OutboxItem) {
	var wg sync.WaitGroup
	for _, it := range items {
		// Claimed at once, so that Run's flush, which finds them due,
		// leaves them to this send.
		if !c.claimItem(it.ID) {
			// Run's flush took it first: the send's answer is that
			// attempt's, not "queued" while it is on its way.
			wg.Go(func() { c.waitItem(ctx, it.ID) })
			continue
		}
		wg.Go(func() { c.sendClaimed(ctx, it) })
	}
	wg.Wait()
	if !c.running.Load() {
		c.FlushOutbox(ctx)
	}
}

// Queue stores text for peer as a queued message with both copies in the
// outbox, and returns its local ID; nothing is sent. Send and the next
// [Client.FlushOutbox] send it.
func (c *Client) Queue(peer identity.AccountID, text string) (int64, error) {
	if strings.TrimSpace(text) == "" {
		return 0, ErrEmptyMessage
	}
	if IsGroupID(peer) {
		return c.queueGroupData(peer, &envelope.DataMessage{Body: text}, nil) // group.go
	}
	return c.queueData(peer, &envelope.DataMessage{Body: text}, nil)
}

// queueData is Queue for a DataMessage whose body and attachments are set
// (atts are their local rows, in order); it adds the timer and profile.
func (c *Client) queueData(peer identity.AccountID, data *envelope.DataMessage, atts []clientdb.Attachment) (int64, error) {
	id, _, err := c.queueItems(peer, data, atts)
	return id, err
}

// queueItems is queueData, also returning the message's outbox items.
func (c *Client) queueItems(peer identity.AccountID, data *envelope.DataMessage, atts []clientdb.Attachment) (int64, []clientdb.OutboxItem, error) {
	if _, err := peer.X25519(); err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrBadAccountID, err)
	}
	self := c.acct.ID()
	// A time no other message of this Client has: messages sent within
	// one millisecond (a warm send takes less) keep their order, which
	// the recipient sorts by.
	now := c.signTime()
	conv, err := c.startConversation(peer)
	if err != nil {
		return 0, nil, err
	}
	// Writing to an account accepts it: its answer is no request.
	if err := c.Accept(peer); err != nil {
		return 0, nil, err
	}
	ttl := InboxTTL
	var exp *envelope.ExpirationSettings
	if d := conv.Disappearing; d.Mode != clientdb.DisappearOff {
		mode := envelope.ExpirationSettings_MODE_AFTER_SEND
		if d.Mode == clientdb.DisappearAfterRead {
			mode = envelope.ExpirationSettings_MODE_AFTER_READ
		}
		exp = &envelope.ExpirationSettings{Mode: mode, Seconds: uint32(d.After / time.Second)}
		if d.Mode == clientdb.DisappearAfterSend {
			ttl = max(min(ttl, d.After), rpc.MinTTL)
		}
	}
	var mid clientdb.MessageID
	rand.Read(mid[:])
	data.Expiration, data.Profile = exp, c.profile()
	content := &envelope.Content{
		MessageId: mid[:],
		SentAtMs:  uint64(now.UnixMilli()),
		Body:      &envelope.Content_Data{Data: data},
	}
	encoded, err := envelope.MarshalContent(content)
	if err != nil {
		return 0, nil, sizeErr(err)
	}
	toPeer, err := unsealedPayload(encoded, now)
	if err != nil {
		return 0, nil, err
	}
	// The sync copy: the same Content inside a one-message HistoryShare,
	// sealed to our own account, so our other devices learn the peer.
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
	syncEncoded, err := envelope.MarshalContent(sync)
	if err != nil {
		return 0, nil, sizeErr(err)
	}
	toSelf, err := unsealedPayload(syncEncoded, now)
	if err != nil {
		return 0, nil, err
	}
	d := clientdb.Disappearing{}
	if exp != nil {
		d = conv.Disappearing
	}
	local, _, err := c.db.InsertMessage(peer, clientdb.Message{
		MessageID: mid, Direction: clientdb.Outgoing, Sender: self, SentAt: now, ReceivedAt: c.clock(),
		Body: data.GetBody(), Status: clientdb.StatusQueued, Disappearing: d, Attachments: atts, Quote: storedQuote(data.GetQuote()), Previews: storedPreviews(data),
		// The sync copy's swarm hash is recorded when the outbox seals it
		// (sealItem).
	})
	if err != nil {
		return 0, nil, err
	}
	if d.Mode == clientdb.DisappearAfterRead {
		// Until the read receipt says when the timer started: the
		// longest a copy can live in the recipient's inbox.
		if err := c.db.SetExpiry(local, c.clock().Add(InboxTTL)); err != nil {
			return 0, nil, err
		}
	}
	items := []clientdb.OutboxItem{
		{Message: local, To: peer, Namespace: int(NamespaceInbox), TTL: ttl, Payload: toPeer},
		// An after-send timer bounds the sync copy too.
		{Message: local, To: self, Namespace: int(NamespaceSync), TTL: ttl, Payload: toSelf},
	}
	if peer.Equal(self) {
		// Note to self: the sync copy is the only copy (notetoself.go).
		items = items[1:]
	}
	for i := range items {
		if items[i].ID, err = c.db.EnqueueOutbox(items[i], c.clock()); err != nil {
			return 0, nil, err
		}
	}
	return int64(local), items, nil
}

func sizeErr(err error) error {
	if errors.Is(err, envelope.ErrOversized) {
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return err
}

// unsealedMark starts the content of an outbox payload whose Content is
// not sealed yet: a v2 envelope whose content is unsealedMark ‖ padded
// Content, stamped with the coarse time it was queued. Sealing needs the
// destination's device records, fetched from the network, and a message
// may be queued offline, so the outbox seals when it sends
// ([Client.sealItem]). The mark never leaves the device (the outbox is
// sealed at rest); its bytes are those of the "pending v2" payloads
// earlier versions queued, which are sent the same way.
var unsealedMark = []byte("hush/1 pending v2\x00")

// unsealedPayload pads encoded Content and returns it as an outbox payload
// to be sealed when sent. It returns [ErrTooLarge] for Content that does
// not fit.
func unsealedPayload(encoded []byte, now time.Time) ([]byte, error) {
	return marshalEnvelope(envelope.Envelope_TYPE_SESSION_MESSAGE_V2, envelope.CoarseTimestamp(now),
		append(bytes.Clone(unsealedMark), envelope.Pad(encoded)...))
}

// parseUnsealed returns the padded Content and coarse timestamp of an
// unsealed outbox payload, or false for a payload queued sealed.
func parseUnsealed(payload []byte) (padded []byte, coarse uint64, ok bool) {
	env, err := envelope.UnmarshalEnvelope(payload)
	if err != nil || env.GetType() != envelope.Envelope_TYPE_SESSION_MESSAGE_V2 || !bytes.HasPrefix(env.GetContent(), unsealedMark) {
		return nil, 0, false
	}
	return env.GetContent()[len(unsealedMark):], env.GetCoarseTimestampS(), true
}

// outboxBatch is how many due items one flush takes at a time, and
// outboxWorkers how many it sends at once. outboxUnreachable is how many
// items in a row, with no success between them, must fail to reach the
// network before a flush stops: one store that failed through one path
// (an overloaded relay, a time-out) says nothing of the next, which goes
// through another; a few in a row do (issue 23: one failure used to
// leave a whole batch queued).
const (
	outboxBatch       = 64
	outboxWorkers     = 8
	outboxUnreachable = 3
)

// FlushOutbox sends every due outbox item (every item, the first time a
// Client flushes) and reports how many went out.
// Failed items wait for their next attempt (clientdb's backoff); an item
// given up marks its message failed. It stops early when ctx ends or the
// network looks unreachable, leaving the rest for the next flush.
func (c *Client) FlushOutbox(ctx context.Context) (int, error) {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	// The device records come from the record cache, kept fresh in the
	// background (v2keys.go): a warm send is its stores alone.
	var (
		mu      sync.Mutex // guards sent, stopErr and failing
		sent    int
		stopErr error
		// failing counts the items in a row that failed to reach the
		// network, and unreachable is the last of their errors.
		failing     int
		unreachable error
	)
	done := map[int64]bool{}
	horizon := c.clock()
	if !c.flushed {
		horizon = horizon.Add(100 * 365 * 24 * time.Hour)
	}
	c.flushed = true
	for {
		items, err := c.db.DueOutbox(horizon, outboxBatch)
		if err != nil {
			return sent, err
		}
		var todo []clientdb.OutboxItem
		for _, it := range items {
			if !done[it.ID] {
				done[it.ID] = true
				todo = append(todo, it)
			}
		}
		if len(todo) == 0 {
			return sent, nil
		}
		work := make(chan clientdb.OutboxItem)
		var wg sync.WaitGroup
		for range min(outboxWorkers, len(todo)) {
			wg.Go(func() {
				for it := range work {
					ok, err := c.flushItem(ctx, it)
					mu.Lock()
					if ok {
						sent++
					}
					switch {
					case errors.Is(err, errClaimed):
						// Sent by the other flush: neither way.
					case errors.Is(err, ErrUnreachable):
						if failing++; failing >= outboxUnreachable && stopErr == nil {
							stopErr = err
						}
						unreachable = err
					case err != nil:
						if stopErr == nil {
							stopErr = err
						}
					default:
						failing = 0
					}
					mu.Unlock()
				}
			})
		}
		for _, it := range todo {
			mu.Lock()
			stop := stopErr != nil
			mu.Unlock()
			if stop {
				break
			}
			work <- it
		}
		close(work)
		wg.Wait()
		if stopErr != nil {
			return sent, stopErr
		}
		if len(items) < outboxBatch {
			if failing > 0 {
				// The last items failed: the caller learns the network
				// was out of reach at the end, as it did before.
				return sent, unreachable
			}
			return sent, nil
		}
	}
}

// flushItem seals and sends one outbox item and records the result. A
// non-nil error stops the flush: ctx ended, the database failed, or the
// network is out of reach (the next item would only fail the same way and
// count an attempt).
func (c *Client) flushItem(ctx context.Context, it clientdb.OutboxItem) (bool, error) {
	// A send's own items go out beside a flush (sendNow): each item is
	// sent by one of them at a time, or it would be sealed twice.
	if !c.claimItem(it.ID) {
		return false, errClaimed
	}
	return c.sendClaimed(ctx, it)
}

// sendClaimed is flushItem for an item claimed already; it releases it.
func (c *Client) sendClaimed(ctx context.Context, it clientdb.OutboxItem) (bool, error) {
	defer c.releaseItem(it.ID)
	// The item as it is now, not as it was when the flush read its batch:
	// a send (sendNow) or another process may have sent it since, or tried
	// it and scheduled its retry, and sending that stale copy again would
	// be a second store of a message already stored (or sealed anew: a
	// second deposit).
	cur, err := c.db.OutboxItemByID(it.ID)
	switch {
	case errors.Is(err, clientdb.ErrNotFound):
		return false, errClaimed
	case err != nil:
		return false, err
	case cur.Attempts != it.Attempts:
		return false, errClaimed
	}
	it = cur
	payload, sendErr := c.sealItem(ctx, it)
	sctx := ctx
	if IsGroupID(it.To) && sendErr == nil {
		// A group message: signed with the member credential (groupnet.go).
		sctx, sendErr = c.groupItemCtx(ctx, it.To)
		payload = c.withWriter(sctx, it, payload) // groupnet.go
	}
	switch {
	case errors.Is(sendErr, ErrWaitingForKeys):
		// The destination has no usable keys yet: nothing is sent, and the
		// item waits. The wait counts as an attempt, so clientdb's backoff
		// spaces the retries and gives up on the message as it does on a
		// failed send; it is never sent another way (v1).
	case sendErr != nil:
		// Sealing failed: recorded as a failed attempt.
	case payload == nil:
		// No device to seal to: done, with nothing to store.
	default:
		_, sendErr = c.store(sctx, it.To, int32(it.Namespace), it.TTL, payload)
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	out, err := c.db.OutboxResult(it.ID, sendErr, c.clock())
	if errors.Is(err, clientdb.ErrNotFound) {
		return false, nil // another process finished or dropped it
	} else if err != nil {
		return false, err
	}
	switch out {
	case clientdb.OutboxDone:
		if (it.Namespace == int(NamespaceInbox) || IsGroupID(it.To) || c.noteCopy(it)) && it.Message != 0 {
			// This store is the message's one send, so it is reported
			// even when the status moved on without it: the receive loop
			// may apply the recipient's delivery receipt between the
			// store and this update (which then changes nothing).
			changed, err := c.db.SetMessageStatus(it.Message, clientdb.StatusSent, c.clock())
			if err == nil {
				if m, err := c.Message(int64(it.Message)); err == nil && (changed || m.Status == clientdb.StatusDelivered.String() || m.Status == clientdb.StatusRead.String()) {
					c.emit(Event{Kind: EventSent, Message: m})
				}
			}
		}
		return true, nil
	case clientdb.OutboxGaveUp:
		if m, err := c.Message(int64(it.Message)); err == nil {
			c.emit(Event{Kind: EventFailed, Message: m})
		}
	}
	if errors.Is(sendErr, ErrUnreachable) {
		return false, sendErr
	}
	return false, nil
}

// errClaimed is flushItem's answer for an item another flush is sending,
// or has sent or tried since this flush read it. It is no failure:
// FlushOutbox counts it as neither sent nor failed.
var errClaimed = errors.New("outbox item being sent by another flush")

// claimItem marks outbox item id as being sent, or reports false when it
// already is.
func (c *Client) claimItem(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.sending[id]; ok {
		return false
	}
	if c.sending == nil {
		c.sending = map[int64]chan struct{}{}
	}
	c.sending[id] = make(chan struct{})
	return true
}

func (c *Client) releaseItem(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.sending[id])
	delete(c.sending, id)
}

// waitItem waits until outbox item id is no longer being sent, or ctx
// ends.
func (c *Client) waitItem(ctx context.Context, id int64) {
	c.mu.Lock()
	ch, ok := c.sending[id]
	c.mu.Unlock()
	if !ok {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// outboxReseal is how long the outbox stores the bytes it sealed for an
// item's first attempt again at every retry, rather than sealing anew.
//
// Why reuse them: protocol v2 seals with fresh ephemeral keys, so a new
// seal is a new swarm hash. A store that landed although its answer was
// lost (a time-out, a broken path, a member that answered late) and was
// then sealed again became a second deposit: counted against the
// recipient's quota, stored and replicated twice, and announced by a
// second push. The same bytes are a duplicate, which every node answers
// as stored without a new deposit, arrival or notify (internal/nodeapi
// store; the push server drops a repeated tag anyway).
//
// Why an hour, and not for as long as the item waits: a retry may extend
// the deposit's expiry to the retry's time plus the item's TTL, and the
// recipient deletes the prekey the copy was sealed to at the end of its
// epoch plus the class's longest TTL plus prekey.ClockSkew
// (prekey.DeleteAfter), which is no earlier than the seal plus that TTL
// plus the skew. An inbox copy with the full 14-day TTL therefore stays
// openable for its whole life only when it is stored at most
// prekey.ClockSkew after it was sealed. The hour also bounds how stale the
// device set a retry goes to may be: a device the recipient added since is
// left out of that retry as it would have been had the first store been
// answered, and gets every later message. The outbox's backoff (5 s
// doubling to 10 min) fits about ten retries into the hour, the ones that
// follow a lost answer; a retry after it seals anew, and may be a second
// deposit only if the first did land.
const outboxReseal = prekey.ClockSkew

// sealItem returns the bytes to store for outbox item it: an unsealed
// payload sealed now, to the destination's current devices, or the bytes
// it was sealed to for an earlier attempt, younger than outboxReseal; a
// payload queued sealed (a group message) is returned as it is. Bytes it
// seals are recorded in the item before they are returned, so that every
// retry, in this process or after a restart, stores the same bytes. It
// returns nil bytes when there is no device to seal to, and an error
// wrapping [ErrWaitingForKeys] when the destination's keys are not at
// hand.
func (c *Client) sealItem(ctx context.Context, it clientdb.OutboxItem) ([]byte, error) {
	padded, coarse, ok := parseUnsealed(it.Payload)
	if !ok {
		return it.Payload, nil
	}
	now := c.clock()
	// A sealed time after now means the clock went back: how old the copy
	// is cannot be told, so it is sealed anew.
	if age := now.Sub(it.SealedAt); len(it.Sealed) > 0 && age >= 0 && age < outboxReseal {
		return it.Sealed, nil
	}
	env, err := c.seal.seal(ctx, it.To, padded, coarse)
	if err != nil || env.data == nil {
		return nil, err
	}
	if it.To.Equal(c.acct.ID()) && it.Namespace == int(NamespaceSync) {
		h := rpc.MessageHash(it.To, int32(it.Namespace), env.data)
		if !env.here {
			// Our own sync copy comes back to this device's polls but is
			// not sealed to it: seen already, not a dropped message. A
			// retry of these bytes within outboxReseal may extend the
			// copy's expiry by as much.
			if err := c.db.MarkSeen(now.Add(it.TTL+rpc.SigTolerance+outboxReseal), h); err != nil {
				return nil, err
			}
		}
		if it.Message != 0 {
			// Queue recorded no hash for the sync copy: this is the one
			// the poll that fetches it back recognises, and the one chat
			// delete must remove (each of them, when a late retry sealed
			// it anew).
			c.db.AddSwarmHashes(it.Message, h)
		}
	}
	if it.ID != 0 {
		if err := c.db.SetOutboxSealed(it.ID, env.data, now); err != nil {
			return nil, err
		}
	}
	return env.data, nil
}

// Message returns the message with local ID id.
func (c *Client) Message(id int64) (Message, error) {
	m, err := c.db.Message(clientdb.LocalID(id))
	if err != nil {
		return Message{}, err
	}
	conv, err := c.db.ConversationByID(m.Conversation)
	if err != nil {
		return Message{}, err
	}
	return toMessage(conv.Peer, m), nil
}
