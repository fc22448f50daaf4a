package devnet

import "syscall"

// childAttr: Windows has neither process groups in this sense nor
// Pdeathsig; children of a killed parent keep running.
func childAttr() *syscall.SysProcAttr { return nil }
