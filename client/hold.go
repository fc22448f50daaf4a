package client

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Fast mode (DESIGN.md §7, issue 15): per namespace (inbox and sync), one
// retrieve with a wait is held on one member of the own swarm at a time,
// through a HoldTransport. The member answers as soon as a message lands
// there, so a message arrives within one onion round trip of its store.
//
// A held answer comes from one member, so it is trusted no more than one
// member's poll answer (STYLE.md rule 18): it passes fetch's checks
// (checkFetched) and must lie after the position asked for, or the member
// is marked bad and another one is held; its messages are stored by
// process, but it never moves the saved cursor. The cursor moves only
// with the two-member poll, which keeps running with its lookback as a
// safety net every Options.SafetyNetInterval; it catches what a held
// member missed or hid. The long-poll's own position is kept in memory.
// Each message is delivered once whichever way it comes: process is
// serialized (procMu) and marks what it stores as seen.

const (
	// holdSlack is how much longer than its wait a held request may be
	// held on the way (the hold each relay is asked to allow): the
	// destination answers at the wait's end, and the answer has to travel.
	holdSlack = 5 * time.Second
	// holdFailPause is how long a member that failed a long-poll (no
	// answer, a refusal, a misbehaving answer) is not held again; others
	// are held meanwhile.
	holdFailPause = 5 * time.Second
	// holdFullPause is the pause after a hold_full that named none.
	holdFullPause = 5 * time.Second
)

// receiveFast is Receive in fast mode.
func (c *Client) receiveFast(ctx context.Context, fn func([]Message) error) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // the holders end after cancel
	defer cancel()
	deliver := func(got []Message) error {
		if fn != nil && len(got) > 0 {
			return fn(got)
		}
		return nil
	}
	safetyNet := func() error {
		got, err := c.Sync(ctx)
		if err != nil && ctx.Err() == nil {
			c.log.Warn("poll failed", "err", err)
		}
		return deliver(got)
	}
	// The first poll catches up from the cursor before any hold starts.
	if err := safetyNet(); err != nil || ctx.Err() != nil {
		return err
	}
	batches := make(chan []Message)
	for _, ns := range []int32{NamespaceInbox, NamespaceSync} {
		wg.Go(func() { c.holdLoop(ctx, ns, batches) })
	}
	// And each joined group's swarm (groupnet.go).
	var groups groupHolds
	c.startGroupHolds(ctx, &groups, &wg, batches)
	net := time.NewTicker(c.safetyNet)
	defer net.Stop()
	// The outbox keeps its pace: a message queued in this process (the
	// daemon) is not left for the safety net.
	outbox := time.NewTicker(c.interval)
	defer outbox.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-net.C:
			if err := safetyNet(); err != nil {
				return err
			}
			c.startGroupHolds(ctx, &groups, &wg, batches)
		case <-c.groupJoined:
			// A group joined while this loop runs: hold it now.
			c.startGroupHolds(ctx, &groups, &wg, batches)
		case <-outbox.C:
			if _, err := c.FlushOutbox(ctx); err != nil && ctx.Err() == nil {
				c.log.Debug("outbox", "err", err)
			}
		case got := <-batches:
			c.afterPoll(ctx, got)
			if err := deliver(got); err != nil {
				return err
			}
		}
	}
}

// holder is one namespace's long-poll state; only holdLoop's goroutine
// uses it.
type holder struct {
	ns int32
	// after is where the last held answer ended (nil before one): past
	// the saved cursor, which only the safety-net poll moves.
	after *position
	// current is the member held last, kept while it answers well.
	current *identity.Ed25519PublicKey
	// pause holds the members not to hold before a time (a failure, a
	// hold_full's retry_after_ms).
	pause map[identity.Ed25519PublicKey]time.Time
	// rewind asks the next round to re-read the lookback window before
	// after at once, without a wait: the last hold woke early with
	// nothing, so something landed behind the position (a deposit dated
	// earlier than one already read).
	rewind bool
	// pages counts answers in a row from current with messages: past the
	// poll's page bound, another member takes over (avoid), so a member
	// cannot keep the loop to itself with endless junk.
	pages int
	avoid *identity.Ed25519PublicKey
	// early counts empty answers in a row from current that came well
	// before the wait's end.
	early int
	// noMarks is set once a member refused arrival marks (a node from
	// before them).
	noMarks bool
}

// stop pauses member n for d; the next member is picked afresh (ask
// order puts the ones caught misbehaving or slow last).
func (h *holder) stop(n snapshot.Node, d time.Duration) {
	h.pause[n.Ed25519] = time.Now().Add(d)
	h.current = nil
}

// holdLoop long-polls namespace ns until ctx ends, sending each non-empty
// batch of new messages to out.
func (c *Client) holdLoop(ctx context.Context, ns int32, out chan<- []Message) {
	h := &holder{ns: ns, pause: map[identity.Ed25519PublicKey]time.Time{}}
	for ctx.Err() == nil {
		n, wait, err := c.holdTarget(ctx, h)
		if err != nil {
			c.log.Debug("long-poll: no swarm", "namespace", ns, "err", err)
			wait = holdFailPause
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		got, err := c.holdOnce(ctx, h, n)
		if err != nil && ctx.Err() == nil {
			c.log.Debug("long-poll failed; another member is held", "namespace", ns, "node", n.Ed25519.String(), "err", err)
		}
		if len(got) > 0 {
			select {
			case out <- got:
			case <-ctx.Done():
				return
			}
		}
	}
}

// holdTarget picks the member to hold next: the current one while it is
// not paused, else the first unpaused in ask order. With every member
// paused it returns how long to wait instead.
func (c *Client) holdTarget(ctx context.Context, h *holder) (snapshot.Node, time.Duration, error) {
	members, err := c.dir.SwarmFor(ctx, c.acct.ID())
	if err != nil {
		return snapshot.Node{}, 0, err
	}
	if len(members) == 0 {
		return snapshot.Node{}, 0, ErrNoSwarm
	}
	now := time.Now()
	for k, until := range h.pause {
		if !now.Before(until) {
			delete(h.pause, k)
		}
	}
	if h.current != nil {
		if _, paused := h.pause[*h.current]; !paused {
			for _, n := range members {
				if n.Ed25519 == *h.current {
					return n, 0, nil
				}
			}
		}
	}
	var soonest time.Time
	var fallback *snapshot.Node
	for _, n := range c.askOrder(members) {
		until, paused := h.pause[n.Ed25519]
		switch {
		case paused:
			if soonest.IsZero() || until.Before(soonest) {
				soonest = until
			}
		case h.avoid != nil && n.Ed25519 == *h.avoid:
			fallback = &n
		default:
			k := n.Ed25519
			h.current, h.avoid, h.pages = &k, nil, 0
			return n, 0, nil
		}
	}
	if fallback != nil {
		k := fallback.Ed25519
		h.current, h.avoid = &k, nil
		return *fallback, 0, nil
	}
	return snapshot.Node{}, max(soonest.Sub(now), time.Millisecond), nil
}

// holdOnce holds one retrieve of h's namespace on member n and stores
// what it answers. A member that fails, answers badly or is full is
// paused, so the next round holds another.
func (c *Client) holdOnce(ctx context.Context, h *holder, n snapshot.Node) ([]Message, error) {
	cur, err := c.db.Cursor(cursorName(h.ns))
	if err != nil {
		return nil, err
	}
	from := position{ms: cur.Time.UnixMilli(), hash: cur.Position}
	fresh := cur.Time.IsZero()
	if h.after != nil && (fresh || from.before(*h.after)) {
		from, fresh = *h.after, false
	}
	wait := c.holdWait
	if h.rewind && !fresh {
		from, wait = position{ms: from.ms - c.lookback.Milliseconds(), hash: lowHash}, 0
	}
	h.rewind = false
	req := &rpc.Retrieve{Namespace: h.ns, MaxSize: retrievePageSize, Wait: wait}
	// What arrived at n late, behind the position (receive.go, arrival
	// marks): a held member answers at once when one lands.
	ar := c.arrivalMark(h.ns, n)
	if !h.noMarks {
		req.ArrivedAfter = &ar.asked
	}
	if !fresh {
		req.AfterTimestamp, req.AfterHash = time.UnixMilli(from.ms), from.hash
	}
	if wait == 0 && !fresh {
		// A re-read of the lookback, by hash list as the poll's.
		req.Known, _ = c.knownSince(h.ns, time.UnixMilli(from.ms), false)
	}
	hold := wait + holdSlack
	start := time.Now()
	// Past its hold plus a member's deadline, the member is slow.
	mctx, cancel := context.WithTimeout(ctx, hold+c.limits.member)
	defer cancel()
	resp, err := c.signedHold(mctx, n, hold, func(now time.Time) (rpc.Outgoing, error) {
		req.Stamp(now)
		return req, nil
	})
	var ne *NodeError
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case req.ArrivedAfter != nil && refusedField(err, "arrived_after"):
		// A node from before arrival marks: the next rounds hold without.
		h.noMarks = true
		return nil, err
	case errors.As(err, &ne) && ne.Code == rpc.CodeHoldFull:
		wait := ne.RetryAfter
		if wait <= 0 {
			wait = holdFullPause
		}
		h.stop(n, wait)
		return nil, err
	case err != nil && mctx.Err() != nil:
		c.markSlow(n)
		h.stop(n, holdFailPause)
		return nil, fmt.Errorf("%w: %w", errSlowMember, err)
	case err != nil:
		h.stop(n, holdFailPause)
		return nil, err
	}
	var r rpc.RetrieveResult
	if err := json.Unmarshal(resp, &r); err != nil {
		c.markBad(n, "it answered a long-poll with a malformed retrieve reply")
		h.stop(n, holdFailPause)
		return nil, fmt.Errorf("retrieve reply: %w", err)
	}
	future := c.netc.Latest().Add(futureSlack).UnixMilli()
	good := make([]rpc.Message, 0, len(r.Messages)+len(r.Late))
	bad := ""
	for _, m := range r.Late {
		// Behind the position by definition; they move nothing.
		if why := checkFetched(c.acct.ID(), h.ns, m, future); why != "" {
			bad = why
			continue
		}
		good = append(good, m)
	}
	late := len(good)
	for _, m := range r.Messages {
		if why := checkFetched(c.acct.ID(), h.ns, m, future); why != "" {
			bad = why
			continue
		}
		if !fresh && !from.before(posOf(m)) {
			bad = "it answered a long-poll with a message before the position asked for"
			continue
		}
		good = append(good, m)
	}
	slices.SortFunc(good, func(a, b rpc.Message) int {
		if a.Timestamp != b.Timestamp {
			return cmp.Compare(a.Timestamp, b.Timestamp)
		}
		return strings.Compare(a.Hash, b.Hash)
	})
	// The saved cursor stays where it is: one member's word does not move
	// it (the limit is the cursor itself).
	limit := position{ms: cur.Time.UnixMilli(), hash: cur.Position}
	if cur.Time.IsZero() {
		limit = position{ms: -1}
	}
	got, retry, perr := c.process(h.ns, cur, fetched{msgs: good, limit: &limit})
	if bad != "" {
		c.markBad(n, bad)
		h.stop(n, holdFailPause)
		return got, errors.Join(errors.New(bad), perr)
	}
	if perr == nil && !retry && req.ArrivedAfter != nil {
		ar.mark = r.Arrived
		c.saveArrivalMark(h.ns, ar)
	}
	if len(good) > late {
		if p := posOf(good[len(good)-1]); h.after == nil || h.after.before(p) {
			h.after = &p
		}
	}
	switch {
	case wait == 0:
		// A re-read of the lookback: it answers at once by design.
	case len(good) > 0:
		if h.pages++; h.pages >= c.limits.pages {
			// Not bad (a backlog or a burst is honest), but another
			// member's turn, if there is one.
			k := n.Ed25519
			h.avoid, h.current, h.pages = &k, nil, 0
		}
		h.early = 0
	default:
		h.pages = 0
		// An empty answer well before the wait's end: the member woke for
		// a message behind the position, which the next round re-reads.
		// Again and again, and the member does not hold (it ignores the
		// wait, or is shutting down): another one's turn.
		if time.Since(start) < wait*3/4 {
			h.early++
		} else {
			h.early = 0
		}
		h.rewind = h.early == 1
		if h.early > 2 {
			h.early = 0
			h.stop(n, holdFailPause)
		}
	}
	return got, perr
}
