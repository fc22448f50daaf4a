package registry

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hushnet/hush/internal/registry/registryapi"
)

// connLimiter is the API listener's gate: it counts open connections in
// all and per source (registryapi.Source). A connection past either cap
// is still accepted, but marked: it gets a short deadline and its request
// a 503 "unavailable" (a node's pool then tries another host), so the
// refusal is clear rather than a reset. Past twice the caps even that is
// too much, and the connection is closed at once.
type connLimiter struct {
	net.Listener
	max, perSource int
	// overDeadline bounds a marked connection's whole life.
	overDeadline time.Duration

	mu    sync.Mutex // guards n and total
	n     map[string]int
	total int
}

func newConnLimiter(ln net.Listener, max, perSource int, overDeadline time.Duration) *connLimiter {
	return &connLimiter{Listener: ln, max: max, perSource: perSource, overDeadline: overDeadline, n: map[string]int{}}
}

// limitedConn is an accepted connection; Close gives its slot back.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	src  string
	over bool // past a cap: answered 503
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.release(c.src) })
	return c.Conn.Close()
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := registryapi.Source(c.RemoteAddr().String())
		l.mu.Lock()
		n, total := l.n[src], l.total
		over := n >= l.perSource || total >= l.max
		drop := n >= 2*l.perSource || total >= 2*l.max
		if !drop {
			l.n[src]++
			l.total++
		}
		l.mu.Unlock()
		if drop {
			c.Close()
			continue
		}
		if over {
			c.SetDeadline(time.Now().Add(l.overDeadline))
		}
		return &limitedConn{Conn: c, l: l, src: src, over: over}, nil
	}
}

func (l *connLimiter) release(src string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.n[src]--; l.n[src] <= 0 {
		delete(l.n, src)
	}
}

type overCapKey struct{}

// connContext marks the requests of a connection past the caps.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if lc, ok := c.(*limitedConn); ok && lc.over {
		return context.WithValue(ctx, overCapKey{}, true)
	}
	return ctx
}

// refuseOverCap answers requests on marked connections with 503 and
// closes the connection after it.
func refuseOverCap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if over, _ := r.Context().Value(overCapKey{}).(bool); !over {
			next.ServeHTTP(w, r)
			return
		}
		var body registryapi.ErrorBody
		body.Error.Code = "unavailable"
		body.Error.Message = "too many connections; try again later or another registry host"
		w.Header().Set("Connection", "close")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(body)
	})
}
