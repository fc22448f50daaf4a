package replication_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/rpc"
)

func TestStoreReachesEveryMember(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.oneSwarm()
	c.startAll()
	acct := identity.NewAccount()
	res := storeMsg(t, c.nodes[0], acct.ID(), "hello", time.Now())
	// The store is answered once two members hold it; the third gets it
	// by the forward that goes on meanwhile.
	if got := c.confirmations(acct.ID(), res); got < 2 {
		t.Errorf("store reply holds %d valid confirmations, want at least 2 (%v)", got, res.Swarm)
	}
	for i, n := range c.nodes {
		eventually(t, fmt.Sprint("node ", i, " returns the stored message"), func() bool {
			msgs := retrieve(t, n, acct, store.Cursor{})
			return len(msgs) == 1 && msgs[0].Hash == res.Hash
		})
	}
}

func TestKilledMemberConvergesAfterRestart(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.oneSwarm()
	c.startAll()
	acct := identity.NewAccount()
	storeMsg(t, c.nodes[0], acct.ID(), "before", time.Now())
	// The store may be answered before the forward reaches the third
	// member; this test is about what it misses while down.
	eventually(t, "every member holds the first message", func() bool { return holds(t, c.nodes[2], acct.ID()) == 1 })
	c.kill(c.nodes[2])
	for i := range 10 {
		res := storeMsg(t, c.nodes[i%2], acct.ID(), fmt.Sprint("while down ", i), time.Now())
		if got := c.confirmations(acct.ID(), res); got != 2 {
			t.Fatalf("store %d with one member down: %d confirmations, want 2", i, got)
		}
	}
	c.start(c.nodes[2])
	if got := holds(t, c.nodes[2], acct.ID()); got != 1 {
		t.Fatalf("restarted node holds %d messages before repair, want 1", got)
	}
	runAntiEntropy(t, c.nodes[2])
	eventually(t, "the restarted member holds all 11 messages", func() bool { return holds(t, c.nodes[2], acct.ID()) == 11 })
}

func TestAntiEntropyRepairsDroppedForwardsWithoutRestart(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.oneSwarm()
	c.startAll()
	lossy := c.nodes[2]
	lossy.fault.Store(true)
	accts := []*identity.Account{identity.NewAccount(), identity.NewAccount(), identity.NewAccount()}
	var hashes []string
	for i := range 30 {
		a := accts[i%len(accts)]
		res := storeMsg(t, c.nodes[i%2], a.ID(), fmt.Sprint("m", i), time.Now())
		if got := c.confirmations(a.ID(), res); got != 2 {
			t.Fatalf("store %d: %d confirmations with one member dropping forwards, want 2", i, got)
		}
		hashes = append(hashes, res.Hash)
	}
	// A deletion and an expiry change made while the forwards are lost
	// must converge as well.
	del := accts[0]
	if _, err := c.nodes[0].db.Delete(context.Background(), del.ID(), []string{hashes[0]}); err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(10 * time.Minute).Truncate(time.Millisecond)
	if _, err := c.nodes[0].db.SetExpiry(context.Background(), accts[1].ID(), []string{hashes[1]}, soon, store.ExpiryShorten, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, a := range accts {
		if got := holds(t, lossy, a.ID()); got != 0 {
			t.Fatalf("the lossy member holds %d messages while dropping forwards", got)
		}
	}
	lossy.fault.Store(false)
	for _, n := range c.nodes {
		runAntiEntropy(t, n)
	}
	want := map[identity.AccountID]int{accts[0].ID(): 9, accts[1].ID(): 10, accts[2].ID(): 10}
	eventually(t, "every member holds the same messages", func() bool {
		for _, n := range c.nodes {
			for a, w := range want {
				if holds(t, n, a) != w {
					return false
				}
			}
		}
		return true
	})
	for _, n := range c.nodes {
		eventually(t, "the shortened expiry reaches every member", func() bool {
			exp, err := n.db.Expiries(context.Background(), accts[1].ID(), []string{hashes[1]}, time.Now())
			return err == nil && exp[hashes[1]].Equal(soon)
		})
	}
}

// TestRepairedLateIsDelivered shows why a client re-reads a lookback
// window: a message repaired behind its cursor is invisible to a plain
// "after cursor" read and found by the re-read.
func TestRepairedLateIsDelivered(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.oneSwarm()
	c.startAll()
	acct := identity.NewAccount()
	reader := c.nodes[0]
	reader.fault.Store(true)
	now := time.Now()
	late := storeMsg(t, c.nodes[1], acct.ID(), "sent first, reaches the reader late", now.Add(-2*time.Second))
	seen := storeMsg(t, reader, acct.ID(), "sent second", now)
	msgs := retrieve(t, reader, acct, store.Cursor{})
	if len(msgs) != 1 || msgs[0].Hash != seen.Hash {
		t.Fatalf("reader lists %v before repair, want only the second message", msgs)
	}
	cursor := store.Cursor{Timestamp: time.UnixMilli(msgs[0].Timestamp), Hash: msgs[0].Hash}
	delivered := map[string]bool{seen.Hash: true}

	reader.fault.Store(false)
	runAntiEntropy(t, reader)
	eventually(t, "the reader holds the late message", func() bool { return holds(t, reader, acct.ID()) == 2 })

	if after := retrieve(t, reader, acct, cursor); len(after) != 0 {
		t.Fatalf("a plain read after the cursor returns %v; the test expects the repair behind it", after)
	}
	const lookback = 30 * time.Second
	var fresh []string
	for _, m := range retrieve(t, reader, acct, store.Cursor{Timestamp: cursor.Timestamp.Add(-lookback)}) {
		if !delivered[m.Hash] {
			delivered[m.Hash] = true
			fresh = append(fresh, m.Hash)
		}
	}
	if len(fresh) != 1 || fresh[0] != late.Hash {
		t.Errorf("lookback re-read delivered %v, want exactly the late message %s", fresh, late.Hash)
	}
}

// TestPagingOrderSameOnEveryMember pages through an inbox on each member,
// two messages at a time, and expects the same sequence everywhere, even
// for messages sent through different members with equal timestamps.
func TestPagingOrderSameOnEveryMember(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.oneSwarm()
	c.startAll()
	acct := identity.NewAccount()
	ts := time.Now()
	for i := range 9 {
		storeMsg(t, c.nodes[i%3], acct.ID(), fmt.Sprint("same time ", i), ts.Add(time.Duration(i/3)*time.Millisecond))
	}
	// A store is answered at two members; the third gets it a moment later.
	for i, n := range c.nodes {
		eventually(t, fmt.Sprint("node ", i, " holds all 9"), func() bool { return holds(t, n, acct.ID()) == 9 })
	}
	var first []string
	for i, n := range c.nodes {
		var seq []string
		cursor := store.Cursor{}
		for {
			page := retrieve(t, n, acct, cursor)
			if len(page) == 0 {
				break
			}
			for _, m := range page[:min(2, len(page))] {
				seq = append(seq, m.Hash)
			}
			last := page[min(2, len(page))-1]
			cursor = store.Cursor{Timestamp: time.UnixMilli(last.Timestamp), Hash: last.Hash}
		}
		if len(seq) != 9 {
			t.Fatalf("node %d pages %d messages, want 9", i, len(seq))
		}
		if i == 0 {
			first = seq
		} else if fmt.Sprint(seq) != fmt.Sprint(first) {
			t.Errorf("node %d pages in another order:\n%v\nnode 0:\n%v", i, seq, first)
		}
	}
}

// TestDecommissionHandsOff stores messages that only the leaving member
// holds (the others drop forwards, and no anti-entropy runs), and checks
// that Decommission alone puts them on every other member.
func TestDecommissionHandsOff(t *testing.T) {
	c := newCluster(t, 4, nil)
	c.oneSwarm()
	c.startAll()
	leaving := c.nodes[3]
	for _, n := range c.nodes[:3] {
		n.fault.Store(true)
	}
	acct := identity.NewAccount()
	for i := range 10 {
		storeMsg(t, leaving, acct.ID(), fmt.Sprint("only on the leaver ", i), time.Now())
	}
	for i, n := range c.nodes[:3] {
		if got := holds(t, n, acct.ID()); got != 0 {
			t.Fatalf("node %d holds %d messages before the hand-off", i, got)
		}
	}
	st, err := leaving.repl.Decommission(context.Background())
	if err != nil || st.HandedOff != 1 {
		t.Fatalf("Decommission = %+v, %v", st, err)
	}
	c.kill(leaving)
	for i, n := range c.nodes[:3] {
		if got := holds(t, n, acct.ID()); got != 10 {
			t.Errorf("node %d holds %d messages after the hand-off, want 10", i, got)
		}
	}
}

// TestWarmDigestCacheStillRepairs: with every member's digest cache warm
// from rounds over converged stores, a deletion and a store that one
// member missed still converge by anti-entropy.
func TestWarmDigestCacheStillRepairs(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.oneSwarm()
	c.startAll()
	for _, n := range c.nodes {
		runAntiEntropy(t, n)
	}
	acct := identity.NewAccount()
	var hashes []string
	for i := range 5 {
		hashes = append(hashes, storeMsg(t, c.nodes[0], acct.ID(), fmt.Sprint("warm ", i), time.Now()).Hash)
	}
	// Let a few rounds run so that every cache holds the account.
	for _, n := range c.nodes {
		for range 3 {
			if _, err := n.repl.Round(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	lossy := c.nodes[2]
	lossy.fault.Store(true)
	params, _ := json.Marshal(map[string]any{"messages": []string{hashes[0]}})
	if _, err := c.nodes[0].client.Signed(context.Background(), acct, rpc.MethodDelete, params); err != nil {
		t.Fatal(err)
	}
	storeMsg(t, c.nodes[1], acct.ID(), "missed", time.Now())
	lossy.fault.Store(false)
	eventually(t, "the lossy member drops the deleted message and gets the new one", func() bool {
		got, err := lossy.db.Messages(context.Background(), acct.ID(), []string{hashes[0]}, time.Now())
		return err == nil && len(got) == 0 && holds(t, lossy, acct.ID()) == 5
	})
}
