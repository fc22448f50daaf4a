package replication_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/store/sqlite"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// TestDevnetChurn runs real hushd processes through registry-driven churn:
// a member killed and dropped (its swarm falls below the minimum and the
// registry reshapes the swarms), the member restarted and assigned again,
// and a member stopped and decommissioned with `hushd node
// --decommission`. After each step every message is held by every running
// member of its account's current swarm, and the number of distinct
// messages held is what it was.
func TestDevnetChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs hushd processes")
	}
	bin := filepath.Join(t.TempDir(), "hushd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hushnet/hush/cmd/hushd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	d, err := devnet.Up(ctx, devnet.Options{AntiEntropyInterval: 300 * time.Millisecond, Timeout: 6 * time.Minute,
		Dir: t.TempDir(), Nodes: 8, Processes: true, HushdPath: bin,
		// Short enough that the drop below happens in seconds; long enough
		// that the stopped leaver is still registered when its decommission
		// hands off (members refuse a hand-off from a node two snapshots
		// gone), also on a busy machine.
		EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond, UnreachableAfter: 15 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	nodes := d.Nodes()
	index := map[identity.Ed25519PublicKey]int{}
	clients := make([]*nodeclient.Client, len(nodes))
	for i, n := range nodes {
		index[n.Ed25519] = i
		if clients[i], err = nodeclient.New("https://"+n.Address, n.Ed25519); err != nil {
			t.Fatal(err)
		}
	}
	var s0 *snapshot.Snapshot
	for s0 == nil || len(s0.SwarmIDs()) < 2 || len(s0.Members(snapshot.Unassigned)) > 0 {
		select {
		case <-ctx.Done():
			t.Fatal("no two swarms formed")
		case <-time.After(100 * time.Millisecond):
		}
		_, s0, _ = devnet.FetchSnapshot(ctx, d.Network())
	}

	type sent struct {
		acct *identity.Account
		hash string
	}
	var msgs []sent
	for i := range 40 {
		a := identity.NewAccount()
		_, members, ok := s0.SwarmOf(a.ID())
		if !ok {
			t.Fatal("no swarm for an account")
		}
		params, _ := json.Marshal(map[string]any{"pubkey": a.ID().String(), "data": base64.StdEncoding.EncodeToString([]byte(fmt.Sprint("churn ", i))),
			"ttl": int64(time.Hour / time.Millisecond), "timestamp": time.Now().UnixMilli()})
		body, err := clients[index[members[0].Ed25519]].Call(ctx, rpc.MethodStore, params)
		if err != nil {
			t.Fatal(err)
		}
		var res rpc.StoreResult
		json.Unmarshal(body, &res)
		msgs = append(msgs, sent{a, res.Hash})
	}
	holds := func(i int, m sent) bool {
		body, err := clients[i].Signed(ctx, m.acct, rpc.MethodRetrieve, json.RawMessage(`{}`))
		if err != nil {
			return false
		}
		var res rpc.RetrieveResult
		return json.Unmarshal(body, &res) == nil && len(res.Messages) == 1 && res.Messages[0].Hash == m.hash
	}
	// placed reports whether every message is on every running member of
	// its current swarm.
	placed := func() (bool, *snapshot.Snapshot) {
		_, s, err := devnet.FetchSnapshot(ctx, d.Network())
		if err != nil {
			return false, nil
		}
		for _, m := range msgs {
			_, members, ok := s.SwarmOf(m.acct.ID())
			if !ok {
				return false, s
			}
			for _, mem := range members {
				if i := index[mem.Ed25519]; d.Running(i) && !holds(i, m) {
					return false, s
				}
			}
		}
		return true, s
	}
	waitPlaced := func(what string) *snapshot.Snapshot {
		t.Helper()
		for {
			ok, s := placed()
			if ok {
				var sizes []int
				for _, id := range s.SwarmIDs() {
					sizes = append(sizes, len(s.Members(id)))
				}
				t.Logf("%s: epoch %d, swarm sizes %v, every message in place", what, s.Epoch, sizes)
				return s
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: messages not on every member of their swarm in time", what)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	waitEpoch := func(what string, cond func(*snapshot.Snapshot) bool) {
		t.Helper()
		for {
			if _, s, err := devnet.FetchSnapshot(ctx, d.Network()); err == nil && cond(s) {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("waiting for %s", what)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	listed := func(i int) func(*snapshot.Snapshot) bool {
		return func(s *snapshot.Snapshot) bool {
			n, ok := s.Node(nodes[i].Ed25519)
			return ok && n.Swarm != snapshot.Unassigned
		}
	}
	waitPlaced("at the start")

	// Kill two members of the smallest swarm: the registry drops them,
	// and the swarm, below the minimum, dissolves (or steals a member).
	ids := s0.SwarmIDs()
	slices.SortFunc(ids, func(a, b uint64) int { return len(s0.Members(a)) - len(s0.Members(b)) })
	victim := index[s0.Members(ids[0])[0].Ed25519]
	second := index[s0.Members(ids[0])[1].Ed25519]
	for _, i := range []int{victim, second} {
		if err := d.Kill(i); err != nil {
			t.Fatal(err)
		}
	}
	waitEpoch("the killed members to be dropped", func(s *snapshot.Snapshot) bool { return !listed(victim)(s) && !listed(second)(s) })
	waitPlaced("after the drop")

	for _, i := range []int{victim, second} {
		if err := d.Restart(i); err != nil {
			t.Fatal(err)
		}
	}
	waitEpoch("the restarted members to be assigned", func(s *snapshot.Snapshot) bool { return listed(victim)(s) && listed(second)(s) })
	waitPlaced("after the rejoin")

	// Decommission a member that still holds an account of a swarm it
	// left in the reshaping (a stray: its new swarm refuses a hand-off
	// from a non-member), if there is one; else any assigned member.
	_, s, _ := devnet.FetchSnapshot(ctx, d.Network())
	strays := func(i int) int {
		db, err := sqlite.Open(filepath.Join(d.NodeConfig(i).Data, node.DBFile))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		accts, err := db.Accounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range accts {
			_, members, _ := s.SwarmOf(a)
			if !slices.ContainsFunc(members, func(m snapshot.Node) bool { return m.Ed25519 == nodes[i].Ed25519 }) {
				n++
			}
		}
		return n
	}
	var candidates []int
	for i := range nodes {
		if n, ok := s.Node(nodes[i].Ed25519); ok && i != victim && i != second && n.Swarm != snapshot.Unassigned {
			candidates = append(candidates, i)
		}
	}
	leaver, held := -1, 0
	for j, i := range candidates {
		if err := d.StopNode(i); err != nil {
			t.Fatal(err)
		}
		leaver, held = i, strays(i)
		if held > 0 || j == len(candidates)-1 {
			break
		}
		if err := d.Restart(i); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("decommissioning node %d, holding %d accounts of swarms it is not in", leaver, held)
	cfg := d.NodeConfig(leaver)
	out, err := exec.CommandContext(ctx, bin, "node", "--decommission", "--network", cfg.Network,
		"--data", cfg.Data, "--listen", cfg.Listen, "--log-level", "warn").CombinedOutput()
	if err != nil {
		t.Fatalf("decommission: %v\n%s", err, out)
	}
	waitPlaced("after the decommission")
}
