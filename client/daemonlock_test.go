//go:build unix

package client

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDaemonClaim: a claimed home refuses a second claim and every other
// Home value's opening and writing methods with a DaemonRunningError
// naming the daemon, while the claim's own Home works; Release frees it;
// daemon.json is private and hush's own (Wipe removes it, no backup
// carries it).
func TestDaemonClaim(t *testing.T) {
	dir := newHome(t)
	h, err := NewHome(dir)
	if err != nil {
		t.Fatal(err)
	}
	info := DaemonInfo{PID: os.Getpid(), Listen: "127.0.0.1:7777"}
	claim, err := h.ClaimDaemon(info)
	if err != nil {
		t.Fatal(err)
	}
	defer claim.Release()
	if st, err := os.Stat(filepath.Join(dir, daemonInfoFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("daemon.json: %v, %v; want mode 0600", st, err)
	}

	other, _ := NewHome(dir)
	if got, running, err := other.RunningDaemon(); err != nil || !running || got != info {
		t.Fatalf("RunningDaemon = %+v, %v, %v; want %+v", got, running, err, info)
	}
	wantRefused := func(what string, err error) {
		t.Helper()
		var de *DaemonRunningError
		if !errors.As(err, &de) || !errors.Is(err, ErrDaemonRunning) || de.Info != info {
			t.Fatalf("%s while a daemon owns the home: %v, want a DaemonRunningError", what, err)
		}
	}
	_, err = other.ClaimDaemon(DaemonInfo{PID: 1})
	wantRefused("a second claim", err)
	want := "a hush daemon (pid " + strconv.Itoa(os.Getpid()) + ", http://127.0.0.1:7777) owns this home: use its API, or stop it first"
	if err.Error() != want {
		t.Fatalf("the refusal reads %q, want %q", err, want)
	}
	ctx := context.Background()
	pass := []byte(testPass)
	_, err = other.Open(ctx, pass, Options{})
	wantRefused("Home.Open", err)
	_, err = Open(ctx, Options{Home: dir, Passphrase: pass})
	wantRefused("Open", err)
	_, _, err = other.Create(pass, ReplaceHome(), InsecureTestKDF())
	wantRefused("Create", err)
	_, err = other.Restore(strings.Repeat("abandon ", 12)+"about", pass, ReplaceHome(), InsecureTestKDF())
	wantRefused("Restore", err)
	wantRefused("ChangePassphrase", other.ChangePassphrase(pass, []byte("new"), InsecureTestKDF()))
	_, err = other.Wipe()
	wantRefused("Wipe", err)
	_, err = other.Export(ctx, &strings.Builder{}, pass, []byte("backup"), InsecureTestKDF())
	wantRefused("Export", err)
	_, err = other.Import(strings.NewReader(""), []byte("backup"), pass, ReplaceHome())
	wantRefused("Import", err)
	// Reading public facts needs no ownership.
	if _, err := other.AccountID(); err != nil {
		t.Fatalf("AccountID while a daemon runs: %v", err)
	}

	// The claim's own Home works, and sees no other daemon.
	own := claim.Home()
	if _, running, err := own.RunningDaemon(); err != nil || running {
		t.Fatalf("the claim's Home sees a daemon: %v, %v", running, err)
	}
	c, err := own.Open(ctx, pass, Options{})
	if err != nil {
		t.Fatalf("the claim's Home could not open: %v", err)
	}
	var backup strings.Builder
	if _, err := own.Export(ctx, &backup, pass, []byte("backup"), InsecureTestKDF()); err != nil {
		t.Fatalf("the claim's Home could not export: %v", err)
	}
	c.Close()
	id, _ := own.AccountID()
	// The daemon wiping the account and importing a backup keeps the
	// home: the lock stays held and daemon.json where it was.
	if left, err := own.Wipe(); err != nil || len(left) != 0 {
		t.Fatalf("the claim's Wipe: left %v, %v", left, err)
	}
	if _, running, err := other.RunningDaemon(); err != nil || !running {
		t.Fatalf("RunningDaemon after the daemon's Wipe: %v, %v", running, err)
	}
	if empty, err := own.Empty(); err != nil || !empty {
		t.Fatalf("Empty after the daemon's Wipe: %v, %v", empty, err)
	}
	if _, err := own.Import(strings.NewReader(backup.String()), []byte("backup"), pass, InsecureTestKDF()); err != nil {
		t.Fatalf("the claim's Import: %v", err)
	}
	if got, running, err := other.RunningDaemon(); err != nil || !running || got != info {
		t.Fatalf("RunningDaemon after the daemon's Import: %+v, %v, %v", got, running, err)
	}
	if _, err := other.ClaimDaemon(DaemonInfo{PID: 1}); !errors.Is(err, ErrDaemonRunning) {
		t.Fatalf("a claim after the daemon's Import: %v", err)
	}
	if got, err := other.AccountID(); err != nil || !got.Equal(id) {
		t.Fatalf("the imported account: %v, %v; want %v", got, err, id)
	}

	if err := claim.Release(); err != nil {
		t.Fatal(err)
	}
	if _, running, err := other.RunningDaemon(); err != nil || running {
		t.Fatalf("RunningDaemon after Release: %v, %v", running, err)
	}
	if _, err := os.Stat(filepath.Join(dir, daemonInfoFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("daemon.json after Release: %v", err)
	}
	c, err = other.Open(ctx, pass, Options{})
	if err != nil {
		t.Fatalf("Open after Release: %v", err)
	}
	c.Close()

	// The daemon's files are hush's: Wipe removes them (nothing foreign
	// left, so the home goes too).
	if err := os.WriteFile(filepath.Join(dir, DaemonKeyFile), []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, daemonInfoFile), []byte(`{"pid":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if left, err := other.Wipe(); err != nil || len(left) != 0 {
		t.Fatalf("Wipe: left %v, %v", left, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("home after Wipe: %v", err)
	}
}

// TestDaemonClaimCrash: a daemon killed with SIGKILL leaves its
// daemon.json behind but not its lock: the home is free at once.
func TestDaemonClaimCrash(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDaemonClaimChild$", "-test.v")
	cmd.Env = append(os.Environ(), claimChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	claimed := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == claimChildReady {
				claimed <- true
			}
		}
		close(claimed)
	}()
	select {
	case ok := <-claimed:
		if !ok {
			t.Fatal("the child ended without claiming the home")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the child did not claim the home")
	}
	h, _ := NewHome(dir)
	info, running, err := h.RunningDaemon()
	if err != nil || !running || info.PID != cmd.Process.Pid {
		t.Fatalf("RunningDaemon with the child holding the home: %+v, %v, %v", info, running, err)
	}
	if _, err := h.ClaimDaemon(DaemonInfo{PID: os.Getpid()}); !errors.Is(err, ErrDaemonRunning) {
		t.Fatalf("a claim while the child holds the home: %v", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, daemonInfoFile)); err != nil {
		t.Fatalf("the killed child's daemon.json: %v (the test wants it left behind)", err)
	}
	if _, running, err := h.RunningDaemon(); err != nil || running {
		t.Fatalf("RunningDaemon after the child was killed: %v, %v", running, err)
	}
	claim, err := h.ClaimDaemon(DaemonInfo{PID: os.Getpid()})
	if err != nil {
		t.Fatalf("claim after the child was killed: %v", err)
	}
	claim.Release()
}

const (
	claimChildEnv   = "HUSH_TEST_DAEMON_CLAIM_HOME"
	claimChildReady = "CLAIMED"
)

// TestDaemonClaimChild is TestDaemonClaimCrash's child: it claims the home
// and waits to be killed.
func TestDaemonClaimChild(t *testing.T) {
	dir := os.Getenv(claimChildEnv)
	if dir == "" {
		t.Skip("the child process of TestDaemonClaimCrash")
	}
	h, _ := NewHome(dir)
	if _, err := h.ClaimDaemon(DaemonInfo{PID: os.Getpid(), Listen: "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString(claimChildReady + "\n")
	time.Sleep(5 * time.Minute)
}
