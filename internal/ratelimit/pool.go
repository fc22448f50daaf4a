package ratelimit

import (
	"errors"
	"sync"
)

// Errors returned by [Pool.Acquire].
var (
	// ErrPoolFull: the pool's total is in use.
	ErrPoolFull = errors.New("ratelimit: pool full")
	// ErrSourceBusy: the source holds its whole share of the pool.
	ErrSourceBusy = errors.New("ratelimit: too many requests in flight from this source")
)

// PoolLimits shape a [Pool]. A zero field means no limit of that kind.
type PoolLimits struct {
	// Total caps the requests in flight from all sources together.
	Total int
	// PerClient caps one client address.
	PerClient int
	// NodeShare is what the nodes share fairly: a node holding requests,
	// or asking for one, may hold at most NodeShare/(k+1) of them, k being
	// the number of nodes that would then hold any. The +1 keeps a share
	// free for a node that has none yet, so nodes already busy can never
	// crowd out one that arrives; a node's cap falls as others arrive and
	// it takes no more until it is back under. NodeMin (at least 1) is the
	// least cap a node has however many are active.
	NodeShare, NodeMin int
}

// Pool counts requests in flight, in total and per [Source], and refuses
// a request past a limit instead of queueing it. A server keeps one pool
// per kind of work whose requests hold resources alike: short requests in
// one, requests held open for long (push waits) in another, so that the
// second kind can never take the slots the first needs. It is safe for
// concurrent use.
type Pool struct {
	lim PoolLimits

	mu     sync.Mutex // guards the fields below
	total  int
	held   map[Source]int // only sources holding at least one
	nNodes int            // node sources in held
}

// NewPool returns an empty pool.
func NewPool(lim PoolLimits) *Pool {
	return &Pool{lim: lim, held: make(map[Source]int)}
}

// Acquire takes one place for src. It returns ErrPoolFull or
// ErrSourceBusy when a limit is reached; otherwise the caller must call
// release exactly once when the request is done.
func (p *Pool) Acquire(src Source) (release func(), err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lim.Total > 0 && p.total >= p.lim.Total {
		return nil, ErrPoolFull
	}
	n := p.held[src]
	if limit := p.limitFor(src, n); limit > 0 && n >= limit {
		return nil, ErrSourceBusy
	}
	if n == 0 && src.node {
		p.nNodes++
	}
	p.held[src] = n + 1
	p.total++
	var once sync.Once
	return func() { once.Do(func() { p.release(src) }) }, nil
}

// limitFor is src's cap while it holds n; p.mu must be held.
func (p *Pool) limitFor(src Source, n int) int {
	if !src.node {
		return p.lim.PerClient
	}
	if p.lim.NodeShare <= 0 {
		return 0
	}
	k := p.nNodes
	if n == 0 {
		k++ // src would join the nodes holding requests
	}
	return max(1, p.lim.NodeMin, p.lim.NodeShare/(k+1))
}

func (p *Pool) release(src Source) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total--
	if n := p.held[src] - 1; n > 0 {
		p.held[src] = n
		return
	}
	delete(p.held, src)
	if src.node {
		p.nNodes--
	}
}

// InFlight returns the requests in flight in total and from src.
func (p *Pool) InFlight(src Source) (total, fromSource int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total, p.held[src]
}
