package labnet

import (
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// Tunables of the wrapper.
const (
	// segment is the payload of one TCP segment on a 1,500-byte MTU;
	// loss is drawn per segment.
	segment = 1448
	// minRTO is Linux's minimum retransmission time-out.
	minRTO = 200 * time.Millisecond
	// queued bounds the chunks in flight each way; beyond it the
	// writer blocks and the reader stops reading, as a full window
	// would.
	queued = 64
	// readChunk is the most one read from the kernel takes.
	readChunk = 32 << 10
	// closeGrace bounds how long a closed connection's queued bytes
	// may take to leave.
	closeGrace = 10 * time.Second
)

// WrapListener returns ln with every accepted connection slowed by the
// profile cfg gives the link between its two addresses.
func WrapListener(ln net.Listener, cfg *Config) net.Listener {
	return &listener{Listener: ln, src: func() *Config { return cfg }, static: true}
}

// WrapListenerFunc is WrapListener with the links read from src at
// every chunk, so a changed links file applies to open connections too.
func WrapListenerFunc(ln net.Listener, src func() *Config) net.Listener {
	return &listener{Listener: ln, src: src}
}

type listener struct {
	net.Listener
	src    func() *Config
	static bool
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	local, remote := addrOf(c.LocalAddr()), addrOf(c.RemoteAddr())
	prof := func() Profile { return l.src().For(local, remote) }
	if l.static && prof().IsZero() {
		return c, nil
	}
	return wrapConn(c, prof), nil
}

func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// delay draws one chunk's delay across the link: half the round trip,
// the jitter, and a retransmission stall for each of its segments lost.
func (p Profile) delay(n int) time.Duration {
	d := p.RTT / 2
	if p.Jitter > 0 {
		d += time.Duration(rand.Int64N(int64(2*p.Jitter)+1)) - p.Jitter
	}
	if p.Loss > 0 {
		segs := max(1, (n+segment-1)/segment)
		if rand.Float64() < 1-math.Pow(1-p.Loss, float64(segs)) {
			d += max(minRTO, 2*p.RTT)
		}
	}
	return max(d, 0)
}

type chunk struct {
	data []byte
	due  time.Time
	err  error // after data: what the kernel said next
}

// conn delays both directions of an accepted connection.
type conn struct {
	net.Conn
	prof func() Profile

	in     chan chunk // from the reader goroutine
	out    chan chunk // to the writer goroutine
	closed chan struct{}
	once   sync.Once

	rmu      sync.Mutex // serializes Read
	cur      *chunk     // the chunk Read is delivering
	dmu      sync.Mutex // guards deadline and dlChanged
	deadline time.Time
	dlChange chan struct{} // closed and replaced when deadline changes

	wmu     sync.Mutex // guards lastOut, werr and outShut
	lastOut time.Time
	werr    error
	outShut bool
}

// WrapConn returns c with what it reads and writes delayed by p.
func WrapConn(c net.Conn, p Profile) net.Conn {
	return wrapConn(c, func() Profile { return p })
}

func wrapConn(c net.Conn, prof func() Profile) net.Conn {
	w := &conn{Conn: c, prof: prof, in: make(chan chunk, queued), out: make(chan chunk, queued),
		closed: make(chan struct{}), dlChange: make(chan struct{})}
	go w.reader()
	go w.writer()
	return w
}

func (c *conn) reader() {
	defer close(c.in)
	var last time.Time
	for {
		buf := make([]byte, readChunk)
		n, err := c.Conn.Read(buf)
		due := time.Now().Add(c.prof().delay(n))
		if due.Before(last) {
			due = last // a stream never reorders
		}
		last = due
		ch := chunk{data: buf[:n], due: due, err: err}
		select {
		case c.in <- ch:
		case <-c.closed:
			return
		}
		if err != nil {
			return
		}
	}
}

func (c *conn) writer() {
	defer c.Conn.Close()
	t := time.NewTimer(0)
	defer t.Stop()
	for ch := range c.out {
		if d := time.Until(ch.due); d > 0 {
			t.Reset(d)
			<-t.C
		}
		if _, err := c.Conn.Write(ch.data); err != nil {
			c.wmu.Lock()
			c.werr = err
			c.wmu.Unlock()
			// Keep draining so Write never blocks on a dead link.
			for range c.out {
			}
			return
		}
	}
}

func (c *conn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.cur == nil {
			c.dmu.Lock()
			dl, changed := c.deadline, c.dlChange
			c.dmu.Unlock()
			timeout, stop := deadlineTimer(dl)
			select {
			case ch, ok := <-c.in:
				stop()
				if !ok {
					return 0, net.ErrClosed
				}
				c.cur = &ch
			case <-timeout:
				return 0, os.ErrDeadlineExceeded
			case <-changed:
				stop()
				continue
			case <-c.closed:
				stop()
				return 0, net.ErrClosed
			}
		}
		if wait := time.Until(c.cur.due); wait > 0 {
			c.dmu.Lock()
			dl, changed := c.deadline, c.dlChange
			c.dmu.Unlock()
			timeout, stop := deadlineTimer(dl)
			due := time.NewTimer(wait)
			select {
			case <-due.C:
			case <-timeout:
				due.Stop()
				return 0, os.ErrDeadlineExceeded
			case <-changed:
			case <-c.closed:
				due.Stop()
				stop()
				return 0, net.ErrClosed
			}
			due.Stop()
			stop()
			continue
		}
		if len(c.cur.data) > 0 {
			n := copy(b, c.cur.data)
			c.cur.data = c.cur.data[n:]
			return n, nil
		}
		err := c.cur.err
		c.cur = nil
		if err != nil {
			c.cur = &chunk{err: err} // sticky, as the kernel's
			return 0, err
		}
	}
}

// deadlineTimer returns a channel that fires at dl (never for zero).
func deadlineTimer(dl time.Time) (<-chan time.Time, func()) {
	if dl.IsZero() {
		return nil, func() {}
	}
	d := time.Until(dl)
	if d <= 0 {
		ch := make(chan time.Time, 1)
		ch <- dl
		return ch, func() {}
	}
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

func (c *conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.outShut {
		return 0, net.ErrClosed
	}
	if c.werr != nil {
		return 0, c.werr
	}
	due := time.Now().Add(c.prof().delay(len(b)))
	if due.Before(c.lastOut) {
		due = c.lastOut
	}
	c.lastOut = due
	// Written bytes are gone from the caller's view at once, as into
	// the kernel's send buffer; the writer sends them when due.
	select {
	case c.out <- chunk{data: append([]byte(nil), b...), due: due}:
		return len(b), nil
	case <-c.closed:
		return 0, net.ErrClosed
	}
}

// Close returns at once; what was written still leaves when due, then
// the connection closes, as the kernel's close does with queued data.
func (c *conn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.wmu.Lock()
		c.outShut = true
		close(c.out)
		c.wmu.Unlock()
		// A peer that stopped reading must not keep the socket open
		// for ever.
		time.AfterFunc(c.prof().RTT+closeGrace, func() { c.Conn.Close() })
	})
	return nil
}

func (c *conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	c.deadline = t
	close(c.dlChange)
	c.dlChange = make(chan struct{})
	c.dmu.Unlock()
	return nil
}

// SetWriteDeadline applies to the kernel writes, which happen later.
func (c *conn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(t) }
