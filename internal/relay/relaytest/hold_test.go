package relaytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// TestHoldOutlastsHopTimeout: a destination that answers a held retrieve
// later than every hop's ordinary deadline (HopTimeout plus the slack of
// every position) but within the hold is heard: each hop, the
// destination's own storage call included, waits for the hold.
func TestHoldOutlastsHopTimeout(t *testing.T) {
	const hopTimeout, hopSlack = 300 * time.Millisecond, 50 * time.Millisecond
	hd := relaytest.NewHolder(3)
	nw := relaytest.Start(t, relaytest.Options{Nodes: 4, HopTimeout: hopTimeout, HopSlack: hopSlack, Wrap: hd.Wrap})
	path := []snapshot.Node{nw.Nodes[0].Info, nw.Nodes[1].Info, nw.Nodes[2].Info}
	acct := identity.NewAccount()

	done := sendHeld(t, nw, path, acct)
	waitFor(t, "the retrieve to be held", func() bool { return hd.Entered.Load() == 1 })
	// The guard's ordinary deadline is the longest of the path's; once it
	// has passed, only the hold keeps the request alive.
	time.Sleep(hopTimeout + onion.MaxLayers*hopSlack + 200*time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("answered before the destination did: %d %s %v", r.status, r.body, r.err)
	default:
	}
	hd.Release()
	r := <-done
	if r.err != nil || r.status != http.StatusOK || string(r.body) != relaytest.HeldAnswer {
		t.Fatalf("held request: %d %s %v", r.status, r.body, r.err)
	}
}

// TestHoldOnlyForRetrieveWithWait: the destination holds nothing but a
// retrieve whose wait fits the hold; anything else with a hold gets a
// bad_field error and never reaches the storage RPC.
func TestHoldOnlyForRetrieveWithWait(t *testing.T) {
	nw := relaytest.Start(t, relaytest.Options{Nodes: 4})
	path := []snapshot.Node{nw.Nodes[0].Info, nw.Nodes[1].Info}
	dest := nw.Nodes[3].Info
	acct := identity.NewAccount()
	batch := func() []byte {
		r := relaytest.WaitRetrieve(t, acct, 0)
		return []byte(`{"method":"batch","params":{"requests":[` + string(r) + `]}}`)
	}
	tests := []struct {
		name string
		body []byte
		hold time.Duration
		ok   bool // reaches the storage RPC
	}{
		{"retrieve with wait equal to hold", relaytest.WaitRetrieve(t, acct, 10*time.Second), 10 * time.Second, true},
		{"retrieve with wait below hold", relaytest.WaitRetrieve(t, acct, time.Second), 10 * time.Second, true},
		{"retrieve without wait", relaytest.WaitRetrieve(t, acct, 0), time.Second, true},
		{"retrieve with wait above hold", relaytest.WaitRetrieve(t, acct, 10*time.Second+time.Millisecond), 10 * time.Second, false},
		{"info", []byte(`{"method":"info","params":{}}`), 10 * time.Second, false},
		{"store", storeBody(t, acct.ID(), []byte("x")), 10 * time.Second, false},
		{"batch of a retrieve", batch(), 10 * time.Second, false},
		{"not json", []byte("retrieve"), 10 * time.Second, false},
		{"retrieve with bad wait", bytes.Replace(relaytest.WaitRetrieve(t, acct, time.Second), []byte(`"wait":1000`), []byte(`"wait":-1`), 1), 10 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nw.RPCs()
			status, body, err := onionclient.SendHold(context.Background(), nw.ClientPool(), path, dest, tt.body, tt.hold)
			if err != nil {
				t.Fatal(err)
			}
			reached := len(nw.RPCs()) > 0
			if tt.ok {
				if !reached || status == http.StatusBadRequest && strings.Contains(string(body), "hold") {
					t.Fatalf("refused: %d %s", status, body)
				}
				return
			}
			var eb rpc.ErrorBody
			if status != http.StatusBadRequest || json.Unmarshal(body, &eb) != nil || eb.Error == nil ||
				eb.Error.Code != rpc.CodeBadField || !strings.HasPrefix(eb.Error.Message, "hold:") {
				t.Fatalf("got %d %s, want a bad_field error about the hold", status, body)
			}
			if reached {
				t.Fatal("the storage RPC was called")
			}
		})
	}
}

// TestOrdinaryRequestsWhileHeld: 200 retrieves held through the same
// three relays (guard, middle, exit) do not keep ordinary requests on
// that path from being answered while they are still held: they use a
// pool of their own at each hop, and one guard→relay connection's HTTP/2
// stream cap makes the client open another rather than queue.
func TestOrdinaryRequestsWhileHeld(t *testing.T) {
	const held = 200
	hd := relaytest.NewHolder(3)
	nw := relaytest.Start(t, relaytest.Options{Nodes: 4, Wrap: hd.Wrap})
	path := []snapshot.Node{nw.Nodes[0].Info, nw.Nodes[1].Info, nw.Nodes[2].Info}
	dest := nw.Nodes[3].Info
	acct := identity.NewAccount()

	// Long-polls come from eight client addresses (25 each, within a
	// client's budgets), in waves so that their bodies never crowd one
	// address's admission budget.
	var pools []*onionclient.Pool
	for i := range 8 {
		pools = append(pools, nw.ClientPoolFrom(fmt.Sprintf("127.0.0.%d", 2+i)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, held)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const wave = 20
	for i := range held {
		wg.Go(func() {
			st, b, err := onionclient.SendHold(ctx, pools[i%len(pools)], path, dest, relaytest.WaitRetrieve(t, acct, 25*time.Second), 30*time.Second)
			if err == nil && (st != http.StatusOK || string(b) != relaytest.HeldAnswer) {
				err = fmt.Errorf("%d %s", st, b)
			}
			if err != nil {
				errs <- fmt.Errorf("held request %d: %w", i, err)
			}
		})
		if (i+1)%wave == 0 {
			waitFor(t, "a wave of retrieves to be held", func() bool { return hd.Entered.Load() == int64(i+1) || len(errs) > 0 })
			if len(errs) > 0 {
				t.Fatal(<-errs)
			}
		}
	}

	pool := nw.ClientPool()
	for i := range 20 {
		status, body, err := onionclient.Send(ctx, pool, path, dest, []byte(`{"method":"info","params":{}}`))
		if err != nil || status != http.StatusOK {
			t.Fatalf("ordinary request %d while %d are held: %d %s %v", i, held, status, body, err)
		}
	}
	if n := hd.Current.Load(); n != held {
		t.Fatalf("%d requests held after the ordinary ones, want all %d still held", n, held)
	}
	// 200 streams from the guard to the middle relay need two HTTP/2
	// connections (node.MaxStreamsPerConn is 100).
	if n := nw.Nodes[1].Accepted.Load(); n < 2 {
		t.Errorf("the middle relay accepted %d connections for %d held requests", n, held)
	}

	hd.Release()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestHoldCutShortByLowerCap: a middle relay whose max_hold is below the
// hold asked for waits only its ordinary deadline plus its own cap, then
// answers an authenticated time-out that the client charges to it as
// reporter; the request held at the destination is let go (its context
// ends), nothing hangs, and the answer is no garbled response.
func TestHoldCutShortByLowerCap(t *testing.T) {
	hd := relaytest.NewHolder(3)
	defer hd.Release()
	nw := relaytest.Start(t, relaytest.Options{Nodes: 4, HopTimeout: 300 * time.Millisecond, HopSlack: 50 * time.Millisecond, Wrap: hd.Wrap,
		Relay: func(i int, c *relay.Config) {
			if i == 1 {
				c.MaxHold = 200 * time.Millisecond
			}
		}})
	path := []snapshot.Node{nw.Nodes[0].Info, nw.Nodes[1].Info, nw.Nodes[2].Info}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	status, body, err := onionclient.SendHold(ctx, nw.ClientPool(), path, nw.Nodes[3].Info, relaytest.WaitRetrieve(t, identity.NewAccount(), 25*time.Second), 30*time.Second)
	var he *onionclient.HopError
	if !errors.As(err, &he) || he.Reporter != 1 || he.Hop != 2 || !errors.Is(err, onion.ErrTimeout) {
		t.Fatalf("got %d %s %v, want a time-out reported by the middle relay", status, body, err)
	}
	if hd.Entered.Load() != 1 {
		t.Fatalf("%d requests reached the destination", hd.Entered.Load())
	}
	waitFor(t, "the destination to let the request go", func() bool { return hd.Current.Load() == 0 })
}

// TestHeldRequestsHaveTheirOwnBudget: a client's held requests do not
// count against its ordinary in-flight budget (ClientInFlight 4; it holds
// 8), and have a bound of their own (ClientHeld 8): the ninth is refused
// by the guard with an authenticated "unavailable", at once.
func TestHeldRequestsHaveTheirOwnBudget(t *testing.T) {
	const inFlight, clientHeld = 4, 8
	hd := relaytest.NewHolder(3)
	nw := relaytest.Start(t, relaytest.Options{Nodes: 4, Wrap: hd.Wrap, Limits: relay.Limits{ClientInFlight: inFlight, ClientHeld: clientHeld}})
	path := []snapshot.Node{nw.Nodes[0].Info, nw.Nodes[1].Info, nw.Nodes[2].Info}
	dest := nw.Nodes[3].Info
	acct := identity.NewAccount()
	pool := nw.ClientPool()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, clientHeld)
	for i := range clientHeld {
		wg.Go(func() {
			st, b, err := onionclient.SendHold(ctx, pool, path, dest, relaytest.WaitRetrieve(t, acct, 25*time.Second), 30*time.Second)
			if err != nil || st != http.StatusOK {
				errs <- fmt.Errorf("held request %d: %d %s %v", i, st, b, err)
			}
		})
		// One at a time: the ordinary budget is 4, and a request counts
		// against it until it is peeled.
		waitFor(t, "the retrieve to be held", func() bool { return hd.Entered.Load() == int64(i+1) })
	}
	// The ninth: refused by the guard.
	_, _, err := onionclient.SendHold(ctx, pool, path, dest, relaytest.WaitRetrieve(t, acct, 25*time.Second), 30*time.Second)
	var he *onionclient.HopError
	if !errors.As(err, &he) || he.Reporter != 0 || !errors.Is(err, onion.ErrUnavailable) {
		t.Fatalf("held request past the client's bound: %v, want unavailable from the guard", err)
	}
	// Ordinary requests, as many at once as the ordinary budget allows.
	var owg sync.WaitGroup
	for i := range inFlight {
		owg.Go(func() {
			st, b, err := onionclient.Send(ctx, pool, path, dest, []byte(`{"method":"info","params":{}}`))
			if err != nil || st != http.StatusOK {
				t.Errorf("ordinary request %d: %d %s %v", i, st, b, err)
			}
		})
	}
	owg.Wait()
	if n := hd.Current.Load(); n != clientHeld {
		t.Errorf("%d held after the ordinary requests, want %d", n, clientHeld)
	}
	hd.Release()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestHoldOutlastsServerTimeouts: a node's HTTP read and write time-outs
// (read_timeout, write_timeout) are for ordinary requests; a held one,
// answered later than both, still reaches the client through every hop.
func TestHoldOutlastsServerTimeouts(t *testing.T) {
	const serverTimeout = 300 * time.Millisecond
	hd := relaytest.NewHolder(3)
	nw := relaytest.Start(t, relaytest.Options{Nodes: 4, ServerTimeout: serverTimeout, Wrap: hd.Wrap})
	path := []snapshot.Node{nw.Nodes[0].Info, nw.Nodes[1].Info, nw.Nodes[2].Info}
	acct := identity.NewAccount()
	done := sendHeld(t, nw, path, acct)
	waitFor(t, "the retrieve to be held", func() bool { return hd.Entered.Load() == 1 })
	time.Sleep(3 * serverTimeout)
	hd.Release()
	r := <-done
	if r.err != nil || r.status != http.StatusOK || string(r.body) != relaytest.HeldAnswer {
		t.Fatalf("held request past the servers' time-outs: %d %s %v", r.status, r.body, r.err)
	}
}

// heldResult is the outcome of one held request sent by sendHeld.
type heldResult struct {
	status int
	body   []byte
	err    error
}

// sendHeld sends a retrieve for acct with a 20 s wait and a 25 s hold
// along path to the network's fourth node, and delivers the outcome.
func sendHeld(t *testing.T, nw *relaytest.Network, path []snapshot.Node, acct *identity.Account) <-chan heldResult {
	done := make(chan heldResult, 1)
	body := relaytest.WaitRetrieve(t, acct, 20*time.Second)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		st, b, err := onionclient.SendHold(ctx, nw.ClientPool(), path, nw.Nodes[3].Info, body, 25*time.Second)
		done <- heldResult{st, b, err}
	}()
	return done
}
