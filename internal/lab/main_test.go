//go:build lab && linux

package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/labnet"
)

// The binaries every lab test runs, built once by TestMain with the
// `lab` tag and without -race (a lab holds a dozen of them on two
// cores).
var hushdBin, hushBin string

// unavailable says why the lab cannot run here; tests skip then.
var unavailable error

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv(envHelper) != "" {
		return helperMain()
	}
	if unavailable = Available(); unavailable != nil {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "hushlab-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "go env GOMOD:", err)
		return 1
	}
	for _, b := range []struct {
		out *string
		pkg string
	}{{&hushdBin, "./cmd/hushd"}, {&hushBin, "./cmd/hush"}} {
		*b.out = filepath.Join(dir, filepath.Base(b.pkg))
		cmd := exec.Command("go", "build", "-tags", "lab", "-o", *b.out, b.pkg)
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", b.pkg, err, out)
			return 1
		}
	}
	// A SIGTERM or Ctrl-C would end the binary without the tests'
	// clean-ups: close the open labs first (New would clean them up on
	// the next run anyway).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "lab: %v: tearing the labs down\n", s)
		openLabs.Range(func(l, _ any) bool {
			l.(*Lab).Close()
			return true
		})
		os.Exit(1)
	}()
	return m.Run()
}

// openLabs are the labs not yet closed.
var openLabs sync.Map

// newLab returns a lab torn down when the test ends, or skips.
func newLab(t *testing.T) *Lab {
	t.Helper()
	if unavailable != nil {
		t.Skip(unavailable)
	}
	dir := t.TempDir()
	if keep := os.Getenv("HUSH_LAB_DIR"); keep != "" {
		// Kept after the run, to read the hosts' logs.
		dir = filepath.Join(keep, t.Name())
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	l, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	openLabs.Store(l, nil)
	t.Cleanup(func() {
		openLabs.Delete(l)
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return l
}

// testCtx bounds a whole lab test: everything stops by itself.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// baseOptions is a small network: 3 registry hosts, nodes in four
// /24s (two pairs share one), the lab binaries.
func baseOptions(nodes []string) NetOptions {
	return NetOptions{
		Hushd: hushdBin, Hush: hushBin,
		Registries: []string{"10.77.10.1", "10.77.10.2", "10.77.10.3"},
		Nodes:      nodes,
		Links:      labnet.File{Default: "lan"},
		// Anti-entropy every 2 s: the repair after a heal is the event
		// a test waits for, not a 30 s timer.
		NodeArgs: []string{"--anti-entropy-interval", "2s"},
	}
}

// swarmOf returns the members of the swarm Account ID id belongs to.
func swarmOf(t *testing.T, st *devnet.Status, id string) []string {
	t.Helper()
	members, err := SwarmMembers(st, id)
	if err != nil {
		t.Fatal(err)
	}
	return members
}

// receiveAll polls c until ledger owes it nothing or the attempts run
// out; each poll's messages go into the ledger.
func receiveAll(ctx context.Context, t *testing.T, c *Client, ledger *Ledger, attempts int) {
	t.Helper()
	for i := range attempts {
		ms, err := c.Receive(ctx)
		ledger.Received(c.ID, ms)
		if err != nil {
			t.Logf("receive %d: %v", i, err)
		}
		if len(ledger.Missing(c.ID)) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// checkLedger fails unless every acknowledged message arrived once.
func checkLedger(t *testing.T, l *Ledger) {
	t.Helper()
	b := l.Balance()
	t.Logf("ledger: %s", b)
	if !b.OK() {
		t.Fatalf("ledger does not balance: %s", b.Details())
	}
}

// startPair starts a network with o and the two clients most tests use:
// alice at 10.77.20.1 and bob at 10.77.21.1, each in a /24 of its own.
func startPair(t *testing.T, ctx context.Context, l *Lab, o NetOptions) (*Network, *Client, *Client) {
	t.Helper()
	n, err := l.StartNetwork(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := addPair(t, ctx, n)
	return n, alice, bob
}

// addPair adds alice and bob (as startPair does) to a running network.
func addPair(t *testing.T, ctx context.Context, n *Network) (*Client, *Client) {
	t.Helper()
	alice, err := n.AddClient(ctx, "alice", "10.77.20.1")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := n.AddClient(ctx, "bob", "10.77.21.1")
	if err != nil {
		t.Fatal(err)
	}
	return alice, bob
}
