package relay

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Path is where the wiring root mounts the relay.
const Path = onionclient.OnionPath

// Directory finds the next node of a path. Lookup returns the node's
// advertised address and X25519 key, and false when the key is not in the
// node's current verified snapshot. It must be safe for concurrent use.
type Directory interface {
	Lookup(key identity.Ed25519PublicKey) (addr string, x25519 snapshot.X25519Key, ok bool)
}

// SnapshotDirectory is a [Directory] over the snapshot its function
// returns (the node's newest verified one, or nil before it has any).
type SnapshotDirectory func() *snapshot.Snapshot

// Lookup implements [Directory].
func (f SnapshotDirectory) Lookup(k identity.Ed25519PublicKey) (string, snapshot.X25519Key, bool) {
	s := f()
	if s == nil {
		return "", snapshot.X25519Key{}, false
	}
	n, ok := s.Node(k)
	return n.Address, n.X25519, ok
}

// ReplayCache remembers ephemeral keys. internal/replay.Cache implements it.
type ReplayCache interface {
	Seen(key [32]byte, now time.Time) bool
}

// Steward sends a frame to a steward server (file server, push server)
// and returns its HTTP status and at most limit bytes of answer. The relay
// calls it only for targets on its allow-list. [HTTPSteward] implements it.
type Steward interface {
	Do(ctx context.Context, t onion.ServerTarget, frame []byte, limit int) (status int, resp []byte, err error)
}

// Config holds a relay's dependencies. X25519, Directory, Local,
// Forwarder, Replay, Clock and Logger are required.
type Config struct {
	// X25519 is the node's onion key; Ed25519 its identity, used only to
	// label observations.
	X25519  *ecdh.PrivateKey
	Ed25519 identity.Ed25519PublicKey
	// Signer is the node's Ed25519 key (Ed25519's private half). It signs
	// onion.SessionUnknown answers; without it the relay opens no
	// sessions (see "Sessions" in the package doc).
	Signer ed25519.PrivateKey
	// Sessions bound the session cache.
	Sessions SessionLimits

	Directory Directory
	// Local serves the storage RPC (internal/nodeapi) when this node is
	// the destination. It gets a POST to RPCPath whose RemoteAddr is the
	// client's when the client sent a one-layer onion straight to this
	// node, and empty when a relay brought it (see "Budgets" in the
	// package doc), so it never learns the address of a client behind a
	// relay and never charges a relay's address for its clients.
	Local http.Handler
	// Forwarder carries frames to other nodes over connections pinned to
	// their keys (onionclient.Pool).
	Forwarder onionclient.Poster
	// Steward forwards to steward servers; nil refuses every steward
	// target, as does an empty StewardAllow. An entry whose Target ends in
	// "/" allows every path below it (a file server's /file/{id}).
	Steward      Steward
	StewardAllow []onion.ServerTarget

	Replay ReplayCache
	Clock  func() time.Time
	Logger *slog.Logger
	// Recorder, when set, observes every request; tests only.
	Recorder Recorder

	// MaxFrame caps a request body; 0 means onion.MaxFrameSize.
	MaxFrame int
	// MaxInFlight caps the requests processed at once (peeled, waiting
	// for the next hop or the storage RPC), so that a flood of slow paths
	// cannot hold unbounded memory; more are refused with 503. A request
	// takes its slot only once its body has arrived. 0 means 1024.
	MaxInFlight int
	// Limits budget each source; see "Budgets" in the package doc.
	Limits Limits
	// HopTimeout is what the last relay waits for the destination, and
	// the destination for its own storage RPC; 0 means 10 s. HopSlack is
	// added per position that could follow this one; 0 means 1 s.
	HopTimeout, HopSlack time.Duration

	// MaxHold caps the hold a layer asks for (see "Holds" in the package
	// doc); 0 means onion.MaxHold, and a negative value honours no hold
	// (such requests are ordinary ones here).
	MaxHold time.Duration
	// MaxHeld caps the held requests in flight, in a pool apart from
	// MaxInFlight's; more are refused with onion.CodeUnavailable.
	// 0 means DefaultMaxHeld.
	MaxHeld int
}

// Limits budget what one source may use of a relay (see "Budgets" in
// the package doc). Zero fields take the defaults given.
type Limits struct {
	// ClientRate is each client address's token bucket, one token per
	// onion request; the default is Session's client limit
	// (ratelimit.DefaultBurst, ratelimit.DefaultRate).
	ClientRate ratelimit.Rate
	// NodeRate is each relay node's bucket, sized for the aggregate of
	// the clients it relays for; the default is DefaultNodeRateFactor
	// times ClientRate.
	NodeRate ratelimit.Rate
	// ClientInFlight caps one client address's requests in flight, body
	// reading included; 0 means DefaultClientInFlight.
	ClientInFlight int
	// NodeMinInFlight is the least a relay node may hold in flight
	// however many relays share this one; 0 means MaxInFlight/64 (16 by
	// default). Above it relays share MaxInFlight fairly
	// (ratelimit.PoolLimits.NodeShare).
	NodeMinInFlight int
	// BodyTimeout bounds reading a request body; 0 means
	// DefaultBodyTimeout.
	BodyTimeout time.Duration
	// ClientHeld caps one client address's held requests (fast mode's
	// long-polls, counted apart from ClientInFlight); 0 means
	// DefaultClientHeld. Relays share Config.MaxHeld fairly, with at
	// least MaxHeld/64 each, as they share MaxInFlight.
	ClientHeld int
}

// Defaults of [Limits].
const (
	DefaultNodeRateFactor = 20
	DefaultClientInFlight = 32
	// DefaultBodyTimeout lets a client send the largest size class (2 MiB)
	// at 1.7 Mbit/s; a body slower than that is refused with 408.
	DefaultBodyTimeout = 10 * time.Second
	// DefaultMaxHeld is Config.MaxHeld's default. A held request costs a
	// relay two goroutines and some 25–35 KiB of heap and stacks while it
	// waits (relaytest's BenchmarkHeldRequests), so 4096 of them take
	// about 140 MiB.
	DefaultMaxHeld = 4096
	// DefaultClientHeld is Limits.ClientHeld's default: a client holds one
	// long-poll per account (a few, for a household behind one address).
	DefaultClientHeld = 32
)

// RPCPath is the request path Local is called with.
const RPCPath = onionclient.RPCPath

// Relay is the onion relay handler. It is safe for concurrent use.
type Relay struct {
	cfg   Config
	rates *ratelimit.SourceLimiter
	// sources counts each source's requests from the moment they are
	// admitted, while their body arrives and until they are answered;
	// its total is unbounded (the node's connection limits bound it).
	sources *ratelimit.Pool
	// short is the processing pool: requests whose body has arrived and
	// that are answered within the hop deadlines.
	short *ratelimit.Pool
	// held is the pool of requests whose layer asked for a hold: they
	// move here from sources and short once peeled, so that long-polls
	// never take the slots or the per-source budget short requests need.
	held *ratelimit.Pool
	// sessions are the onion sessions opened here, in memory only.
	sessions *sessionCache
	// counts are what SessionStats and Metrics report.
	counts sessionCounts
}

var _ http.Handler = (*Relay)(nil)

// New checks cfg and returns the relay.
func New(cfg Config) (*Relay, error) {
	switch {
	case cfg.X25519 == nil || cfg.X25519.Curve() != ecdh.X25519():
		return nil, errors.New("relay: no x25519 key")
	case cfg.Directory == nil:
		return nil, errors.New("relay: no directory")
	case cfg.Local == nil:
		return nil, errors.New("relay: no local storage handler")
	case cfg.Forwarder == nil:
		return nil, errors.New("relay: no forwarder")
	case cfg.Replay == nil:
		return nil, errors.New("relay: no replay cache")
	case cfg.Clock == nil:
		return nil, errors.New("relay: no clock")
	case cfg.Logger == nil:
		return nil, errors.New("relay: no logger")
	case cfg.MaxFrame < 0 || cfg.MaxFrame > onion.MaxFrameSize:
		return nil, fmt.Errorf("relay: max frame %d out of range", cfg.MaxFrame)
	case cfg.Signer != nil && len(cfg.Signer) != ed25519.PrivateKeySize:
		return nil, errors.New("relay: signer is not an ed25519 private key")
	}
	sl := cfg.Sessions
	if sl.Total <= 0 {
		sl.Total = DefaultSessions
	}
	if sl.PerClient <= 0 {
		sl.PerClient = DefaultClientSessions
	}
	if sl.PerNode <= 0 {
		sl.PerNode = max(1, sl.Total/8)
	}
	for i, t := range cfg.StewardAllow {
		if t.Host == "" || t.Port == 0 || (t.Protocol != "http" && t.Protocol != "https") || t.Method == "" || t.Target == "" || t.Target[0] != '/' {
			return nil, fmt.Errorf("relay: steward allow-list entry %d is incomplete", i)
		}
	}
	if cfg.MaxFrame == 0 {
		cfg.MaxFrame = onion.MaxFrameSize
	}
	if cfg.HopTimeout == 0 {
		cfg.HopTimeout = 10 * time.Second
	}
	if cfg.HopSlack == 0 {
		cfg.HopSlack = time.Second
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 1024
	}
	switch {
	case cfg.MaxHold == 0 || cfg.MaxHold > onion.MaxHold:
		cfg.MaxHold = onion.MaxHold
	case cfg.MaxHold < 0:
		cfg.MaxHold = 0
	}
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = DefaultMaxHeld
	}
	lim := &cfg.Limits
	if lim.ClientRate == (ratelimit.Rate{}) {
		lim.ClientRate = ratelimit.Rate{Burst: ratelimit.DefaultBurst, PerSecond: ratelimit.DefaultRate}
	}
	if lim.NodeRate == (ratelimit.Rate{}) {
		lim.NodeRate = ratelimit.Rate{Burst: DefaultNodeRateFactor * lim.ClientRate.Burst, PerSecond: DefaultNodeRateFactor * lim.ClientRate.PerSecond}
	}
	if lim.ClientInFlight <= 0 {
		lim.ClientInFlight = DefaultClientInFlight
	}
	if lim.NodeMinInFlight <= 0 {
		lim.NodeMinInFlight = max(1, cfg.MaxInFlight/64)
	}
	if lim.BodyTimeout <= 0 {
		lim.BodyTimeout = DefaultBodyTimeout
	}
	if lim.ClientHeld <= 0 {
		lim.ClientHeld = DefaultClientHeld
	}
	return &Relay{
		cfg:   cfg,
		rates: ratelimit.NewSourceLimiter(lim.ClientRate, lim.NodeRate, 0),
		sources: ratelimit.NewPool(ratelimit.PoolLimits{
			PerClient: lim.ClientInFlight,
			NodeShare: cfg.MaxInFlight,
			NodeMin:   lim.NodeMinInFlight,
		}),
		short: ratelimit.NewPool(ratelimit.PoolLimits{Total: cfg.MaxInFlight}),
		held: ratelimit.NewPool(ratelimit.PoolLimits{
			Total:     cfg.MaxHeld,
			PerClient: lim.ClientHeld,
			NodeShare: cfg.MaxHeld,
			NodeMin:   max(1, cfg.MaxHeld/64),
		}),
		sessions: newSessionCache(sl, onion.SessionLifetime+onion.SessionGrace),
	}, nil
}

// isNode reports whether k is a node of the current snapshot.
func (rl *Relay) isNode(k identity.Ed25519PublicKey) bool {
	_, _, ok := rl.cfg.Directory.Lookup(k)
	return ok
}

// ServeHTTP implements http.Handler for POST /onion_req/v2.
func (rl *Relay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	obs := Observation{Node: rl.cfg.Ed25519, Remote: r.RemoteAddr, Hop: -1}
	status, resp := rl.serve(w, r, &obs)
	obs.Status, obs.Response = status, resp
	if rl.cfg.Recorder != nil {
		rl.cfg.Recorder.Record(obs)
	}
	if status == http.StatusOK {
		w.Header().Set("Content-Type", "application/octet-stream")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(status)
	w.Write(resp)
}

// Plain-text answers for frames the node cannot open. They name the
// class of problem only: the sender is the previous hop or the client.
var peelAnswers = []struct {
	err    error
	status int
	text   string
}{
	{onion.ErrOversize, http.StatusRequestEntityTooLarge, "frame too large"},
	{onion.ErrUnknownVersion, http.StatusBadRequest, "unknown onion version"},
	{onion.ErrTooManyLayers, http.StatusBadRequest, "too many layers"},
	{onion.ErrLowOrderKey, http.StatusBadRequest, "bad ephemeral key"},
	{onion.ErrUndecryptable, http.StatusBadRequest, "layer does not decrypt"},
	{onion.ErrMalformedFrame, http.StatusBadRequest, "malformed frame"},
}

func plain(status int, text string) (int, []byte) { return status, []byte(text + "\n") }

func (rl *Relay) serve(w http.ResponseWriter, r *http.Request, obs *Observation) (int, []byte) {
	if r.Method != http.MethodPost {
		return plain(http.StatusMethodNotAllowed, "use POST")
	}
	src := ratelimit.SourceOf(r, rl.isNode)
	if ok, retry := rl.rates.Allow(src, rl.cfg.Clock()); !ok {
		w.Header().Set("Retry-After", strconv.FormatInt(max(1, int64((retry+time.Second-1)/time.Second)), 10))
		return rl.unread(w, src, http.StatusTooManyRequests, "too many requests")
	}
	leave, err := rl.sources.Acquire(src)
	if err != nil {
		return rl.unread(w, src, http.StatusServiceUnavailable, "too many requests in flight")
	}
	defer leave()
	frame, err := rl.readBody(w, r)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return rl.unread(w, src, http.StatusRequestTimeout, "request body too slow")
	case err != nil:
		return rl.unread(w, src, http.StatusBadRequest, "could not read the request")
	case len(frame) > rl.cfg.MaxFrame:
		return rl.unread(w, src, http.StatusRequestEntityTooLarge, "frame too large")
	}
	obs.Request = frame
	release, err := rl.short.Acquire(src)
	if err != nil {
		rl.cfg.Logger.Debug("onion request refused", "reason", "busy", "source", src.String())
		return plain(http.StatusServiceUnavailable, "busy")
	}
	defer release()
	now := rl.cfg.Clock()
	l, session, err := rl.peel(frame, src, r.RemoteAddr, now, obs)
	if l == nil {
		if errors.Is(err, onion.ErrSessionUnknown) {
			return rl.sessionUnknown(frame)
		}
		for _, a := range peelAnswers {
			if errors.Is(err, a.err) {
				rl.cfg.Logger.Debug("onion frame refused", "err", err)
				return plain(a.status, a.text)
			}
		}
		rl.cfg.Logger.Debug("onion frame refused", "err", err)
		return plain(http.StatusBadRequest, "malformed frame")
	}
	obs.Hop, obs.Kind = l.Hop(), l.Instruction.Kind
	if id, counter, ok := l.Session(); ok {
		// The window moves only for frames that opened, so forged frames
		// cannot burn counters.
		if !rl.sessions.accept(session, id, counter) {
			rl.counts.replayed.Add(1)
			return rl.fail(l, onion.CodeReplay)
		}
		rl.counts.warm.Add(1)
	} else if rl.cfg.Replay.Seen(l.Ephemeral(), now) {
		return rl.fail(l, onion.CodeReplay)
	}
	if err != nil {
		rl.cfg.Logger.Debug("onion layer refused", "err", err)
		return rl.fail(l, onion.CodeBadInstruction)
	}
	if s, ok := l.OpenedSession(); ok {
		obs.Session = s.ID
		// Without a key to sign session_unknown with, this node could not
		// tell a client it lost the session: it opens none, and the
		// client goes on with full requests.
		if rl.cfg.Signer == nil || rl.sessions.put(session, s, now) != nil {
			return rl.fail(l, onion.CodeBadInstruction)
		}
		rl.counts.opened.Add(1)
	}
	hold := min(l.Instruction.Hold, rl.cfg.MaxHold)
	if hold > 0 {
		// A held request leaves the short pool and the source's ordinary
		// budget for the held pool (both releases are idempotent, so the
		// deferred calls above do nothing more).
		done, err := rl.held.Acquire(src)
		if err != nil {
			rl.cfg.Logger.Debug("held onion request refused", "reason", err, "source", src.String())
			return rl.fail(l, onion.CodeUnavailable)
		}
		defer done()
		release()
		leave()
		// The server's read and write time-outs are for ordinary requests:
		// a held one keeps its connection's deadlines past everything
		// below it (an HTTP/2 stream is reset at the write time-out, and
		// an HTTP/1.1 read time-out cancels the request's context).
		// Writers without deadlines (tests' recorders) are left alone.
		rc := http.NewResponseController(w)
		until := time.Now().Add(rl.deadline(obs.Hop) + hold + rl.cfg.HopSlack)
		_ = rc.SetWriteDeadline(until)
		_ = rc.SetReadDeadline(until)
	}
	switch in := l.Instruction; in.Kind {
	case onion.KindRelay:
		return rl.relay(r.Context(), l, hold, obs)
	case onion.KindDestination:
		return rl.local(r, src, l, hold, obs)
	case onion.KindServer:
		return rl.steward(r.Context(), l, obs)
	default:
		return rl.fail(l, onion.CodeBadInstruction)
	}
}

// peel opens this node's layer of frame: a session frame with the session
// its source opened here, any other with the node's key. For a session
// frame whose session is not held it returns onion.ErrSessionUnknown
// and no layer; session is the source's key in the session cache.
func (rl *Relay) peel(frame []byte, src ratelimit.Source, remote string, now time.Time, obs *Observation) (*onion.Layer, sourceKey, error) {
	session := sessionSource(src, remote)
	id, counter, ok, err := onion.FrameSession(frame)
	if err != nil || !ok {
		l, err := onion.Peel(rl.cfg.X25519, frame)
		return l, session, err
	}
	obs.Session, obs.Counter = id, counter
	s, ok := rl.sessions.get(session, id, now)
	if !ok {
		return nil, session, onion.ErrSessionUnknown
	}
	l, err := onion.PeelSession(&s, frame)
	return l, session, err
}

// sessionUnknown answers a session frame whose session this node does not
// hold, signed so that the client can tell it from a forgery.
func (rl *Relay) sessionUnknown(frame []byte) (int, []byte) {
	id, counter, _, _ := onion.FrameSession(frame)
	if rl.cfg.Signer == nil {
		return plain(http.StatusBadRequest, "unknown session")
	}
	b, err := onion.SessionUnknown(rl.cfg.Signer, id, counter)
	if err != nil {
		rl.cfg.Logger.Error("signing session_unknown", "err", err)
		return plain(http.StatusInternalServerError, "internal error")
	}
	rl.counts.unknown.Add(1)
	return http.StatusOK, b
}

// unread answers a request whose body was not read to its end, and
// closes the connection after the answer: otherwise an HTTP/1.1 server
// would first read the rest of a small body, at the sender's pace. The
// log names a relay by its key and a client by nothing.
func (rl *Relay) unread(w http.ResponseWriter, src ratelimit.Source, status int, text string) (int, []byte) {
	rl.cfg.Logger.Debug("onion request refused", "reason", text, "source", src.String())
	w.Header().Set("Connection", "close")
	return plain(status, text)
}

// readBody reads at most MaxFrame+1 bytes of r's body, under a deadline
// of BodyTimeout: a body that trickles in ties up a source's admission
// but no processing slot, and not for long.
func (rl *Relay) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	// Writers that cannot set deadlines (tests' recorders) read without one.
	deadline := rc.SetReadDeadline(time.Now().Add(rl.cfg.Limits.BodyTimeout)) == nil
	b, err := io.ReadAll(io.LimitReader(r.Body, int64(rl.cfg.MaxFrame)+1))
	if err == nil && len(b) <= rl.cfg.MaxFrame && deadline {
		// The deadline is for the body only: once it passes, a read the
		// server still has pending (HTTP/1.1 watches the connection for a
		// client hanging up) would cancel a request still being relayed.
		// net/http clears it itself when that watch starts; clearing it
		// here keeps that true whatever the transport. A body cut short
		// keeps it, for the connection is closed anyway.
		rc.SetReadDeadline(time.Time{})
	}
	return b, err
}

// fail answers with code under l's keys. Fail only errs on an unknown
// code or a Responder without keys, both bugs here.
func (rl *Relay) fail(l *onion.Layer, code onion.ErrorCode) (int, []byte) {
	b, err := l.Responder.Fail(code)
	if err != nil {
		rl.cfg.Logger.Error("sealing a relay failure", "err", err)
		return plain(http.StatusInternalServerError, "internal error")
	}
	return http.StatusOK, b
}

// deadline is how long this node waits for everything below it; see
// "Deadlines" in the package doc.
func (rl *Relay) deadline(hop int) time.Duration {
	return rl.cfg.HopTimeout + time.Duration(onion.MaxLayers-2-hop)*rl.cfg.HopSlack
}

// relay forwards l's next frame. hold is the layer's hold, capped: the
// next hop gets that much longer than an ordinary request.
func (rl *Relay) relay(ctx context.Context, l *onion.Layer, hold time.Duration, obs *Observation) (int, []byte) {
	next, err := identity.Ed25519PublicKeyFromBytes(l.Instruction.Next)
	obs.Next = next
	if err != nil {
		return rl.fail(l, onion.CodeNextNodeNotFound)
	}
	addr, _, ok := rl.cfg.Directory.Lookup(next)
	if !ok {
		return rl.fail(l, onion.CodeNextNodeNotFound)
	}
	frame, err := l.NextFrame()
	if err != nil {
		// The hop counter is at its limit: the path is too long.
		return rl.fail(l, onion.CodeBadInstruction)
	}
	ctx, cancel := context.WithTimeout(ctx, rl.deadline(l.Hop())+hold)
	defer cancel()
	status, resp, err := rl.cfg.Forwarder.Post(ctx, next, addr, Path, frame, onion.MaxFrameSize)
	return rl.wrap(ctx, l, status, resp, err)
}

// wrap re-encrypts the next hop's answer, or reports why there is none.
func (rl *Relay) wrap(ctx context.Context, l *onion.Layer, status int, resp []byte, err error) (int, []byte) {
	switch {
	case err != nil && ctx.Err() != nil:
		return rl.fail(l, onion.CodeTimeout)
	case err != nil, status != http.StatusOK:
		rl.cfg.Logger.Debug("next hop failed", "status", status, "err", err)
		return rl.fail(l, onion.CodeDestinationFailed)
	}
	b, err := l.Responder.Wrap(resp)
	if err != nil {
		return rl.fail(l, onion.CodeDestinationFailed)
	}
	return http.StatusOK, b
}

func (rl *Relay) steward(ctx context.Context, l *onion.Layer, obs *Observation) (int, []byte) {
	t := l.Instruction.Server
	obs.Server = &t
	if rl.cfg.Steward == nil || !rl.allowed(t) {
		return rl.fail(l, onion.CodeTargetNotAllowed)
	}
	frame, err := l.NextFrame()
	if err != nil {
		return rl.fail(l, onion.CodeBadInstruction)
	}
	ctx, cancel := context.WithTimeout(ctx, rl.deadline(l.Hop()))
	defer cancel()
	status, resp, err := rl.cfg.Steward.Do(ctx, t, frame, onion.MaxFrameSize)
	return rl.wrap(ctx, l, status, resp, err)
}

// allowed compares host, port, protocol and method exactly. The path is
// compared exactly too, except that an entry ending in "/" allows every
// path below it ("/file/" allows "/file/3f2a", for a file server's
// per-file endpoints). That prefix cannot be escaped: protocol/onion
// refuses targets with dot segments, queries or fragments.
func (rl *Relay) allowed(t onion.ServerTarget) bool {
	for _, a := range rl.cfg.StewardAllow {
		if a.Host != t.Host || a.Port != t.Port || a.Protocol != t.Protocol || a.Method != t.Method {
			continue
		}
		if a.Target == t.Target || (strings.HasSuffix(a.Target, "/") && len(t.Target) > len(a.Target) && strings.HasPrefix(t.Target, a.Target)) {
			return true
		}
	}
	return false
}

// HoldRefused is the message of the bad_field error a destination
// answers a held layer with when its body is not a retrieve whose wait
// fits the hold the layer asked for (capped or not: the client's promise
// is what is checked, the cap only shortens the wait).
const HoldRefused = "hold: only a retrieve with wait ≤ hold may be held"

// holdable reports whether body may be held for hold: a top-level
// retrieve whose wait is at most hold. Nothing else is parsed or held, so
// a hold cannot make any other method, or a batch, stay open.
func holdable(body []byte, hold time.Duration) bool {
	req, err := rpc.DecodeRequest(body)
	if err != nil || req.Method != rpc.MethodRetrieve {
		return false
	}
	r, err := rpc.ParseRetrieve(req.Params)
	return err == nil && r.Wait <= hold
}

// local runs the storage RPC in-process and seals its answer. hold is the
// layer's hold, capped: the storage RPC's context allows that much longer.
func (rl *Relay) local(r *http.Request, src ratelimit.Source, l *onion.Layer, hold time.Duration, obs *Observation) (int, []byte) {
	obs.Inner = l.Inner
	if l.Instruction.Hold > 0 && !holdable(l.Inner, l.Instruction.Hold) {
		b, _ := json.Marshal(rpc.ErrorBody{Error: rpc.Errorf(rpc.CodeBadField, "%s", HoldRefused), T: rl.cfg.Clock().UnixMilli()})
		return rl.seal(l, rpc.CodeBadField.Status(), b)
	}
	ctx, cancel := context.WithTimeout(r.Context(), rl.cfg.HopTimeout+hold)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, RPCPath, bytes.NewReader(l.Inner))
	if err != nil {
		return rl.fail(l, onion.CodeUnavailable)
	}
	if _, relayed := src.Node(); !relayed {
		// The client itself sent this one-layer onion: the storage RPC
		// limits it per address as it would a direct request. A relay's
		// address stands for every client behind it, so a relayed request
		// carries none; the relay's budget here was charged in serve.
		req.RemoteAddr = r.RemoteAddr
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range l.Instruction.Headers {
		req.Header.Set(k, v)
	}
	rec := &bufferedResponse{header: http.Header{}}
	rl.cfg.Local.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rl.seal(l, rec.status, rec.body.Bytes())
}

// seal answers the client as the destination.
func (rl *Relay) seal(l *onion.Layer, status int, body []byte) (int, []byte) {
	b, err := l.Responder.Seal(status, body)
	if errors.Is(err, onion.ErrOversize) {
		// Paged methods can answer more than the largest class; tell the
		// client to ask for less rather than failing the hop.
		b, err = l.Responder.Seal(http.StatusRequestEntityTooLarge,
			[]byte(`{"error":{"code":"too_large","message":"response exceeds the largest onion size class; ask for less"}}`))
	}
	if err != nil {
		rl.cfg.Logger.Error("sealing a response", "err", err)
		return rl.fail(l, onion.CodeUnavailable)
	}
	return http.StatusOK, b
}

// bufferedResponse is the smallest http.ResponseWriter that keeps the answer.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedResponse) Header() http.Header { return w.header }
func (w *bufferedResponse) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *bufferedResponse) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	// The largest class bounds what can be sent back; stop buffering
	// there rather than holding a runaway handler's output.
	if w.body.Len()+len(b) > onion.MaxFrameSize {
		return 0, onion.ErrOversize
	}
	return w.body.Write(b)
}
