// Package registryapi serves a registry host's HTTPS API to service
// nodes, operators' tools and the other registry hosts. It returns an
// http.Handler and never listens itself; the host wraps it in TLS with
// its key-bound certificate, which callers pin.
//
// # Endpoints
//
//	POST /v1/register   entry.Register: a node's signed descriptor (+ admission)
//	POST /v1/admit      entry.Admission: a steward's admission of a node key
//	POST /v1/deregister entry.Deregister: a node's signed request to leave
//	POST /v1/commands   entry.Command: vote, host change or epoch signature,
//	                    forwarded by a host to the leader, or from `hushd registry`
//	GET  /v1/snapshot   the newest majority-signed snapshot (protocol/snapshot
//	                    JSON); ?after=EPOCH waits (up to ?wait=, default 25s,
//	                    at most 60s) for a newer one and answers 204 if none came
//	GET  /v1/status     [Status]
//
// Writes answer 204 on success. Errors are JSON {"error":{"code","message"}}
// with the stable codes of entry.Code; a client turns them back into
// entry's errors with entry.FromCode. Internal errors are logged and
// answered without detail.
package registryapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/hushnet/hush/internal/registry/entry"
)

// Backend is what the API needs from a registry host.
type Backend interface {
	// Submit checks a command, then has it applied through the Raft
	// leader; it returns the state machine's verdict. The API never
	// passes it genesis or tick commands (it answers ErrForbidden).
	Submit(ctx context.Context, c *entry.Command) error
	// Snapshot returns the newest majority-signed snapshot whose epoch
	// is above after, waiting until one exists or ctx is done; then it
	// returns nil and no error.
	Snapshot(ctx context.Context, after uint64) ([]byte, error)
	// Status describes the host and the registry.
	Status() Status
}

// Status is a host's view of the registry.
type Status struct {
	NetworkID   string `json:"network_id"`
	Host        string `json:"host"`         // this host's key, hex
	RaftAddress string `json:"raft_address"` // as advertised
	APIAddress  string `json:"api_address"`
	Role        string `json:"role"`   // "leader", "follower", "candidate" or "shutdown"
	Leader      string `json:"leader"` // the leader's key, hex, or "" if none is known
	Epoch       uint64 `json:"epoch"`
	SignedEpoch uint64 `json:"signed_epoch"` // newest epoch a majority signed
	Nodes       int    `json:"nodes"`
	Admitted    int    `json:"admitted"`
	Swarms      int    `json:"swarms"`
	Hosts       []Host `json:"hosts"`
	// Rejected counts log entries the state machine refused.
	Rejected uint64 `json:"rejected"`
}

// Host is a registry host in [Status].
type Host struct {
	Key         string `json:"pubkey_ed25519"`
	RaftAddress string `json:"raft_address"`
	APIAddress  string `json:"api_address"`
}

// ErrorBody is the JSON of an error answer.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

const (
	maxBody     = entry.MaxCommandSize
	defaultWait = 25 * time.Second
)

// MaxWait is the longest a snapshot long-poll is held.
const MaxWait = 60 * time.Second

// Handler is the API over a backend.
type Handler struct {
	mux   *http.ServeMux
	polls *counter
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// PollsFrom returns how many long-polls from source ([Source]) are held.
func (h *Handler) PollsFrom(source string) int { return h.polls.count(source) }

// New returns the API handler over b, holding long-polls within lim.
func New(b Backend, log *slog.Logger, lim Limits) *Handler {
	a := &api{b: b, log: log, polls: newCounter(lim.Polls, lim.PollsPerSource)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/register", a.register)
	mux.HandleFunc("POST /v1/admit", a.admit)
	mux.HandleFunc("POST /v1/deregister", a.deregister)
	mux.HandleFunc("POST /v1/commands", a.command)
	mux.HandleFunc("GET /v1/snapshot", a.snapshot)
	mux.HandleFunc("GET /v1/status", a.status)
	return &Handler{mux: mux, polls: a.polls}
}

type api struct {
	b     Backend
	log   *slog.Logger
	polls *counter
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.Join(entry.ErrMalformed, err)
	}
	if dec.More() {
		return errors.Join(entry.ErrMalformed, errors.New("trailing data"))
	}
	return nil
}

func (a *api) register(w http.ResponseWriter, r *http.Request) {
	var reg entry.Register
	if err := strictUnmarshal(readBody(w, r), &reg); err != nil {
		a.fail(w, err)
		return
	}
	a.submit(w, r, &entry.Command{Type: entry.TypeRegister, Register: &reg})
}

func (a *api) admit(w http.ResponseWriter, r *http.Request) {
	var adm entry.Admission
	if err := strictUnmarshal(readBody(w, r), &adm); err != nil {
		a.fail(w, err)
		return
	}
	a.submit(w, r, &entry.Command{Type: entry.TypeAdmit, Admit: &adm})
}

func (a *api) deregister(w http.ResponseWriter, r *http.Request) {
	var d entry.Deregister
	if err := strictUnmarshal(readBody(w, r), &d); err != nil {
		a.fail(w, err)
		return
	}
	a.submit(w, r, &entry.Command{Type: entry.TypeDeregister, Deregister: &d})
}

func (a *api) command(w http.ResponseWriter, r *http.Request) {
	c, err := entry.Decode(readBody(w, r))
	if err != nil {
		a.fail(w, err)
		return
	}
	a.submit(w, r, c)
}

func readBody(w http.ResponseWriter, r *http.Request) []byte {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil // decoding the empty body reports it as malformed
	}
	return b
}

func (a *api) submit(w http.ResponseWriter, r *http.Request, c *entry.Command) {
	if c.Type == entry.TypeGenesis || c.Type == entry.TypeTick {
		a.fail(w, entry.ErrForbidden)
		return
	}
	ctx := r.Context()
	if r.Header.Get(ForwardedHeader) != "" {
		ctx = context.WithValue(ctx, forwardedKey{}, true)
	}
	if err := a.b.Submit(ctx, c); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) snapshot(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after uint64
	wait := time.Duration(0)
	if s := q.Get("after"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			a.fail(w, errors.Join(entry.ErrMalformed, errors.New("after: want an epoch number")))
			return
		}
		after, wait = v, defaultWait
	}
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			a.fail(w, errors.Join(entry.ErrMalformed, errors.New("wait: want a duration like 25s")))
			return
		}
		wait = min(d, MaxWait)
	}
	if wait > 0 {
		src := Source(r.RemoteAddr)
		if !a.polls.enter(src) {
			a.fail(w, fmt.Errorf("%w: too many snapshot long-polls held; try again later or another host", entry.ErrUnavailable))
			return
		}
		defer a.polls.leave(src)
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	raw, err := a.b.Snapshot(ctx, after)
	if err != nil {
		a.fail(w, err)
		return
	}
	if raw == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(raw)
}

func (a *api) status(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(a.b.Status())
}

// httpStatus maps entry codes to HTTP statuses.
var httpStatus = map[string]int{
	"malformed":       http.StatusBadRequest,
	"bad_signature":   http.StatusForbidden,
	"not_admitted":    http.StatusForbidden,
	"unknown_steward": http.StatusForbidden,
	"unknown_host":    http.StatusForbidden,
	"forbidden":       http.StatusForbidden,
	"unknown_node":    http.StatusNotFound,
	"stale":           http.StatusConflict,
	"conflict":        http.StatusConflict,
	"unreachable":     http.StatusUnprocessableEntity,
	"unavailable":     http.StatusServiceUnavailable,
}

func (a *api) fail(w http.ResponseWriter, err error) {
	var body ErrorBody
	body.Error.Code = entry.Code(err)
	status, known := httpStatus[body.Error.Code]
	if known {
		body.Error.Message = err.Error()
	} else {
		status = http.StatusInternalServerError
		body.Error.Message = "internal error"
		a.log.Error("registry api", "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// ForwardedHeader marks a request one registry host forwards to the one
// it believes leads. A host that receives it and does not lead answers
// unavailable instead of forwarding again.
const ForwardedHeader = "Hush-Registry-Forwarded"

type forwardedKey struct{}

// Forwarded reports whether the request behind ctx was forwarded by
// another registry host.
func Forwarded(ctx context.Context) bool {
	v, _ := ctx.Value(forwardedKey{}).(bool)
	return v
}
