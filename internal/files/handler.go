package files

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/ratelimit"
	wire "github.com/hushnet/hush/protocol/files"
	"github.com/hushnet/hush/protocol/onion"
)

// TargetPath is where the server serves its one endpoint.
const TargetPath = wire.Target

// ServeHTTP implements http.Handler for POST [TargetPath]. See "Checks"
// in the package doc for the order.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, body := s.serve(w, r)
	if status == http.StatusOK {
		w.Header().Set("Content-Type", "application/octet-stream")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(status)
	w.Write(body)
}

func plain(status int, text string) (int, []byte) {
	return status, []byte(text + "\n")
}

// source is whom r is charged to: with a network, the relaying node (or
// false: not a node of the current snapshot); without one, the key its
// certificate proves, else its address.
func (s *Server) source(r *http.Request) (ratelimit.Source, bool) {
	if s.nodes == nil {
		return ratelimit.SourceOf(r, func(identity.Ed25519PublicKey) bool { return true }), true
	}
	k, ok := keytls.PeerNode(tlsState(r), s.nodes)
	return ratelimit.NodeSource(k), ok
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) (int, []byte) {
	if r.Method != http.MethodPost {
		return plain(http.StatusMethodNotAllowed, "use POST")
	}
	// Who relays, before anything is read: an unknown relay costs the
	// server a TLS handshake and no more.
	src, ok := s.source(r)
	if !ok {
		s.metrics.refused.WithLabelValues("not_a_node").Inc()
		w.Header().Set("Connection", "close")
		return plain(http.StatusForbidden, "not a node of this network")
	}
	release, err := s.pool.Acquire(src)
	if err != nil {
		s.metrics.refused.WithLabelValues("busy").Inc()
		w.Header().Set("Connection", "close")
		return plain(http.StatusServiceUnavailable, "too many requests in flight")
	}
	defer release()
	frame, err := readBody(r)
	switch {
	case err != nil:
		return plain(http.StatusBadRequest, "could not read the request")
	case len(frame) > onion.MaxFrameSize:
		return plain(http.StatusRequestEntityTooLarge, "frame too large")
	}
	l, err := onion.Peel(s.x25519(), frame)
	if l == nil {
		s.metrics.refused.WithLabelValues("bad_frame").Inc()
		return plain(http.StatusBadRequest, "malformed frame")
	}
	now := s.clock()
	if s.replay.Seen(l.Ephemeral(), now) {
		s.metrics.refused.WithLabelValues("replay").Inc()
		return s.fail(l, onion.CodeReplay)
	}
	if err != nil || l.Instruction.Kind != onion.KindDestination {
		return s.fail(l, onion.CodeBadInstruction)
	}
	// The budgets are charged after the peel so that the client, not only
	// the relay, hears rate_limited with its wait; what came before (the
	// relay's identity, its requests in flight, a bounded body) is what
	// keeps the peel cheap to refuse.
	if ok, retry := s.rates.Allow(src, now); !ok {
		s.metrics.refused.WithLabelValues("relay_rate").Inc()
		return s.answerError(l, "", &wire.Error{Code: wire.CodeRateLimited, Message: "this relay's rate is used up", RetryAfter: retry})
	}
	if ok, retry := s.total.Allow(totalKey, now); !ok {
		s.metrics.refused.WithLabelValues("total_rate").Inc()
		return s.answerError(l, "", &wire.Error{Code: wire.CodeRateLimited, Message: "the server is busy", RetryAfter: retry})
	}
	req, err := wire.ParseRequest(l.Inner)
	if err != nil {
		if errors.Is(err, wire.ErrTooLarge) {
			return s.answerError(l, "upload", &wire.Error{Code: wire.CodeTooLarge, Message: "at most " + strconv.FormatInt(s.cfg.MaxBlobBytes, 10) + " bytes a blob"})
		}
		return s.answerError(l, "", &wire.Error{Code: wire.CodeBadRequest, Message: err.Error()})
	}
	return s.do(r, l, req, now)
}

// do runs one parsed request and seals its answer.
func (s *Server) do(r *http.Request, l *onion.Layer, req *wire.Request, now time.Time) (int, []byte) {
	ctx := r.Context()
	op := string(req.Op)
	var id []byte
	if req.ID != "" {
		id, _ = decodeID(req.ID) // ParseRequest checked it
	}
	var resp wire.Response
	var err error
	switch req.Op {
	case wire.OpUpload:
		if int64(len(req.Body)) > s.cfg.MaxBlobBytes {
			return s.answerError(l, op, &wire.Error{Code: wire.CodeTooLarge, Message: "at most " + strconv.FormatInt(s.cfg.MaxBlobBytes, 10) + " bytes a blob"})
		}
		var u Uploaded
		u, err = s.store.Put(ctx, req.Body, now.Add(s.ttl(req.TTL)))
		if err == nil {
			resp = wire.Response{ID: wire.EncodeID(u.ID), Expires: u.Expires, Token: u.Token}
			s.metrics.bytesIn.Add(float64(len(req.Body)))
		}
	case wire.OpDownload:
		var m Meta
		resp.Data, m, err = s.store.Read(ctx, id, req.Offset, req.Length, now)
		resp.Size, resp.Expires = m.Size, m.Expires
		s.metrics.bytesOut.Add(float64(len(resp.Data)))
	case wire.OpInfo:
		var m Meta
		m, err = s.store.Info(ctx, id, now)
		resp.Size, resp.Expires = m.Size, m.Expires
	case wire.OpExtend:
		resp.Expires, err = s.store.Extend(ctx, id, req.Token, now.Add(s.ttl(req.TTL)), now)
	case wire.OpDelete:
		err = s.store.Delete(ctx, id, req.Token, now)
	}
	if err != nil {
		return s.answerError(l, op, s.wireError(err))
	}
	body, err := wire.MarshalResponse(req.Op, &resp)
	if err != nil {
		s.logger.Error("encoding an answer", "op", op, "err", err)
		return s.answerError(l, op, &wire.Error{Code: wire.CodeInternal})
	}
	s.metrics.requests.WithLabelValues(op, "ok").Inc()
	return s.seal(l, http.StatusOK, body)
}

// ttl is the expiry granted for an asked ttl: the default for none, never
// more than the maximum.
func (s *Server) ttl(asked time.Duration) time.Duration {
	if asked <= 0 {
		return s.cfg.DefaultTTL.D()
	}
	return min(asked, s.cfg.MaxTTL.D())
}

// wireError maps a store error to its answer. Unexpected errors are
// logged (without the blob's ID or size) and answered internal.
func (s *Server) wireError(err error) *wire.Error {
	switch {
	case errors.Is(err, ErrNotFound):
		return &wire.Error{Code: wire.CodeNotFound, Message: "no such attachment, or it has expired"}
	case errors.Is(err, ErrForbidden):
		return &wire.Error{Code: wire.CodeForbidden, Message: "wrong token"}
	case errors.Is(err, ErrFull):
		return &wire.Error{Code: wire.CodeFull, Message: "the file server is full"}
	case errors.Is(err, ErrTooLarge):
		return &wire.Error{Code: wire.CodeTooLarge}
	case errors.Is(err, ErrRange):
		return &wire.Error{Code: wire.CodeBadRequest, Message: "offset past the end of the attachment"}
	}
	s.logger.Error("store failed", "err", withoutPaths(err))
	return &wire.Error{Code: wire.CodeInternal}
}

// withoutPaths drops the file names from err's file system errors: a
// blob's file name is its ID, which logs must not hold.
func withoutPaths(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	case errors.As(err, &le):
		return fmt.Errorf("%s: %w", le.Op, le.Err)
	}
	return err
}

func (s *Server) answerError(l *onion.Layer, op string, e *wire.Error) (int, []byte) {
	if op == "" {
		op = "unknown"
	}
	s.metrics.requests.WithLabelValues(op, string(e.Code)).Inc()
	s.logger.Debug("request refused", "op", op, "code", string(e.Code))
	status, body, err := wire.MarshalError(e)
	if err != nil {
		return s.fail(l, onion.CodeUnavailable)
	}
	return s.seal(l, status, body)
}

// seal answers the client under its layer's keys.
func (s *Server) seal(l *onion.Layer, status int, body []byte) (int, []byte) {
	b, err := l.Responder.Seal(status, body)
	if err != nil {
		s.logger.Error("sealing an answer", "err", err)
		return s.fail(l, onion.CodeUnavailable)
	}
	return http.StatusOK, b
}

// fail answers with an onion failure code, as a relay does.
func (s *Server) fail(l *onion.Layer, code onion.ErrorCode) (int, []byte) {
	b, err := l.Responder.Fail(code)
	if err != nil {
		return plain(http.StatusInternalServerError, "internal error")
	}
	return http.StatusOK, b
}

func decodeID(s string) ([]byte, error) {
	b := make([]byte, wire.IDSize)
	n, err := base64RawURL.Decode(b, []byte(s))
	return b[:n], err
}
