//go:build lab && linux

package lab

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

// partitionFor is how long the member stays cut off at least: longer
// than a forward's longest back-off (30 s, internal/replication), so
// the forwards it missed are not retried and only anti-entropy can
// bring them.
const partitionFor = 40 * time.Second

// TestLabPartitionAntiEntropy cuts one member of an account's swarm off
// while 1,000 messages are stored through another member, heals it, and
// requires anti-entropy to give every member every acknowledged message
// exactly once (counted per member before and after).
func TestLabPartitionAntiEntropy(t *testing.T) {
	ctx := testCtx(t, 15*time.Minute)
	l := newLab(t)
	o := baseOptions([]string{"10.77.1.1", "10.77.1.2", "10.77.2.1", "10.77.2.2", "10.77.3.1", "10.77.4.1"})
	o.UnreachableAfter = 10 * time.Minute // the member stays in its swarm
	n, err := l.StartNetwork(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	loader, err := l.AddHost("load", "10.77.30.1")
	if err != nil {
		t.Fatal(err)
	}
	var seed identity.Seed
	rand.Read(seed[:])
	acct := identity.FromSeed(seed)
	st, err := n.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	members := swarmOf(t, st, acct.ID().String())
	var victim, entry *Server
	for _, m := range members {
		s := n.Node(m)
		switch {
		case victim == nil && !slices.Contains(n.Nodes[:3], s):
			victim = s // not a seed, so status keeps working
		case entry == nil:
			entry = s
		}
	}
	if victim == nil || entry == nil {
		t.Fatalf("swarm of %d members has no non-seed member and another", len(members))
	}
	var all []helperNode
	for _, m := range members {
		all = append(all, helperNode{Address: n.Node(m).Host.Addr + ":" + NodePort, Key: m})
	}
	list := func() map[string][]string {
		return runHelper(ctx, t, l, loader, helperJob{Mode: "list", Seed: hex.EncodeToString(seed[:]), Nodes: all}).Hashes
	}
	describe := func(h map[string][]string) string {
		out := ""
		for _, m := range members {
			c := "-"
			if hs, ok := h[m]; ok {
				c = fmt.Sprint(len(hs))
			}
			out += fmt.Sprintf("%s=%s ", n.Node(m).Host.Name, c)
		}
		return out
	}

	if err := l.Partition(victim.Host); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	t.Logf("partitioned %s; storing through %s", victim.Host.Name, entry.Host.Name)
	res := runHelper(ctx, t, l, loader, helperJob{Mode: "store", Seed: hex.EncodeToString(seed[:]),
		Nodes: []helperNode{{Address: entry.Host.Addr + ":" + NodePort, Key: entry.Key}}, Count: 1000, Parallel: 8, Prefix: "ae"})
	t.Logf("stored: %d acknowledged, %d failed in %v (%.0f stores/s) %v", len(res.Acked), res.Failed, res.Elapsed.Round(time.Millisecond),
		float64(len(res.Acked))/res.Elapsed.Seconds(), res.Errors)
	if len(res.Acked) < 900 {
		t.Fatalf("only %d of 1000 stores acknowledged", len(res.Acked))
	}
	if rest := partitionFor - time.Since(cut); rest > 0 {
		time.Sleep(rest) // the partition's length is the scenario, not a wait for an event
	}
	t.Logf("before the heal (%v cut off): %s", time.Since(cut).Round(time.Second), describe(list()))
	if err := l.Heal(victim.Host); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	var got map[string][]string
	for i := 0; ; i++ {
		got = list()
		if hs, ok := got[victim.Key]; ok && containsAll(hs, res.Acked) {
			break
		}
		if i == 120 || ctx.Err() != nil {
			t.Fatalf("not repaired after the heal: %s", describe(got))
		}
		time.Sleep(time.Second)
	}
	t.Logf("after the heal (repaired in %v): %s", time.Since(healed).Round(time.Millisecond), describe(got))
	for _, m := range members {
		hs := got[m]
		if !containsAll(hs, res.Acked) {
			t.Errorf("%s lacks acknowledged messages", n.Node(m).Host.Name)
		}
		if d := duplicates(hs); d > 0 {
			t.Errorf("%s holds %d duplicates", n.Node(m).Host.Name, d)
		}
	}
}

func containsAll(have, want []string) bool {
	set := make(map[string]bool, len(have))
	for _, h := range have {
		set[h] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}

func duplicates(hs []string) int {
	seen := map[string]bool{}
	d := 0
	for _, h := range hs {
		if seen[h] {
			d++
		}
		seen[h] = true
	}
	return d
}
