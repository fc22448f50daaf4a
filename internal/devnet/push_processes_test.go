//go:build unix

package devnet

import (
	"context"
	"testing"
	"time"
)

// TestDevnetPushProcesses: the same with hushd processes (hushd push
// --config).
func TestDevnetPushProcesses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o, rcv := withReceiver(t, Options{Nodes: 3, Processes: true, HushdPath: buildHushd(t)})
	d := up(t, ctx, o)
	pushThrough(t, ctx, d, rcv)
}
