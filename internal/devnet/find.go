package devnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// EnvNetwork names the network file when no flag does.
const EnvNetwork = "HUSH_NETWORK"

// DefaultDir is the default devnet's folder: "devnet" in hush's state
// directory ($XDG_STATE_HOME/hush, else ~/.local/state/hush).
func DefaultDir() (string, error) {
	if x := os.Getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "hush", "devnet"), nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory to put the devnet in; pass --dir")
	}
	return filepath.Join(h, ".local", "state", "hush", "devnet"), nil
}

// ErrNoNetwork is returned by [ResolveNetwork] when nothing names a
// network file and there is no default devnet.
var ErrNoNetwork = errors.New("no network file: pass --network FILE, set " + EnvNetwork + ", or start a devnet with `hush devnet up`")

// ResolveNetwork returns the network file to use: flag if set, else
// $HUSH_NETWORK, else the default devnet's network.json if it exists.
func ResolveNetwork(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if env := os.Getenv(EnvNetwork); env != "" {
		return env, nil
	}
	dir, err := DefaultDir()
	if err != nil {
		return "", ErrNoNetwork
	}
	p := filepath.Join(dir, NetworkFile)
	if _, err := os.Stat(p); err != nil {
		return "", ErrNoNetwork
	}
	return p, nil
}

// FindHushd finds the hushd binary for processes mode: next to the
// running executable (as a release installs hush and hushd), else on
// PATH, else it builds one with `go build` into dir/bin (which works
// from a source checkout, as with `go run ./cmd/hush`).
func FindHushd(ctx context.Context, dir string, progress io.Writer) (string, error) {
	name := "hushd"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			fmt.Fprintf(progress, "using %s\n", p)
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		fmt.Fprintf(progress, "using %s (from PATH)\n", p)
		return p, nil
	}
	out := filepath.Join(dir, "bin", name)
	if _, err := os.Stat(out); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(progress, "building hushd into %s\n", out)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/hushnet/hush/cmd/hushd")
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("devnet: no hushd next to this program or on PATH, and go build failed: %v\n%s", err, b)
		}
	}
	return out, nil
}
