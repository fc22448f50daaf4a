package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hushnet/hush/client"
)

// TestDaemonOwnsHome: while a daemon holds the home, every command that
// opens or writes it fails with one line naming the daemon, and asks for
// nothing; commands that read only public files still work; once the
// daemon lets go, the commands work again.
func TestDaemonOwnsHome(t *testing.T) {
	t.Setenv(envTestKDF, "1")
	t.Setenv(envPassphrase, "pw")
	t.Setenv(envNewPassphrase, "pw2")
	t.Setenv(envBackupPassphrase, "backup pw")
	home := filepath.Join(t.TempDir(), "home")
	hush := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"--home", home}, args...), strings.NewReader(""), &out, &errb, true)
		return code, out.String(), errb.String()
	}
	if code, _, stderr := hush("init"); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	backup := filepath.Join(t.TempDir(), "backup.hush")
	if code, _, stderr := hush("export", backup); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	h, err := client.NewHome(home)
	if err != nil {
		t.Fatal(err)
	}
	id, err := h.AccountID()
	if err != nil {
		t.Fatal(err)
	}
	claim, err := h.ClaimDaemon(client.DaemonInfo{PID: 4242, Listen: "127.0.0.1:7777"})
	if err != nil {
		t.Fatal(err)
	}
	defer claim.Release()

	const refusal = "hush: a hush daemon (pid 4242, http://127.0.0.1:7777) owns this home: use its API, or stop it first\n"
	for _, args := range [][]string{
		{"init", "--force"},
		{"init", "--restore", "--force"},
		{"send", id.String(), "hello"},
		{"receive"},
		{"receive", "--follow"},
		{"chats"},
		{"contacts"},
		{"contacts", "add", id.String(), "--name", "me"},
		{"requests"},
		{"settings"},
		{"settings", "calls", "on"},
		{"call", id.String()},
		{"call", "answer"},
		{"call", "end"},
		{"notifications", "status"},
		{"devices"},
		{"storage"},
		{"media", "list"},
		{"profile", "set-name", "Someone"},
		{"passphrase", "change"},
		{"export", filepath.Join(t.TempDir(), "again.hush")},
		{"import", "--force", backup},
		{"account", "delete", "--yes", "--local-only"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := hush(args...)
			if code == 0 || stderr != refusal || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, stderr, refusal)
			}
		})
	}
	// Public facts need no ownership.
	if code, stdout, stderr := hush("id"); code != 0 || strings.TrimSpace(stdout) != id.String() {
		t.Fatalf("id while a daemon runs: exit %d, %q, %q", code, stdout, stderr)
	}
	if code, _, stderr := hush("path"); code != 0 {
		t.Fatalf("path while a daemon runs: %s", stderr)
	}

	if err := claim.Release(); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := hush("chats"); code != 0 {
		t.Fatalf("chats after the daemon let go: %s", stderr)
	}
}
