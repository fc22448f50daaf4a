//go:build unix

package client

import (
	"errors"
	"os"
	"syscall"
)

// tryLockFile tries a flock on path without waiting: an exclusive one to
// claim (creating the file, 0600, if missing), a shared one to probe
// (the file must exist), so that probes never get in each other's way.
// held reports that another open file holds a conflicting lock (another
// process, or another claim in this one); otherwise release frees it.
func tryLockFile(path string, claim bool) (release func(), held bool, err error) {
	flag, how := os.O_RDONLY, syscall.LOCK_SH
	if claim {
		flag, how = os.O_CREATE|os.O_RDWR, syscall.LOCK_EX
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, true, nil
		}
		return nil, false, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, false, nil
}
