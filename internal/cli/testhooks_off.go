//go:build !lab

package cli

// buildHooks: a shipped `hush` ignores the test hooks (testhooks.go).
const buildHooks = false
