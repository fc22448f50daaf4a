// Package netlookup finds the network file a hush program uses, the same
// way in both binaries: the --network flag if given, else $HUSH_NETWORK,
// else the default devnet's network file if a devnet runs there
// ([Resolve]). `hush` (internal/cli) and `hushd node` use it; the devnet
// (internal/devnet) writes its network file where [Resolve] looks.
package netlookup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Env names the network file when no flag does.
const Env = "HUSH_NETWORK"

// DevnetFile is the network file inside a devnet's folder. The devnet
// writes it only once its network has formed, so whoever finds it finds
// a network.
const DevnetFile = "network.json"

// DevnetDir is the default devnet's folder: "devnet" in hush's state
// directory ($XDG_STATE_HOME/hush, else ~/.local/state/hush).
func DevnetDir() (string, error) {
	if x := os.Getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "hush", "devnet"), nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory to put the devnet in; pass --dir")
	}
	return filepath.Join(h, ".local", "state", "hush", "devnet"), nil
}

// ErrNoNetwork is returned by [Resolve] when nothing names a network file
// and there is no default devnet.
var ErrNoNetwork = errors.New("no network file: pass --network FILE, set " + Env + ", or start a devnet with `hush devnet up`")

// Resolve returns the network file to use: flag if set, else $HUSH_NETWORK,
// else the default devnet's network file if it exists.
func Resolve(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if env := os.Getenv(Env); env != "" {
		return env, nil
	}
	dir, err := DevnetDir()
	if err != nil {
		return "", ErrNoNetwork
	}
	p := filepath.Join(dir, DevnetFile)
	if _, err := os.Stat(p); err != nil {
		return "", ErrNoNetwork
	}
	return p, nil
}
