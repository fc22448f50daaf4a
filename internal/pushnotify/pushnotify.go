package pushnotify

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/snapshot"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of [Config].
const (
	DefaultInterval    = 5 * time.Second
	DefaultMaxAge      = time.Minute
	DefaultQueueSize   = 4096
	DefaultMaxPending  = 65536
	DefaultMaxInFlight = 16
	DefaultAttempts    = 4
	DefaultBackoff     = 2 * time.Second
	DefaultTick        = 250 * time.Millisecond
	// DefaultSendTimeout bounds one attempt, paths included.
	DefaultSendTimeout = 30 * time.Second
	// DefaultKeepWarm is below the 90 s after which the hops close idle
	// connections (onionclient.Pool, the relays' pools and stewards).
	DefaultKeepWarm = 45 * time.Second
)

// activeWindow is how long after its last notify a node keeps its path
// warm: a node with subscriptions to serve notifies more often than that.
const activeWindow = time.Hour

// maxRetryWait caps the wait before a retry, also one a server asks for:
// every attempt must fall well within the push server's memory of tags
// (protocol/push: longer than the nodes' retry bound), or a late retry
// would become a second push.
const maxRetryWait = 30 * time.Second

// Sender carries a request through an onion path of the node's own to a
// steward server and returns the server's status and body.
// *paths.Manager implements it (DoServer); its paths must avoid the node
// itself ([WithoutNode]).
type Sender interface {
	DoServer(ctx context.Context, target onion.ServerTarget, serverKey snapshot.X25519Key, body []byte) (int, []byte, error)
}

// Server is the push server the network file lists: the endpoint relays
// forward to and the X25519 key the final onion layer is sealed to, which
// records must name.
type Server struct {
	Target onion.ServerTarget
	Key    snapshot.X25519Key
}

// Config holds a Notifier's dependencies and tunables. Store, Sender,
// Clock and Logger are required; zero tunables take the defaults above.
type Config struct {
	// Store is the node's message store, read for the account's records.
	Store store.Store
	// Server is the only push server notified.
	Server Server
	Sender Sender
	Clock  func() time.Time
	Logger *slog.Logger
	// Metrics, when set, receives the notifier's metrics.
	Metrics prometheus.Registerer

	// Interval is the least time between two notifies of one
	// subscription; deposits in between are coalesced.
	Interval time.Duration
	// MaxAge: a deposit whose timestamp is older wakes nobody.
	MaxAge time.Duration
	// QueueSize bounds the deposits waiting for the notifier.
	QueueSize int
	// MaxPending bounds the subscriptions tracked at once.
	MaxPending int
	// MaxInFlight bounds the notifies travelling at once.
	MaxInFlight int
	// Attempts is how many times one notify is tried; Backoff the wait
	// before the first retry, doubling after.
	Attempts int
	Backoff  time.Duration
	// SendTimeout bounds one attempt.
	SendTimeout time.Duration
	// KeepWarm: when Run starts, and then whenever the node has not
	// notified for KeepWarm but has within the last hour, an info request
	// goes to the push server through the node's path, so that the next
	// notify finds the paths built and every hop's connection open
	// instead of paying guard tests and handshakes. Negative: never.
	KeepWarm time.Duration
	// Tick is how often the notifier looks for work that fell due
	// besides its timer, which wakes it when the next coalesced notify or
	// retry is due by the real clock: the poll catches a Clock that moves
	// otherwise (tests) and work that waited for a send slot.
	Tick time.Duration
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&c.Interval, DefaultInterval)
	def(&c.MaxAge, DefaultMaxAge)
	def(&c.Backoff, DefaultBackoff)
	def(&c.SendTimeout, DefaultSendTimeout)
	def(&c.Tick, DefaultTick)
	if c.KeepWarm == 0 {
		c.KeepWarm = DefaultKeepWarm
	}
	defInt(&c.QueueSize, DefaultQueueSize)
	defInt(&c.MaxPending, DefaultMaxPending)
	defInt(&c.MaxInFlight, DefaultMaxInFlight)
	defInt(&c.Attempts, DefaultAttempts)
}

// Notifier sends push notifications for new deposits. Deposited is safe
// for concurrent use; Run runs once.
type Notifier struct {
	cfg     Config
	metrics *metrics
	queue   chan store.Message
	results chan result

	// Owned by the Run goroutine.
	subs     map[[32]byte]*sub
	inFlight int
	records  recordCache
	sends    sync.WaitGroup
	// due is the earliest time a coalesced notify or a retry falls due,
	// zero for none; timer fires then.
	due   time.Time
	timer *time.Timer
	// starved: a notify waited for a send slot; one freeing flushes.
	starved bool

	// accepted counts the deposits Run has taken, so that tests know
	// when one has been seen.
	accepted atomic.Uint64
	// lastNotify and lastSend are when the last notify, and the last
	// request of any kind (warm-ups too), went to the server, in Unix
	// nanoseconds of Clock; for keepWarm.
	lastNotify, lastSend atomic.Int64
}

var _ replication.Deposits = (*Notifier)(nil)

// sub is one subscription's state.
type sub struct {
	rec *push.Record // the newest record seen naming it
	// The deposits not yet notified: how many, and the newest.
	count int
	ns    int32
	hash  string
	// lastSent is when its last notify left, zero for never.
	lastSent time.Time
	// job is the notify travelling or waiting for a retry (at retryAt).
	job     *job
	retryAt time.Time
}

// job is one notify with its attempts so far.
type job struct {
	id       [32]byte
	body     []byte
	attempts int
}

// result is how one attempt of a job went.
type result struct {
	job   *job
	sent  bool          // the server took it
	retry bool          // worth another attempt
	after time.Duration // the server's retry_after
	code  string        // the server's error code, or "" for no answer
}

// New returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("pushnotify: no store")
	case cfg.Sender == nil:
		return nil, errors.New("pushnotify: no sender")
	case cfg.Clock == nil:
		return nil, errors.New("pushnotify: no clock")
	case cfg.Logger == nil:
		return nil, errors.New("pushnotify: no logger")
	}
	cfg.setDefaults()
	n := &Notifier{
		cfg:     cfg,
		queue:   make(chan store.Message, cfg.QueueSize),
		results: make(chan result),
		subs:    make(map[[32]byte]*sub),
		records: newRecordCache(recordCacheSize),
	}
	m, err := newMetrics(cfg.Metrics, n)
	if err != nil {
		return nil, err
	}
	n.metrics = m
	return n, nil
}

// Deposited implements replication.Deposits: it queues m for Run, or
// drops it when it is too old to wake anyone or the queue is full. It
// never blocks.
func (n *Notifier) Deposited(m store.Message) {
	// Records never subscribe their own namespace (protocol/push).
	if m.Namespace == push.Namespace {
		return
	}
	if n.cfg.Clock().Sub(m.Timestamp) > n.cfg.MaxAge {
		n.metrics.deposits.WithLabelValues("old").Inc()
		return
	}
	// The data is not needed; the queue holds no message bodies.
	m.Data = nil
	select {
	case n.queue <- m:
		n.metrics.deposits.WithLabelValues("queued").Inc()
	default:
		n.metrics.deposits.WithLabelValues("queue_full").Inc()
	}
}

// Run notifies until ctx ends, then waits for the notifies in flight
// (cancelled with ctx) and returns nil.
func (n *Notifier) Run(ctx context.Context) error {
	t := time.NewTicker(n.cfg.Tick)
	defer t.Stop()
	n.timer = time.NewTimer(time.Hour)
	n.timer.Stop()
	defer n.timer.Stop()
	defer n.sends.Wait()
	n.sends.Go(func() { n.keepWarm(ctx) })
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-n.queue:
			n.accept(ctx, m)
			n.accepted.Add(1)
		case r := <-n.results:
			n.finish(ctx, r)
		case <-n.timer.C:
			n.due = time.Time{}
			n.flush(ctx)
		case <-t.C:
			n.flush(ctx)
		}
	}
}

// wakeAt makes the timer fire by at, when that is earlier than it would.
// A coalesced notify or a retry then goes when it falls due, not at the
// next poll: a push is latency.
func (n *Notifier) wakeAt(at time.Time) {
	if n.timer == nil || !n.due.IsZero() && !at.Before(n.due) {
		return
	}
	n.due = at
	n.timer.Reset(max(at.Sub(n.cfg.Clock()), 0))
}

// accept takes one deposit: each live record of its account that
// subscribes its namespace and names the listed server gets it added to
// its subscription, which is notified at once if it may be.
func (n *Notifier) accept(ctx context.Context, m store.Message) {
	now := n.cfg.Clock()
	recs, err := n.liveRecords(ctx, m.Account, now)
	if err != nil {
		if ctx.Err() == nil {
			n.cfg.Logger.Warn("push notifier: reading records failed", "err", err)
		}
		return
	}
	var revoked map[identity.Ed25519PublicKey]bool
	if group.IsGroup(m.Account) && len(recs) > 0 {
		if revoked, err = n.groupRevoked(ctx, m.Account, now); err != nil {
			if ctx.Err() == nil {
				n.cfg.Logger.Warn("push notifier: reading revocations failed", "err", err)
			}
			return
		}
	}
	for _, r := range recs {
		if !slices.Contains(r.Namespaces, m.Namespace) {
			continue
		}
		if revoked[r.Ed25519] {
			// A removed member's record: it wakes nobody from the moment
			// the list reaches this node (docs/groups.md §12).
			n.metrics.ignored.WithLabelValues("revoked").Inc()
			continue
		}
		if n.cfg.Server.Key == (snapshot.X25519Key{}) || r.Server != [32]byte(n.cfg.Server.Key) {
			n.metrics.ignored.WithLabelValues("unlisted_server").Inc()
			continue
		}
		s := n.subs[r.SubID]
		if s == nil {
			if len(n.subs) >= n.cfg.MaxPending {
				n.metrics.dropped.Inc()
				continue
			}
			s = &sub{}
			n.subs[r.SubID] = s
		}
		s.rec = r
		if s.count > 0 {
			n.metrics.coalesced.Inc()
		}
		s.count++
		s.ns, s.hash = m.Namespace, m.Hash
		n.trySend(ctx, r.SubID, s, now)
	}
}

// maxScan bounds the record-namespace messages read for one deposit.
// A node accepts a record only while the account holds fewer than
// push.MaxRecordsPerAccount live ones (a group push.MaxRecordsPerGroup),
// so more are expired records whose messages outlive them (message TTLs
// run to 30 days, records to 14).
const maxScan = 1024

// liveRecords returns acct's records that parse and have not expired at
// now, at most push.MaxRecordsPerAccount of them (a node keeps no more
// from clients; more could only come from a misbehaving peer).
func (n *Notifier) liveRecords(ctx context.Context, acct identity.AccountID, now time.Time) ([]*push.Record, error) {
	q := store.Query{Account: acct, Namespace: push.Namespace, Limit: 64, Now: now}
	var out []*push.Record
	for scanned := 0; scanned < maxScan; {
		msgs, more, err := n.cfg.Store.List(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			r, err := n.records.parse(m, now)
			switch {
			case errors.Is(err, push.ErrExpired):
				continue
			case err != nil:
				n.metrics.ignored.WithLabelValues("malformed").Inc()
				continue
			}
			out = append(out, r)
			if len(out) == maxRecords(acct) {
				return out, nil
			}
		}
		if !more || len(msgs) == 0 {
			break
		}
		scanned += len(msgs)
		last := msgs[len(msgs)-1]
		q.After = store.Cursor{Timestamp: last.Timestamp, Hash: last.Hash}
	}
	return out, nil
}

// groupRevoked returns the union of the revocation lists group acct's
// swarm holds here (docs/groups.md §4), each checked under the group key.
func (n *Notifier) groupRevoked(ctx context.Context, acct identity.AccountID, now time.Time) (map[identity.Ed25519PublicKey]bool, error) {
	q := store.Query{Account: acct, Namespace: group.NamespaceRevocations, Limit: 64, Now: now}
	out := map[identity.Ed25519PublicKey]bool{}
	for scanned := 0; scanned < maxScan; {
		msgs, more, err := n.cfg.Store.List(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if l, err := group.ParseRevocations(m.Data, group.ID(acct)); err == nil {
				for _, k := range l.Revoked {
					out[k] = true
				}
			}
		}
		if !more || len(msgs) == 0 {
			break
		}
		scanned += len(msgs)
		last := msgs[len(msgs)-1]
		q.After = store.Cursor{Timestamp: last.Timestamp, Hash: last.Hash}
	}
	return out, nil
}

// maxRecords is the most live records a node keeps for acct: a group
// swarm's (03) are its members' (docs/groups.md §12).
func maxRecords(acct identity.AccountID) int {
	if group.IsGroup(acct) {
		return push.MaxRecordsPerGroup
	}
	return push.MaxRecordsPerAccount
}

// trySend starts s's notify if it has deposits waiting, none travelling,
// its interval has passed and a send slot is free; otherwise flush will.
func (n *Notifier) trySend(ctx context.Context, id [32]byte, s *sub, now time.Time) {
	if s.count == 0 || s.job != nil {
		return
	}
	if n.inFlight >= n.cfg.MaxInFlight {
		n.starved = true
		return
	}
	if !s.lastSent.IsZero() && now.Sub(s.lastSent) < n.cfg.Interval {
		n.wakeAt(s.lastSent.Add(n.cfg.Interval))
		return
	}
	if !now.Before(s.rec.Expiry) {
		// The subscription ended while its deposits waited.
		s.count = 0
		return
	}
	payload, err := push.SealPayload(s.rec.EncKey, push.Inner{Namespace: s.ns, Hash: s.hash, Count: s.count})
	if err != nil {
		n.cfg.Logger.Error("push notifier: sealing a payload failed", "err", err)
		s.count = 0
		return
	}
	req := &push.Request{Op: push.OpNotify, SubID: id, NotifySecret: s.rec.NotifySecret, Tag: push.Tag(s.rec.EncKey, s.hash), Payload: payload}
	s.job = &job{id: id, body: req.Marshal()}
	s.count, s.lastSent = 0, now
	n.launch(ctx, s.job)
}

// launch sends one attempt of j in its own goroutine.
func (n *Notifier) launch(ctx context.Context, j *job) {
	j.attempts++
	n.inFlight++
	n.sends.Go(func() {
		r := n.attempt(ctx, j)
		select {
		case n.results <- r:
		case <-ctx.Done():
		}
	})
}

// keepWarm sends warm-ups (see Config.KeepWarm) until ctx ends: one at
// the start, retried with backoff until it goes through (the node may
// have no snapshot yet), then one whenever the node is idle but active.
func (n *Notifier) keepWarm(ctx context.Context) {
	if n.cfg.KeepWarm < 0 || n.cfg.Server.Key == (snapshot.X25519Key{}) {
		return
	}
	sleep := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for wait := n.cfg.Backoff; !n.warm(ctx); wait = min(2*wait, n.cfg.KeepWarm) {
		if !sleep(wait) {
			return
		}
	}
	// Checking at a third of KeepWarm leaves no gap longer than 4/3 of
	// it, below the hops' idle time-outs.
	for sleep(n.cfg.KeepWarm / 3) {
		now := n.cfg.Clock().UnixNano()
		last := n.lastNotify.Load()
		if last != 0 && now-last < int64(activeWindow) && now-n.lastSend.Load() >= int64(n.cfg.KeepWarm) {
			n.warm(ctx)
		}
	}
}

// warm sends the push server an info request through the node's path and
// reports whether it went through. It tells the server nothing: clients
// ask the same.
func (n *Notifier) warm(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.SendTimeout)
	defer cancel()
	n.lastSend.Store(n.cfg.Clock().UnixNano())
	_, body, err := n.cfg.Sender.DoServer(ctx, n.cfg.Server.Target, n.cfg.Server.Key, warmRequest)
	if err != nil {
		n.metrics.warmups.WithLabelValues("failed").Inc()
		n.cfg.Logger.Debug("push notifier: warming the path failed", "err", err)
		return false
	}
	if _, err := push.ParseAnswer(body); err != nil {
		n.metrics.warmups.WithLabelValues("failed").Inc()
		return false
	}
	n.metrics.warmups.WithLabelValues("ok").Inc()
	return true
}

var warmRequest = (&push.Request{Op: push.OpInfo}).Marshal()

// attempt sends j once and says how it went.
func (n *Notifier) attempt(ctx context.Context, j *job) result {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.SendTimeout)
	defer cancel()
	now := n.cfg.Clock().UnixNano()
	n.lastNotify.Store(now)
	n.lastSend.Store(now)
	start := time.Now()
	status, body, err := n.cfg.Sender.DoServer(ctx, n.cfg.Server.Target, n.cfg.Server.Key, j.body)
	n.metrics.sendSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		n.cfg.Logger.Debug("push notifier: notify did not reach the push server", "err", err, "attempt", j.attempts)
		return result{job: j, retry: true}
	}
	a, perr := push.ParseAnswer(body)
	switch {
	case status/100 == 2 && perr == nil && a.OK:
		return result{job: j, sent: true}
	case perr != nil:
		// Not the push server's answer (a relay's, or garbage): only a
		// server error is worth repeating.
		return result{job: j, retry: status >= 500, code: "bad_answer"}
	}
	after := time.Duration(a.RetryAfterMs) * time.Millisecond
	switch a.Error {
	case push.CodeRateLimited, push.CodeInternal, push.CodeUnavailable:
		return result{job: j, retry: true, after: after, code: a.Error}
	}
	return result{job: j, code: a.Error}
}

// finish takes an attempt's result: done, or a retry scheduled.
func (n *Notifier) finish(ctx context.Context, r result) {
	n.inFlight--
	s := n.subs[r.job.id]
	now := n.cfg.Clock()
	switch {
	case r.sent:
		n.metrics.notifies.WithLabelValues("sent").Inc()
	case r.retry && r.job.attempts < n.cfg.Attempts:
		n.metrics.retries.Inc()
		wait := min(max(n.cfg.Backoff<<(r.job.attempts-1), r.after), maxRetryWait)
		if s != nil {
			s.retryAt = now.Add(wait)
			n.wakeAt(s.retryAt)
			n.unstarve(ctx)
			return
		}
	case r.retry:
		n.metrics.notifies.WithLabelValues("failed").Inc()
		n.cfg.Logger.Info("push notifier: gave up a notify after its attempts", "attempts", r.job.attempts, "code", r.code)
	default:
		n.metrics.notifies.WithLabelValues("refused").Inc()
		n.cfg.Logger.Debug("push notifier: the push server refused a notify", "code", r.code)
	}
	if s != nil {
		s.job = nil
		n.trySend(ctx, r.job.id, s, now)
	}
	n.unstarve(ctx)
}

// unstarve flushes once a send slot is free if work waited for one.
func (n *Notifier) unstarve(ctx context.Context) {
	if n.starved && n.inFlight < n.cfg.MaxInFlight {
		n.flush(ctx)
	}
}

// flush sends what fell due: retries, and coalesced deposits whose
// interval has passed. Subscriptions quiet for an interval are forgotten.
func (n *Notifier) flush(ctx context.Context) {
	now := n.cfg.Clock()
	n.starved = false
	for id, s := range n.subs {
		switch {
		case s.job != nil:
			switch {
			case s.retryAt.IsZero():
			case now.Before(s.retryAt):
				n.wakeAt(s.retryAt)
			case n.inFlight >= n.cfg.MaxInFlight:
				n.starved = true
			default:
				s.retryAt = time.Time{}
				n.launch(ctx, s.job)
			}
		case s.count > 0:
			n.trySend(ctx, id, s, now)
		case now.Sub(s.lastSent) >= n.cfg.Interval:
			delete(n.subs, id)
		}
	}
}
