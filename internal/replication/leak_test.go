package replication_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

// TestNoGoroutineLeak: once a swarm that stored, forwarded and reconciled
// is stopped (the subtest's cleanups), no goroutine of this package is
// left: forward queues, group commits and anti-entropy loops all end.
func TestNoGoroutineLeak(t *testing.T) {
	t.Run("swarm", func(t *testing.T) {
		c := newCluster(t, 3, nil)
		c.oneSwarm()
		c.startAll()
		for _, n := range c.nodes {
			runAntiEntropy(t, n)
		}
		acct := identity.NewAccount()
		for i := range 20 {
			storeMsg(t, c.nodes[i%3], acct.ID(), time.Now().String(), time.Now())
		}
		eventually(t, "every member holds 20", func() bool { return holds(t, c.nodes[2], acct.ID()) == 20 })
	})
	deadline := time.Now().Add(30 * time.Second) // busy machines
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "internal/replication.(") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replication goroutines left after stop:\n%s", stacks)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
