//go:build !unix

package devnet

// lockFolder cannot lock where flock does not exist: whether a devnet runs
// from a folder is then told by its network answering alone.
func lockFolder(path string) (release func(), held bool, err error) {
	return func() {}, false, nil
}
