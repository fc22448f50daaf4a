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
