package client

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/internal/keystore"
	"github.com/hushnet/hush/internal/netclock"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Defaults for [Options].
const (
	DefaultPollInterval = 3 * time.Second
	// DefaultLookback re-reads this much before the poll cursor: anti-
	// entropy repairs and deposits with late timestamps land behind it.
	DefaultLookback = 5 * time.Minute
	// DefaultSafetyNetInterval is fast mode's poll interval: the poll of
	// two members with the lookback that catches what a long-polled
	// member missed or hid.
	DefaultSafetyNetInterval = time.Minute
	// InboxTTL is how long a message waits in a recipient's inbox and a
	// sync copy in the sender's swarm (rpc.MaxTTLPublic).
	InboxTTL = 14 * 24 * time.Hour
	// NamespaceInbox holds 1:1 messages; anyone may deposit.
	NamespaceInbox int32 = 0
	// NamespaceSync is the owner-only namespace of the sender's sync
	// copies (not divisible by 10, so deposits must be signed).
	NamespaceSync int32 = 1
)

// Options configure [Open]. Home and Passphrase are required. With none of
// Network, Standalone or Directory the client works on the local database
// only, and whatever needs the network returns [ErrNoNetwork].
type Options struct {
	Home       string
	Passphrase []byte
	// Network is the parsed network file.
	Network *netfile.Network
	// Standalone is a single standalone node owning every account (its
	// Address and Ed25519 key; the rest is asked of the node); it is
	// always reached directly.
	Standalone *snapshot.Node
	// Direct sends storage RPCs straight to nodes instead of through
	// onion paths (debugging; the nodes see the client's address).
	Direct bool
	// Directory and Transport replace the ones built from the options
	// above (tests).
	Directory Directory
	Transport Transport
	// PollInterval is Receive's interval (DefaultPollInterval if zero);
	// Lookback the window re-read before the cursor (DefaultLookback).
	PollInterval time.Duration
	Lookback     time.Duration
	// SafetyNetInterval is how often Receive polls two members with the
	// lookback in fast mode, beside the long-poll
	// (DefaultSafetyNetInterval if zero).
	SafetyNetInterval time.Duration
	// PushSafetyNetInterval is how often Receive polls in push mode
	// (DefaultPushSafetyNetInterval if zero).
	PushSafetyNetInterval time.Duration
	// HoldWait is the wait of fast mode's long-poll, at most rpc.MaxWait
	// (the default, and the cap).
	HoldWait time.Duration
	// OutboxBackoff paces the outbox's retries (zero fields keep the
	// defaults).
	OutboxBackoff Backoff
	// MaxAttachmentBytes and AutoDownloadBytes override this home's
	// media settings ([Client.MediaSettings]) for this Client when
	// positive.
	MaxAttachmentBytes int64
	AutoDownloadBytes  int64
	// Files replaces the file server built from the network file (tests,
	// or a program with its own way there).
	Files FileServer
	// GroupRotation is how often an admin replaces a stable group's key
	// (one v2 epoch if zero), and GroupRevocationTTL a group revocation
	// list's life in the swarm (rpc.MaxTTLPrivate if zero; an admin
	// republishes it halfway): tests scale both down (group.go).
	GroupRotation      time.Duration
	GroupRevocationTTL time.Duration
	// CallTimeout is how long a call rings unanswered before it ends
	// (DefaultCallTimeout if zero; tests shorten it).
	CallTimeout time.Duration
	// CallSignalSent, when set, sees every call signal this client sends,
	// as sent ("pre-offer", "offer", "answer", "candidates", "end"):
	// audits and tests (that no host candidate leaves in relay mode).
	CallSignalSent func(to identity.AccountID, sig CallSignal)
	// LinkPreviewLoopbackHTTP lets link previews fetch plain http from a
	// loopback address (tests with a local server); otherwise only https
	// to public addresses is fetched (linkpreview.go).
	LinkPreviewLoopbackHTTP bool
	Clock                   func() time.Time
	Logger                  *slog.Logger
}

// Backoff is the outbox's retry policy: the first retry waits Base, each
// further one twice as long up to Max, and an item queued longer than
// GiveUp ago is given up at its next failure. Zero fields keep the
// defaults.
type Backoff struct {
	Base, Max, GiveUp time.Duration
}

// Client is an open home. It is safe for concurrent use; several Clients,
// in one process or several, may share a home.
type Client struct {
	acct  *identity.Account
	db    *clientdb.DB
	seal  sealer
	dir   Directory
	tr    Transport
	pool  *onionclient.Pool // nil when the caller gave the transport
	clock func() time.Time
	log   *slog.Logger
	home  string

	device *devicerecord.Device // this home's device identity (devices.go)

	turn turnCache // the TURN credential in use (turn.go)

	// files is the file server (nil without one) and codec the
	// attachment format (nil in a build without it); attachments.go.
	files FileServer
	codec mediaCodec
	// media holds the Options' overrides of the media settings.
	media MediaSettings

	interval, lookback time.Duration
	// safetyNet and holdWait pace fast mode (hold.go).
	safetyNet, holdWait time.Duration
	// pushSvc is the network file's push server (nil for none), and
	// pushSafetyNet push mode's poll interval (push.go).
	pushSvc       *netfile.Service
	pushSafetyNet time.Duration
	// network is the parsed network file (nil for none); transparency.go.
	network *netfile.Network
	// pushMu serializes the load-modify-save of the push subscription.
	pushMu sync.Mutex
	// groupPushMu serializes the reconciliation of the groups' push
	// subscriptions (grouppush.go), network calls included; taken
	// before pushMu, never while holding it.
	groupPushMu sync.Mutex
	// search is the in-memory search index (search.go).
	search searchIndex
	// groupMu serializes the load-modify-save of group state
	// (group.go).
	groupMu sync.Mutex
	// groupRotation and revTTL: Options.GroupRotation and
	// Options.GroupRevocationTTL with their defaults.
	groupRotation, revTTL time.Duration
	// groupJoined wakes fast mode's loop when a group becomes joined
	// here (created, accepted, synced), so its swarm is long-polled now
	// rather than at the next safety-net poll (groupnet.go).
	groupJoined chan struct{}
	// procMu serializes process: a long-poll's answer and a poll's may
	// carry the same message at once, and it must be stored once.
	procMu sync.Mutex
	// marksMu serializes the updates of the arrival marks (arrivalmarks.go).
	marksMu sync.Mutex

	// netc is the network's time, from the nodes' answers (trust.go).
	netc   *netclock.Clock
	limits pollLimits

	mu sync.Mutex // guards the fields below
	// bad holds the nodes caught misbehaving (trust.go).
	bad map[identity.Ed25519PublicKey]BadNode
	// slow holds when members last missed their deadline (trust.go).
	slow map[identity.Ed25519PublicKey]time.Time
	// clockWarned is when safeNow last warned of a clock disagreement.
	clockWarned time.Time
	subs        map[int]chan Event
	nextSub     int
	// subDropped counts, per subscription, the events emit dropped
	// because its buffer was full (tests print it when a wait fails).
	subDropped map[int]int
	closed     bool
	// sending holds the outbox items being sent, each with a channel
	// closed when its attempt ends (send.go claimItem).
	sending map[int64]chan struct{}
	// fetching holds the attachments being downloaded, by message and
	// index, each with a channel closed when its download ends
	// (media.go fetchOne).
	fetching map[mediaKey]chan struct{}

	flushMu sync.Mutex // one outbox flush at a time per Client; guards flushed
	// flushed is set after the first flush: that one sends every item,
	// due or not, because a new command is a new chance to reach the
	// network; the backoff paces retries within a long-running client.
	flushed bool

	dropped, received atomic.Int64

	// running is set while Run runs, and modeChanged asks it to restart
	// its receive loop in a new notification mode (run.go).
	running     atomic.Bool
	modeChanged chan struct{}

	// v2mu serializes the load-modify-save of this device's prekeys and
	// its record publication (v2keys.go).
	v2mu sync.Mutex
	// flagsMu serializes the load-modify-save of the chat flags setting
	// (chatflags.go).
	flagsMu sync.Mutex
	// configMu serializes config syncs, each a load-merge-save of the
	// whole config state (config.go).
	configMu sync.Mutex
	// timerMu serializes the changes of conversations' disappearing
	// settings with their change records (disappear.go): a peer's older
	// setting checked against the record, then written, must not land
	// over the user's change made in between. Taken after configMu.
	timerMu sync.Mutex
	// timerTestHook, when set (tests only), runs with "adopt" in
	// adoptTimer's locked section before it writes, and with "lock"
	// just before timerMu is taken elsewhere.
	timerTestHook func(string)
	// previewLoopback is Options.LinkPreviewLoopbackHTTP.
	previewLoopback bool
	// prekeyTestHook, when set (tests only), runs inside PublishKeys'
	// locked section, after the keys are generated and before they are
	// saved: the window two processes on one home could race in.
	prekeyTestHook func()
	// recordCache holds recently fetched device records (v2keys.go);
	// guarded by mu.
	recordCache map[recordCacheKey]cachedRecordSet
	// ownRecordsGone is set when a fetch of the own account's records
	// found none of this device (v2keys.go): the next KeyDuties
	// republishes whatever the local publication state says. Guarded by
	// mu.
	ownRecordsGone bool
	// recent holds, per polled namespace, the hashes of messages seen
	// lately with their deposit times (ms): a poll's known list
	// (receive.go knownSince).
	recent map[int32]map[string]int64
	// recordRefresh and recordStale pace the record cache (v2keys.go;
	// tests shorten them); guarded by mu.
	recordRefresh, recordStale time.Duration

	// bg is the context of the Client's background work (record
	// refreshes), cancelled by Close, which then waits for bgWG. bgWG.Add
	// happens under mu while closed is false, so Close's Wait is last.
	bg     context.Context
	bgStop context.CancelFunc
	bgWG   sync.WaitGroup

	// calls is this Client's calls, in memory (call.go).
	calls callBook
}

// Open unlocks the home with the passphrase and opens its database. With
// a network, it asks a standalone node's info for its network ID, and
// publishes this device's protocol v2 records when they are due
// ([Client.KeyDuties], best effort and time-bounded), so that a home that
// only receives stays reachable. It returns [ErrWrongPassphrase]
// for a wrong passphrase, and a [*DaemonRunningError] while a daemon
// owns the home (the daemon opens it through its claim's [Home]).
func Open(ctx context.Context, o Options) (*Client, error) {
	return openHome(ctx, o, nil)
}

// openHome is [Open] through h when the caller has a Home: only that value
// knows whether it is a daemon's claim.
func openHome(ctx context.Context, o Options, h *Home) (*Client, error) {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Lookback <= 0 {
		o.Lookback = DefaultLookback
	}
	if o.SafetyNetInterval <= 0 {
		o.SafetyNetInterval = DefaultSafetyNetInterval
	}
	if o.PushSafetyNetInterval <= 0 {
		o.PushSafetyNetInterval = DefaultPushSafetyNetInterval
	}
	if o.HoldWait <= 0 || o.HoldWait > rpc.MaxWait {
		o.HoldWait = rpc.MaxWait
	}
	home := h
	if home == nil {
		var err error
		if home, err = NewHome(o.Home); err != nil {
			return nil, err
		}
	}
	o.Home = home.Dir()
	if err := home.checkDaemon(); err != nil {
		return nil, err
	}
	sec, err := keystore.Open(home.keyPath(), o.Passphrase)
	if err != nil {
		return nil, err
	}
	b := o.OutboxBackoff
	db, err := clientdb.Open(home.dbPath(), sec.DBKey, clientdb.WithOutboxBackoff(b.Base, b.Max, b.GiveUp))
	if err != nil {
		return nil, err
	}
	c := &Client{
		acct: sec.Account, db: db, seal: v1{sec.Account}, clock: o.Clock, log: o.Logger, home: o.Home,
		interval: o.PollInterval, lookback: o.Lookback, safetyNet: o.SafetyNetInterval, holdWait: o.HoldWait, subs: map[int]chan Event{},
		modeChanged: make(chan struct{}, 1), groupJoined: make(chan struct{}, 1),
		netc: netclock.New(o.Clock, 0), limits: defaultLimits, pushSafetyNet: o.PushSafetyNetInterval,
		files: o.Files, codec: newMediaCodec(),
		media:         MediaSettings{MaxAttachmentBytes: o.MaxAttachmentBytes, AutoDownloadBytes: o.AutoDownloadBytes},
		recordRefresh: recordRefresh, recordStale: recordCacheTTL,
	}
	c.groupRotation, c.revTTL = o.GroupRotation, o.GroupRevocationTTL
	if c.groupRotation <= 0 {
		c.groupRotation = groupRotation
	}
	if c.revTTL <= 0 || c.revTTL > rpc.MaxTTLPrivate {
		c.revTTL = rpc.MaxTTLPrivate
	}
	c.bg, c.bgStop = context.WithCancel(context.Background())
	c.calls.timeout = o.CallTimeout
	c.calls.trace = o.CallSignalSent
	c.previewLoopback = o.LinkPreviewLoopbackHTTP
	if c.calls.timeout <= 0 {
		c.calls.timeout = DefaultCallTimeout
	}
	if o.Network != nil {
		c.pushSvc = o.Network.Services.Push
		c.network = o.Network
	}
	if c.device, err = ensureDevice(db, sec.Account.ID(), o.Clock()); err != nil {
		db.Close()
		return nil, err
	}
	if err := c.wire(ctx, o); err != nil {
		db.Close()
		return nil, err
	}
	// Protocol v2 between hush clients; v1 stays for tooling and tests.
	c.seal = &v2{c: c}
	c.openKeyDuties(ctx)
	return c, nil
}

// wire builds the directory and transport: the one place that decides how
// the client reaches the network.
func (c *Client) wire(ctx context.Context, o Options) error {
	c.dir, c.tr = o.Directory, o.Transport
	if c.tr == nil && (o.Direct || o.Standalone != nil) {
		c.pool = onionclient.NewPool(onionclient.PoolConfig{})
		c.tr = &DirectTransport{poster: c.pool}
	}
	if c.dir == nil && o.Standalone != nil {
		sd, err := c.standalone(ctx, o.Standalone)
		if err != nil {
			return err
		}
		c.dir = sd
	}
	if c.dir != nil && c.tr != nil {
		return nil
	}
	if o.Network == nil {
		c.dir = noNetwork{}
		return nil
	}
	if c.pool == nil {
		c.pool = onionclient.NewPool(onionclient.PoolConfig{})
	}
	sd := newSnapshotDirectory(o.Network, o.Home, c.pool, o.Clock)
	if c.dir == nil {
		c.dir = sd
	}
	if c.tr == nil {
		m, err := paths.New(paths.Options{
			Snapshot:  sd.Current,
			Loopback:  o.Network.Loopback,
			StateFile: filepath.Join(o.Home, PathsFile),
			Transport: c.pool,
			Clock:     o.Clock,
			NetClock:  c.netc,
			Logger:    o.Logger,
			Verifier:  o.Network.SnapshotVerifier(),
			OnChange:  func() { c.emit(Event{Kind: EventPaths}) },
		})
		if err != nil {
			return err
		}
		sd.Fetch = m.FetchSnapshot
		c.tr = m
	}
	if m, ok := c.tr.(*paths.Manager); ok && c.files == nil && o.Network.Services.Files != nil {
		// The file server only through onion paths: a direct connection
		// would show it the client's address.
		c.files = newNetworkFiles(m, *o.Network.Services.Files)
	}
	return nil
}

// standaloneSetting remembers what a standalone node's info said, so a
// home can queue messages while the node is down.
const standaloneSetting = "client/standalone-node"

// standalone asks the node for its network ID and key, or, when it cannot
// be reached, takes them from the last time it could.
func (c *Client) standalone(ctx context.Context, n *snapshot.Node) (*StandaloneDirectory, error) {
	sd, err := NewStandaloneDirectory(ctx, c.tr, n.Address, n.Ed25519)
	if err == nil {
		if b, err := json.Marshal(sd); err == nil {
			c.db.SetSetting(standaloneSetting, b) // best effort: a cache
		}
		return sd, nil
	}
	if !errors.Is(err, ErrUnreachable) {
		return nil, err
	}
	b, serr := c.db.Setting(standaloneSetting)
	if serr != nil {
		return nil, err
	}
	var cached StandaloneDirectory
	// The key is the node's identity; its address may have changed.
	if json.Unmarshal(b, &cached) != nil || cached.Node.Ed25519 != n.Ed25519 {
		return nil, err
	}
	cached.Node.Address = n.Address
	return &cached, nil
}

// Close ends subscriptions and closes the database and idle connections.
// Methods that use the database fail after Close with the database's
// closed error; a running [Client.Receive] should be stopped first.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	for id, ch := range c.subs {
		close(ch)
		delete(c.subs, id)
	}
	for _, set := range c.recordCache {
		if set.timer != nil {
			set.timer.Stop()
		}
	}
	c.mu.Unlock()
	// Background work ends before the database closes under it.
	if c.bgStop != nil {
		c.bgStop()
	}
	c.bgWG.Wait()
	if f, ok := c.tr.(interface{ Flush() }); ok {
		f.Flush() // the paths' last_ok, for `hush path`
	}
	if c.pool != nil {
		c.pool.Close()
	}
	return c.db.Close()
}

// Account returns the home's Account ID.
func (c *Client) Account() identity.AccountID { return c.acct.ID() }

// NetworkID returns the ID of the network the client uses.
func (c *Client) NetworkID() string { return c.dir.NetworkID() }

// now is the network's time as far as the client knows it: the local
// clock corrected by the median offset of distinct nodes' answers. It
// signs and seals; destructive decisions take safeNow (trust.go).
func (c *Client) now() time.Time { return c.netc.Now() }

// signTime returns a network time strictly later than every one handed
// out before, so no two signatures of this client are equal (nodes refuse
// a repeated signature as a replay).
func (c *Client) signTime() time.Time { return c.netc.Stamp(1) }

// EventKind says what an [Event] reports.
type EventKind int

const (
	// EventReceived: a new message arrived (incoming, or a sync copy of
	// one sent from another device).
	EventReceived EventKind = 1 + iota
	// EventSent: an outgoing message was stored in its recipient's swarm.
	EventSent
	// EventFailed: the outbox gave an outgoing message up.
	EventFailed
	// EventDropped: a fetched message could not be opened or was invalid;
	// Err says why.
	EventDropped
	// EventTransfer: an attachment's upload or download progressed;
	// Transfer says how far (attachments.go).
	EventTransfer
	// EventTyping: a contact started or stopped typing; Typing says who
	// and which. A "started" is not repeated while the contact types on,
	// so a receiver expires it itself after [TypingExpiry] (typing.go).
	EventTyping
	// EventStatus: an outgoing message's status changed (a delivered or
	// read receipt arrived); Message holds it with its new Status.
	EventStatus
	// EventPaths: the onion paths changed (built, dropped, rebuilt);
	// nothing else is set: read them with [Home.WritePaths].
	EventPaths
	// EventUnsent: a message was unsent or deleted by its author,
	// deleted here ([Client.DeleteMessage]), or disappeared; Message
	// holds its LocalID, Peer and ID.
	EventUnsent
	// EventRequest: a new message request arrived (the first message
	// from an account that is not a contact); Message holds it.
	EventRequest
	// EventCall: a call changed state or brought a signal for the media
	// engine; Call holds the call now and CallSignal the signal (nil for
	// a pure state change). call.go.
	EventCall
)

// Event is something a UI may want to show.
type Event struct {
	Kind    EventKind
	Message Message // unset for EventDropped
	Err     error   // EventDropped only
	Device  Device  // EventNewDevice only
	// Transfer is set for EventTransfer only.
	Transfer Transfer
	// Typing is set for EventTyping only.
	Typing Typing
	// Call and CallSignal are set for EventCall only.
	Call       *Call
	CallSignal *CallSignal
}

// Subscribe returns a channel of events with room for buf of them and a
// function that ends the subscription. Events that find the channel full
// are dropped for that subscriber, so a slow UI never stalls receiving;
// the database stays the source of truth.
func (c *Client) Subscribe(buf int) (<-chan Event, func()) {
	ch := make(chan Event, buf)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		close(ch)
		return ch, func() {}
	}
	id := c.nextSub
	c.nextSub++
	c.subs[id] = ch
	return ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if ch, ok := c.subs[id]; ok {
			close(ch)
			delete(c.subs, id)
			delete(c.subDropped, id)
		}
	}
}

func (c *Client) emit(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, ch := range c.subs {
		select {
		case ch <- e:
		default:
			if c.subDropped == nil {
				c.subDropped = map[int]int{}
			}
			c.subDropped[id]++
			c.log.Debug("event dropped: the subscriber's buffer is full", "kind", e.Kind)
		}
	}
}

// Stats counts what this Client did since Open.
type Stats struct {
	Received int64 // new messages stored by polls
	Dropped  int64 // fetched messages that did not open or validate
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{Received: c.received.Load(), Dropped: c.dropped.Load()}
}

// noNetwork is the directory of a client opened without a network.
type noNetwork struct{}

func (noNetwork) NetworkID() string { return "" }
func (noNetwork) SwarmFor(context.Context, identity.AccountID) ([]snapshot.Node, error) {
	return nil, ErrNoNetwork
}
func (noNetwork) Invalidate() {}
