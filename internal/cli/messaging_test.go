package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/devnet"
)

// TestMessagingOnDevnet runs the messaging commands against a devnet with
// their defaults: snapshots from the network file's seeds and
// every request through onion paths.
func TestMessagingOnDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole network")
	}
	// The nodes are hushd processes built without -race: the commands
	// under test run in this process, race-checked; race-built in-process
	// nodes (as before) made this the slowest test of the package, most
	// of it the network forming (as internal/daemon's startNetwork).
	bin := filepath.Join(t.TempDir(), "hushd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hushnet/hush/cmd/hushd").CombinedOutput(); err != nil {
		t.Fatalf("build hushd: %v\n%s", err, out)
	}
	// As long as the devnet scripts give it: on a busy 2-core machine
	// forming has taken over three minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	d, err := devnet.Up(ctx, devnet.Options{
		Dir: t.TempDir(), Nodes: 8, Processes: true, HushdPath: bin,
		EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond,
		UnreachableAfter: time.Minute, // nothing here is about dropping nodes; see client/devnet_test.go
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	t.Setenv(envTestKDF, "1")
	t.Setenv(envPassphrase, "pw")
	t.Setenv("HUSH_NETWORK", d.NetworkPath())
	t.Setenv(envNode, "")

	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(args, strings.NewReader(""), &out, &errOut, true); code != 0 {
			t.Fatalf("hush %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
		}
		return out.String()
	}
	dir := t.TempDir()
	alice, bob := filepath.Join(dir, "alice"), filepath.Join(dir, "bob")
	run("--home", alice, "init")
	run("--home", bob, "init")
	bobID, err := homeAccountID(bob)
	if err != nil {
		t.Fatal(err)
	}
	aliceID, err := homeAccountID(alice)
	if err != nil {
		t.Fatal(err)
	}
	run("--home", alice, "contacts", "add", bobID.String(), "--name", "bob")
	for _, text := range []string{"one", "two", "three"} {
		run("--home", alice, "send", "bob", text)
	}
	// A path may time out on a loaded machine; a later command sends what
	// waits, so receive until all three arrived. A send is answered once
	// two members of bob's swarm hold the message, and a poll asks two
	// members: the others may get it a poll later, so one message can
	// come a poll after a later one (their order is checked below, in
	// the chat, which orders by sent time).
	got := map[string]int{}
	var lines []string
	for deadline := time.Now().Add(3 * time.Minute); len(got) < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("bob received %v after 3 minutes; receive printed:\n%s", got, strings.Join(lines, "\n"))
		}
		run("--home", alice, "receive")
		for _, line := range strings.Split(strings.TrimSpace(run("--home", bob, "--json", "receive")), "\n") {
			if line == "" {
				continue
			}
			lines = append(lines, line)
			var m struct {
				ID, Sender, Text string
				SentAt           time.Time `json:"sent_at"`
			}
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("receive --json line %q: %v", line, err)
			}
			if m.Sender != aliceID.String() || len(m.ID) != 32 || m.SentAt.IsZero() {
				t.Fatalf("message %+v", m)
			}
			got[m.Text]++
		}
		if len(got) < 3 {
			time.Sleep(time.Second)
		}
	}
	if got["one"] != 1 || got["two"] != 1 || got["three"] != 1 {
		t.Fatalf("bob received %v, want one, two, three once each; receive printed:\n%s", got, strings.Join(lines, "\n"))
	}
	if chat := run("--home", bob, "chat", "show", aliceID.String()); !regexp.MustCompile(`(?s): one \[.*: two \[.*: three \[`).MatchString(chat) {
		t.Fatalf("bob's chat with alice, want one, two, three in order:\n%s", chat)
	}
	// The commands went through onion paths, which `hush path` shows.
	var rep struct {
		Paths []json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(run("--home", alice, "--json", "path")), &rep); err != nil || len(rep.Paths) == 0 {
		t.Fatalf("hush path: %d paths, %v", len(rep.Paths), err)
	}
}
