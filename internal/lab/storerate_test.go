//go:build lab && linux

package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/labnet"
)

// Store-rate runs: each stores storeCount messages into a fresh account,
// storeParallel at a time, through one member of its swarm; a store
// counts once two members confirmed it (the client's "sent"), so each
// is a replicated store.
const (
	storeCount    = 300
	storeParallel = 8
)

// storeRun is one measured run.
type storeRun struct {
	label  string
	acked  int
	took   time.Duration
	copies string // messages per member afterwards
}

func (r storeRun) rate() float64 { return float64(r.acked) / r.took.Seconds() }

// TestLabStoreRate measures replicated stores/s across hosts: the same
// load (storeCount stores, storeParallel at a time, from the same helper)
// against 6 hushd processes on 127.0.0.1 in the root namespace, then
// against 6 lab hosts with LAN, continental and intercontinental links,
// all in one run so the ratios compare like with like on this machine.
// Per-IP limits are off in both networks. It asserts that every store was
// confirmed and every member ends with every message, nothing about
// speed; the figures go to the log.
func TestLabStoreRate(t *testing.T) {
	ctx := testCtx(t, 20*time.Minute)
	l := newLab(t)
	var runs []storeRun

	// Loopback: a devnet of hushd processes, no lab links (the lab
	// build without $HUSH_LAB_LINKS is a plain one).
	d, err := devnet.Up(ctx, devnet.Options{
		Dir: filepath.Join(t.TempDir(), "loopback"), Nodes: 6, Processes: true, HushdPath: hushdBin,
		Node: func(_ int, c *config.Node) { c.RateLimitPerSecond = 0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	runs = append(runs, storeRate(ctx, t, "loopback (127.0.0.1)", func(ctx context.Context) (*devnet.Status, error) {
		return devnet.Inspect(ctx, d.Network())
	}, func(st *devnet.Status, key string) string {
		for _, n := range st.Nodes {
			if n.PubkeyEd25519 == key {
				return n.Address
			}
		}
		return ""
	}, func(job helperJob) helperResult {
		return runHelper(ctx, t, l, nil, job)
	}))
	if err := d.Stop(); err != nil {
		t.Log(err)
	}

	o := baseOptions([]string{"10.77.1.1", "10.77.1.2", "10.77.2.1", "10.77.2.2", "10.77.3.1", "10.77.4.1"})
	o.NodeArgs = append(o.NodeArgs, "--rate-limit-per-second", "0")
	n, err := l.StartNetwork(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	loader, err := l.AddHost("load", "10.77.20.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"lan", "continental", "intercontinental"} {
		if err := n.SetLinks(labnet.File{Default: p}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // every process looks every 250 ms
		runs = append(runs, storeRate(ctx, t, fmt.Sprintf("lab, %s (%v RTT)", p, labnet.Profiles[p].RTT), n.Status,
			func(_ *devnet.Status, key string) string { return n.Node(key).Host.Addr + ":" + NodePort },
			func(job helperJob) helperResult { return runHelper(ctx, t, l, loader, job) }))
	}

	base := runs[0].rate()
	lines := []string{fmt.Sprintf("%-36s %7s %9s %9s %10s   %s", "network", "stores", "took", "stores/s", "÷loopback", "messages per member after")}
	for _, r := range runs {
		lines = append(lines, fmt.Sprintf("%-36s %7d %9v %9.1f %10.2f   %s", r.label, r.acked, r.took.Round(time.Millisecond), r.rate(), r.rate()/base, r.copies))
	}
	t.Logf("replicated stores (%d at a time, confirmed by 2 members):\n%s", storeParallel, strings.Join(lines, "\n"))
}

// storeRate stores into a fresh account through one member of its
// swarm, then waits until every member holds every confirmed message.
func storeRate(ctx context.Context, t *testing.T, label string, status func(context.Context) (*devnet.Status, error),
	addr func(*devnet.Status, string) string, run func(helperJob) helperResult) storeRun {
	t.Helper()
	var seed identity.Seed
	rand.Read(seed[:])
	acct := identity.FromSeed(seed)
	st, err := status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var members []helperNode
	for _, m := range swarmOf(t, st, acct.ID().String()) {
		members = append(members, helperNode{Address: addr(st, m), Key: m})
	}
	res := run(helperJob{Mode: "store", Seed: hex.EncodeToString(seed[:]), Nodes: members, Count: storeCount, Parallel: storeParallel, Prefix: label})
	if res.Failed > 0 || len(res.Acked) != storeCount {
		t.Fatalf("%s: %d of %d stores confirmed, %d failed: %v", label, len(res.Acked), storeCount, res.Failed, res.Errors)
	}
	r := storeRun{label: label, acked: len(res.Acked), took: res.Elapsed}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		hashes := run(helperJob{Mode: "list", Seed: hex.EncodeToString(seed[:]), Nodes: members}).Hashes
		full := true
		r.copies = ""
		for i, m := range members {
			r.copies += fmt.Sprintf("m%d=%d ", i+1, len(hashes[m.Key]))
			full = full && len(hashes[m.Key]) == storeCount
		}
		if full {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: members still lack messages: %s", label, r.copies)
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("%s: %d stores in %v (%.1f/s); %s", label, r.acked, r.took.Round(time.Millisecond), r.rate(), r.copies)
	return r
}
