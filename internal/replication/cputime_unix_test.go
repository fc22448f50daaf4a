//go:build unix

package replication_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time this process has used, user and system
// together: every node of a test cluster, and its clients, run in it.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
