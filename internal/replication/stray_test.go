package replication_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/replication"
)

// TestStrayHandOff: a node moved out of an account's swarm hands the
// account to that swarm even when its members have seen several epochs
// since the move (the registry ticks an epoch a minute, or 5 a second in
// tests, while the node catches up), up to replication.PastSnapshots;
// past that the swarm refuses it, and a decommission leaves it on disk
// without failing. This was the CI failure of TestDevnetChurn: a member
// refused a hand-off from a node two snapshots gone.
func TestStrayHandOff(t *testing.T) {
	for _, tc := range []struct {
		epochs  int // snapshots published after the move, before the hand-off
		handed  bool
		strayed bool
	}{
		{epochs: 1, handed: true},
		{epochs: 5, handed: true},
		{epochs: replication.PastSnapshots, handed: true},
		{epochs: replication.PastSnapshots + 1, strayed: true},
	} {
		t.Run(fmt.Sprint(tc.epochs, " epochs"), func(t *testing.T) {
			// No anti-entropy or hand-off runs unless the test calls it.
			c := newCluster(t, 4, func(cfg *replication.Config) { cfg.AntiEntropyInterval = time.Hour })
			c.oneSwarm()
			c.startAll()
			mover := c.nodes[3]
			for _, n := range c.nodes[:3] {
				n.fault.Store(true) // the stays drop forwards: only the mover holds the account
			}
			layout := map[*testNode]uint64{c.nodes[0]: 1, c.nodes[1]: 1, c.nodes[2]: 1, mover: 1 << 63}
			c.publish(layout)
			var acct identity.AccountID
			for {
				acct = identity.NewAccount().ID()
				if id, _, ok := c.snap.SwarmOf(acct); ok && id == 1 {
					break
				}
			}
			c.oneSwarm()
			for i := range 3 {
				storeMsg(t, mover, acct, fmt.Sprint("only on the mover ", i), time.Now())
			}
			for range tc.epochs {
				c.publish(layout) // the mover is now in swarm 1<<63, the account stays in swarm 1
			}
			_, err := mover.repl.HandOff(context.Background())
			if tc.handed {
				if err != nil {
					t.Fatalf("HandOff: %v", err)
				}
				for i, n := range c.nodes[:3] {
					if got := holds(t, n, acct); got != 3 {
						t.Errorf("member %d holds %d messages after the hand-off, want 3", i, got)
					}
				}
				if got := holds(t, mover, acct); got != 0 {
					t.Errorf("the mover still holds %d messages after handing them off", got)
				}
				return
			}
			if !errors.Is(err, replication.ErrHandOffIncomplete) {
				t.Fatalf("HandOff past the window: %v, want ErrHandOffIncomplete", err)
			}
			st, err := mover.repl.Decommission(context.Background())
			if err != nil || st.StraysLeft != 1 {
				t.Fatalf("Decommission = %+v, %v; want no error and one stray left", st, err)
			}
			if got := holds(t, mover, acct); got != 3 {
				t.Errorf("the mover holds %d messages after its decommission, want all 3 kept", got)
			}
		})
	}
}
