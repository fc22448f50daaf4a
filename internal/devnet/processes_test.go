//go:build unix

package devnet

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/registry/registryclient"
	"github.com/hushnet/hush/protocol/snapshot"
)

// buildHushd builds the real hushd once for a test, without -race so the
// processes start and run at full speed.
func buildHushd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hushd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hushnet/hush/cmd/hushd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// waitSnapshot polls the seeds until a snapshot satisfies ok.
func waitSnapshot(t *testing.T, ctx context.Context, d *Devnet, what string, ok func(*snapshot.Snapshot) bool) *snapshot.Snapshot {
	t.Helper()
	for {
		if _, s, err := FetchSnapshot(ctx, d.Network()); err == nil && ok(s) {
			return s
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

func swarmsAtLeast(t *testing.T, s *snapshot.Snapshot, min int) {
	t.Helper()
	for _, id := range s.SwarmIDs() {
		if n := len(s.Members(id)); n < min {
			t.Fatalf("epoch %d: swarm %s has %d members", s.Epoch, SwarmID(id), n)
		}
	}
	if n := len(s.Members(snapshot.Unassigned)); n > 0 {
		t.Fatalf("epoch %d: %d nodes in no swarm", s.Epoch, n)
	}
}

// TestProcesses runs every node as a hushd process: one is killed with
// SIGKILL and the registry drops it after its unreachable time, leaving
// swarms of at least 3; restarted, it registers again; another is
// frozen with SIGSTOP until dropped registers again when thawed; another
// is stopped and decommissioned with `hushd node --decommission`, which
// refuses while the node still runs.
func TestProcesses(t *testing.T) {
	hushd := buildHushd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// This test is about the registry dropping nodes: a short unreachable
	// time, though not so short that a busy machine drops live nodes.
	d := up(t, ctx, Options{Nodes: 7, Processes: true, HushdPath: hushd, UnreachableAfter: 3 * time.Second})
	nodes := d.Nodes()
	listed := func(i int) func(*snapshot.Snapshot) bool {
		return func(s *snapshot.Snapshot) bool { _, ok := s.Node(nodes[i].Ed25519); return ok }
	}
	gone := func(i int) func(*snapshot.Snapshot) bool {
		return func(s *snapshot.Snapshot) bool { return !listed(i)(s) }
	}

	if d.Pid(6) == 0 {
		t.Fatal("node 6 has no process")
	}
	if err := d.Kill(6); err != nil {
		t.Fatal(err)
	}
	s := waitSnapshot(t, ctx, d, "the killed node to be dropped", gone(6))
	swarmsAtLeast(t, s, 3)

	if err := d.Restart(6); err != nil {
		t.Fatal(err)
	}
	if err := d.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	// A node frozen long enough is dropped; thawed, it sees a snapshot
	// without itself and registers again on its own.
	pid := d.Pid(4)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, ctx, d, "the frozen node to be dropped", gone(4))
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, ctx, d, "the thawed node to register again", listed(4))
	if err := d.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	decommission := func(i int) (string, error) {
		cfg := d.NodeConfig(i)
		out, err := exec.CommandContext(ctx, hushd, "node", "--decommission", "--network", cfg.Network,
			"--data", cfg.Data, "--listen", cfg.Listen, "--log-level", "warn").CombinedOutput()
		return string(out), err
	}
	if out, err := decommission(5); err == nil || !strings.Contains(out, "still running") {
		t.Fatalf("decommission of a running node: %v %s", err, out)
	}
	if err := d.StopNode(5); err != nil {
		t.Fatal(err)
	}
	out, err := decommission(5)
	if err != nil {
		t.Fatalf("decommission: %v %s", err, out)
	}
	// The node left by its own signed deregistration, not by the hosts'
	// liveness votes: either fallback would have logged a warning.
	if strings.Contains(out, "did not take the deregistration") || strings.Contains(out, "no epoch dropped the node") {
		t.Fatalf("decommission fell back to the liveness votes:\n%s", out)
	}
	// Decommission returned on the registry's word: ask it directly, as
	// a seed may be a moment behind.
	pool := registryclient.NewPoolForNetwork(d.Network())
	defer pool.Close()
	raw, err := pool.Snapshot(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err = d.Network().SnapshotVerifier().Verify(raw, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if listed(5)(s) {
		t.Fatalf("epoch %d still lists the decommissioned node", s.Epoch)
	}
	swarmsAtLeast(t, s, 3)
}
