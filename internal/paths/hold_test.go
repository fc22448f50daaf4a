package paths_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/onion"
)

// TestDoHold: DoHold's request outlives both the hops' ordinary deadlines
// and the manager's per-attempt time-out, by the hold.
func TestDoHold(t *testing.T) {
	hd := relaytest.NewHolder(-1)
	f := newFixture(t, relaytest.Options{Nodes: 6, HopTimeout: 300 * time.Millisecond, HopSlack: 50 * time.Millisecond,
		Wrap: hd.Wrap}, func(o *paths.Options) { o.AttemptTimeout = time.Second })
	acct := identity.NewAccount()
	dest := f.nw.SwarmFor(acct.ID())[0]
	type result struct {
		status int
		body   []byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		st, b, err := f.m.DoHold(context.Background(), dest, relaytest.WaitRetrieve(t, acct, 20*time.Second), 25*time.Second)
		done <- result{st, b, err}
	}()
	for hd.Entered.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	// Past the attempt time-out and every hop's ordinary deadline.
	time.Sleep(time.Second + onion.MaxLayers*50*time.Millisecond + 300*time.Millisecond)
	hd.Release()
	r := <-done
	if r.err != nil || r.status != http.StatusOK || string(r.body) != relaytest.HeldAnswer {
		t.Fatalf("DoHold: %d %s %v", r.status, r.body, r.err)
	}
}

// stall, while on, keeps a relay's forwards from being answered, so the
// relay's own capped deadline ends them: it stands for a next hop that
// holds the request longer than this relay's max_hold allows.
type stall struct {
	onionclient.Poster
	on *atomic.Bool
}

func (c stall) Post(ctx context.Context, key identity.Ed25519PublicKey, addr, path string, body []byte, limit int) (int, []byte, error) {
	if c.on.Load() {
		<-ctx.Done()
		return 0, nil, ctx.Err()
	}
	return c.Poster.Post(ctx, key, addr, path, body, limit)
}

// TestDoHoldCutShortChargesNoOne: a relay whose cap cuts holds short
// answers a time-out; DoHold returns it at once and charges no node for
// it (the node after that relay is not at fault), so repeated long-polls
// do not tear down working paths.
func TestDoHoldCutShortChargesNoOne(t *testing.T) {
	hd := relaytest.NewHolder(-1)
	defer hd.Release()
	acct := identity.NewAccount()
	ctx := context.Background()
	cut := make([]atomic.Bool, 6)
	f := newFixture(t, relaytest.Options{Nodes: 6, HopTimeout: 300 * time.Millisecond, HopSlack: 50 * time.Millisecond,
		Wrap: hd.Wrap,
		Relay: func(i int, c *relay.Config) {
			c.Forwarder = stall{c.Forwarder, &cut[i]}
			c.MaxHold = 100 * time.Millisecond
		},
	})
	// Paths exist once a first request went through.
	dest := f.nw.SwarmFor(acct.ID())[0]
	if st, b, err := f.m.Do(ctx, dest, []byte(`{"method":"info","params":{}}`)); err != nil || st != http.StatusOK {
		t.Fatalf("warm-up: %d %s %v", st, b, err)
	}
	before := f.m.Paths()
	for _, p := range before {
		if p.Hops[1].Ed25519 != dest.Ed25519 {
			cut[f.nw.Node(p.Hops[1].Ed25519).Index].Store(true)
		}
	}
	for i := range 2*paths.MaxFailures + 1 {
		_, _, err := f.m.DoHold(ctx, dest, relaytest.WaitRetrieve(t, acct, 20*time.Second), 25*time.Second)
		var he *onionclient.HopError
		if !errors.As(err, &he) || !errors.Is(err, onion.ErrTimeout) {
			t.Fatalf("long-poll %d: %v, want a time-out", i, err)
		}
	}
	after := f.m.Paths()
	same := slices.EqualFunc(before, after, func(a, b paths.PathInfo) bool {
		return slices.EqualFunc(a.Hops, b.Hops, func(x, y paths.HopInfo) bool { return x.Ed25519 == y.Ed25519 })
	})
	if !same || len(f.m.BadNodes()) != 0 {
		t.Fatalf("paths changed after capped long-polls: %v → %v, bad %v", before, after, f.m.BadNodes())
	}
}
