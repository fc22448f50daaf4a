package inventory

import (
	"context"
	"crypto/ecdh"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/transparency"
)

// ReplayCache remembers onion layers' ephemeral keys (internal/replay).
type ReplayCache interface {
	Seen(key [32]byte, now time.Time) bool
}

// Endpoint serves a signed report at POST transparency.Target to relays
// forwarding onion requests.
type Endpoint struct {
	X25519 *ecdh.PrivateKey
	Signed func(ctx context.Context) ([]byte, error)
	Replay ReplayCache
	Clock  func() time.Time
	Logger *slog.Logger
	// InFlight bounds the requests being answered; more get 503.
	InFlight chan struct{}
}

// NewEndpoint returns an endpoint allowing 16 requests in flight.
func NewEndpoint(x *ecdh.PrivateKey, signed func(context.Context) ([]byte, error), replay ReplayCache, clock func() time.Time, logger *slog.Logger) *Endpoint {
	return &Endpoint{X25519: x, Signed: signed, Replay: replay, Clock: clock, Logger: logger, InFlight: make(chan struct{}, 16)}
}

// maxRequest bounds a request body: a report request in the smallest
// onion size class, whatever the path length.
const maxRequest = onion.MaxFrameSize

func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, body := e.serve(r)
	if status == http.StatusOK {
		w.Header().Set("Content-Type", "application/octet-stream")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(status)
	w.Write(body)
}

func (e *Endpoint) serve(r *http.Request) (int, []byte) {
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, []byte("use POST\n")
	}
	select {
	case e.InFlight <- struct{}{}:
		defer func() { <-e.InFlight }()
	default:
		return http.StatusServiceUnavailable, []byte("busy\n")
	}
	frame, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil || len(frame) > maxRequest {
		return http.StatusBadRequest, []byte("bad request\n")
	}
	l, err := onion.Peel(e.X25519, frame)
	if l == nil {
		return http.StatusBadRequest, []byte("malformed frame\n")
	}
	if e.Replay.Seen(l.Ephemeral(), e.Clock()) {
		return e.fail(l, onion.CodeReplay)
	}
	if err != nil || l.Instruction.Kind != onion.KindDestination {
		return e.fail(l, onion.CodeBadInstruction)
	}
	if err := transparency.ParseRequest(l.Inner); err != nil {
		return e.seal(l, http.StatusBadRequest, []byte(err.Error()))
	}
	b, err := e.Signed(r.Context())
	if err != nil {
		e.Logger.Error("building the transparency report", "err", err)
		return e.seal(l, http.StatusInternalServerError, []byte("the report could not be built"))
	}
	return e.seal(l, http.StatusOK, b)
}

func (e *Endpoint) seal(l *onion.Layer, status int, body []byte) (int, []byte) {
	b, err := l.Responder.Seal(status, body)
	if err != nil {
		return e.fail(l, onion.CodeUnavailable)
	}
	return http.StatusOK, b
}

func (e *Endpoint) fail(l *onion.Layer, code onion.ErrorCode) (int, []byte) {
	b, err := l.Responder.Fail(code)
	if err != nil {
		return http.StatusInternalServerError, []byte("internal error\n")
	}
	return http.StatusOK, b
}
