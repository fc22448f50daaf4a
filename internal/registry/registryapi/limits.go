package registryapi

import (
	"net"
	"net/netip"
	"sync"
)

// Limits bounds the long-polls (GET /v1/snapshot with a wait) the API
// holds: Polls in all, PollsPerSource from one source ([Source]). Past
// either the request is answered 503 "unavailable" at once, which a node's
// registryclient.Pool takes as "try another host". Zero means no bound.
type Limits struct {
	Polls, PollsPerSource int
}

// Source names the source of a connection from its remote address: the
// IP, or for IPv6 its /64, which one host usually holds whole. Limits per
// source use it.
func Source(remoteAddr string) string {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		host, _, err := net.SplitHostPort(remoteAddr)
		if err != nil {
			return remoteAddr
		}
		return host
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// counter counts what each source holds, against a per-source and a total
// bound.
type counter struct {
	total, perSource int

	mu  sync.Mutex // guards n and all
	n   map[string]int
	all int
}

func newCounter(total, perSource int) *counter {
	return &counter{total: total, perSource: perSource, n: map[string]int{}}
}

// enter takes a slot for src, or reports false when src or everyone
// holds the maximum.
func (c *counter) enter(src string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if (c.total > 0 && c.all >= c.total) || (c.perSource > 0 && c.n[src] >= c.perSource) {
		return false
	}
	c.n[src]++
	c.all++
	return true
}

func (c *counter) leave(src string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all--
	if c.n[src]--; c.n[src] <= 0 {
		delete(c.n, src)
	}
}

func (c *counter) count(src string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[src]
}
