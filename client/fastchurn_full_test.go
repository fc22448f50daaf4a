//go:build fastfull

package client

// fastChurnMessages: the full count of issue 15 (see
// fastchurn_count_test.go).
const fastChurnMessages = 100
