package registrycmd

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/inventory"
	"github.com/hushnet/hush/internal/registry/registryapi"
	"github.com/hushnet/hush/protocol/transparency"
)

// handedOut holds the addresses freeAddr returned, to return each once.
var handedOut sync.Map

// freeAddr returns a loopback address nothing listens on right now and
// that it never returned before: a port just closed is free, and the
// next listen on port 0 may draw it again (two hosts of the replication
// tests' cluster got one port that way), so a test's hosts would clash.
func freeAddr(t *testing.T) string {
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if _, dup := handedOut.LoadOrStore(addr, true); !dup {
			return addr
		}
	}
}

func hushd(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := New(&out, &out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	out, err := hushd(context.Background(), "init", "--dir", dir, "--network", "clinet", "--raft-listen", freeAddr(t),
		"--api-listen", freeAddr(t), "--swarm-min", "3", "--swarm-ideal", "4", "--epoch-interval", "50ms")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(dir, "host.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("host key: %v %v", fi, err)
	}
	if _, err := hushd(context.Background(), "init", "--dir", dir); err == nil {
		t.Fatal("second init overwrote the host")
	}
	cfg := filepath.Join(dir, ConfigFile)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := hushd(ctx, "run", "--config", cfg, "--log-level", "error")
		done <- err
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	var st registryapi.Status
	deadline := time.Now().Add(time.Minute) // busy machines
	for st.SignedEpoch == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no signed epoch; last status %+v", st)
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("run stopped: %v", err)
		default:
		}
		time.Sleep(10 * time.Millisecond)
		out, err := hushd(context.Background(), "status", "--config", cfg, "--json", "--timeout", "2s")
		if err != nil {
			continue // not serving yet
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
	}
	if st.NetworkID != "clinet" || st.Role != "leader" || len(st.Hosts) != 1 {
		t.Fatalf("status %+v", st)
	}

	defer func() {
		if !t.Failed() {
			checkTransparency(t, cfg, dir)
		}
	}()
	node := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	nodeKey := identity.Ed25519PublicKeyOf(node).String()
	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"admit", []string{"admit", nodeKey}, "admitted " + nodeKey, ""},
		{"admit a bad key", []string{"admit", "00"}, "", "NODE_KEY"},
		{"admit with a non-steward key", []string{"admit", nodeKey, "--steward-key", writeKey(t, 9)}, "", "steward"},
		{"leave the only host", []string{"leave", st.Host}, "", "last host"},
		{"leave an unknown host", []string{"leave", nodeKey}, "", "not a registry host"},
		{"status", []string{"status"}, "admitted 1", ""},
		{"check-config", []string{"run", "--check-config"}, "config ok", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := hushd(context.Background(), append(tt.args, "--config", cfg)...)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q\n%s", err, tt.wantErr, out)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Fatalf("output %q lacks %q", out, tt.wantOut)
			}
		})
	}
}

// checkTransparency: `registry transparency --json` is the host's signed
// report, verified against its key; it carries the steward's statement
// from transparency.toml, counts what the state holds, and puts every
// file of the data directory in a described kind.
func checkTransparency(t *testing.T, cfg, dir string) {
	t.Helper()
	req := "period_start = \"2026-10-01\"\nperiod_end = \"2026-12-31\"\ntext = \"No requests received.\"\n"
	if err := os.WriteFile(filepath.Join(dir, "transparency.toml"), []byte(req), 0o600); err != nil {
		t.Fatal(err)
	}
	// The report is cached for a minute: the file is written before the
	// first transparency call.
	out, err := hushd(context.Background(), "transparency", "--config", cfg, "--json")
	if err != nil {
		t.Fatalf("transparency --json: %v\n%s", err, out)
	}
	var st transparency.Statement
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if text, err := hushd(context.Background(), "transparency", "--config", cfg); err != nil || !strings.Contains(text, "state admissions: 1\n") ||
		!strings.Contains(text, "period 2026-10-01 to 2026-12-31") {
		t.Fatalf("transparency: %v\n%s", err, text)
	}
	if st.Server != "registry" || st.Requests != "No requests received." || st.Period.Start != "2026-10-01" {
		t.Fatalf("statement %+v", st)
	}
	var files int64
	for _, k := range st.Report.Records {
		if k.Description == inventory.Undocumented || k.Name == inventory.OtherName {
			t.Errorf("not described: %+v", k)
		}
		if k.Kind == transparency.KindFiles {
			files += k.Count
		}
	}
	if k, _ := st.Report.Record("admissions"); k.Count != 1 {
		t.Errorf("admissions %+v", k)
	}
	if k, _ := st.Report.Record("hosts"); k.Count != 1 {
		t.Errorf("hosts %+v", k)
	}
	if k, ok := st.Report.Record("raft log entries"); !ok || k.Count < 3 {
		t.Errorf("raft log %+v", k)
	}
	var onDisk int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			onDisk++
		}
		return err
	})
	if files != onDisk {
		t.Errorf("the report counts %d files, the directory holds %d", files, onDisk)
	}
}

func writeKey(t *testing.T, b byte) string {
	p := filepath.Join(t.TempDir(), "steward.key")
	if err := os.WriteFile(p, []byte(strings.Repeat(string("0123456789"[b%10]), 64)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runHost runs `registry run` for cfg until the test ends.
func runHost(t *testing.T, cfg string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := hushd(ctx, "run", "--config", cfg, "--log-level", "error")
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run %s: %v", cfg, err)
		}
	})
}

func initHost(t *testing.T, args ...string) (cfg, key, raft, api string) {
	dir := t.TempDir()
	raft, api = freeAddr(t), freeAddr(t)
	out, err := hushd(context.Background(), append([]string{"init", "--dir", dir, "--network", "clinet", "--raft-listen", raft,
		"--api-listen", api, "--swarm-min", "3", "--swarm-ideal", "4", "--epoch-interval", "50ms"}, args...)...)
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	key, _, _ = strings.Cut(strings.TrimPrefix(out, "host key "), "\n")
	return filepath.Join(dir, ConfigFile), key, raft, api
}

// status polls `registry status --json` until cond holds.
func status(t *testing.T, cfg string, cond func(registryapi.Status) bool) registryapi.Status {
	t.Helper()
	var st registryapi.Status
	deadline := time.Now().Add(time.Minute) // busy machines
	for {
		out, err := hushd(context.Background(), "status", "--config", cfg, "--json", "--timeout", "2s")
		if err == nil {
			st = registryapi.Status{}
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatalf("status --json: %v\n%s", err, out)
			}
			if cond(st) {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never satisfied the test; last %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestJoinAndLeaveCommands(t *testing.T) {
	aCfg, aKey, aRaft, aAPI := initHost(t)
	bCfg, bKey, _, bAPI := initHost(t, "--join", "--peer", aKey+","+aRaft+","+aAPI)
	runHost(t, aCfg)
	runHost(t, bCfg)
	status(t, aCfg, func(s registryapi.Status) bool { return s.SignedEpoch > 0 })

	if out, err := hushd(context.Background(), "join", bAPI, bKey, "--config", aCfg); err != nil {
		t.Fatalf("join: %v\n%s", err, out)
	}
	st := status(t, bCfg, func(s registryapi.Status) bool { return len(s.Hosts) == 2 && s.Role == "follower" })
	if st.NetworkID != "clinet" {
		t.Fatalf("joined host status %+v", st)
	}
	if out, err := hushd(context.Background(), "leave", bKey, "--config", aCfg); err != nil {
		t.Fatalf("leave: %v\n%s", err, out)
	}
	status(t, aCfg, func(s registryapi.Status) bool { return len(s.Hosts) == 1 && s.Hosts[0].Key == aKey })
}

func TestRunFlagsOverrideConfig(t *testing.T) {
	cfg, _, _, _ := initHost(t)
	// --api-listen moves the API away from the file's address.
	api := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := hushd(ctx, "run", "--config", cfg, "--log-level", "error", "--api-listen", api)
		done <- err
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	deadline := time.Now().Add(time.Minute) // busy machines
	for {
		c, err := net.DialTimeout("tcp", api, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("host never served on the flag's address")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// status reads only the file, whose address nobody serves.
	if out, err := hushd(context.Background(), "status", "--config", cfg, "--timeout", "2s"); err == nil {
		t.Fatalf("status reached the file's API address:\n%s", out)
	}
	if _, err := hushd(context.Background(), "run", "--config", cfg, "--epoch-interval", "-1s"); err == nil || !strings.Contains(err.Error(), "epoch_interval") {
		t.Fatalf("a bad flag value passed validation: %v", err)
	}
}
