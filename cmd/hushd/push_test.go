package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hushnet/hush/internal/push"
	"github.com/hushnet/hush/protocol/transparency"
)

// TestPushCommands: --show-identity prints the keys for the network file,
// and transparency prints every table of the database, in text and JSON.
func TestPushCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		cmd := rootCmd(&out, &errb)
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("hushd %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}
	id := run("push", "--data", dir, "--show-identity")
	if !strings.HasPrefix(id, "ed25519 ") || !strings.Contains(id, "\nx25519 ") {
		t.Fatalf("identity: %q", id)
	}
	if again := run("push", "--data", dir, "--show-identity"); again != id {
		t.Fatal("identity changed between runs")
	}
	s, err := push.OpenStore(dir + "/" + push.DBFile)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	text := run("push", "transparency", "--data", dir)
	rep, err := transparency.ParseReport([]byte(run("push", "transparency", "--data", dir, "--json")))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range rep.Records {
		if k.Kind == transparency.KindTable && !strings.Contains(text, k.Name+": 0") {
			t.Errorf("text report lacks %s:\n%s", k.Name, text)
		}
	}
	if out := run("push", "--data", dir, "--validate-config"); out != "config ok\n" {
		t.Fatalf("validate: %q", out)
	}
}
