package client

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/snapshot"
)

// No single node decides anything that loses mail or keys (STYLE.md rule
// 18, issue 13). This file holds what that takes beyond the checks in
// receive.go: the bounds of a poll, the list of members caught
// misbehaving, and the network clock with the rule for destructive time
// decisions.

// pollLimits bound one poll. Each member's retrieval has its own deadline
// so a slow member is replaced, not waited for.
type pollLimits struct {
	poll, member time.Duration
	// hedge is how long a poll waits for a member before asking one more.
	hedge     time.Duration
	pages     int   // pages per member and namespace
	pollBytes int64 // answer bytes per poll, over members and namespaces
}

// defaultLimits: a page is at most 1 MiB of data, so 32 pages and 48 MiB
// hold a full 14-day inbox at the node's default quota several times
// over; a poll through onion paths takes seconds, not minutes.
var defaultLimits = pollLimits{poll: 2 * time.Minute, member: 30 * time.Second, hedge: 8 * time.Second, pages: 32, pollBytes: 48 << 20}

var (
	// errPaging: a member's pages did not move forward, or ran past the
	// poll's bounds.
	errPaging = errors.New("paging did not end")
	// errSlowMember: a member did not answer within its deadline.
	errSlowMember = errors.New("member did not answer in time")
)

// badFor is how long a member caught misbehaving is asked last.
const badFor = time.Hour

// BadNode is a node caught misbehaving: an answer that failed a check
// (garbled data, a far-future message, endless paging, a clock far off
// the network's). A node that is only slow is not named: a timeout does
// not show whose fault it is. It is asked last for a while; `hush
// path` lists it.
type BadNode struct {
	Ed25519 identity.Ed25519PublicKey `json:"pubkey_ed25519"`
	Reason  string                    `json:"reason"`
	At      time.Time                 `json:"at"`
}

// BadNodes returns the nodes caught misbehaving, most recent first.
func (c *Client) BadNodes() []BadNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]BadNode, 0, len(c.bad))
	for _, b := range c.bad {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b BadNode) int { return b.At.Compare(a.At) })
	return out
}

// badReporter is a transport that keeps the bad nodes for `hush path`
// (paths.Manager).
type badReporter interface {
	MarkBad(key identity.Ed25519PublicKey, reason string, at time.Time)
}

// markBad records that n misbehaved, and warns once per node and reason.
// Node keys are public and say nothing about the user, so they are
// logged.
func (c *Client) markBad(n snapshot.Node, reason string) {
	now := c.clock()
	c.mu.Lock()
	if c.bad == nil {
		c.bad = map[identity.Ed25519PublicKey]BadNode{}
	}
	old, seen := c.bad[n.Ed25519]
	c.bad[n.Ed25519] = BadNode{Ed25519: n.Ed25519, Reason: reason, At: now}
	c.mu.Unlock()
	if !seen || old.Reason != reason {
		c.log.Warn("a swarm member misbehaved; its answer was ignored and others were asked", "node", n.Ed25519.String(), "reason", reason)
	}
	if r, ok := c.tr.(badReporter); ok {
		r.MarkBad(n.Ed25519, reason, now)
	}
}

// markSlow records that n did not answer within its deadline. A slow
// answer proves nothing (the path, or a loaded machine, may be to blame),
// so n is not named as bad, only asked last for a while, as bad ones are.
func (c *Client) markSlow(n snapshot.Node) {
	now := c.clock()
	c.mu.Lock()
	if c.slow == nil {
		c.slow = map[identity.Ed25519PublicKey]time.Time{}
	}
	c.slow[n.Ed25519] = now
	c.mu.Unlock()
	c.log.Debug("a swarm member did not answer in time; others were asked", "node", n.Ed25519.String())
}

// askOrder returns members in random order, those caught misbehaving or
// slow in the last badFor last.
func (c *Client) askOrder(members []snapshot.Node) []snapshot.Node {
	members = slices.Clone(members)
	rand.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	now := c.clock()
	c.mu.Lock()
	isBad := func(n snapshot.Node) bool {
		b, ok := c.bad[n.Ed25519]
		slow, isSlow := c.slow[n.Ed25519]
		return ok && now.Sub(b.At) < badFor || isSlow && now.Sub(slow) < badFor
	}
	slices.SortStableFunc(members, func(a, b snapshot.Node) int {
		switch ab, bb := isBad(a), isBad(b); {
		case ab == bb:
			return 0
		case ab:
			return 1
		}
		return -1
	})
	c.mu.Unlock()
	return members
}

// observeTime gives node n's time t (Unix ms), answered to a request sent
// at local time sent and answered at received, to the network clock. A
// node whose time is far from the median of the others is marked bad.
func (c *Client) observeTime(n snapshot.Node, sent, received time.Time, t int64) {
	off, outlier := c.netc.Observe(n.Ed25519.String(), sent, received, t)
	if outlier {
		c.markBad(n, fmt.Sprintf("its clock is %v off ours, far from the other nodes'", off.Round(time.Second)))
	}
}

// safeNow is the time for decisions that destroy something: deleting
// prekeys, refusing mail as too old. It is the earlier of the local and
// the network clock (netclock.Clock.Safe), so such a duty waits until
// both agree it is due; when they disagree by more than netclock.Agree it
// warns (once per hour), since the user's clock or the network's is
// wrong.
func (c *Client) safeNow() time.Time {
	t, agree := c.netc.Safe()
	if !agree {
		now := c.clock()
		c.mu.Lock()
		warn := now.Sub(c.clockWarned) > time.Hour || c.clockWarned.After(now)
		if warn {
			c.clockWarned = now
		}
		c.mu.Unlock()
		if warn {
			c.log.Warn("this computer's clock and the network's disagree; deleting expired keys and mail waits until they agree",
				"network_minus_local", c.netc.Offset().Round(time.Second), "nodes", c.netc.Nodes())
		}
	}
	return t
}
