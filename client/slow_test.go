//go:build slow

package client

// With -tags slow the tests scaled down for the default suite run at the
// size they first had.
func init() {
	exchangeMessages = 100
	concurrentMessages = 40
}
