//go:build lab

package cli

// buildHooks: the network lab's `hush` reads the test hooks
// (testhooks.go), since the lab runs the built binary.
const buildHooks = true
