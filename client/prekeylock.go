package client

import (
	"path/filepath"
)

// The prekey lock (prekeyLockFile in home.go) serializes every
// load-modify-save of this device's private prekeys across processes.
// Without it, `hush receive --follow` and `hush send` on one home could each
// generate keys for a new epoch, one publishing its record while the other
// saved different keys over them: mail sealed to the published record would
// then never open. v2mu does the same within one process.

// withPrekeyLock runs fn holding the home's prekey lock.
func (c *Client) withPrekeyLock(fn func() error) error {
	if c.home == "" {
		return fn() // a home-less client (tests) has no other process to race
	}
	unlock, err := lockFile(filepath.Join(c.home, prekeyLockFile))
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}
