package nodeapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/internal/store/arrivals"
	"github.com/hushnet/hush/protocol/rpc"
)

// RPCPath is where the storage RPC is served.
const RPCPath = "/storage_rpc/v1"

// Membership says which accounts this node stores: in a network,
// replication.SnapshotMembership answers from the registry's snapshots; a
// standalone node owns every account.
type Membership interface {
	// Owns reports whether this node stores id's messages.
	Owns(id identity.AccountID) bool
	// SwarmOf returns the swarm that stores id's messages.
	SwarmOf(id identity.AccountID) replication.Swarm
}

var _ Membership = (*replication.SnapshotMembership)(nil)

// ReplayCache remembers signatures already used. Seen reports whether key
// was seen within the cache's window before now, and records it. It must
// be safe for concurrent use; internal/replay.Cache implements it.
type ReplayCache interface {
	Seen(key [32]byte, now time.Time) bool
}

// Limiter rate-limits client traffic by IP address. Allow reports whether
// a request from addr may proceed at now and, if not, when to retry.
// internal/ratelimit implements it.
type Limiter interface {
	Allow(addr netip.Addr, now time.Time) (ok bool, retryAfter time.Duration)
}

// Config holds a handler's dependencies. Store, Clock, Membership, Replay
// and Logger are required.
type Config struct {
	Store      store.Store
	Clock      func() time.Time
	Membership Membership
	Replay     ReplayCache
	Limiter    Limiter // nil: no rate limit
	Logger     *slog.Logger
	// Metrics, when set, receives the handler's counters.
	Metrics prometheus.Registerer

	NetworkID string
	Version   string
	Ed25519   identity.Ed25519PublicKey // the node's keys, reported by info
	X25519    [32]byte

	// MaxBodySize caps a request body; 0 means rpc.MaxBodySize.
	MaxBodySize int64
	// LogPrivate allows IP addresses, Account IDs and sizes in logs.
	LogPrivate bool
	// PublicStats adds the node's total message count to info, so a devnet
	// operator can watch a swarm converge. Off by default: anyone could
	// follow a node's traffic volume with it.
	PublicStats bool
	// Snapshot, when set, serves the node's registry snapshot to clients
	// (get_snapshot); a standalone node has none.
	Snapshot SnapshotSource
	// Replicator, when set, receives every committed store, delete and
	// expire to forward to the swarm; a standalone node has none.
	Replicator Replicator
	// Arrivals, when set, signals every message inserted into the node's
	// store by any path (the node wraps Store and replication's store
	// with it), and a retrieve with wait is held until one lands (see
	// hold.go). Without it wait is accepted and answered at once.
	Arrivals *arrivals.Hub
	// Deposits, when set, is told of every message a client's store added
	// to this node (push notifications, internal/pushnotify); a store
	// never waits for it.
	Deposits replication.Deposits
	// MaxHeld and MaxHeldPerAccount bound the retrieves held at once, on
	// the node and per account; past either, a retrieve that would be
	// held is answered hold_full. 0 means DefaultMaxHeld or
	// DefaultMaxHeldPerAccount.
	MaxHeld, MaxHeldPerAccount int
}

// Handler serves the node API. It is safe for concurrent use.
type Handler struct {
	cfg     Config
	holds   *holds
	mux     *http.ServeMux
	metrics *metrics
	clock   *clockWatch
	keys    *keyCache
	records recordLocks
	revs    *revocationCache
}

var _ http.Handler = (*Handler)(nil)

// New returns the node's API handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("nodeapi: no store")
	case cfg.Clock == nil:
		return nil, errors.New("nodeapi: no clock")
	case cfg.Membership == nil:
		return nil, errors.New("nodeapi: no membership")
	case cfg.Replay == nil:
		return nil, errors.New("nodeapi: no replay cache")
	case cfg.Logger == nil:
		return nil, errors.New("nodeapi: no logger")
	case cfg.Ed25519.IsZero():
		return nil, errors.New("nodeapi: no node key")
	case cfg.NetworkID == "":
		return nil, errors.New("nodeapi: no network ID")
	}
	if cfg.MaxBodySize == 0 {
		cfg.MaxBodySize = rpc.MaxBodySize
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), clock: newClockWatch(cfg.Logger), keys: newKeyCache(keyCacheSize), revs: newRevocationCache(cfg.Arrivals)}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	h.metrics = m
	h.holds = newHolds(cfg.MaxHeld, cfg.MaxHeldPerAccount, m.held)
	h.mux.HandleFunc(RPCPath, h.serveRPC)
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
	})
	return h, nil
}

// ServeHTTP implements http.Handler. A panic is a bug; it is logged and
// answered with a coded 500 instead of a dropped connection, and the node
// keeps serving.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.cfg.Logger.Error("panic in handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			writeJSON(w, http.StatusInternalServerError, &rpc.ErrorBody{Error: rpc.Errorf(rpc.CodeInternal, "internal error"), T: h.cfg.Clock().UnixMilli()})
		}
	}()
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) serveRPC(w http.ResponseWriter, r *http.Request) {
	now := h.cfg.Clock()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.writeError(w, now, rpc.Errorf(rpc.CodeMethodNotPost, "use POST"), "")
		return
	}
	if !h.allow(w, r, now, 1) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodySize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.writeError(w, now, rpc.Errorf(rpc.CodeTooLarge, "request body over %d bytes", h.cfg.MaxBodySize), "")
		} else {
			h.writeError(w, now, rpc.Errorf(rpc.CodeBadJSON, "could not read the request body"), "")
		}
		return
	}
	req, err := rpc.DecodeRequest(body)
	if err != nil {
		h.writeError(w, now, err, "")
		return
	}
	start := time.Now()
	var (
		status int
		resp   any
	)
	if req.Method == rpc.MethodBatch || req.Method == rpc.MethodSequence {
		subs, err := rpc.ParseBatch(req.Params)
		if err != nil {
			h.writeError(w, now, err, req.Method)
			return
		}
		// Every sub-request costs a token (the request took the first):
		// otherwise a batch of 20 stores would cost a flooder a twentieth
		// of what the limit means.
		if !h.allow(w, r, now, len(subs)-1) {
			return
		}
		status, resp = http.StatusOK, h.batch(r.Context(), req.Method, subs, now)
	} else {
		top := &topLevel{w: w}
		status, resp = h.dispatch(r.Context(), req, now, top)
		if top.held {
			// A held request's duration is its client's wait.
			start = time.Time{}
		}
	}
	var took time.Duration
	if !start.IsZero() {
		took = time.Since(start)
	}
	h.metrics.observe(req.Method, resp, took)
	if h.cfg.LogPrivate {
		h.cfg.Logger.Debug("rpc", "method", req.Method, "status", status, "remote", r.RemoteAddr, "bytes", len(body))
	} else {
		h.cfg.Logger.Debug("rpc", "method", metricMethod(req.Method), "status", status)
	}
	writeJSON(w, status, resp)
}

// allow takes n tokens of the client's rate limit, or answers 429 and
// reports false. Tokens taken before one is refused stay spent.
func (h *Handler) allow(w http.ResponseWriter, r *http.Request, now time.Time, n int) bool {
	if h.cfg.Limiter == nil {
		return true
	}
	addr, ok := remoteIP(r.RemoteAddr)
	if !ok {
		return true
	}
	for range n {
		if ok, retry := h.cfg.Limiter.Allow(addr, now); !ok {
			secs := int64((retry + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
			h.metrics.rateLimited.Inc()
			h.writeError(w, now, rpc.Errorf(rpc.CodeRateLimited, "too many requests from your address; retry in %s", retry.Round(time.Millisecond)), "")
			return false
		}
	}
	return true
}

func (h *Handler) writeError(w http.ResponseWriter, now time.Time, err error, method string) {
	status, body := h.errorBody(err, now)
	h.metrics.observe(method, body, 0)
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b []byte
	var err error
	if raw, ok := v.(verbatim); ok {
		b = raw
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		// Only our own response types reach here; they always marshal.
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal_error","message":"response encoding failed"}}`)
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	// b may be shared (the snapshot's verbatim bytes): never append to it.
	w.Write(b)
	w.Write([]byte{'\n'})
}

// errorBody turns any error from a request into a coded body. Store
// failures become codes that say what a client can do; anything else is
// an internal error whose detail stays in the log.
func (h *Handler) errorBody(err error, now time.Time) (int, *rpc.ErrorBody) {
	var e *rpc.Error
	var ws *wrongSwarm
	var full *holdFull
	body := &rpc.ErrorBody{T: now.UnixMilli()}
	switch {
	case errors.As(err, &full):
		body = holdFullBody(full, now)
	case errors.As(err, &e):
		body.Error = e
	case errors.As(err, &ws):
		body.Error = rpc.Errorf(rpc.CodeWrongSwarm, "this node does not store that account; use swarm %s", ws.swarm.SwarmID)
		body.Swarm = &ws.swarm
	case errors.Is(err, store.ErrWriterQuota):
		body.Error = rpc.Errorf(rpc.CodeWriterQuota, "this member's share of the group's storage is full")
	case errors.Is(err, store.ErrAccountQuota):
		body.Error = rpc.Errorf(rpc.CodeQuota, "the account's storage quota is full")
	case errors.Is(err, store.ErrStoreFull):
		body.Error = rpc.Errorf(rpc.CodeStoreFull, "this node's storage is full")
	case errors.Is(err, store.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		body.Error = rpc.Errorf(rpc.CodeUnavailable, "the node is shutting down or the request was cancelled")
	default:
		h.cfg.Logger.Error("rpc failed", "err", err)
		body.Error = rpc.Errorf(rpc.CodeInternal, "internal error")
	}
	return body.Error.Code.Status(), body
}

type wrongSwarm struct{ swarm rpc.SwarmResult }

func (*wrongSwarm) Error() string { return "wrong swarm" }

func swarmResult(s replication.Swarm) rpc.SwarmResult {
	r := rpc.SwarmResult{SwarmID: fmt.Sprintf("%016x", s.ID), Members: make([]rpc.SwarmMember, len(s.Members))}
	for i, m := range s.Members {
		r.Members[i] = rpc.SwarmMember{PubkeyEd25519: m.Ed25519.String(), PubkeyX25519: hex.EncodeToString(m.X25519[:]), Address: m.Address}
	}
	return r
}

// ready reports whether the membership can answer at now; see [Readiness].
func (h *Handler) ready(now time.Time) error {
	if r, ok := h.cfg.Membership.(Readiness); ok {
		if err := r.Ready(now); err != nil {
			return rpc.Errorf(rpc.CodeUnavailable, "%v", err)
		}
	}
	return nil
}

// owns answers 421 for an account another swarm stores, and 503 while the
// node has no current view of the swarms.
func (h *Handler) owns(id identity.AccountID) error {
	if err := h.ready(h.cfg.Clock()); err != nil {
		return err
	}
	if h.cfg.Membership.Owns(id) {
		return nil
	}
	return &wrongSwarm{swarmResult(h.cfg.Membership.SwarmOf(id))}
}

// authorize verifies a signed request (keys, then the signature over msg)
// and then the replay cache. The cache is consulted only for valid
// signatures, so forged ones cannot fill it.
//
// For a group (03) it also applies the group rules (groups.go): a member's
// permission for acc before the signatures, its revocation after them.
func (h *Handler) authorize(ctx context.Context, a *rpc.Auth, msg []byte, now time.Time, acc access) error {
	if err := groupPermission(a, acc); err != nil {
		return err
	}
	if err := a.Verify(msg, h.keys.derive); err != nil {
		return err
	}
	if err := h.groupRevoked(ctx, a, acc, now); err != nil {
		return err
	}
	k := sha256.New()
	k.Write(a.Ed25519.Bytes())
	k.Write(a.Signature)
	var key [32]byte
	k.Sum(key[:0])
	if h.cfg.Replay.Seen(key, now) {
		return rpc.Errorf(rpc.CodeReplayed, "this signature was already used; sign the request again with a new timestamp")
	}
	return nil
}

// timeCheck runs a time rule and feeds the clock watch, which warns when
// clients disagree with this node's clock.
func (h *Handler) timeCheck(err error) error {
	h.clock.record(err)
	return err
}

// remoteIP is the client address to rate-limit. Proxy headers are not
// trusted: a node faces clients directly.
func remoteIP(remote string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr(), true
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	return a, err == nil
}
