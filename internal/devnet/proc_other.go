//go:build unix && !linux

package devnet

import "syscall"

// childAttr puts a child in its own process group, so a terminal's
// Ctrl-C reaches only the parent. Outside Linux there is no Pdeathsig: a
// parent killed with SIGKILL leaves its children running.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
