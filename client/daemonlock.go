package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// One process owns a home while a daemon runs: the daemon holds an
// exclusive flock on daemonLockFile for its whole life, and writes who it
// is to daemonInfoFile. The flock is the truth (the kernel drops it when
// the daemon dies, however it dies); daemon.json only names the holder, so
// a stale one left by a crash is ignored.

// DaemonInfo names a running daemon: its process and where its API
// listens.
type DaemonInfo struct {
	PID    int    `json:"pid"`
	Listen string `json:"listen,omitempty"` // "127.0.0.1:PORT"
	Socket string `json:"socket,omitempty"`
}

// ErrDaemonRunning: a daemon owns the home, so another process may not
// open or write it. Returned as a [*DaemonRunningError].
var ErrDaemonRunning = errors.New("a hush daemon owns this home")

// DaemonRunningError names the daemon that owns a home. It wraps
// [ErrDaemonRunning].
type DaemonRunningError struct{ Info DaemonInfo }

func (e *DaemonRunningError) Error() string {
	if e.Info.PID == 0 {
		return "a hush daemon owns this home: use its API, or stop it first"
	}
	where := ""
	switch {
	case e.Info.Listen != "":
		where = ", http://" + e.Info.Listen
	case e.Info.Socket != "":
		where = ", socket " + e.Info.Socket
	}
	return fmt.Sprintf("a hush daemon (pid %d%s) owns this home: use its API, or stop it first", e.Info.PID, where)
}

func (e *DaemonRunningError) Unwrap() error { return ErrDaemonRunning }

// claimTries and claimRetry pace ClaimDaemon's attempts.
const (
	claimTries = 5
	claimRetry = 20 * time.Millisecond
)

// DaemonClaim is a daemon's hold on a home, from [Home.ClaimDaemon] to
// [DaemonClaim.Release].
type DaemonClaim struct {
	home    *Home
	release func()
}

// ClaimDaemon takes the home for a daemon: an exclusive lock on a file in
// the home (created 0700 if missing) and daemon.json with info (0600). It
// returns a [*DaemonRunningError] if another daemon holds it. The home
// need not hold an account yet.
func (h *Home) ClaimDaemon(info DaemonInfo) (*DaemonClaim, error) {
	if err := os.MkdirAll(h.dir, 0o700); err != nil {
		return nil, fmt.Errorf("daemon claim: %w", err)
	}
	var release func()
	held := true
	// A command probing the lock (RunningDaemon) holds it for an
	// instant: a claim tries a few times before it believes a daemon
	// runs.
	for try := 0; held && try < claimTries; try++ {
		if try > 0 {
			time.Sleep(claimRetry)
		}
		var err error
		if release, held, err = tryLockFile(filepath.Join(h.dir, daemonLockFile), true); err != nil {
			return nil, fmt.Errorf("daemon claim: %w", err)
		}
	}
	if held {
		other, _ := h.readDaemonInfo()
		return nil, &DaemonRunningError{Info: other}
	}
	b, _ := json.Marshal(info)
	if err := writeFileAtomic(filepath.Join(h.dir, daemonInfoFile), b); err != nil {
		release()
		return nil, fmt.Errorf("daemon claim: %w", err)
	}
	d := &DaemonClaim{release: release}
	d.home = &Home{dir: h.dir, claim: d}
	return d, nil
}

// Home returns a Home whose methods work while the claim is held; every
// other Home value of the directory refuses to open or write it with a
// [*DaemonRunningError].
func (d *DaemonClaim) Home() *Home { return d.home }

// Release removes daemon.json and frees the home. Releasing twice does
// nothing.
func (d *DaemonClaim) Release() error {
	if d.release == nil {
		return nil
	}
	err := os.Remove(filepath.Join(d.home.dir, daemonInfoFile))
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	d.release()
	d.release = nil
	return err
}

// RunningDaemon reports the daemon that holds the home, if any. A
// daemon.json left by a daemon that died is ignored.
func (h *Home) RunningDaemon() (DaemonInfo, bool, error) {
	if h.claim != nil && h.claim.release != nil {
		return DaemonInfo{}, false, nil // this value is the daemon's own
	}
	release, held, err := tryLockFile(filepath.Join(h.dir, daemonLockFile), false)
	if errors.Is(err, fs.ErrNotExist) {
		return DaemonInfo{}, false, nil
	}
	if err != nil {
		return DaemonInfo{}, false, fmt.Errorf("daemon lock: %w", err)
	}
	if !held {
		release()
		return DaemonInfo{}, false, nil
	}
	// A daemon that has just claimed the home may not have written its
	// daemon.json yet: it is running all the same.
	info, _ := h.readDaemonInfo()
	return info, true, nil
}

// checkDaemon returns a [*DaemonRunningError] when a daemon other than
// this Home value's holds the home.
func (h *Home) checkDaemon() error {
	info, running, err := h.RunningDaemon()
	if err != nil {
		return err
	}
	if running {
		return &DaemonRunningError{Info: info}
	}
	return nil
}

func (h *Home) readDaemonInfo() (DaemonInfo, error) {
	var info DaemonInfo
	b, err := os.ReadFile(filepath.Join(h.dir, daemonInfoFile))
	if err != nil {
		return info, err
	}
	err = json.Unmarshal(b, &info)
	return info, err
}
