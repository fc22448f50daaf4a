//go:build !unix

package client

// lockFile is a no-op where flock does not exist; only one process per
// home is safe there.
func lockFile(string) (func(), error) { return func() {}, nil }
