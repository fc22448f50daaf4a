//go:build !unix

package client

import "os"

// tryLockFile cannot lock where flock does not exist: the lock file's
// presence is all there is, so a daemon that crashed leaves the home
// claimed until its daemon.json and lock file are removed by hand.
func tryLockFile(path string, claim bool) (release func(), held bool, err error) {
	if claim {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
		if os.IsExist(err) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		f.Close()
		return func() { os.Remove(path) }, false, nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil, false, err
	}
	return nil, true, nil
}
