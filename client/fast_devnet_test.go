package client

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestFastReceiveChurn: on a devnet of hushd processes, alice and bob run
// the fast-mode receive loop (long-polls through onion paths) while they
// send each other fastChurnMessages messages (100 with -tags fastfull),
// and members of their swarms are killed
// with SIGKILL and restarted in turn. Every message is reported by the
// loop exactly once. The safety-net poll is scaled down (not slept on),
// so that what a dead member held is caught in the test's time.
func TestFastReceiveChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hushd processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	d := startHushdDevnet(ctx, t)

	o := Options{Network: d.Network(), SafetyNetInterval: 10 * time.Second}
	alice := open(t, newHome(t), o)
	bob := open(t, newHome(t), o)
	got := map[*Client]*follower{alice: follow(t, alice), bob: follow(t, bob)}

	// The members to kill: the first two of each account's swarm.
	var victims [2][]int
	for _, members := range swarmIndexes(ctx, t, d, alice, bob) {
		for k := range 2 {
			victims[k] = append(victims[k], members[k])
		}
	}
	// What happens to the members before message i is sent: each victim
	// is killed, and restarted a quarter of the run later.
	const n = fastChurnMessages
	churn := map[int]func() error{}
	for k, at := range []int{n / 5, 3 * n / 5} {
		churn[at] = func() error { return each(victims[k], d.Kill) }
		churn[at+n/4] = func() error { return each(victims[k], d.Restart) }
	}

	for i := range n {
		if f := churn[i]; f != nil {
			if err := f(); err != nil {
				t.Fatal(err)
			}
		}
		// Both ways at once.
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, p := range []struct {
			from, to *Client
			tag      string
		}{{alice, bob, "a"}, {bob, alice, "b"}} {
			wg.Go(func() {
				if _, err := p.from.Send(ctx, p.to.Account(), fmt.Sprintf("%s%03d", p.tag, i)); err != nil {
					errs <- fmt.Errorf("send %s%d: %w", p.tag, i, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	for _, p := range []struct {
		c   *Client
		tag string
	}{{alice, "b"}, {bob, "a"}} {
		f := got[p.c]
		waitForLong(t, 3*time.Minute, fmt.Sprintf("the %s messages", p.tag), func() bool { return f.total() >= n })
		for i := range n {
			if k := f.count(fmt.Sprintf("%s%03d", p.tag, i)); k != 1 {
				t.Errorf("%s%03d reported %d times, want once", p.tag, i, k)
			}
		}
		if k := f.total(); k != n {
			t.Errorf("%d messages reported, want %d", k, n)
		}
	}
}

// each runs f on every distinct index.
func each(is []int, f func(int) error) error {
	done := map[int]bool{}
	for _, i := range is {
		if done[i] {
			continue
		}
		done[i] = true
		if err := f(i); err != nil {
			return err
		}
	}
	return nil
}

// waitForLong is waitFor with its own deadline.
func waitForLong(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
