//go:build misbehavefull

package client

// misbehaveMessages: the full count of issue 13 (see misbehave_count_test.go).
const misbehaveMessages = 200
