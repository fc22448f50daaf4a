// Package logfilter keeps out of a server's logs what DESIGN.md says they
// must not hold unless the operator passes --debug-log-private: IP
// addresses and Account IDs. hush's own log calls leave them out (or log
// them only in private mode); this package covers the lines hush does not
// write itself: net/http's ErrorLog, whose TLS handshake errors name the
// client's IP:port, and error texts that quote an address.
package logfilter

import (
	"context"
	"log"
	"log/slog"
	"regexp"
)

var (
	// An IPv4 address with or without a port, or a bracketed IPv6 one
	// with a port, as net/http and net errors print them.
	addressRE = regexp.MustCompile(`\[[0-9A-Fa-f:.]+(?:%[^\]]+)?\]:\d+|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b`)
	// An 05 Account ID in hex.
	accountRE = regexp.MustCompile(`\b05[0-9a-f]{64}\b`)
)

// Redact replaces every IP address (with its port) and Account ID in s.
func Redact(s string) string {
	s = addressRE.ReplaceAllString(s, "[address]")
	return accountRE.ReplaceAllString(s, "[account]")
}

// ErrorLog returns a logger for http.Server.ErrorLog that writes to h at
// debug level, through [Handler] unless private.
func ErrorLog(h slog.Handler, private bool) *log.Logger {
	if !private {
		h = Handler(h)
	}
	return slog.NewLogLogger(h, slog.LevelDebug)
}

// Handler wraps h so that each record's message and the values of its
// string, error and Stringer attributes pass through [Redact], except the
// attributes named in keep (a server's own listening address, which is
// public).
func Handler(h slog.Handler, keep ...string) slog.Handler {
	k := make(map[string]bool, len(keep))
	for _, s := range keep {
		k[s] = true
	}
	return &handler{next: h, keep: k}
}

type handler struct {
	next slog.Handler
	keep map[string]bool
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	if h.keep[a.Key] {
		return a
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Redact(v.String()))
	case slog.KindGroup:
		as := v.Group()
		out := make([]any, len(as))
		for i, g := range as {
			out[i] = h.attr(g)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, Redact(x.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, Redact(x.String()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = h.attr(a)
	}
	return &handler{next: h.next.WithAttrs(out), keep: h.keep}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name), keep: h.keep}
}
