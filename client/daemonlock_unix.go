//go:build unix

package client

import (
	"errors"
	"os"
	"syscall"
)

// tryLockFile tries an exclusive flock on path without waiting, creating
// the file (0600) if create is set. held reports that another open file
// holds the lock (another process, or another claim in this one);
// otherwise release frees it.
func tryLockFile(path string, create bool) (release func(), held bool, err error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
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
