package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/crypto/sealv2"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
)

// historyPartBytes bounds the encoded entries of one HistoryShare part. It
// leaves room, under rpc.MaxDataSize, for the padding, the envelope and
// sealv2's per-device wraps (up to sealv2.MaxDevices of them).
const historyPartBytes = 32 << 10

// historySharedSetting remembers, per device, when this device shared its
// history with it; "every device that lacks it" is the devices without it.
const historySharedSetting = "client/history-shared/"

// HistoryShared says what one [Client.ShareHistoryTo] sent.
type HistoryShared struct {
	Messages int // messages shared (to each device)
	// Reactions counts the standing reactions shared with those messages:
	// this account's own, and contacts' that came with the contact's
	// signed part (protocol v2), which the new device verifies.
	Reactions int
	Parts     int               // HistoryShare parts stored per batch of devices
	Devices   []prekey.DeviceID // the devices sealed to
	// Unproven counts contacts' messages left out because this device
	// holds no signature of theirs to carry (received with protocol v1,
	// or stored before signatures were kept): shared, they would be
	// refused.
	Unproven int
	// OpenableUntil is when the shared copies stop opening: the deadline
	// of the Sync prekeys they are sealed to. It is later than the
	// originals' (up to 45 days 1 hour after a contact's message was
	// sent, against 15 days 1 hour for the message itself,
	// docs/protocol-v2.md §4), and the user is told so.
	OpenableUntil time.Time
}

// ShareHistory seals the messages this device holds that are still within
// the inbox TTL to the account's devices to, or with nil to every other
// device of the account it has not shared them with yet, and returns how
// many messages it shared. A device restored from the recovery phrase cannot
// open what was sealed before it existed (protocol v2); this is how it gets
// that history (DESIGN.md §5). See [Client.ShareHistoryTo].
func (c *Client) ShareHistory(ctx context.Context, to []prekey.DeviceID) (shared int, err error) {
	r, err := c.ShareHistoryTo(ctx, to)
	return r.Messages, err
}

// ShareHistoryTo is [Client.ShareHistory] reporting the devices and parts
// too. The messages are HistoryShare contents (one share ID, numbered parts
// under historyPartBytes each), sealed with protocol v2 only to the target
// devices' Sync records and stored in the own swarm's sync namespace for
// InboxTTL. Messages that disappeared, were unsent or deleted, or are still
// queued are not shared. It returns [ErrUnknownDevice] when a device named
// in to has no Sync record.
func (c *Client) ShareHistoryTo(ctx context.Context, to []prekey.DeviceID) (HistoryShared, error) {
	var out HistoryShared
	recs, err := c.historyTargets(ctx, to)
	if err != nil || len(recs) == 0 {
		return out, err
	}
	entries, err := c.historyEntries(&out)
	if err != nil {
		return out, err
	}
	parts := batchEntries(entries, historyPartBytes)
	now := c.now()
	out.OpenableUntil = prekey.DeleteAfter(prekey.Sync, prekey.EpochOf(now))
	shareID := make([]byte, envelope.ShareIDSize)
	rand.Read(shareID)
	for group := range slices.Chunk(recs, sealv2.MaxDevices) {
		for i, part := range parts {
			content := &envelope.Content{
				MessageId: randomID(),
				SentAtMs:  uint64(now.UnixMilli()),
				Body: &envelope.Content_HistoryShare{HistoryShare: &envelope.HistoryShare{
					ShareId: shareID, Part: uint32(i), Parts: uint32(len(parts)), Messages: part,
				}},
			}
			if err := c.storeHistoryPart(ctx, group, content, partTTL(part, now), now); err != nil {
				return out, err
			}
		}
		for _, r := range group {
			if err := c.setSettingTime(historySharedSetting+r.DeviceID.String(), now); err != nil {
				return out, err
			}
			out.Devices = append(out.Devices, r.DeviceID)
		}
	}
	out.Parts = len(parts)
	// The groups, their credentials and keys too: with them the new
	// device reads each group's history from the group's swarm
	// (group.go).
	return out, c.syncGroups(ctx)
}

// historyTargets returns the verified Sync records of the devices to share
// with: those named in to, or every other device not yet served.
func (c *Client) historyTargets(ctx context.Context, to []prekey.DeviceID) ([]*devicerecord.Record, error) {
	self := c.acct.ID()
	// Fetched afresh: the new device's record is what this is for, and a
	// cached set may predate it.
	got, _, err := c.fetchRecords(ctx, self, prekey.Sync)
	var ne *NodeError
	if errors.As(err, &ne) && ne.Code == rpc.CodeWrongSwarm {
		got, _, err = c.fetchRecords(ctx, self, prekey.Sync)
	}
	if err != nil {
		return nil, err
	}
	var recs []*devicerecord.Record
	for _, id := range to {
		i := slices.IndexFunc(got, func(r VerifiedRecord) bool { return r.DeviceID == id })
		if i < 0 || id == c.device.ID {
			return nil, fmt.Errorf("%w: %s", ErrUnknownDevice, id)
		}
		recs = append(recs, got[i].Record)
	}
	if to != nil {
		return recs, nil
	}
	for _, r := range got {
		if r.DeviceID == c.device.ID {
			continue
		}
		if at, err := c.settingTime(historySharedSetting + r.DeviceID.String()); err != nil {
			return nil, err
		} else if at.IsZero() {
			recs = append(recs, r.Record)
		}
	}
	return recs, nil
}

// historyEntries returns the shareable messages of every conversation,
// with their standing reactions, in signed-time order: sent or received,
// within InboxTTL, not past their disappearing deadline, and, for a
// contact's message or reaction, with the contact's signed part to carry.
// It counts in out the messages and reactions shared and the contacts'
// messages left out for the lack of one. Deleted and unsent messages are
// gone from the database (tombstones only), so they cannot come back
// this way.
func (c *Client) historyEntries(out *HistoryShared) ([]*envelope.HistoryShare_SharedMessage, error) {
	if err := c.expireLocal(); err != nil {
		return nil, err
	}
	now := c.clock()
	convs, err := c.db.Conversations()
	if err != nil {
		return nil, err
	}
	type entry struct {
		at time.Time
		m  *envelope.HistoryShare_SharedMessage
	}
	var all []entry
	for _, cv := range convs {
		if IsGroupID(cv.Peer) {
			// A group's history is in its swarm, which the new device
			// reads with the keys syncGroups gives it (group.go).
			continue
		}
		p := clientdb.Page{Limit: clientdb.MaxPageSize}
		for {
			ms, err := c.db.Messages(cv.ID, p)
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				for i, a := range m.Attachments {
					if a.ThumbnailBytes > 0 && m.Direction == clientdb.Outgoing {
						m.Attachments[i].ThumbnailJPEG, _ = c.db.Thumbnail(a.ID)
					}
				}
				e, err := sharedMessage(cv.Peer, m, now, c.codec)
				if err != nil {
					return nil, err
				}
				if e != nil && m.Direction == clientdb.Incoming && len(e.GetSigned()) == 0 {
					out.Unproven++
					continue
				}
				if e == nil {
					continue
				}
				all = append(all, entry{m.SentAt, e})
				out.Messages++
				for _, r := range m.Reactions {
					re, err := c.sharedReaction(cv.Peer, r, e.GetExpiresAtMs(), now)
					if err != nil {
						return nil, err
					}
					if re != nil {
						all = append(all, entry{r.SentAt, re})
						out.Reactions++
					}
				}
			}
			if len(ms) < clientdb.MaxPageSize {
				break
			}
			p.Before = ms[0].ID
		}
	}
	// A reaction is signed after its message, so it comes after it: the
	// new device holds the message when the reaction arrives (clientdb
	// keeps an early one anyway, for a while).
	slices.SortStableFunc(all, func(a, b entry) int { return a.at.Compare(b.at) })
	entries := make([]*envelope.HistoryShare_SharedMessage, len(all))
	for i, e := range all {
		entries[i] = e.m
	}
	return entries, nil
}

// sharedReaction rebuilds standing reaction r in the conversation with
// peer for a history share, expiring with its message (expiresMS, 0 for
// never); or returns nil for a contact's reaction with no signed part to
// prove it (the new device would refuse it: sharedEntry).
func (c *Client) sharedReaction(peer identity.AccountID, r clientdb.Reaction, expiresMS uint64, now time.Time) (*envelope.HistoryShare_SharedMessage, error) {
	e := &envelope.HistoryShare_SharedMessage{
		Conversation: peer[:], Author: r.Reactor[:], ReceivedAtMs: uint64(now.UnixMilli()), ExpiresAtMs: expiresMS,
	}
	if !r.Reactor.Equal(c.acct.ID()) {
		if len(r.Signed) == 0 {
			return nil, nil
		}
		e.Signed = r.Signed
		return e, nil
	}
	encoded, err := envelope.MarshalContent(&envelope.Content{
		MessageId: r.ID[:], SentAtMs: uint64(r.SentAt.UnixMilli()),
		Body: &envelope.Content_Reaction{Reaction: &envelope.Reaction{MessageId: r.Target[:], Author: r.TargetAuthor[:], Emoji: r.Emoji}},
	})
	if err != nil {
		return nil, err
	}
	e.Content = encoded
	return e, nil
}

// sharedMessage rebuilds m's Content for a history share, or returns nil
// for a message that must not be shared.
func sharedMessage(peer identity.AccountID, m clientdb.Message, now time.Time, codec mediaCodec) (*envelope.HistoryShare_SharedMessage, error) {
	switch {
	case m.Status == clientdb.StatusQueued || m.Status == clientdb.StatusFailed:
		// Its sync copy is sealed when it is sent, to the devices then.
		return nil, nil
	case !m.ExpiresAt.IsZero() && !m.ExpiresAt.After(now), m.SentAt.Before(now.Add(-InboxTTL)):
		return nil, nil
	}
	data := &envelope.DataMessage{Body: m.Body}
	// The pointers (key and piece IDs) travel, so the new device can
	// fetch what the file server still holds; thumbnails are in them,
	// local files and delete tokens stay here. (A contact's message
	// carries its own, in its signed part.)
	for _, a := range m.Attachments {
		if codec == nil || len(a.Pieces) == 0 {
			break
		}
		data.Attachments = append(data.Attachments, codec.toWire(pointerOf(a)))
	}
	if m.Disappearing.Mode != clientdb.DisappearOff {
		data.Expiration = toWire(m.Disappearing)
	}
	encoded, err := envelope.MarshalContent(&envelope.Content{
		MessageId: m.MessageID[:], SentAtMs: uint64(m.SentAt.UnixMilli()), Body: &envelope.Content_Data{Data: data},
	})
	if err != nil {
		return nil, err
	}
	e := &envelope.HistoryShare_SharedMessage{
		Conversation: peer[:], Author: m.Sender[:], ReceivedAtMs: uint64(m.ReceivedAt.UnixMilli()),
	}
	if m.Direction == clientdb.Incoming {
		// The contact's own signed part, which the receiving device
		// verifies again; our rebuilt Content would prove nothing.
		e.Signed = m.Signed
	} else {
		e.Content = encoded
	}
	if !m.ExpiresAt.IsZero() {
		e.ExpiresAtMs = uint64(m.ExpiresAt.UnixMilli())
	}
	return e, nil
}

// batchEntries splits entries into parts of at most limit encoded bytes
// each (a larger entry alone in its part). It returns no parts for no
// entries.
func batchEntries(entries []*envelope.HistoryShare_SharedMessage, limit int) [][]*envelope.HistoryShare_SharedMessage {
	var parts [][]*envelope.HistoryShare_SharedMessage
	var cur []*envelope.HistoryShare_SharedMessage
	size := 0
	for _, e := range entries {
		n := proto.Size(e) + 8 // the field's tag and length
		if len(cur) > 0 && size+n > limit {
			parts = append(parts, cur)
			cur, size = nil, 0
		}
		cur = append(cur, e)
		size += n
	}
	if len(cur) > 0 {
		parts = append(parts, cur)
	}
	return parts
}

// storeHistoryPart seals content with protocol v2 to recs alone and stores
// it in the own swarm's sync namespace.
func (c *Client) storeHistoryPart(ctx context.Context, recs []*devicerecord.Record, content *envelope.Content, ttl time.Duration, now time.Time) error {
	encoded, err := envelope.MarshalContent(content)
	if err != nil {
		return sizeErr(err)
	}
	self := c.acct.ID()
	sealed, err := sealv2.Seal(c.acct, self, devicerecord.Bundles(recs), now, envelope.Pad(encoded))
	if err != nil {
		return err
	}
	data, err := envelope.MarshalEnvelope(&envelope.Envelope{
		Type: envelope.Envelope_TYPE_SESSION_MESSAGE_V2, CoarseTimestampS: envelope.CoarseTimestamp(now), Content: sealed,
	})
	if err != nil {
		return sizeErr(err)
	}
	if len(data) > rpc.MaxDataSize {
		return fmt.Errorf("%w: history part of %d bytes, at most %d", ErrTooLarge, len(data), rpc.MaxDataSize)
	}
	// Not sealed to this device: its own polls must not count it dropped.
	h := rpc.MessageHash(self, NamespaceSync, data)
	if err := c.db.MarkSeen(c.clock().Add(ttl+rpc.SigTolerance), h); err != nil {
		return err
	}
	_, err = c.store(ctx, self, NamespaceSync, ttl, data)
	return err
}

// partTTL is how long a part stays in the swarm: InboxTTL, or until its
// last entry disappears when every entry has a deadline, so disappearing
// messages do not outlive their timers there.
func partTTL(part []*envelope.HistoryShare_SharedMessage, now time.Time) time.Duration {
	var last time.Time
	for _, e := range part {
		if e.GetExpiresAtMs() == 0 {
			return InboxTTL
		}
		if x := time.UnixMilli(int64(e.GetExpiresAtMs())); x.After(last) {
			last = x
		}
	}
	return min(max(last.Sub(now), rpc.MinTTL), InboxTTL)
}

// sharedEntry reads one entry of a HistoryShare that this account's seal
// covered, and returns its conversation, author and Content, and the
// signed part that proves the author (nil for the own account's messages).
// The seal proves only that the account's seed made the share, which a
// thief of the seed can too; so an entry is the contact's message only if
// it carries the contact's signed part (sealv2.VerifySigned: signed by
// the conversation's peer, for this account), and is then taken from it,
// Content included. An entry without one is accepted only
// as this account's own message. Any other entry is refused (ErrDropped).
func (c *Client) sharedEntry(sm *envelope.HistoryShare_SharedMessage) (peer, author identity.AccountID, content *envelope.Content, signed []byte, err error) {
	self := c.acct.ID()
	peer, err = identity.AccountIDFromBytes(sm.GetConversation())
	if err != nil {
		return peer, author, nil, nil, fmt.Errorf("%w: shared message: %w", ErrDropped, err)
	}
	if signed = sm.GetSigned(); len(signed) == 0 {
		author, err = identity.AccountIDFromBytes(sm.GetAuthor())
		if err == nil && !author.Equal(self) {
			err = errors.New("attributed to a contact without the contact's signature")
		}
		if err == nil {
			content, err = envelope.UnmarshalContent(sm.GetContent())
		}
		if err != nil {
			return peer, author, nil, nil, fmt.Errorf("%w: shared message: %w", ErrDropped, err)
		}
		return peer, author, content, nil, nil
	}
	padded, sender, _, err := sealv2.VerifySigned(signed, self)
	if err == nil && !sender.Equal(peer) {
		err = fmt.Errorf("signed by %s, not by the conversation's peer", sender.Short())
	}
	var plain []byte
	if err == nil {
		plain, err = envelope.Unpad(padded)
	}
	if err == nil {
		content, err = envelope.UnmarshalContent(plain)
	}
	if err != nil {
		return peer, author, nil, nil, fmt.Errorf("%w: shared message: %w", ErrDropped, err)
	}
	// The Content's own sent_at_ms is kept, as the receive path keeps it,
	// so that both devices order and mark read the message alike. When the
	// receive path moves to the seal's signed time (issue 13), this entry
	// must follow (VerifySigned's Meta.SignedAt).
	return peer, sender, content, signed, nil
}

// keepSigned stores the signed part of a contact's message with each of
// the messages just stored from it, for later history shares.
func (c *Client) keepSigned(ms []Message, signed []byte) error {
	if len(signed) == 0 {
		return nil
	}
	for _, m := range ms {
		if m.Outgoing {
			continue
		}
		if err := c.db.SetSigned(clientdb.LocalID(m.ID), signed); err != nil {
			return err
		}
	}
	return nil
}
