//go:build lab && linux

package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// devnetUp is what `hush --json devnet up --lab` prints once it is up.
type devnetUp struct {
	Lab          string `json:"lab"`
	Network      string `json:"network"`
	Profile      string `json:"profile"`
	DemoReceived string `json:"demo_received"`
	Nodes        []struct {
		Namespace string `json:"namespace"`
		Address   string `json:"address"`
	} `json:"nodes"`
	Clients []struct {
		Name      string   `json:"name"`
		Namespace string   `json:"namespace"`
		ID        string   `json:"id"`
		Command   []string `json:"command"`
	} `json:"clients"`
}

// labNamespaces lists the namespaces whose name starts with prefix.
func labNamespaces(t *testing.T, prefix string) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var ns []string
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			ns = append(ns, f[0])
		}
	}
	return ns
}

// TestLabDevnetUp runs `hush devnet up --lab` as a user would (the
// built hush, continental links), sends a message from bob to alice with
// the command lines it printed, each in its client's namespace, then
// stops it with SIGTERM: every namespace it made is gone, and so is
// every process that ran in them.
func TestLabDevnetUp(t *testing.T) {
	if unavailable != nil {
		t.Skip(unavailable)
	}
	ctx := testCtx(t, 15*time.Minute)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "devnet.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(hushBin, "--json", "devnet", "up", "--lab", "--lab-profile", "continental",
		"--hushd", hushdBin, "--dir", dir, "--nodes", "6", "--timeout", "5m")
	cmd.Stderr = logf
	// If this test dies, hush gets the signal a user's Ctrl-C sends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ups := make(chan devnetUp, 1)
	go func() {
		var up devnetUp
		if err := json.NewDecoder(bufio.NewReader(stdout)).Decode(&up); err == nil {
			ups <- up
		}
		exited <- cmd.Wait()
	}()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()
	var up devnetUp
	select {
	case up = <-ups:
	case err := <-exited:
		b, _ := os.ReadFile(logPath)
		t.Fatalf("hush devnet up exited (%v) before it was up:\n%s", err, b)
	case <-ctx.Done():
		t.Fatal("hush devnet up --lab did not come up")
	}
	t.Logf("lab %s up: %d nodes, profile %s, demo received %q", up.Lab, len(up.Nodes), up.Profile, up.DemoReceived)
	if !strings.HasPrefix(up.Lab, Prefix) || up.Profile != "continental" || len(up.Nodes) != 6 || len(up.Clients) != 2 {
		t.Fatalf("unexpected devnet: %+v", up)
	}
	if up.DemoReceived == "" {
		t.Error("the demo message did not arrive")
	}
	made := labNamespaces(t, up.Lab)
	// 1 bridge, 1 registry host, 6 nodes, the observer, 2 clients.
	if len(made) != 11 {
		t.Errorf("namespaces %v, want 11", made)
	}
	var pids []int
	for _, ns := range made {
		out, err := exec.Command("ip", "netns", "pids", ns).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	if len(pids) < 7 {
		t.Errorf("%d processes in the lab's namespaces, want a hushd per host", len(pids))
	}

	alice, bob := up.Clients[0], up.Clients[1]
	// Continental links are 100 Mbit/s each way: tbf on every host.
	for _, ns := range []string{alice.Namespace, up.Nodes[0].Namespace} {
		out, err := exec.Command("tc", "-n", ns, "qdisc", "show", "dev", "eth0").Output()
		if err != nil || !strings.Contains(string(out), "tbf") || !strings.Contains(string(out), "100Mbit") {
			t.Errorf("%s's eth0 qdisc: %q, %v; want tbf at 100Mbit", ns, out, err)
		}
	}
	run := func(c []string, args ...string) []byte {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, cliTimeout)
		defer cancel()
		argv := append(append([]string(nil), c...), args...)
		cmd := exec.CommandContext(rctx, argv[0], argv[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Logf("stderr: %s", ee.Stderr)
			}
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	const text = "hi alice, from bob's namespace"
	run(bob.Command, "--json", "send", alice.ID, text)
	got := false
	for i := 0; i < 30 && !got; i++ {
		ms, err := parseMessages(run(alice.Command, "--json", "receive"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			got = got || (m.Text == text && m.Sender.String() == bob.ID)
		}
		if !got {
			time.Sleep(time.Second)
		}
	}
	if !got {
		t.Fatal("alice never received bob's message")
	}
	t.Logf("bob → alice delivered, each in its namespace")

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("hush devnet up after SIGTERM: %v\n%s", err, b)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("hush devnet up did not stop within 2 minutes of SIGTERM")
	}
	if left := labNamespaces(t, up.Lab); len(left) != 0 {
		t.Errorf("namespaces left after the stop: %v", left)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d of the lab still runs", pid)
		}
	}
}
