package replication_test

import (
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/internal/store"
)

// depositLog records what a node's replicator reports as new deposits.
type depositLog struct {
	mu     sync.Mutex
	hashes []string
}

func (d *depositLog) Deposited(m store.Message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hashes = append(d.hashes, m.Hash)
}

func (d *depositLog) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.hashes)
}

// TestOnlyForwardsAreDeposits: a peer's forward of a new message is a
// deposit (push notifications go out for it); a forward of a message
// already held, an anti-entropy repair and a hand-off to a new member
// are not.
func TestOnlyForwardsAreDeposits(t *testing.T) {
	var mu sync.Mutex
	logs := map[identity.Ed25519PublicKey]*depositLog{}
	logOf := func(k identity.Ed25519PublicKey) *depositLog {
		mu.Lock()
		defer mu.Unlock()
		if logs[k] == nil {
			logs[k] = &depositLog{}
		}
		return logs[k]
	}
	cfg := func(c *replication.Config) { c.Deposits = logOf(identity.Ed25519PublicKeyOf(c.Key)) }
	c := newCluster(t, 3, cfg)
	c.oneSwarm()
	c.startAll()
	lossy := c.nodes[2]
	lossy.fault.Store(true)
	acct := identity.NewAccount()

	// The forward reached node 1 before node 0 answered (it carries node
	// 1's confirmation), so its deposit is already reported.
	ts := time.Now()
	res := storeMsg(t, c.nodes[0], acct.ID(), "new", ts)
	if got := c.confirmations(acct.ID(), res); got != 2 {
		t.Fatalf("%d confirmations, want 2", got)
	}
	if got := logOf(c.nodes[1].pub()).count(); got != 1 {
		t.Fatalf("the member that took the forward reported %d deposits, want 1", got)
	}
	// A client retrying: forwarded again, but nothing new.
	storeMsg(t, c.nodes[0], acct.ID(), "new", ts)
	if got := logOf(c.nodes[1].pub()).count(); got != 1 {
		t.Fatalf("a repeated forward was reported: %d deposits, want 1", got)
	}

	// Anti-entropy repairs the member that dropped the forward. The
	// forwards to it go on after the store answered (at two
	// confirmations): wait until both have failed, or a late one would
	// deliver the message as a forward, a deposit, before the repair.
	eventually(t, "both forwards to the lossy member failed", func() bool { return c.nodes[0].repl.ForwardStats().Failed >= 2 })
	lossy.fault.Store(false)
	for _, n := range c.nodes {
		runAntiEntropy(t, n)
	}
	eventually(t, "the lossy member is repaired", func() bool { return holds(t, lossy, acct.ID()) == 1 })

	// A new member gets the account by hand-off (or repair).
	joiner := c.addNode(cfg)
	c.start(joiner)
	runAntiEntropy(t, joiner)
	c.oneSwarm()
	eventually(t, "the new member holds the account", func() bool { return holds(t, joiner, acct.ID()) == 1 })

	for i, n := range c.nodes {
		want := 0
		if i == 1 {
			want = 1
		}
		if got := logOf(n.pub()).count(); got != want {
			t.Errorf("node %d reported %d deposits, want %d", i, got, want)
		}
	}
}
