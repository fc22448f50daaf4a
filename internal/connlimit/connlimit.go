// Package connlimit caps how many connections a server holds open at once,
// whoever opens them: a net.Listener wrapper in the manner of
// golang.org/x/net/netutil.LimitListener, kept here (a few lines) rather
// than as a dependency.
//
// At the cap, Accept waits until an accepted connection closes; new
// connections wait in the kernel's listen backlog meanwhile, and are
// refused by the kernel once that is full. Waiting rather than accepting
// and closing at once lets a short burst of honest clients through a
// moment later instead of failing them, while what the cap protects (file
// descriptors, and the memory of buffers and goroutines, some 150 KiB per
// connection in a Go HTTPS server) stays bounded whatever a client does.
// Per-source limits (rate, requests in flight) are the caller's: this is
// the last line, for the node as a whole.
package connlimit

import (
	"net"
	"sync"
	"sync/atomic"
)

// Listener is a net.Listener that has at most n accepted connections open.
type Listener struct {
	net.Listener
	sem       chan struct{} // one token per open connection
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	open      atomic.Int64
}

// New returns l limited to n open connections; n < 1 means no limit (a
// zero config field must not leave a server one connection).
func New(l net.Listener, n int) *Listener {
	ln := &Listener{Listener: l, done: make(chan struct{})}
	if n >= 1 {
		ln.sem = make(chan struct{}, n)
	}
	return ln
}

// Accept waits for a free slot, then for a connection.
func (l *Listener) Accept() (net.Conn, error) {
	if l.sem == nil {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.open.Add(1)
		return &conn{Conn: c, l: l}, nil
	}
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		// Let the closed listener say so, with its own error
		// (net.ErrClosed), as http.Server expects.
		return l.Listener.Accept()
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	l.open.Add(1)
	return &conn{Conn: c, l: l}, nil
}

// Close closes the listener and ends any Accept waiting for a slot.
// Connections already accepted stay open.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// Open reports how many accepted connections are open.
func (l *Listener) Open() int { return int(l.open.Load()) }

// conn frees its slot on its first Close.
type conn struct {
	net.Conn
	l    *Listener
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.open.Add(-1)
		if c.l.sem != nil {
			<-c.l.sem
		}
	})
	return err
}
