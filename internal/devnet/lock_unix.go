//go:build unix

package devnet

import (
	"errors"
	"os"
	"syscall"
)

// lockFolder takes an exclusive flock on path (creating it) without
// waiting. held reports that another open file holds it: a devnet runs
// from the folder, in this process or another. Otherwise release frees
// it; the kernel frees it too when the process ends, however it ends.
// (client's daemonlock_unix.go has the same flock for homes.)
func lockFolder(path string) (release func(), held bool, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
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
