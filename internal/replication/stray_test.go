package replication_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/rpc"
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
			mover, acct, layout := strayMover(t, c)
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

// strayMover starts c's four nodes in one swarm and stores three
// messages of an account of swarm 1 at the fourth node alone (the others
// drop forwards), the mover; layout, once published, moves the mover to
// a swarm of its own, leaving the account a stray there.
func strayMover(t *testing.T, c *cluster) (mover *testNode, acct identity.AccountID, layout map[*testNode]uint64) {
	t.Helper()
	c.oneSwarm()
	c.startAll()
	mover = c.nodes[3]
	for _, n := range c.nodes[:3] {
		n.fault.Store(true) // the stays drop forwards: only the mover holds the account
	}
	layout = map[*testNode]uint64{c.nodes[0]: 1, c.nodes[1]: 1, c.nodes[2]: 1, mover: 1 << 63}
	c.publish(layout)
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
	return mover, acct, layout
}

// lateArrival is a Replica that, once armed, puts a message into the
// store the first time a hand-off reads messages to push: a store or a
// peer's forward that commits while the hand-off runs.
type lateArrival struct {
	store.Replica
	mu   sync.Mutex
	late *store.Message
}

func (l *lateArrival) Messages(ctx context.Context, acct identity.AccountID, hashes []string, now time.Time) ([]store.Message, error) {
	l.mu.Lock()
	m := l.late
	l.late = nil
	l.mu.Unlock()
	if m != nil {
		if _, err := l.Replica.Put(ctx, *m); err != nil {
			return nil, err
		}
	}
	return l.Replica.Messages(ctx, acct, hashes, now)
}

// TestHandOffKeepsLateArrival: a message that arrives while a hand-off
// pushes its account is not dropped with what was pushed; the next
// hand-off takes it. The hand-off used to drop the whole account after
// the push, and with it a message stored in between, which no member of
// the new swarm had.
func TestHandOffKeepsLateArrival(t *testing.T) {
	var hooks []*lateArrival
	c := newCluster(t, 4, func(cfg *replication.Config) {
		cfg.AntiEntropyInterval = time.Hour
		l := &lateArrival{Replica: cfg.Store}
		hooks = append(hooks, l)
		cfg.Store = l
	})
	mover, acct, layout := strayMover(t, c)
	hook := hooks[3]
	c.publish(layout) // the mover is now in swarm 1<<63, the account stays in swarm 1

	data := []byte("came during the hand-off")
	now := time.Now()
	hook.mu.Lock()
	hook.late = &store.Message{Account: acct, Hash: rpc.MessageHash(acct, 0, data), Data: data, Timestamp: now, Expiry: now.Add(time.Hour)}
	hook.mu.Unlock()
	if _, err := mover.repl.HandOff(context.Background()); err != nil {
		t.Fatalf("HandOff: %v", err)
	}
	if got := holds(t, mover, acct); got != 1 {
		t.Fatalf("the mover holds %d messages after the hand-off; want the one that came during it", got)
	}
	if _, err := mover.repl.HandOff(context.Background()); err != nil {
		t.Fatalf("second HandOff: %v", err)
	}
	for i, n := range c.nodes[:3] {
		if got := holds(t, n, acct); got != 4 {
			t.Errorf("member %d holds %d messages after two hand-offs, want 4", i, got)
		}
	}
	if got := holds(t, mover, acct); got != 0 {
		t.Errorf("the mover still holds %d messages after the second hand-off", got)
	}
}
