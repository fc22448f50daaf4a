package paths

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/netclock"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Path shape and failure policy, from session-desktop
// ts/session/onions/onionPath.ts (desiredGuardCount, ONION_REQUEST_HOPS,
// pathFailureThreshold) and snode_api/onions.ts (snodeFailureThreshold).
const (
	Guards      = 2
	Relays      = 3
	MaxFailures = 3
	// attempts is how often Do tries a request that failed before it
	// reached the destination.
	attempts = 3
	// guardTestTimeout bounds the direct info request to a candidate.
	guardTestTimeout = 5 * time.Second
	// DefaultAttemptTimeout bounds one attempt of a request on one path
	// when the caller's context allows longer (or has no deadline). A
	// guard answers within its own deadline (the hops' time-outs plus the
	// body deadline, about half a minute) unless it or the connection to
	// it is stuck; without a bound of its own the client would wait on
	// such a guard forever instead of trying another path.
	DefaultAttemptTimeout = 45 * time.Second
)

// Errors returned by [Manager] methods.
var (
	// ErrNotEnoughNodes: the snapshot has too few usable nodes (or too
	// few distinct /24 networks) for guards and paths.
	ErrNotEnoughNodes = errors.New("paths: not enough nodes for onion paths")
	// ErrNoSnapshot: the snapshot provider has no snapshot yet.
	ErrNoSnapshot = errors.New("paths: no snapshot")
	// ErrClockSkew: the destination refused a signed timestamp; the
	// manager has adjusted its clock offset, so sign again with Now.
	ErrClockSkew = errors.New("paths: clock out of sync with the network")
)

// WrongSwarmError is returned by [Manager.Do] with a 421 answer: the node
// does not hold the account and named the swarm that does.
type WrongSwarmError struct {
	Swarm *rpc.SwarmResult // nil if the answer named none
}

func (e *WrongSwarmError) Error() string { return "paths: node is not in the account's swarm" }

// Options configure a [Manager]. Snapshot and Transport are required.
type Options struct {
	// Snapshot returns the newest verified snapshot, or nil.
	Snapshot func() *snapshot.Snapshot
	// Loopback allows relays of one path in the same /24 (network file).
	Loopback bool
	// StateFile stores guards and paths; empty keeps them in memory only.
	StateFile string
	// Transport carries requests over connections pinned per node key
	// (onionclient.Pool).
	Transport onionclient.Poster
	// Clock defaults to time.Now.
	Clock func() time.Time
	// NetClock is the network clock the manager feeds with the time in
	// clock-skew answers and signs snapshots' checks by; the client shares
	// its own, so there is one per client. Nil makes one from Clock and
	// the offset saved in the state file.
	NetClock *netclock.Clock
	Logger   *slog.Logger
	// AttemptTimeout bounds one attempt on one path; 0 means
	// DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// Verifier verifies fetched snapshots.
	Verifier snapshot.Verifier
	// NoSessions sends full requests only: no onion sessions at the
	// guard and middle relay (docs/onion.md). For comparisons.
	NoSessions bool
	// OnChange, if set, is called after the set of paths changed (built,
	// dropped or rebuilt), with no lock held, from whichever request
	// noticed. It must not block.
	OnChange func()
}

// Manager keeps a client's onion paths. It is safe for concurrent use:
// requests share paths, and path building is serialized.
type Manager struct {
	opts Options

	// buildMu serializes building, which does network I/O (guard tests)
	// without holding mu.
	buildMu sync.Mutex

	mu sync.Mutex // guards everything below
	// guards are the current guards' keys, in selection order.
	guards []identity.Ed25519PublicKey
	paths  []*path
	// fails counts a node's failures since it last worked.
	fails map[identity.Ed25519PublicKey]int
	// avoid holds nodes dropped for failing, until the snapshot's epoch
	// changes: a new snapshot is a fresh view of who is up.
	avoid map[identity.Ed25519PublicKey]bool
	// epoch is the snapshot epoch paths were last checked against, if
	// checked; paths loaded from the state file hold keys and addresses
	// only until the first check.
	epoch   uint64
	checked bool
	netc    *netclock.Clock
	// bad holds the nodes the client caught misbehaving (MarkBad), newest
	// first, at most maxBad, for `hush path`.
	bad     []BadNode
	savedAt time.Time
	// unsaved: a success since the last save is not on disk yet.
	unsaved bool
	// shape names the paths' relays as OnChange last saw them.
	shape string

	saveMu sync.Mutex // serializes state file writes, in order
}

// path is one path of relays; its slice is replaced, never modified, so
// a request in flight keeps a consistent copy.
type path struct {
	nodes    []snapshot.Node
	lastOK   time.Time
	failures int
	// sess are the path's onion sessions, made on first use; a one-off
	// path (pick) has none.
	sess   *onionclient.Sessions
	oneOff bool
}

// sessions returns p's onion sessions, nil for none.
func (m *Manager) sessions(p *path) *onionclient.Sessions {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.sess == nil && !p.oneOff && !m.opts.NoSessions {
		p.sess = onionclient.NewSessions(m.opts.Clock)
	}
	return p.sess
}

// New returns a manager, loading guards and paths from the state file if
// it exists. Nothing is contacted until the first request.
func New(opts Options) (*Manager, error) {
	if opts.Snapshot == nil || opts.Transport == nil {
		return nil, errors.New("paths: snapshot provider and transport are required")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = DefaultAttemptTimeout
	}
	m := &Manager{opts: opts, fails: map[identity.Ed25519PublicKey]int{}, avoid: map[identity.Ed25519PublicKey]bool{}}
	var saved time.Duration
	if opts.StateFile != "" {
		st, err := loadState(opts.StateFile)
		if err != nil {
			return nil, err
		}
		m.fromState(st)
		m.shape = m.shapeLocked() // loaded, not changed
		saved = time.Duration(st.ClockOffsetMs) * time.Millisecond
	}
	m.netc = opts.NetClock
	if m.netc == nil {
		m.netc = netclock.New(opts.Clock, saved)
	}
	return m, nil
}

// Now is the client's clock corrected by the offset learnt from nodes:
// the time to put into signed requests.
func (m *Manager) Now() time.Time { return m.clock().Now() }

// ClockOffset is the network's time minus the client's.
func (m *Manager) ClockOffset() time.Duration { return m.clock().Offset() }

// clock returns the network clock; a Manager built without New gets one
// over its local clock on first use.
func (m *Manager) clock() *netclock.Clock {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.netc == nil {
		m.netc = netclock.New(m.opts.Clock, 0)
	}
	return m.netc
}

// Do sends one storage RPC body through a path to dest and returns the
// destination's status and body. Failures are *onionclient.HopError
// values naming the position that failed, a *WrongSwarmError (with the
// 421 status and body), or an error wrapping ErrClockSkew (with the
// status and body).
func (m *Manager) Do(ctx context.Context, dest snapshot.Node, body []byte) (int, []byte, error) {
	return m.DoHold(ctx, dest, body, 0)
}

// DoHold is Do for a request the destination may hold open, fast mode's
// long-poll: body is a retrieve whose wait is at most hold, and every
// layer of the onion asks its node for hold (onion.MaxHold at most; see
// onionclient.SendHold). Each attempt's time-out grows by hold. A hold of
// 0 is Do.
//
// A time-out reported by a relay is returned at once, neither retried nor
// charged to any node: under a hold it means that a relay's own cap
// (max_hold) ended the wait, not that the node after it failed, so
// charging it would tear down working paths one long-poll at a time. The
// caller polls again.
func (m *Manager) DoHold(ctx context.Context, dest snapshot.Node, body []byte, hold time.Duration) (int, []byte, error) {
	status, resp, start, err := m.do(ctx, dest.Ed25519, hold, func(ctx context.Context, p *path) (int, []byte, error) {
		return m.sessions(p).SendHold(ctx, m.opts.Transport, p.nodes, dest, body, hold)
	})
	if err != nil {
		return 0, nil, err
	}
	return status, resp, m.interpret(dest, status, resp, start)
}

// DoServer sends body through a path to a steward server (file or push
// server from the network file): target is its endpoint, which the last
// relay must have on its allow-list, and serverKey its X25519 key. It
// returns the server's status and body; failures are as for Do, a
// *onionclient.HopError at position Relays blaming the server.
func (m *Manager) DoServer(ctx context.Context, target onion.ServerTarget, serverKey snapshot.X25519Key, body []byte) (int, []byte, error) {
	status, resp, _, err := m.do(ctx, identity.Ed25519PublicKey{}, 0, func(ctx context.Context, p *path) (int, []byte, error) {
		return m.sessions(p).SendServer(ctx, m.opts.Transport, p.nodes, target, serverKey, body)
	})
	return status, resp, err
}

// do runs send on a path, charging failures and retrying those that
// happened before the destination on another path. hold is the request's
// hold (see DoHold). It returns when the last attempt started, for the
// clock offset.
func (m *Manager) do(ctx context.Context, dest identity.Ed25519PublicKey, hold time.Duration, send func(context.Context, *path) (int, []byte, error)) (int, []byte, time.Time, error) {
	var lastErr error
	for range attempts {
		p, err := m.pick(ctx, dest)
		if err != nil {
			return 0, nil, time.Time{}, err
		}
		start := m.opts.Clock()
		actx, cancel := context.WithTimeout(ctx, m.opts.AttemptTimeout+hold)
		status, resp, err := send(actx, p)
		cancel()
		if err == nil {
			m.succeeded(p)
			return status, resp, start, nil
		}
		if ctx.Err() != nil {
			return 0, nil, start, ctx.Err()
		}
		if hold > 0 && errors.Is(err, onion.ErrTimeout) {
			return 0, nil, start, err
		}
		m.failed(p, err)
		lastErr = err
		var he *onionclient.HopError
		if !errors.As(err, &he) || he.Hop < 0 || he.Hop >= len(p.nodes) {
			// It may have reached the destination: repeating it is the
			// caller's decision.
			return 0, nil, start, err
		}
	}
	return 0, nil, time.Time{}, lastErr
}

// interpret turns the answers the manager acts on into errors.
func (m *Manager) interpret(dest snapshot.Node, status int, resp []byte, start time.Time) error {
	if status/100 == 2 {
		return nil
	}
	var eb rpc.ErrorBody
	if json.Unmarshal(resp, &eb) != nil {
		return nil
	}
	switch {
	case status == rpc.CodeWrongSwarm.Status() || (eb.Error != nil && eb.Error.Code == rpc.CodeWrongSwarm):
		return &WrongSwarmError{Swarm: eb.Swarm}
	case eb.Error != nil && eb.Error.Code == rpc.CodeClockSkew && eb.T > 0:
		// One node's time is one sample: the offset is the median over
		// distinct nodes (internal/netclock), so a lying node cannot set it.
		m.clock().Observe(dest.Ed25519.String(), start, m.opts.Clock(), eb.T)
		m.save()
		return fmt.Errorf("%w: offset now %v", ErrClockSkew, m.ClockOffset().Round(time.Millisecond))
	}
	return nil
}

// pick returns a path that does not contain dest, building paths first
// if needed.
func (m *Manager) pick(ctx context.Context, dest identity.Ed25519PublicKey) (*path, error) {
	if err := m.ensure(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var ok []*path
	for _, p := range m.paths {
		if !slices.ContainsFunc(p.nodes, func(n snapshot.Node) bool { return n.Ed25519 == dest }) {
			ok = append(ok, p)
		}
	}
	if len(ok) > 0 {
		return ok[rand.IntN(len(ok))], nil
	}
	// Every path runs through dest (a tiny network): make a one-off path
	// with the first path's guard, as onionPath.ts getOnionPath does with
	// toExclude.
	s := m.opts.Snapshot()
	if s == nil || len(m.paths) == 0 {
		return nil, ErrNoSnapshot
	}
	g := m.paths[0].nodes[0]
	if g.Ed25519 == dest {
		g = m.paths[len(m.paths)-1].nodes[0]
	}
	nodes, err := m.drawRelays(s, g, map[identity.Ed25519PublicKey]bool{dest: true})
	if err != nil {
		return nil, err
	}
	return &path{nodes: nodes, oneOff: true}, nil
}

// succeeded records that p carried a request to its destination.
func (m *Manager) succeeded(p *path) {
	m.mu.Lock()
	now := m.opts.Clock()
	p.lastOK, p.failures = now, 0
	for _, n := range p.nodes {
		delete(m.fails, n.Ed25519)
	}
	// Persist last_ok now and then, not on every request; Flush writes the
	// rest when the client closes.
	due := now.Sub(m.savedAt) > 30*time.Second
	m.unsaved = !due
	m.mu.Unlock()
	if due {
		m.save()
	}
}

// failed charges a failure to the hop or path err names.
func (m *Manager) failed(p *path, err error) {
	m.mu.Lock()
	changed := false
	defer func() {
		m.mu.Unlock()
		if changed {
			m.save()
			m.noteChange()
		}
	}()
	var he *onionclient.HopError
	if !errors.As(err, &he) || he.Hop >= len(p.nodes) {
		return // the destination failed, not the path
	}
	live := slices.Contains(m.paths, p)
	if he.Hop < 0 {
		p.failures++
		if live && p.failures >= MaxFailures {
			m.logf("dropping a path after %d failures", p.failures)
			m.dropPath(p)
			changed = true
		}
		return
	}
	k := p.nodes[he.Hop].Ed25519
	m.fails[k]++
	if m.fails[k] < MaxFailures {
		return
	}
	delete(m.fails, k)
	m.avoid[k] = true
	changed = true
	if he.Hop == 0 {
		m.logf("dropping guard %s after %d failures", k.String()[:12], MaxFailures)
		m.guards = slices.DeleteFunc(m.guards, func(g identity.Ed25519PublicKey) bool { return g == k })
		m.paths = slices.DeleteFunc(m.paths, func(q *path) bool { return q.nodes[0].Ed25519 == k })
		return
	}
	// Drop whichever path holds the relay now; ensure rebuilds it around
	// the same guard, without this node.
	m.logf("replacing relay %s after %d failures", k.String()[:12], MaxFailures)
	m.paths = slices.DeleteFunc(m.paths, func(q *path) bool {
		return slices.ContainsFunc(q.nodes[1:], func(n snapshot.Node) bool { return n.Ed25519 == k })
	})
}

// noteChange calls OnChange if the paths' relays differ from when it
// last looked. m.mu must not be held.
func (m *Manager) noteChange() {
	if m.opts.OnChange == nil {
		return
	}
	m.mu.Lock()
	shape := m.shapeLocked()
	changed := shape != m.shape
	m.shape = shape
	m.mu.Unlock()
	if changed {
		m.opts.OnChange()
	}
}

// shapeLocked names the paths' relays in order. m.mu must be held.
func (m *Manager) shapeLocked() string {
	var b strings.Builder
	for _, p := range m.paths {
		for _, n := range p.nodes {
			b.WriteString(n.Ed25519.String())
		}
		b.WriteByte('|')
	}
	return b.String()
}

func (m *Manager) dropPath(p *path) {
	m.paths = slices.DeleteFunc(m.paths, func(q *path) bool { return q == p })
}

func (m *Manager) logf(format string, args ...any) {
	m.opts.Logger.Info(fmt.Sprintf(format, args...))
}

// PathInfo describes one path for `hush path`.
type PathInfo struct {
	Hops []HopInfo `json:"hops"`
	// LastOK is when the path last carried a request; nil if never.
	LastOK *time.Time `json:"last_ok"`
}

// HopInfo is one relay of a path.
type HopInfo struct {
	Ed25519 identity.Ed25519PublicKey `json:"pubkey_ed25519"`
	Address string                    `json:"address"`
}

// Paths returns the current paths, guard first in each.
func (m *Manager) Paths() []PathInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]PathInfo, 0, len(m.paths))
	for _, p := range m.paths {
		pi := PathInfo{}
		for _, n := range p.nodes {
			pi.Hops = append(pi.Hops, HopInfo{Ed25519: n.Ed25519, Address: n.Address})
		}
		if !p.lastOK.IsZero() {
			t := p.lastOK
			pi.LastOK = &t
		}
		out = append(out, pi)
	}
	return out
}

// network returns the group of addresses a path may use only once: the
// /24 of an IPv4 address, the /48 of an IPv6 one, a DNS name itself.
func network(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	bits := 24
	if !ip.Unmap().Is4() {
		bits = 48
	}
	p, _ := ip.Unmap().Prefix(bits)
	return p.String()
}

// BadNode is a node the client caught misbehaving, as `hush path` shows
// it.
type BadNode struct {
	Ed25519 identity.Ed25519PublicKey `json:"pubkey_ed25519"`
	Reason  string                    `json:"reason"`
	At      time.Time                 `json:"at"`
}

// maxBad bounds the bad nodes kept.
const maxBad = 32

// MarkBad records that the client caught node key misbehaving (reason
// says how) and saves it for `hush path`.
func (m *Manager) MarkBad(key identity.Ed25519PublicKey, reason string, at time.Time) {
	m.mu.Lock()
	m.bad = slices.DeleteFunc(m.bad, func(b BadNode) bool { return b.Ed25519 == key })
	m.bad = slices.Insert(m.bad, 0, BadNode{Ed25519: key, Reason: reason, At: at})
	m.bad = m.bad[:min(len(m.bad), maxBad)]
	m.mu.Unlock()
	m.save()
}

// BadNodes returns the nodes marked bad, newest first.
func (m *Manager) BadNodes() []BadNode {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.bad)
}
