//go:build unix

package sqlite

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time this process has used, user and system
// together. On a machine busy with other work a benchmark's wall time is
// mostly waiting for a core; its CPU time still says what a change saved.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
