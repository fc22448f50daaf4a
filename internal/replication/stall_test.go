package replication_test

import (
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/replication"
)

// TestStoreAnswersWhileAMemberStalls: a store is answered once two members
// (the one the client reached and one peer) confirmed it, while the third
// member's node RPC hangs with the forward in it; the stalled member gets
// the message once it recovers. The forward time-out is far longer than
// the test waits for the answer, so the store cannot be answered by
// giving up on the stalled member.
func TestStoreAnswersWhileAMemberStalls(t *testing.T) {
	c := newCluster(t, 3, func(cfg *replication.Config) { cfg.ForwardTimeout = 3 * time.Minute })
	c.oneSwarm()
	c.startAll()
	entry, stalled := c.nodes[0], c.nodes[2]
	release := stalled.stallPeer(t)
	acct := identity.NewAccount()
	type answer struct {
		confirmations int
		err           error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := tryStore(entry, acct.ID(), "while a member hangs", time.Now())
		done <- answer{c.confirmations(acct.ID(), res), err}
	}()
	select {
	case a := <-done:
		if a.err != nil {
			t.Fatalf("store: %v", a.err)
		}
		if a.confirmations < 2 {
			t.Fatalf("store answered with %d valid confirmations, want at least 2", a.confirmations)
		}
	case <-time.After(time.Minute):
		t.Fatal("the store waited for the stalled member")
	}
	if stalled.stalled.Load() == 0 {
		t.Fatal("the forward never reached the stalled member")
	}
	if got := holds(t, stalled, acct.ID()); got != 0 {
		t.Fatalf("the stalled member holds %d messages before it recovers", got)
	}
	release()
	eventually(t, "the recovered member holds the message", func() bool { return holds(t, stalled, acct.ID()) == 1 })
}
