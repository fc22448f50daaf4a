package devnet

import "syscall"

// childAttr puts a child in its own process group, so a terminal's
// Ctrl-C reaches only the parent (which stops the children in order),
// and has the kernel kill it if the parent dies first.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
