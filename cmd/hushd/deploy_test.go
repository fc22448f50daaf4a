package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// deployDir holds the shipped systemd units and example configs.
var deployDir = filepath.Join("..", "..", "deploy")

// TestExampleConfigs: every example config in deploy/config passes its
// binary's own --check-config, so the examples cannot rot.
func TestExampleConfigs(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"node", []string{"node", "--config", "node.toml", "--check-config"}},
		{"files", []string{"files", "--config", "files.toml", "--check-config"}},
		{"push", []string{"push", "--config", "push.toml", "--check-config"}},
		{"turn", []string{"turn", "--config", "turn.toml", "--check-config"}},
		{"registry", []string{"registry", "--config", "registry.toml", "run", "--check-config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, a := range tt.args {
				if strings.HasSuffix(a, ".toml") {
					tt.args[i] = filepath.Join(deployDir, "config", a)
				}
			}
			var out, errb bytes.Buffer
			cmd := rootCmd(&out, &errb)
			cmd.SetArgs(tt.args)
			if err := cmd.Execute(); err != nil || out.String() != "config ok\n" {
				t.Fatalf("hushd %s: %v\n%s%s", strings.Join(tt.args, " "), err, out.String(), errb.String())
			}
		})
	}
	// A bad key is caught, so the check is real.
	bad := filepath.Join(t.TempDir(), "node.toml")
	os.WriteFile(bad, []byte("data = \"/var/lib/hushd-node\"\nlisten = \"0.0.0.0:22021\"\nadvertize = \"x:1\"\n"), 0o600)
	var out bytes.Buffer
	cmd := rootCmd(&out, &out)
	cmd.SetArgs([]string{"node", "--config", bad, "--check-config"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "advertize") {
		t.Fatalf("a misspelt key passed: %v", err)
	}
}

// TestSystemdUnits runs systemd-analyze verify on the shipped units,
// with ExecStart pointed at a stand-in executable (verify insists that
// the binary exists), and fails on any warning it prints. Every unit
// keeps the sandbox the operator docs promise.
func TestSystemdUnits(t *testing.T) {
	units, err := filepath.Glob(filepath.Join(deployDir, "systemd", "*.service"))
	if err != nil || len(units) != 5 {
		t.Fatalf("units %v %v", units, err)
	}
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "StateDirectory=hushd-", "RestrictAddressFamilies=", "ExecStart=/usr/local/bin/hushd "} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("%s lacks %s", u, want)
			}
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	stand := filepath.Join(dir, "hushd")
	if err := os.WriteFile(stand, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, u := range units {
		b, _ := os.ReadFile(u)
		p := filepath.Join(dir, filepath.Base(u))
		os.WriteFile(p, bytes.ReplaceAll(b, []byte("/usr/local/bin/hushd"), []byte(stand)), 0o644)
		args = append(args, p)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, args...)...).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
