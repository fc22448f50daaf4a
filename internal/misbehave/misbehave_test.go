package misbehave

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNotInBinaries: no shipped binary can make its node misbehave,
// because none links this package.
func TestNotInBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/hushnet/hush/cmd/hush", "github.com/hushnet/hush/cmd/hushd").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "github.com/hushnet/hush/internal/misbehave" {
			t.Fatal("a binary links internal/misbehave")
		}
	}
}
