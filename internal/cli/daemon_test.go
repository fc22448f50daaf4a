package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/daemon"
)

// hushRun runs the hush command in this process and returns its exit
// status, stdout and stderr.
func hushRun(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb, true)
	return code, out.String(), errb.String()
}

// TestDaemonCommand: --print-key makes the key once and prints the same
// one again; only loopback addresses are served; and while a daemon owns
// the home, a command on it refuses with one line naming the daemon.
func TestDaemonCommand(t *testing.T) {
	t.Setenv(envPassphrase, "correct horse")
	t.Setenv(envTestKDF, "1")
	home := t.TempDir()
	code, k1, errOut := hushRun("--home", home, "daemon", "--print-key")
	if code != 0 || !regexp.MustCompile(`^[0-9a-f]{64}\n$`).MatchString(k1) {
		t.Fatalf("print-key: %d %q %q", code, k1, errOut)
	}
	if fi, err := os.Stat(filepath.Join(home, daemon.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v", err)
	}
	if _, k2, _ := hushRun("--home", home, "daemon", "--print-key"); k2 != k1 {
		t.Fatalf("second print-key %q, first %q", k2, k1)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"not loopback", []string{"--listen", "0.0.0.0:0"}, "loopback"},
		{"both", []string{"--listen", "127.0.0.1:0", "--socket", filepath.Join(home, "s")}, "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := hushRun(append([]string{"--home", home, "daemon", "--node", "https://127.0.0.1:1", "--node-key", strings.Repeat("00", 32)}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("%d %q", code, errOut)
			}
		})
	}

	// A daemon (in this process) owns the home; `hush chats` refuses.
	if code, _, errOut := hushRun("--home", home, "init"); code != 0 {
		t.Fatalf("init: %s", errOut)
	}
	d, err := daemon.New(daemon.Config{Home: home, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for deadline := time.Now().Add(time.Minute); ; {
		req, _ := http.NewRequest("GET", d.URL()+"/api/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+d.Key())
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon does not answer")
		}
		time.Sleep(10 * time.Millisecond)
	}
	code, _, errOut = hushRun("--home", home, "chats")
	if code == 0 || !strings.Contains(errOut, "hush daemon (pid") || !strings.Contains(errOut, d.Addr().String()) || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("chats beside the daemon: %d %q", code, errOut)
	}
}
