package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/protocol/transparency"
)

// TestTURNCommand: a config written as the devnet writes it passes
// --check-config; --show-identity prints the keys for the network file;
// transparency --json lists every kind of file of the data directory
// (and no "other") and the memory records.
func TestTURNCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := config.DefaultTURN()
	cfg.Data, cfg.Listen, cfg.Endpoint, cfg.TLSListen, cfg.AllowPrivatePeers = dir, "127.0.0.1:3478", "127.0.0.1:22050", "127.0.0.1:5349", true
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "turn.toml")
	os.WriteFile(path, b.Bytes(), 0o600)
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		cmd := rootCmd(&out, &errb)
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("hushd %v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	if out := run("turn", "--config", path, "--check-config"); out != "config ok\n" {
		t.Fatalf("check-config: %q", out)
	}
	if out := run("turn", "--config", path, "--show-identity"); !regexp.MustCompile(`^ed25519 [0-9a-f]{64}\nx25519 [0-9a-f]{64}\n$`).MatchString(out) {
		t.Fatalf("show-identity: %q", out)
	}
	var rep transparency.Report
	if err := json.Unmarshal([]byte(run("turn", "transparency", "--config", path, "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"turn_ed25519.key", "allocations", "credential quota counts", "issuance budgets", "replay cache"} {
		if _, ok := rep.Record(name); !ok {
			t.Errorf("the report lacks %q: %+v", name, rep.Records)
		}
	}
	if r, ok := rep.Record("other"); ok {
		t.Errorf("undescribed files: %+v", r)
	}
}
