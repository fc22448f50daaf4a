package replication_test

import (
	"fmt"
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
	// The store is answered at two confirmations, so the forward to the
	// stalled member may still be on its way.
	eventually(t, "the forward to reach the stalled member", func() bool { return stalled.stalled.Load() > 0 })
	if got := holds(t, stalled, acct.ID()); got != 0 {
		t.Fatalf("the stalled member holds %d messages before it recovers", got)
	}
	release()
	eventually(t, "the recovered member holds the message", func() bool { return holds(t, stalled, acct.ID()) == 1 })
}

// TestFullQueueFallsBackToAntiEntropy: while a member hangs, forwards to it
// fill its bounded queue; the stores are still answered, the forwards that
// did not fit are counted, and anti-entropy brings the member every
// message once it recovers.
func TestFullQueueFallsBackToAntiEntropy(t *testing.T) {
	const stores, queue = 10, 2
	c := newCluster(t, 3, func(cfg *replication.Config) {
		cfg.ForwardTimeout, cfg.ForwardQueue = 3*time.Minute, queue
	})
	c.oneSwarm()
	c.startAll()
	entry, stalled := c.nodes[0], c.nodes[2]
	release := stalled.stallPeer(t)
	acct := identity.NewAccount()
	for i := range stores {
		res := storeMsg(t, entry, acct.ID(), fmt.Sprint("queued ", i), time.Now())
		if got := c.confirmations(acct.ID(), res); got < 2 {
			t.Fatalf("store %d: %d confirmations, want at least 2", i, got)
		}
	}
	// One batch is in flight (hanging), of at most queue forwards (those
	// queued when it left), and at most queue wait behind it.
	st := entry.repl.ForwardStats()
	if st.QueueFull < stores-2*queue {
		t.Fatalf("%+v: want at least %d forwards refused by the full queue", st, stores-2*queue)
	}
	release()
	runAntiEntropy(t, stalled)
	eventually(t, "the recovered member holds every message", func() bool { return holds(t, stalled, acct.ID()) == stores })
}
