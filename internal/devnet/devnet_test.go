package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// quick are timers for tests: everything the registry does, faster. Only
// a test about the registry dropping nodes sets a short UnreachableAfter:
// with a short one, a node starved of CPU on a busy machine is voted out
// mid-test and swarms move under the test.
func quick(o Options) Options {
	o.EpochInterval, o.ProbeInterval = 200*time.Millisecond, 100*time.Millisecond
	if o.UnreachableAfter == 0 {
		o.UnreachableAfter = time.Minute
	}
	return o
}

func up(t *testing.T, ctx context.Context, o Options) *Devnet {
	t.Helper()
	var progress bytes.Buffer
	o.Progress = &progress
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	d, err := Up(ctx, quick(o))
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Error(err)
		}
	})
	return d
}

func client(t *testing.T, n snapshot.Node) *nodeclient.Client {
	t.Helper()
	c, err := nodeclient.New("https://"+n.Address, n.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDevnetForms(t *testing.T) {
	tests := []struct {
		name              string
		registries, nodes int
	}{
		{name: "one registry host", registries: 1, nodes: 6},
		{name: "three registry hosts", registries: 3, nodes: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			d := up(t, ctx, Options{Nodes: tt.nodes, Registries: tt.registries})
			// Leadership can move during an election; wait for a settled
			// view with exactly one leader. Inspect pings every host and
			// node with a 2 s bound, which a node of this busy process can
			// miss on a loaded machine (a node formed, then shown down):
			// ask again until all answer.
			var st *Status
			for {
				var err error
				if st, err = Inspect(ctx, d.Network()); err != nil {
					t.Fatal(err)
				}
				if leaders(st) == 1 && allUp(st) {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("never exactly one leader and every host and node up: registries %+v, nodes %s", st.Registries, nodesString(st))
				case <-time.After(pollEvery):
				}
			}
			if len(st.Registries) != tt.registries || len(st.Nodes) != tt.nodes || len(st.Swarms) == 0 {
				t.Fatalf("status: %+v", st)
			}
			for _, r := range st.Registries {
				if !r.Up {
					t.Errorf("registry host %s down", r.Address)
				}
			}
			for _, n := range st.Nodes {
				if !n.Up || n.SwarmID == nil {
					t.Errorf("node %+v", n)
				}
			}
			for _, s := range st.Swarms {
				if len(s.Members) < 3 {
					t.Errorf("swarm %s has %d members", s.SwarmID, len(s.Members))
				}
			}
		})
	}
}

// allUp reports whether every registry host and node in st answered and
// every node is in a swarm.
func allUp(st *Status) bool {
	for _, r := range st.Registries {
		if !r.Up {
			return false
		}
	}
	for _, n := range st.Nodes {
		if !n.Up || n.SwarmID == nil {
			return false
		}
	}
	return true
}

// nodesString shows st's nodes for a failure message.
func nodesString(st *Status) string {
	var b strings.Builder
	for _, n := range st.Nodes {
		sw := "none"
		if n.SwarmID != nil {
			sw = *n.SwarmID
		}
		fmt.Fprintf(&b, "\n  %s up %v swarm %s", n.Address, n.Up, sw)
	}
	return b.String()
}

// TestNodesFollowTheRegistry: every node serves a snapshot verified by
// the registry keys with the same nodes and swarms; a store to a node
// outside the account's swarm gets 421 naming the right swarm; a member
// stores and returns it; get_swarm answers the same on every node.
func TestNodesFollowTheRegistry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := up(t, ctx, Options{Nodes: 8})
	net := d.Network()
	_, first, err := FetchSnapshot(ctx, net)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.SwarmIDs()) < 2 {
		t.Fatalf("8 nodes with swarms of 3/4 should make at least two swarms: %v", first.SwarmIDs())
	}
	for _, n := range first.Nodes {
		_, s, err := FetchSnapshotFrom(ctx, client(t, n), net, 0)
		if err != nil {
			t.Fatalf("node %s: %v", n.Address, err)
		}
		if !reflect.DeepEqual(s.Nodes, first.Nodes) {
			t.Fatalf("node %s serves epoch %d with other nodes or swarms than epoch %d", n.Address, s.Epoch, first.Epoch)
		}
	}

	acct := identity.NewAccount()
	swarmID, members, ok := first.SwarmOf(acct.ID())
	if !ok {
		t.Fatal("no swarm")
	}
	isMember := func(k identity.Ed25519PublicKey) bool {
		return slices.ContainsFunc(members, func(m snapshot.Node) bool { return m.Ed25519 == k })
	}
	var outsider snapshot.Node
	for _, n := range first.Nodes {
		if !isMember(n.Ed25519) {
			outsider = n
			break
		}
	}
	store := json.RawMessage(`{"namespace":0,"ttl":60000,"data":"aGk="}`)
	body, err := client(t, outsider).Signed(ctx, acct, rpc.MethodStore, store)
	var ne *nodeclient.Error
	if !errors.As(err, &ne) || ne.Status != http.StatusMisdirectedRequest {
		t.Fatalf("store to a non-member: %v %s", err, body)
	}
	var eb rpc.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Swarm == nil {
		t.Fatalf("421 body %s: %v", body, err)
	}
	if eb.Swarm.SwarmID != SwarmID(swarmID) || len(eb.Swarm.Members) != len(members) {
		t.Fatalf("421 names swarm %s with %d members, want %s with %d", eb.Swarm.SwarmID, len(eb.Swarm.Members), SwarmID(swarmID), len(members))
	}
	for _, m := range eb.Swarm.Members {
		var k identity.Ed25519PublicKey
		err := k.UnmarshalText([]byte(m.PubkeyEd25519))
		if err != nil || !isMember(k) {
			t.Fatalf("421 names %s, not a member", m.PubkeyEd25519)
		}
	}

	member := client(t, members[0])
	if body, err := member.Signed(ctx, acct, rpc.MethodStore, store); err != nil {
		t.Fatalf("store to a member: %v %s", err, body)
	}
	body, err = member.Signed(ctx, acct, rpc.MethodRetrieve, json.RawMessage(`{"namespace":0}`))
	var got rpc.RetrieveResult
	if err != nil || json.Unmarshal(body, &got) != nil || len(got.Messages) != 1 {
		t.Fatalf("retrieve: %v %s", err, body)
	}

	for _, n := range first.Nodes {
		body, err := client(t, n).Call(ctx, rpc.MethodGetSwarm, json.RawMessage(`{"pubkey":"`+acct.ID().String()+`"}`))
		var sr rpc.SwarmResult
		if err != nil || json.Unmarshal(body, &sr) != nil || sr.SwarmID != SwarmID(swarmID) {
			t.Fatalf("get_swarm on %s: %v %s", n.Address, err, body)
		}
	}
}

func TestUpRefusesAFolderThatIsNotADevnet(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Up(context.Background(), Options{Dir: dir, Nodes: 3})
	if err == nil {
		t.Fatal("Up used a folder with someone else's files")
	}
}

// TestUpRefusesARunningDevnet: a running devnet's folder is never
// cleared for another, even when none of its nodes answers (as a starved
// process's may not within the check's bound on a busy machine: the
// second devnet up then deleted the first's data under it).
func TestUpRefusesARunningDevnet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	dir := t.TempDir()
	d := up(t, ctx, Options{Dir: dir, Nodes: 3})
	for i := range d.Nodes() {
		if err := d.StopNode(i); err != nil {
			t.Fatal(err)
		}
	}
	d2, err := Up(ctx, quick(Options{Dir: dir, Nodes: 3}))
	if err == nil {
		d2.Stop()
		t.Fatal("a second devnet took the folder of a running one")
	}
	if !strings.Contains(err.Error(), "a devnet is running from") {
		t.Fatalf("second devnet: %v", err)
	}
	if _, err := os.Stat(d.NetworkPath()); err != nil {
		t.Fatalf("the running devnet's network file: %v", err)
	}
	// Stopped, its folder is free for the next.
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	up(t, ctx, Options{Dir: dir, Nodes: 3})
}

// TestRegistryOutage: with the registry gone, nodes keep serving from
// their last snapshot (also after a restart, from the saved copy) until
// it expires, then refuse account requests with 503 (never a 421 from an
// expired view).
func TestRegistryOutage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Long enough that a busy machine restarts node 1 before it lapses.
	d := up(t, ctx, Options{Nodes: 3, SnapshotLifetime: 10 * time.Second})
	if err := d.StopRegistry(0); err != nil {
		t.Fatal(err)
	}
	_, s, err := FetchSnapshot(ctx, d.Network())
	if err != nil {
		t.Fatalf("nodes stopped serving the snapshot when the registry went: %v", err)
	}
	// A node restarted during the outage serves the snapshot it saved.
	if err := d.StopNode(1); err != nil {
		t.Fatal(err)
	}
	if err := d.Restart(1); err != nil {
		t.Fatal(err)
	}
	n1, _ := s.Node(d.Nodes()[1].Ed25519)
	if _, got, err := FetchSnapshotFrom(ctx, client(t, n1), d.Network(), 0); err != nil || got.Epoch < s.Epoch {
		t.Fatalf("restarted node: %v (epoch %v, want %d)", err, got, s.Epoch)
	}

	acct := identity.NewAccount()
	_, members, _ := s.SwarmOf(acct.ID())
	c := client(t, members[0])
	store := json.RawMessage(`{"namespace":0,"ttl":60000,"data":"aGk="}`)
	if body, err := c.Signed(ctx, acct, rpc.MethodStore, store); err != nil {
		t.Fatalf("store during the outage, before expiry: %v %s", err, body)
	}
	for {
		body, err := c.Signed(ctx, acct, rpc.MethodStore, store)
		var ne *nodeclient.Error
		if errors.As(err, &ne) {
			if ne.Status != http.StatusServiceUnavailable || ne.Code != rpc.CodeUnavailable {
				t.Fatalf("after expiry: %v %s", err, body)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the node still stores after its snapshot expired at %s: %v", s.ExpiresAt, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

func leaders(st *Status) int {
	n := 0
	for _, r := range st.Registries {
		if r.Role == "leader" {
			n++
		}
	}
	return n
}
