package nodeapi

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/rpc"
)

// Held retrieves (fast mode, DESIGN.md §7). A retrieve of its own with
// wait > 0 that finds nothing after its cursor is held until a message
// lands in its (account, namespace) on this node — [Config.Arrivals]
// signals every insert, from a client's store, a replication forward, an
// anti-entropy repair or a hand-off — or until the wait, the request's
// context or the handler's holding ([Handler.StopHolding]) ends. It then
// answers as an ordinary retrieve: possibly empty, never an error.
//
// A held retrieve costs its handler goroutine, one registration in the
// arrivals hub and one runtime timer: no extra goroutine, no polling. It
// is held only after the checks every retrieve passes (swarm, time,
// signature, replay), so a stranger cannot hold for an account it cannot
// read. Unsigned retrieves of a public-read namespace may hold; they
// count against a per-account bound of their own, so that strangers
// reading an account's public records cannot crowd out its owner's
// devices.

// Defaults of the bounds on held retrieves ([Config.MaxHeld],
// [Config.MaxHeldPerAccount]).
const (
	DefaultMaxHeld           = 4096
	DefaultMaxHeldPerAccount = 8
)

const (
	// holdRetryMin and holdRetryJitter make the retry_after_ms of a
	// hold_full answer: a few seconds, spread so that the clients refused
	// together do not come back together.
	holdRetryMin    = 2 * time.Second
	holdRetryJitter = 3 * time.Second
	// holdMargin is what a held request's HTTP deadlines get beyond its
	// wait: the last query, encoding and writing the answer to a slow
	// link.
	holdMargin = 10 * time.Second
)

// holdFull is the error of a retrieve past a bound on held retrieves.
type holdFull struct{ retry time.Duration }

func (*holdFull) Error() string { return "hold full" }

// holds counts held retrieves against the bounds and ends them all at
// shutdown.
type holds struct {
	max, maxPerAccount int
	gauge              prometheus.Gauge
	stopped            chan struct{} // closed by stop
	stopOnce           sync.Once

	mu         sync.Mutex // guards total and perAccount
	total      int
	perAccount map[holder]int
}

// holder is whom a per-account bound is per: the account's owner (signed
// retrieves) or anyone (unsigned public reads of it). In a group swarm
// each member key is a holder of its own (member is zero for the admin):
// a hundred members long-polling their group must not share one
// account's few slots.
type holder struct {
	account  identity.AccountID
	unsigned bool
	member   identity.Ed25519PublicKey
}

func newHolds(max, maxPerAccount int, gauge prometheus.Gauge) *holds {
	if max <= 0 {
		max = DefaultMaxHeld
	}
	if maxPerAccount <= 0 {
		maxPerAccount = DefaultMaxHeldPerAccount
	}
	return &holds{max: max, maxPerAccount: maxPerAccount, gauge: gauge, stopped: make(chan struct{}), perAccount: make(map[holder]int)}
}

// acquire takes a slot for account, or reports false past a bound.
func (hs *holds) acquire(account holder) (release func(), ok bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.total >= hs.max || hs.perAccount[account] >= hs.maxPerAccount {
		return nil, false
	}
	hs.total++
	hs.perAccount[account]++
	hs.gauge.Inc()
	return func() {
		hs.mu.Lock()
		defer hs.mu.Unlock()
		hs.total--
		if hs.perAccount[account]--; hs.perAccount[account] == 0 {
			delete(hs.perAccount, account)
		}
		hs.gauge.Dec()
	}, true
}

// held reports how many retrieves are held.
func (hs *holds) held() int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return hs.total
}

func (hs *holds) stop() { hs.stopOnce.Do(func() { close(hs.stopped) }) }

func (hs *holds) isStopped() bool {
	select {
	case <-hs.stopped:
		return true
	default:
		return false
	}
}

// StopHolding answers every held retrieve at once (with what is there,
// usually nothing) and holds no more: later waits are answered as plain
// retrieves. The node calls it when its server starts shutting down, so
// that held requests do not keep the shutdown waiting for their wait. It
// may be called more than once.
func (h *Handler) StopHolding() { h.holds.stop() }

// topLevel is what a request of its own has and a batch's sub-request
// does not: the response writer, whose deadlines a held retrieve extends,
// and whether it was held (its duration is then no measure of the node).
type topLevel struct {
	w    http.ResponseWriter
	held bool
}

// list runs q at now and builds the retrieve's answer. Messages whose
// hash is in known (the retrieve's known list) are left out, and the
// answer is paged as if they were not there: the store is read page after
// page until the answer is full by q's bounds or nothing is left. Each
// known hash is skipped at most once, so the extra reading is bounded by
// the list's length (rpc.MaxKnown).
func (h *Handler) list(ctx context.Context, q store.Query, known map[string]struct{}, now time.Time) (*rpc.RetrieveResult, error) {
	q.Now = now
	res := &rpc.RetrieveResult{Messages: []rpc.Message{}, T: now.UnixMilli()}
	size := 0
	for {
		msgs, more, err := h.cfg.Store.List(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if _, ok := known[m.Hash]; ok {
				continue
			}
			if len(known) > 0 && len(res.Messages) > 0 && (len(res.Messages) == q.Limit || size+len(m.Data) > q.MaxBytes) {
				// Full: the rest of this page waits for the next request.
				res.More = true
				return res, nil
			}
			size += len(m.Data)
			res.Messages = append(res.Messages, rpc.Message{
				Hash:       m.Hash,
				Timestamp:  m.Timestamp.UnixMilli(),
				Expiration: m.Expiry.UnixMilli(),
				Data:       base64.StdEncoding.EncodeToString(m.Data),
			})
		}
		if !more || len(known) == 0 || len(msgs) == 0 {
			res.More = more
			return res, nil
		}
		last := msgs[len(msgs)-1]
		q.After = store.Cursor{Timestamp: last.Timestamp, Hash: last.Hash}
	}
}

// hold answers q, holding it up to wait while it finds nothing. It
// registers with the arrivals hub before every look in the store, so a
// message committed between the look and the wait still wakes it.
func (h *Handler) hold(ctx context.Context, top *topLevel, q store.Query, known map[string]struct{}, who holder, wait time.Duration, now time.Time) (*rpc.RetrieveResult, error) {
	var (
		timer   *time.Timer
		release func()
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
		if release != nil {
			release()
		}
	}()
	for {
		signal, unwatch := h.cfg.Arrivals.Watch(q.Account, q.Namespace)
		res, err := h.list(ctx, q, known, now)
		if err != nil || len(res.Messages) > 0 || h.holds.isStopped() {
			unwatch()
			return res, err
		}
		if release == nil {
			// Only a retrieve that would be held takes a slot: one with
			// mail waiting is answered even when the node holds all it will.
			var ok bool
			if release, ok = h.holds.acquire(who); !ok {
				unwatch()
				return nil, &holdFull{retry: holdRetryMin + rand.N(holdRetryJitter)}
			}
			top.held = true
			timer = time.NewTimer(wait)
			extendDeadlines(top.w, time.Now().Add(wait+holdMargin))
		}
		select {
		case <-signal:
			unwatch()
			now = h.cfg.Clock()
			continue
		case <-timer.C:
		case <-ctx.Done():
		case <-h.holds.stopped:
		}
		unwatch()
		// The wait ended empty; the answer is the empty one already
		// found, stamped now.
		res.T = h.cfg.Clock().UnixMilli()
		return res, nil
	}
}

// extendDeadlines lets a held request outlive the server's read and write
// time-outs, which ordinary requests keep: the write time-out would cut
// the answer off, and an HTTP/1.1 read time-out cancels the request's
// context. A writer without deadlines (the onion relay's in-process
// buffer) is left alone: its caller bounds the request.
func extendDeadlines(w http.ResponseWriter, deadline time.Time) {
	if w == nil {
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(deadline)
	_ = rc.SetReadDeadline(deadline)
}

func holdFullBody(e *holdFull, now time.Time) *rpc.ErrorBody {
	return &rpc.ErrorBody{
		Error:        rpc.Errorf(rpc.CodeHoldFull, "this node holds all the waiting retrieves it will; poll, or wait again after %s", e.retry.Round(time.Millisecond)),
		T:            now.UnixMilli(),
		RetryAfterMs: max(e.retry.Milliseconds(), 1),
	}
}
