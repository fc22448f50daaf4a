package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/rpc"
)

// TestPrekeysOneHomeTwoClients: two clients on one home (as `hush receive
// --follow` beside `hush send`) publish and prune prekeys at the same time
// across many epochs. Every prekey any published record names must be the
// key the home holds for that epoch; otherwise mail sealed to that record
// could never be opened. The home's prekey lock is what makes this hold.
func TestPrekeysOneHomeTwoClients(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	var now atomic.Int64
	start := prekey.EpochStart(prekey.EpochOf(time.Now()))
	now.Store(start.UnixMilli())
	clock := func() time.Time { return time.UnixMilli(now.Load()) }
	home := newHome(t)
	a := open(t, home, Options{Standalone: nd, Clock: clock})
	b := open(t, home, Options{Standalone: nd, Clock: clock})
	for round := range 6 {
		// A new epoch each round, so both clients have keys to generate.
		now.Store(start.Add(time.Duration(round+1) * prekey.EpochLength).UnixMilli())
		var wg sync.WaitGroup
		for _, c := range []*Client{a, b} {
			wg.Go(func() {
				// Two clients storing byte-identical records in the same
				// millisecond make identical signatures; the node refuses
				// the second as a replay, and the record is there anyway.
				var ne *NodeError
				if err := c.PublishKeys(ctx); err != nil && !(errors.As(err, &ne) && ne.Code == rpc.CodeReplayed) {
					t.Errorf("publish: %v", err)
				}
				if _, err := c.PrunePrekeys(); err != nil {
					t.Errorf("prune: %v", err)
				}
			})
		}
		wg.Wait()
		for _, cl := range []prekey.Class{prekey.Inbox, prekey.Sync} {
			recs, _, err := a.fetchRecords(ctx, a.Account(), cl)
			if err != nil {
				t.Fatal(err)
			}
			held, err := a.prekeys(a.device.ID, cl)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				for _, pk := range r.Prekeys {
					if pk.Epoch < prekey.EpochOf(clock()) {
						continue
					}
					sk, ok := held.PrivateKey(pk.Epoch)
					if !ok || !bytes.Equal(sk.PublicKey().Bytes(), pk.Key.Bytes()) {
						t.Fatalf("round %d: a published %s record names a prekey for epoch %d that the home does not hold", round, cl, pk.Epoch)
					}
				}
			}
		}
	}
}

// TestPrekeyLockOrdersPublishers holds one client inside the window between
// generating and saving its keys while a second client on the same home
// publishes. With the home's lock the second waits and then uses the
// first's keys; without it, the second would save different keys that the
// first then overwrites, leaving a published record whose keys are gone.
func TestPrekeyLockOrdersPublishers(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	var now atomic.Int64
	now.Store(prekey.EpochStart(prekey.EpochOf(time.Now())).Add(prekey.EpochLength).UnixMilli())
	clock := func() time.Time { return time.UnixMilli(now.Load()) }
	home := newHome(t)
	a := open(t, home, Options{Standalone: nd, Clock: clock})
	b := open(t, home, Options{Standalone: nd, Clock: clock})
	now.Add(int64(3 * prekey.EpochLength / time.Millisecond)) // new epochs to generate

	inside, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	a.prekeyTestHook = func() { once.Do(func() { close(inside); <-release }) }
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.PublishKeys(ctx); err != nil {
			t.Errorf("a: %v", err)
		}
	})
	<-inside
	wg.Go(func() {
		var ne *NodeError
		if err := b.PublishKeys(ctx); err != nil && !(errors.As(err, &ne) && ne.Code == rpc.CodeReplayed) {
			t.Errorf("b: %v", err)
		}
	})
	// Give b the chance to run into the window; with the lock it waits
	// here whatever the timing, which is what the assertions check.
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()
	// Every record in the swarm, not only the newest per device: a sender
	// may have fetched the other one before it was superseded.
	members, err := a.dir.SwarmFor(ctx, a.Account())
	if err != nil {
		t.Fatal(err)
	}
	// The Inbox class is public-read; Sync records take the same path.
	for _, cl := range []prekey.Class{prekey.Inbox} {
		msgs, err := a.retrievePublic(ctx, members[0], a.Account(), NamespaceKeys)
		if err != nil {
			t.Fatal(err)
		}
		held, err := a.prekeys(a.device.ID, cl)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			raw, err := base64.StdEncoding.DecodeString(m.Data)
			if err != nil {
				t.Fatal(err)
			}
			r, err := devicerecord.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, pk := range r.Prekeys {
				sk, ok := held.PrivateKey(pk.Epoch)
				if pk.Epoch >= prekey.EpochOf(clock()) && (!ok || !bytes.Equal(sk.PublicKey().Bytes(), pk.Key.Bytes())) {
					t.Fatalf("a published %s record names a prekey for epoch %d that the home does not hold", cl, pk.Epoch)
				}
			}
		}
	}
}
