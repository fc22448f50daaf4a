package replication_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// TestDevnetProcesses is the end-to-end test on real hushd processes: a
// store through one member is retrievable from every member with three
// confirmations; with one member killed (SIGKILL) stores still get two;
// restarted, the member converges by anti-entropy alone.
func TestDevnetProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs hushd processes")
	}
	bin := filepath.Join(t.TempDir(), "hushd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hushnet/hush/cmd/hushd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The children inherit the environment: anti-entropy every 300 ms.
	// A bound for a hang, not a speed: a loaded machine under -race took
	// 86 s to start a devnet's nodes (callrtc's TestRelayCallDevnet).
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	d, err := devnet.Up(ctx, devnet.Options{AntiEntropyInterval: 300 * time.Millisecond, Timeout: 6 * time.Minute,
		Dir: t.TempDir(), Nodes: 3, Processes: true, HushdPath: bin,
		EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond,
		// The killed member must stay in its swarm: this test is about
		// replication, not about the registry dropping it.
		UnreachableAfter: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	_, snap, err := devnet.FetchSnapshot(ctx, d.Network())
	if err != nil {
		t.Fatal(err)
	}
	nodes := d.Nodes()
	clients := make([]*nodeclient.Client, len(nodes))
	for i, n := range nodes {
		if clients[i], err = nodeclient.New("https://"+n.Address, n.Ed25519); err != nil {
			t.Fatal(err)
		}
	}
	acct := identity.NewAccount()
	if _, ms, ok := snap.SwarmOf(acct.ID()); !ok || len(ms) != 3 {
		t.Fatalf("the account's swarm has %d members, want 3", len(ms))
	}
	isMember := func(k identity.Ed25519PublicKey) bool {
		n, ok := snap.Node(k)
		return ok && n.Swarm != snapshot.Unassigned
	}
	store := func(c *nodeclient.Client, data string) int {
		params, _ := json.Marshal(map[string]any{"pubkey": acct.ID().String(), "data": base64.StdEncoding.EncodeToString([]byte(data)),
			"ttl": int64(time.Hour / time.Millisecond), "timestamp": time.Now().UnixMilli()})
		body, err := c.Call(ctx, rpc.MethodStore, params)
		if err != nil {
			t.Fatalf("store: %v", err)
		}
		var res rpc.StoreResult
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		return rpc.CountConfirmations(d.Network().ID, acct.ID(), res.Hash, res.Swarm, isMember)
	}
	count := func(c *nodeclient.Client) int {
		body, err := c.Signed(ctx, acct, rpc.MethodRetrieve, json.RawMessage(`{}`))
		if err != nil {
			return -1
		}
		var res rpc.RetrieveResult
		if json.Unmarshal(body, &res) != nil {
			return -1
		}
		return len(res.Messages)
	}
	// A store is answered once two members hold it; the third gets it
	// by the forward that goes on meanwhile.
	for i := range 5 {
		if got := store(clients[0], fmt.Sprint("all up ", i)); got < 2 {
			t.Fatalf("store %d: %d confirmations, want at least 2", i, got)
		}
	}
	for i, c := range clients {
		deadline := time.Now().Add(30 * time.Second)
		for count(c) != 5 {
			if time.Now().After(deadline) {
				t.Fatalf("node %d returns %d messages, want 5", i, count(c))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	if err := d.Kill(2); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if got := store(clients[i%2], fmt.Sprint("one down ", i)); got != 2 {
			t.Fatalf("store %d with a member killed: %d confirmations, want 2", i, got)
		}
	}
	if err := d.Restart(2); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for count(clients[2]) != 10 {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted member holds %d messages, want 10", count(clients[2]))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
