package client

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/crypto/sealv2"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/internal/netclock"
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
	c.autoDownload(ctx, got) // media.go
	c.fetchAvatars(ctx, got) // avatar.go
}

func (c *Client) poll(ctx context.Context) ([]Message, error) {
	// Every poll ends: a member that answers slowly or pages forever
	// cannot hold it (issue 13).
	ctx, cancel := context.WithTimeout(ctx, c.limits.poll)
	defer cancel()
	members, err := c.dir.SwarmFor(ctx, c.acct.ID())
	if err != nil {
		return nil, err
	}
	members = c.askOrder(members)
	// Both namespaces are fetched at once; storing is sequential.
	namespaces := []int32{NamespaceInbox, NamespaceSync}
	res := make([]fetched, len(namespaces))
	curs := make([]clientdb.Cursor, len(namespaces))
	budget := c.pollBudget()
	var wg sync.WaitGroup
	for i, ns := range namespaces {
		if curs[i], err = c.db.Cursor(cursorName(ns)); err != nil {
			return nil, err
		}
		// The lookback is re-read by hash list: the members send only
		// what this Client has not seen there (issue 23).
		from := curs[i].Resume(c.lookback)
		known, pos := c.knownSince(ns, from, true)
		wg.Go(func() {
			res[i] = c.fetchWith(ctx, members, c.acct.ID(), ns, from, func() *rpc.Retrieve {
				return &rpc.Retrieve{Namespace: ns, AfterTimestamp: from, AfterHash: lowHash, Known: known}
			}, budget, func(n snapshot.Node) *arrival { return c.arrivalMark(ns, n) })
			res[i].known = pos
		})
	}
	wg.Wait()
	var out []Message
	for i, ns := range namespaces {
		if res[i].err != nil {
			return out, res[i].err
		}
		got, retry, err := c.process(ns, curs[i], res[i])
		out = append(out, got...)
		if err != nil {
			return out, err
		}
		// Only now that what they sent is stored; a message to try again
		// comes again from a mark not moved.
		if !retry {
			c.saveArrivalMarks(ns, members, res[i].arrivals)
		}
	}
	slices.SortStableFunc(out, func(a, b Message) int { return a.SentAt.Compare(b.SentAt) })
	return out, nil
}

func cursorName(ns int32) string { return fmt.Sprintf("own/%d", ns) }

// knownSince returns the hashes of namespace ns's messages this Client
// has seen at or after from (newest first, at most rpc.MaxKnown), to send
// as a retrieve's known list, and their positions. With forget (the
// poll) it forgets those before from, which no later poll reads again
// (the saved cursor only moves forward). A Client starts with none, so
// its first poll reads the whole lookback window: one such poll per
// command for the CLI, one per start for a long-running client.
func (c *Client) knownSince(ns int32, from time.Time, forget bool) ([]string, []position) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var pos []position
	for h, ms := range c.recent[ns] {
		if !from.IsZero() && ms < from.UnixMilli() {
			if forget {
				delete(c.recent[ns], h)
			}
			continue
		}
		pos = append(pos, position{ms, h})
	}
	// The newest, when there are more than a request may name: the
	// others come back whole and are recognised as seen.
	slices.SortFunc(pos, func(a, b position) int {
		if a.before(b) {
			return 1
		}
		return -1
	})
	pos = pos[:min(len(pos), rpc.MaxKnown)]
	hashes := make([]string, len(pos))
	for i, p := range pos {
		hashes[i] = p.hash
	}
	return hashes, pos
}

// noteSeen remembers that namespace ns's message m is seen, for
// knownSince.
func (c *Client) noteSeen(ns int32, m rpc.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recent == nil {
		c.recent = map[int32]map[string]int64{}
	}
	if c.recent[ns] == nil {
		c.recent[ns] = map[string]int64{}
	}
	c.recent[ns][m.Hash] = m.Timestamp
}

// Arrival marks (issue 23). A message keeps the deposit time its sender
// chose on every member, and a member that gets it late — a forward held
// back under load, an anti-entropy repair — holds it behind the cursor,
// possibly beyond the lookback, where no poll reads again. So each poll
// also asks each member it reads for what arrived *there* after the mark
// that member gave last time, yet lies behind the poll's position
// (rpc.Retrieve.ArrivedAfter): a late message comes with the first poll
// that reads a member holding it, whatever its timestamp.
//
// A mark is one node's own counter, kept per node and never sent to
// another, and it decides only what that node is asked again: a node that
// lies with its mark can hide only what it holds itself, which the other
// members a store was confirmed by hold too and are asked with their own
// marks. The swarm-wide cursor still moves only by the two-member poll.
// A node never read before is asked for its mark alone: what reached it
// before is covered by the lookback, as before arrival marks.

// arrival is one retrieve's arrival-mark exchange with one node.
type arrival struct {
	node snapshot.Node
	// asked is the mark sent (rpc.ArrivalMarkOnly for a node never read).
	asked int64
	// mark is the node's answer (nil: none, a node without marks) and
	// late the messages that arrived there after asked behind the cursor.
	mark *int64
	late []rpc.Message
}

// position is a place in swarm order: (deposit timestamp, hash).
type position struct {
	ms   int64
	hash string
}

func (p position) before(q position) bool {
	return p.ms < q.ms || p.ms == q.ms && p.hash < q.hash
}

func posOf(m rpc.Message) position { return position{m.Timestamp, m.Hash} }

// fetched is what one poll got from a namespace: the union of the
// members' validated messages in swarm order, and how far the cursor may
// move.
type fetched struct {
	msgs []rpc.Message
	// limit, when set, is the end of the shortest answer cut off by a
	// bound: beyond it, that member's messages were not seen, so the
	// cursor stops there.
	limit *position
	err   error
	// answered counts the members whose answers passed the checks.
	answered int
	// known are the positions of the messages the retrieve named as
	// known: left out of msgs, seen already; the cursor may move past
	// them as past msgs (within limit).
	known []position
	// arrivals are the arrival marks of the members that answered well,
	// to keep once msgs are stored.
	arrivals []*arrival
}

// fetch reads namespace ns from pollMembers members at once and returns
// the union of what they answered. Each answer is checked message by
// message: the data must hash to the hash given, and the deposit time
// must not be in the future (an honest node refuses such deposits). A
// member whose answer fails a check is marked bad ([Client.BadNodes]),
// its bad messages are ignored, and the next member is asked instead, as
// for a member that fails or times out; so one member can neither hide
// messages by garbling them nor move the cursor past them.
func (c *Client) fetch(ctx context.Context, members []snapshot.Node, ns int32, from time.Time, budget *atomic.Int64) fetched {
	return c.fetchWith(ctx, members, c.acct.ID(), ns, from, func() *rpc.Retrieve {
		return &rpc.Retrieve{Namespace: ns, AfterTimestamp: from, AfterHash: lowHash}
	}, budget, nil)
}

// fetchWith is fetch for account's namespace ns with the retrieve request
// build returns (a fresh one per member): the own account's signed
// retrieve from a position, with a known list (poll), or another
// account's public-read namespace (fetchRecords). With marks, each
// member is also asked for what arrived there late (arrival marks).
func (c *Client) fetchWith(ctx context.Context, members []snapshot.Node, account identity.AccountID, ns int32, from time.Time, build func() *rpc.Retrieve, budget *atomic.Int64, marks func(snapshot.Node) *arrival) fetched {
	type answer struct {
		n    snapshot.Node
		msgs []rpc.Message
		end  *position // set when cut off by a bound
		ar   *arrival
		err  error
	}
	results := make(chan answer, len(members)) // buffered: stragglers never block
	// Members still in flight once enough answered are abandoned.
	fctx, abandon := context.WithCancel(ctx)
	defer abandon()
	next, inflight, answered := 0, 0, 0
	launch := func() {
		n := members[next]
		next++
		inflight++
		go func() {
			mctx, cancel := context.WithTimeout(fctx, c.limits.member)
			defer cancel()
			var ar *arrival
			if marks != nil {
				ar = marks(n)
			}
			msgs, cut, err := c.retrievePages(mctx, n, build(), budget, ar)
			a := answer{n: n, msgs: msgs, ar: ar, err: err}
			if cut && len(msgs) > 0 {
				p := posOf(msgs[len(msgs)-1])
				a.end = &p
			} else if cut {
				p := position{ms: from.UnixMilli(), hash: lowHash}
				a.end = &p
			}
			if err != nil && fctx.Err() == nil && mctx.Err() != nil {
				a.err = fmt.Errorf("%w: %s", errSlowMember, c.limits.member)
			}
			results <- a
		}()
	}
	for inflight < pollMembers && next < len(members) {
		launch()
	}
	fetchedMsgs := map[string]rpc.Message{}
	var arrivals []*arrival
	var limit *position
	var lastErr error
	future := c.netc.Latest().Add(futureSlack).UnixMilli()
	// A member slower than the hedge delay gets company: one more member
	// is asked, and the first to answer well count.
	hedge := time.NewTimer(c.limits.hedge)
	defer hedge.Stop()
	for inflight > 0 && answered < pollMembers {
		var a answer
		select {
		case a = <-results:
		case <-hedge.C:
			if next < len(members) {
				launch()
			}
			hedge.Reset(c.limits.hedge)
			continue
		}
		inflight--
		bad := ""
		msgs := a.msgs
		if a.ar != nil {
			// Late messages lie behind the position: they move no cursor
			// (process moves it forward only) and are stored as any other.
			msgs = append(slices.Clip(msgs), a.ar.late...)
		}
		for _, m := range msgs {
			if why := checkFetched(account, ns, m, future); why != "" {
				bad = why
				continue
			}
			fetchedMsgs[m.Hash] = m
		}
		switch {
		case errors.Is(a.err, errSlowMember):
			c.markSlow(a.n)
		case errors.Is(a.err, errPaging):
			bad = a.err.Error()
		case a.end != nil && bad == "":
			bad = fmt.Sprintf("its answer in namespace %d went past the poll's bounds", ns)
		}
		if a.end != nil && (limit == nil || a.end.before(*limit)) {
			limit = a.end
		}
		if bad != "" {
			c.markBad(a.n, bad)
		}
		if a.err == nil && bad == "" {
			answered++
			if a.ar != nil {
				arrivals = append(arrivals, a.ar)
			}
			continue
		}
		if a.err != nil {
			lastErr = a.err
		}
		if ctx.Err() == nil && next < len(members) && answered+inflight < pollMembers {
			launch()
		}
	}
	if ctx.Err() != nil && answered == 0 {
		return fetched{err: ctx.Err()}
	}
	if answered == 0 && len(fetchedMsgs) == 0 {
		if lastErr == nil {
			lastErr = ErrUnreachable
		}
		return fetched{err: lastErr}
	}
	if answered == 0 {
		// Only members that misbehaved answered: keep what checked out,
		// but the cursor stays until an honest member confirms the rest.
		p := position{ms: from.UnixMilli(), hash: lowHash}
		limit = &p
	}
	all := make([]rpc.Message, 0, len(fetchedMsgs))
	for _, m := range fetchedMsgs {
		all = append(all, m)
	}
	// Swarm order: (timestamp, hash), the order the cursor follows.
	slices.SortFunc(all, func(a, b rpc.Message) int {
		if a.Timestamp != b.Timestamp {
			return cmp.Compare(a.Timestamp, b.Timestamp)
		}
		return strings.Compare(a.Hash, b.Hash)
	})
	return fetched{msgs: all, limit: limit, answered: answered, arrivals: arrivals}
}

// cursorEnd is the last position the cursor may move to after f: its
// last message, or the last one before the limit.
func (f fetched) cursorEnd() *position {
	for i := len(f.msgs) - 1; i >= 0; i-- {
		if p := posOf(f.msgs[i]); f.limit == nil || !f.limit.before(p) {
			return &p
		}
	}
	return nil
}

// pollBudget returns a fresh byte budget for one poll's retrievals.
func (c *Client) pollBudget() *atomic.Int64 {
	b := &atomic.Int64{}
	b.Store(c.limits.pollBytes)
	return b
}

// futureSlack is how far past the network time a deposit may be dated:
// nodes accept deposits up to 10 s ahead of their clocks, which agree
// with the network's to within netclock.Agree.
const futureSlack = 10*time.Second + netclock.Agree

// checkFetched returns why a message of account's namespace ns shows that
// the member that served it misbehaves, or "". future is the latest
// plausible deposit time (Unix ms).
func checkFetched(account identity.AccountID, ns int32, m rpc.Message, future int64) string {
	data, err := base64.StdEncoding.DecodeString(m.Data)
	if err != nil {
		return "it served data that is not base64"
	}
	if rpc.MessageHash(account, ns, data) != m.Hash {
		return "it served data that does not match its hash"
	}
	if m.Timestamp > future {
		return "it served a message dated in the future"
	}
	return ""
}

// process stores the new messages among f's, fetched from namespace ns,
// and moves the namespace's cursor past them (never past f.limit). Every
// message here passed fetch's checks. One is marked seen once it is
// stored, or refused for a reason its hash-checked data proves: it does
// not open, is not for us, or is malformed. One refused for a reason
// that depends on the clock (a signed time not yet plausible) is not
// marked, so the polls that re-read the lookback window try it again; it
// does not hold the cursor, or anyone could stop it with one message.
// retry reports such a message, so that the arrival marks of f stay
// where they were: a late message lies behind the lookback.
func (c *Client) process(ns int32, cur clientdb.Cursor, f fetched) (out []Message, retry bool, err error) {
	c.procMu.Lock()
	defer c.procMu.Unlock()
	name := cursorName(ns)
	// The cursor as it is now: another poll (the user's beside Run's)
	// may have moved it since this one read it, and must not be set back.
	if now, err := c.db.Cursor(name); err != nil {
		return nil, false, err
	} else if now.Time.After(cur.Time) {
		cur = now
	}
	all := f.msgs
	hashes := make([]string, len(all))
	for i, m := range all {
		hashes[i] = m.Hash
	}
	unseen, err := c.db.Unseen(hashes...)
	if err != nil {
		return nil, false, err
	}
	isNew := map[string]bool{}
	for _, h := range unseen {
		isNew[h] = true
	}
	// advance is the last position the cursor may move to: every message
	// up to it is seen.
	var advance *position
	// The messages named as known were left out of the answers: seen
	// already, and the members had nothing else up to them but what
	// they sent.
	for _, p := range f.known {
		if (f.limit == nil || !f.limit.before(p)) && (advance == nil || advance.before(p)) {
			advance = &p
		}
	}
	for _, m := range all {
		p := posOf(m)
		if (f.limit == nil || !f.limit.before(p)) && (advance == nil || advance.before(p)) {
			advance = &p
		}
		if !isNew[m.Hash] {
			c.noteSeen(ns, m)
			continue
		}
		got, err := c.accept(ns, m)
		if err != nil {
			if errors.Is(err, clientdb.ErrClosed) {
				return out, retry, err
			}
			c.dropped.Add(1)
			c.log.Debug("dropped a fetched message", "namespace", ns, "err", err)
			c.emit(Event{Kind: EventDropped, Err: err})
			if retryable(err) {
				retry = true
				continue
			}
		}
		// What accept stored is reported first: it is committed, and a
		// later poll that fetches the message again stores and reports
		// nothing, so a failure below must not swallow its event.
		for _, msg := range got {
			c.received.Add(1)
			c.emit(Event{Kind: EventReceived, Message: msg})
			out = append(out, msg)
			// A message may come from a device of its author not
			// sealed to yet: refresh the author's cached records
			// (v2keys.go), at most every recordNudge.
			if msg.Outgoing {
				c.refreshRecords(recordCacheKey{c.acct.ID(), prekey.Sync}, recordNudge)
			} else {
				c.refreshRecords(recordCacheKey{msg.Peer, prekey.Inbox}, recordNudge)
			}
		}
		// Seen whether or not it opened: a bad message is dropped once.
		// How long is computed here, never taken from a node (seenUntil).
		if err := c.db.MarkSeen(c.seenUntil(), m.Hash); err != nil {
			return out, retry, err
		}
		c.noteSeen(ns, m)
	}
	if advance != nil {
		if t := time.UnixMilli(advance.ms); t.After(cur.Time) {
			if err := c.db.SetCursor(name, clientdb.Cursor{Position: advance.hash, Time: t}); err != nil {
				return out, retry, err
			}
		}
	}
	return out, retry, nil
}

// retryable reports whether a message was refused for a reason that may
// pass: its data proves nothing wrong yet.
func retryable(err error) bool {
	return errors.Is(err, sealv2.ErrTimestamp) || !errors.Is(err, ErrDropped)
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
	padded, sender, sm, err := c.seal.open(env.GetType(), env.GetContent())
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
	verifyTime(content, sm.SignedAt)
	signed := time.UnixMilli(int64(content.GetSentAtMs()))
	switch {
	case content.GetGroupUpdate() != nil:
		// An invitation, or a group's state from another own device.
		return nil, c.applyGroupUpdate(ns, sender, content.GetGroupUpdate()) // group.go
	case ns == NamespaceInbox && content.GetData() != nil:
		got, err := c.acceptData(sender, content, m.Hash)
		return got, errors.Join(err, c.keepSigned(got, sm.Signed))
	case ns == NamespaceInbox && content.GetReceipt() != nil:
		return nil, c.applyReceipt(sender, content.GetReceipt(), signed)
	case ns == NamespaceInbox && content.GetUnsend() != nil:
		return nil, c.applyUnsend(sender, content.GetUnsend())
	case ns == NamespaceInbox && content.GetExpirationSettings() != nil:
		return nil, c.applyTimerChange(sender, content.GetExpirationSettings(), signed)
	case ns == NamespaceInbox && content.GetReaction() != nil:
		return nil, c.applySignedReaction(sender, sender, content, sm.Signed) // reaction.go
	case ns == NamespaceInbox && content.GetTyping() != nil:
		return nil, c.applyTyping(sender, content.GetTyping(), signed) // typing.go
	case content.GetCall() != nil:
		return nil, c.applyCall(ns, sender, content, signed) // call.go
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
			// A shared entry's own seal is gone; it cannot have been
			// written after the share that carries it was sealed.
			if sealed := time.UnixMilli(int64(content.GetSentAtMs())); time.UnixMilli(int64(inner.GetSentAtMs())).After(sealed) {
				inner.SentAtMs = content.GetSentAtMs()
			}
			if inner.GetReaction() != nil {
				// Another device of ours reacted, or shares a reaction
				// (proven by the reactor's signed part) (reaction.go).
				if err := c.applySignedReaction(peer, author, inner, proof); err != nil {
					return out, err
				}
				continue
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
	// Call signalling and the rest come with later issues.
	return nil, nil
}

// verifyTime bounds content's sent_at_ms by the time its sender signed in
// the seal, when the format signs one (protocol v2), so that every use of
// the message's time (ordering, disappearing timers, receipts, timer
// changes) rests on the verified time (docs/protocol-v2.md §7). The
// Content's field is only the sender's word: a modified client could date
// a message years ahead so that it never disappears. It is kept when it
// lies within [sealed - maxQueueDelay, sealed], since a message queued
// offline is sealed only when the outbox sends it, and its written time
// keeps a burst in order and a message written before a timer change
// from undoing it; outside, it is clamped to that range. Without a sealed
// time (v1, tests and tooling only) the Content's time stands.
func verifyTime(content *envelope.Content, sealedAt time.Time) {
	if sealedAt.IsZero() || sealedAt.UnixMilli() <= 0 {
		return
	}
	hi := sealedAt.UnixMilli()
	lo := sealedAt.Add(-maxQueueDelay).UnixMilli()
	content.SentAtMs = uint64(max(min(int64(content.GetSentAtMs()), hi), lo))
}

// maxQueueDelay is the longest a message waits in the outbox before it is
// sealed and sent: after that, the outbox gives it up.
const maxQueueDelay = clientdb.DefaultOutboxGiveUp

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
	atts, err := c.receivedAttachments(data) // media.go
	if err != nil {
		return Message{}, false, err
	}
	id, isNew, err := c.db.InsertMessage(peer, clientdb.Message{
		MessageID: mid, Direction: dir, Sender: author, SentAt: sentAt, ReceivedAt: c.clock(),
		Body: data.GetBody(), Status: status, Disappearing: d, SwarmHashes: hashes, Attachments: atts, Previews: storedPreviews(data),
		Quote: storedQuote(data.GetQuote()), // reply.go
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
	// Groups after the own swarm: an invitation or a synced group polled
	// in the same run (groupnet.go).
	if more, err := c.GroupDuties(ctx); err != nil {
		c.log.Debug("group duties", "err", err)
		got = append(got, more...)
	} else {
		got = append(got, more...)
	}
	if err := c.pushDuties(ctx); err != nil { // push.go: renewal, cancelling
		c.log.Debug("push subscription duties", "err", err)
	}
	if err := c.applyReadState(); err != nil {
		return got, err
	}
	// Expired messages go with their copies and media.
	if err := c.expireLocal(); err != nil {
		return got, err
	}
	if err := c.sweepMedia(); err != nil {
		c.log.Debug("media folder", "err", err)
	}
	if err := c.refreshAvatar(ctx); err != nil { // avatar.go
		c.log.Debug("avatar upload", "err", err)
	}
	if pollErr != nil {
		return got, pollErr
	}
	if flushErr != nil && !errors.Is(flushErr, ErrUnreachable) {
		return got, flushErr
	}
	return got, errors.Join(delErr, accErr)
}

// Receive runs the background duties until ctx ends, calling fn (if not
// nil) with each batch of new messages, never two at once. In the
// notification mode [NotifyFast] (the default; read when Receive starts),
// with a transport that can hold a request ([HoldTransport]), it
// long-polls the own swarm and runs the duties every
// Options.SafetyNetInterval (hold.go); otherwise it runs them every poll
// interval. Failures are logged and retried; it returns nil when ctx
// ends, or fn's error.
func (c *Client) Receive(ctx context.Context, fn func([]Message) error) error {
	mode, err := c.notificationMode()
	if err != nil {
		return err
	}
	if mode == NotifyPush {
		if st, err := c.pushStatus(); err == nil && st != nil && st.State != "unsubscribing" {
			return c.receivePush(ctx, fn)
		}
		mode = DefaultNotificationMode // push chosen, no subscription left
	}
	if _, ok := c.tr.(HoldTransport); ok && mode == NotifyFast {
		return c.receiveFast(ctx, fn)
	}
	// A failing network is asked less and less often, up to
	// slowBackoffMax polls' time apart, and at the interval again once it
	// answers.
	wait := c.interval
	for {
		got, err := c.Sync(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			c.log.Warn("poll failed", "err", err)
			wait = min(2*wait, slowBackoffMax*c.interval)
		} else {
			wait = c.interval
		}
		if fn != nil && len(got) > 0 {
			if err := fn(got); err != nil {
				return err
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// slowBackoffMax bounds slow mode's backoff, in poll intervals.
const slowBackoffMax = 16

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
