package client

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// pollMembers is how many members of the own swarm one poll asks
// (DESIGN.md §5): with a store confirmed by two, one slow member does not
// hide a message.
const pollMembers = 2

// ErrDropped wraps why a fetched message was dropped (in [EventDropped]).
var ErrDropped = errors.New("message dropped")

// Poll fetches the own swarm's inbox and sync namespaces once, from two
// random members, and stores what is new. It returns the messages stored
// for the first time, in signed-time order. Messages that fail to open or
// validate are dropped and counted ([Client.Stats]); they do not stop the
// poll. It fails only when no member answered.
func (c *Client) Poll(ctx context.Context) ([]Message, error) {
	got, err := c.poll(ctx)
	var ne *NodeError
	if errors.As(err, &ne) && ne.Code == rpc.CodeWrongSwarm {
		// The directory was stale and is refreshed: poll the right swarm.
		var more []Message
		more, err = c.poll(ctx)
		got = append(got, more...)
	}
	if err == nil {
		c.afterPoll(ctx, got)
	}
	return got, err
}

// afterPoll queues one delivery receipt per peer for the incoming
// messages got, sends what the poll queued (receipts, deletions of
// unsent, blocked and expired copies) and drops what expired. A failure
// waits for the next background duties.
func (c *Client) afterPoll(ctx context.Context, got []Message) {
	delivered := map[identity.AccountID][][]byte{}
	for _, m := range got {
		if id, err := hex.DecodeString(m.MessageID); err == nil && !m.Outgoing {
			delivered[m.Peer] = append(delivered[m.Peer], id)
		}
	}
	var errs []error
	for peer, ids := range delivered {
		errs = append(errs, c.sendReceipt(peer, envelope.ReceiptMessage_TYPE_DELIVERED, ids))
	}
	errs = append(errs, c.expireLocal(), c.Flush(ctx))
	if err := errors.Join(errs...); err != nil {
		c.log.Debug("after the poll", "err", err)
	}
}

func (c *Client) poll(ctx context.Context) ([]Message, error) {
	members, err := c.dir.SwarmFor(ctx, c.acct.ID())
	if err != nil {
		return nil, err
	}
	members = slices.Clone(members)
	rand.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	// Both namespaces are fetched at once; storing is sequential.
	type fetched struct {
		msgs []rpc.Message
		err  error
	}
	namespaces := []int32{NamespaceInbox, NamespaceSync}
	res := make([]fetched, len(namespaces))
	curs := make([]clientdb.Cursor, len(namespaces))
	var wg sync.WaitGroup
	for i, ns := range namespaces {
		if curs[i], err = c.db.Cursor(cursorName(ns)); err != nil {
			return nil, err
		}
		wg.Go(func() { res[i].msgs, res[i].err = c.fetch(ctx, members, ns, curs[i].Resume(c.lookback)) })
	}
	wg.Wait()
	var out []Message
	for i, ns := range namespaces {
		if res[i].err != nil {
			return out, res[i].err
		}
		got, err := c.process(ns, curs[i], res[i].msgs)
		out = append(out, got...)
		if err != nil {
			return out, err
		}
	}
	slices.SortStableFunc(out, func(a, b Message) int { return a.SentAt.Compare(b.SentAt) })
	return out, nil
}

func cursorName(ns int32) string { return fmt.Sprintf("own/%d", ns) }

// fetch reads namespace ns from pollMembers members at once, replacing a
// member that fails by the next, and returns the union in swarm order.
func (c *Client) fetch(ctx context.Context, members []snapshot.Node, ns int32, from time.Time) ([]rpc.Message, error) {
	type answer struct {
		msgs []rpc.Message
		err  error
	}
	results := make(chan answer, len(members))
	next, inflight, answered := 0, 0, 0
	launch := func() {
		n := members[next]
		next++
		inflight++
		go func() {
			msgs, err := c.retrieve(ctx, n, ns, from, lowHash)
			results <- answer{msgs, err}
		}()
	}
	for inflight < pollMembers && next < len(members) {
		launch()
	}
	fetched := map[string]rpc.Message{}
	var lastErr error
	for inflight > 0 {
		a := <-results
		inflight--
		for _, m := range a.msgs {
			fetched[m.Hash] = m
		}
		if a.err == nil {
			answered++
			continue
		}
		lastErr = a.err
		if ctx.Err() == nil && next < len(members) {
			launch()
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if answered == 0 {
		if lastErr == nil {
			lastErr = ErrUnreachable
		}
		return nil, lastErr
	}
	all := make([]rpc.Message, 0, len(fetched))
	for _, m := range fetched {
		all = append(all, m)
	}
	// Swarm order: (timestamp, hash), the order the cursor follows.
	slices.SortFunc(all, func(a, b rpc.Message) int {
		if a.Timestamp != b.Timestamp {
			return cmp.Compare(a.Timestamp, b.Timestamp)
		}
		return strings.Compare(a.Hash, b.Hash)
	})
	return all, nil
}

// process stores the new messages among all, fetched from namespace ns,
// and moves the namespace's cursor past them.
func (c *Client) process(ns int32, cur clientdb.Cursor, all []rpc.Message) ([]Message, error) {
	name := cursorName(ns)
	hashes := make([]string, len(all))
	for i, m := range all {
		hashes[i] = m.Hash
	}
	unseen, err := c.db.Unseen(hashes...)
	if err != nil {
		return nil, err
	}
	isNew := map[string]bool{}
	for _, h := range unseen {
		isNew[h] = true
	}
	var out []Message
	for _, m := range all {
		if !isNew[m.Hash] {
			continue
		}
		got, err := c.accept(ns, m)
		if err != nil {
			if errors.Is(err, clientdb.ErrClosed) {
				return out, err
			}
			c.dropped.Add(1)
			c.log.Debug("dropped a fetched message", "namespace", ns, "err", err)
			c.emit(Event{Kind: EventDropped, Err: err})
		}
		// Seen whether or not it opened: a bad message is dropped once.
		if err := c.db.MarkSeen(c.seenUntil(), m.Hash); err != nil {
			return out, err
		}
		for _, msg := range got {
			c.received.Add(1)
			c.emit(Event{Kind: EventReceived, Message: msg})
			out = append(out, msg)
		}
	}
	if len(all) > 0 {
		last := all[len(all)-1]
		if t := time.UnixMilli(last.Timestamp); t.After(cur.Time) {
			if err := c.db.SetCursor(name, clientdb.Cursor{Position: last.Hash, Time: t}); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// accept opens one fetched message and stores what it carries. It
// returns the messages stored for the first time; an error means the
// message was dropped (ErrDropped) or the database failed.
func (c *Client) accept(ns int32, m rpc.Message) ([]Message, error) {
	data, err := base64.StdEncoding.DecodeString(m.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: data is not base64", ErrDropped)
	}
	if rpc.MessageHash(c.acct.ID(), ns, data) != m.Hash {
		return nil, fmt.Errorf("%w: hash does not match the data", ErrDropped)
	}
	env, err := envelope.UnmarshalEnvelope(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDropped, err)
	}
	padded, sender, sealSigned, err := c.seal.open(env.GetType(), env.GetContent())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDropped, err)
	}
	plain, err := envelope.Unpad(padded)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDropped, err)
	}
	content, err := envelope.UnmarshalContent(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDropped, err)
	}
	self := c.acct.ID()
	if ns == NamespaceInbox && c.blocked(sender) {
		// Dropped unread, and its copy deleted from the own swarm.
		return nil, c.addPendingDeletes([]string{m.Hash})
	}
	signed := time.UnixMilli(int64(content.GetSentAtMs()))
	switch {
	case ns == NamespaceInbox && content.GetData() != nil:
		got, err := c.acceptData(sender, content, m.Hash)
		return got, errors.Join(err, c.keepSigned(got, sealSigned))
	case ns == NamespaceInbox && content.GetReceipt() != nil:
		return nil, c.applyReceipt(sender, content.GetReceipt(), signed)
	case ns == NamespaceInbox && content.GetUnsend() != nil:
		return nil, c.applyUnsend(sender, content.GetUnsend())
	case ns == NamespaceInbox && content.GetExpirationSettings() != nil:
		return nil, c.applyTimerChange(sender, content.GetExpirationSettings(), signed)
	case ns == NamespaceSync && content.GetUnsend() != nil:
		// Another device of ours unsent a message; the seal must be ours.
		if !sender.Equal(self) {
			return nil, fmt.Errorf("%w: sync unsend signed by another account", ErrDropped)
		}
		return nil, c.applyUnsend(sender, content.GetUnsend())
	case ns == NamespaceSync && content.GetHistoryShare() != nil:
		// Only our own account can deposit here, but the seal is what
		// proves it: a sync copy must be signed by us.
		if !sender.Equal(self) {
			return nil, fmt.Errorf("%w: sync copy signed by another account", ErrDropped)
		}
		var out []Message
		entries := content.GetHistoryShare().GetMessages()
		// A sync copy carries one message, and its copy is that message's;
		// a history share's many entries share one copy (history.go), which
		// no single message may claim or delete.
		hash := m.Hash
		if len(entries) > 1 {
			hash = ""
		}
		for _, sm := range entries {
			peer, author, inner, proof, err := c.sharedEntry(sm) // history.go
			if err != nil {
				return out, err
			}
			if inner.GetData() == nil {
				continue
			}
			dir := clientdb.Incoming
			if author.Equal(self) {
				dir = clientdb.Outgoing
			}
			if x := sm.GetExpiresAtMs(); x > 0 && !time.UnixMilli(int64(x)).After(c.clock()) {
				continue // disappeared since it was shared
			}
			msg, ok, err := c.storeData(peer, author, inner, hash, dir)
			if err == nil && ok {
				err = c.keepSigned([]Message{msg}, proof)
			}
			if err != nil {
				return out, err
			}
			if x := sm.GetExpiresAtMs(); ok && x > 0 {
				// The sharing device's deadline, not a fresh one.
				if err := c.db.SetExpiry(clientdb.LocalID(msg.ID), time.UnixMilli(int64(x))); err != nil {
					return out, err
				}
				msg.ExpiresAt = time.UnixMilli(int64(x))
			}
			if ok && dir == clientdb.Outgoing {
				// Another device wrote to peer: accepted there, so here.
				if err := c.Accept(peer); err != nil {
					return out, err
				}
			}
			if ok {
				out = append(out, msg)
			}
		}
		return out, nil
	}
	// Receipts, typing and the rest come with later issues.
	return nil, nil
}

// storeData stores a data message of conversation peer written by author.
// ok is false for a message already stored, deleted, or from a blocked
// contact.
func (c *Client) storeData(peer, author identity.AccountID, content *envelope.Content, hash string, dir clientdb.Direction) (Message, bool, error) {
	sentAt := time.UnixMilli(int64(content.GetSentAtMs()))
	if dir == clientdb.Incoming {
		if ct, err := c.db.ContactByAccount(peer); err == nil && ct.Blocked {
			return Message{}, false, nil
		}
	}
	var mid clientdb.MessageID
	copy(mid[:], content.GetMessageId())
	data := content.GetData()
	var d clientdb.Disappearing
	if x := data.GetExpiration(); x != nil && x.GetSeconds() > 0 {
		switch x.GetMode() {
		case envelope.ExpirationSettings_MODE_AFTER_SEND:
			d = clientdb.Disappearing{Mode: clientdb.DisappearAfterSend, After: time.Duration(x.GetSeconds()) * time.Second}
		case envelope.ExpirationSettings_MODE_AFTER_READ:
			d = clientdb.Disappearing{Mode: clientdb.DisappearAfterRead, After: time.Duration(x.GetSeconds()) * time.Second}
		}
	}
	status := clientdb.StatusReceived
	if dir == clientdb.Outgoing {
		status = clientdb.StatusSent
	}
	var hashes []string // none for an entry of a history share
	if hash != "" {
		hashes = []string{hash}
	}
	id, isNew, err := c.db.InsertMessage(peer, clientdb.Message{
		MessageID: mid, Direction: dir, Sender: author, SentAt: sentAt, ReceivedAt: c.clock(),
		Body: data.GetBody(), Status: status, Disappearing: d, SwarmHashes: hashes,
	})
	switch {
	case errors.Is(err, clientdb.ErrDeleted):
		// Unsent, expired or in a deleted chat: its copy goes too.
		return Message{}, false, c.addPendingDeletes(hashes)
	case errors.Is(err, clientdb.ErrInvalid):
		return Message{}, false, fmt.Errorf("%w: %w", ErrDropped, err)
	case err != nil:
		return Message{}, false, err
	case !isNew:
		return Message{}, false, nil
	}
	if dir == clientdb.Outgoing && d.Mode == clientdb.DisappearAfterRead {
		// As Queue does: until a read receipt, the inbox copy's lifetime.
		if err := c.db.SetExpiry(id, sentAt.Add(InboxTTL)); err != nil {
			return Message{}, false, err
		}
	}
	m, err := c.db.Message(id)
	if err != nil {
		return Message{}, false, err
	}
	return toMessage(peer, m), true, nil
}

// Sync runs the background duties once: send what the outbox holds,
// retry pending remote deletions, poll, and drop expired data. It returns
// the messages the poll stored for the first time. Every command that
// reaches the network runs it.
func (c *Client) Sync(ctx context.Context) ([]Message, error) {
	_, flushErr := c.FlushOutbox(ctx)
	delErr := c.retryDeletes(ctx)
	// Devices and config before messages: a restored device then knows its
	// contacts before their messages arrive (devices.go, config.go).
	accErr := c.SyncAccount(ctx)
	if err := c.KeyDuties(ctx); err != nil { // v2keys.go
		c.log.Debug("protocol v2 key duties", "err", err)
	}
	got, pollErr := c.Poll(ctx)
	if err := c.applyReadState(); err != nil {
		return got, err
	}
	if _, err := c.db.ExpireDue(c.clock()); err != nil {
		return got, err
	}
	if pollErr != nil {
		return got, pollErr
	}
	if flushErr != nil && !errors.Is(flushErr, ErrUnreachable) {
		return got, flushErr
	}
	return got, errors.Join(delErr, accErr)
}

// Receive runs the background duties every poll interval until ctx ends,
// calling fn (if not nil) with each batch of new messages. Failures are
// logged and retried at the next interval; it returns nil when ctx ends,
// or fn's error.
func (c *Client) Receive(ctx context.Context, fn func([]Message) error) error {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		got, err := c.Sync(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			c.log.Warn("poll failed", "err", err)
		}
		if fn != nil && len(got) > 0 {
			if err := fn(got); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// TakeUnread marks every unread incoming message read and returns them in
// signed-time order: what `hush receive` prints. It queues read receipts
// and after-read expiry changes; [Client.Flush] sends them. Two processes sharing a
// home never get the same message, since each is marked in one
// transaction.
func (c *Client) TakeUnread() ([]Message, error) {
	convs, err := c.db.Conversations()
	if err != nil {
		return nil, err
	}
	var out []Message
	for _, cv := range convs {
		if cv.Unread == 0 {
			continue
		}
		ms, err := c.db.MarkRead(cv.ID, c.clock())
		if err != nil {
			return out, err
		}
		if err := c.afterRead(cv.Peer, ms); err != nil {
			return out, err
		}
		for _, m := range ms {
			out = append(out, toMessage(cv.Peer, m))
		}
	}
	slices.SortStableFunc(out, func(a, b Message) int { return a.SentAt.Compare(b.SentAt) })
	c.decorate(out)
	return out, nil
}
