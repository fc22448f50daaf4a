package replication

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/replay"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Member is a node of the network as replication reaches it.
type Member struct {
	Key     identity.Ed25519PublicKey
	Address string // host:port
}

// Membership answers who stores what, from the current verified registry
// snapshot. All methods must be safe for concurrent use and cheap: they
// run on every request. [SnapshotMembership] implements it.
type Membership interface {
	// Members returns every member of the swarm that stores acct, this
	// node included if it is one; nil when there is no swarm.
	Members(acct identity.AccountID) []snapshot.Node
	// Owns reports whether this node is a member of acct's swarm.
	Owns(acct identity.AccountID) bool
	// IsMember reports whether node is a current member of acct's swarm.
	IsMember(node identity.Ed25519PublicKey, acct identity.AccountID) bool
	// WasMember reports whether node was a member of acct's swarm in one
	// of the recent snapshots before the current one (hand-offs come from
	// such nodes; [PastSnapshots]).
	WasMember(node identity.Ed25519PublicKey, acct identity.AccountID) bool
	// Known reports whether node is registered in the current snapshot or
	// one of the recent ones before it.
	Known(node identity.Ed25519PublicKey) bool
	// Peers returns the other members of this node's swarm.
	Peers() []snapshot.Node
}

// Config holds a Replicator's dependencies and tunables. Key, NetworkID,
// Store, Membership, Clock and Logger are required; zero tunables take
// the defaults below.
type Config struct {
	Key       ed25519.PrivateKey // the node's identity key
	NetworkID string
	// Store is the node's message store. A node passes a
	// *sqlite.GroupCommit, so that the stores of concurrent applies from
	// peers share one commit.
	Store      store.Replica
	Membership Membership
	Clock      func() time.Time
	Logger     *slog.Logger

	// ForwardTimeout bounds how long a store waits for a peer's
	// confirmation, and how long a forward may wait in a peer's queue and
	// in flight (default 3 s); a peer slower than that is left to
	// anti-entropy.
	ForwardTimeout time.Duration
	// ForwardQueue bounds the operations queued for one peer (default
	// 1,024); forwards past it are left to anti-entropy.
	ForwardQueue int
	// AntiEntropyInterval is the time between reconciliation rounds
	// (default 30 s).
	AntiEntropyInterval time.Duration
	// RoundBytes bounds the message data one round moves (default 32 MiB).
	RoundBytes int64
	// BatchBytes bounds the message data of one fetch reply or push
	// (default 1 MiB).
	BatchBytes int
	// PeerRate and PeerBurst are the token bucket of requests per peer
	// node identity (default 2,000/s with a burst of 4,000).
	PeerRate  float64
	PeerBurst int
	// PeerInFlight bounds the node RPC requests one peer node identity
	// may have in progress here (default 8), and InFlight those of all
	// peers together (default 128). With bodies of at most
	// rpc.MaxNodeRequestBody they bound the memory peers can hold.
	PeerInFlight int
	InFlight     int
	// PlainHTTP talks to peers over http:// (nodes run with
	// --insecure-http, for debugging only).
	PlainHTTP bool
	// FaultDropForwards, when set and true, makes this node refuse
	// incoming forwards (not repairs or hand-offs). Tests only: it shows
	// that anti-entropy alone repairs what forwards missed.
	FaultDropForwards *atomic.Bool
	// Deposits, when set, is told of each message a peer's forward added
	// to this node's store: a new deposit that reached the swarm through
	// another member. Repairs and hand-offs are not told: they carry old
	// messages, which must wake nobody (push notifications,
	// internal/pushnotify).
	Deposits Deposits
}

// Deposits is told of new deposits: messages a client stored on this node
// (internal/nodeapi) or that a swarm peer forwarded. Deposited is called
// after the message is committed, on the storing request's goroutine, so
// it must return at once (queue, never wait). internal/pushnotify
// implements it.
type Deposits interface {
	Deposited(m store.Message)
}

func (c *Config) setDefaults() {
	if c.ForwardTimeout <= 0 {
		c.ForwardTimeout = 3 * time.Second
	}
	if c.ForwardQueue <= 0 {
		c.ForwardQueue = 1024
	}
	if c.AntiEntropyInterval <= 0 {
		c.AntiEntropyInterval = 30 * time.Second
	}
	if c.RoundBytes <= 0 {
		c.RoundBytes = 32 << 20
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = 1 << 20
	}
	// A push of BatchBytes of data, base64-encoded in JSON, must fit a
	// request body.
	c.BatchBytes = min(c.BatchBytes, maxApplyData)
	if c.PeerInFlight <= 0 {
		c.PeerInFlight = 8
	}
	if c.InFlight <= 0 {
		c.InFlight = 128
	}
	if c.PeerRate <= 0 {
		c.PeerRate = 2000
	}
	if c.PeerBurst <= 0 {
		c.PeerBurst = 4000
	}
}

// Replicator forwards, serves and repairs one node's share of its swarm.
// It is safe for concurrent use.
type Replicator struct {
	cfg    Config
	self   identity.Ed25519PublicKey
	replay *replay.Cache

	mu            sync.Mutex               // guards the maps below
	clients       map[string]*peerClient   // by key hex + "@" + address
	limiters      map[string]*rate.Limiter // by sender key hex
	inFlight      map[string]int           // requests being served, by sender key hex
	inFlightTotal int
	handler       http.Handler
	digests       digestCache
	queues        map[string]*forwardQueue // by key hex + "@" + address

	stats  forwardStats
	signer confirmSigner
	// life ends when Close is called; forwards still queued or in flight
	// then fail, so no goroutine outlives the Replicator for long.
	life  context.Context
	close context.CancelFunc
}

// maxApplyData bounds the message data of one apply a node sends: base64
// (4/3) plus the JSON around each op stays under rpc.MaxNodeRequestBody.
const maxApplyData = rpc.MaxNodeRequestBody / 2

// maxPeerLimiters bounds the limiter table; only authenticated, registered
// nodes get an entry, so this is far above any real network's size.
const maxPeerLimiters = 10_000

// New returns a Replicator.
func New(cfg Config) (*Replicator, error) {
	switch {
	case len(cfg.Key) != ed25519.PrivateKeySize:
		return nil, errors.New("replication: no node key")
	case cfg.NetworkID == "":
		return nil, errors.New("replication: no network ID")
	case cfg.Store == nil:
		return nil, errors.New("replication: no store")
	case cfg.Membership == nil:
		return nil, errors.New("replication: no membership")
	case cfg.Clock == nil:
		return nil, errors.New("replication: no clock")
	case cfg.Logger == nil:
		return nil, errors.New("replication: no logger")
	}
	cfg.setDefaults()
	r := &Replicator{
		cfg:  cfg,
		self: identity.Ed25519PublicKeyOf(cfg.Key),
		// Entries outlive the whole ±SigTolerance window of a timestamp.
		replay:   replay.New(1<<16, 2*rpc.SigTolerance+time.Second),
		clients:  make(map[string]*peerClient),
		limiters: make(map[string]*rate.Limiter),
		inFlight: make(map[string]int),
		queues:   make(map[string]*forwardQueue),
	}
	r.signer = confirmSigner{networkID: cfg.NetworkID, key: cfg.Key}
	r.life, r.close = context.WithCancel(context.Background())
	r.handler = http.HandlerFunc(r.serve)
	return r, nil
}

// Self returns this node's key.
func (r *Replicator) Self() identity.Ed25519PublicKey { return r.self }

// Close ends the forwards still queued or in flight (left to anti-entropy)
// and releases idle connections to peers.
func (r *Replicator) Close() {
	r.close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.clients {
		c.hc.CloseIdleConnections()
	}
}
