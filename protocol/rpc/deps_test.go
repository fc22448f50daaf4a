package rpc

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoIO keeps this package a pure wire format: none of the packages
// that do I/O may be among its dependencies.
func TestNoIO(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	forbidden := map[string]bool{"net": true, "net/http": true, "os/exec": true, "database/sql": true, "log/slog": true, "log": true}
	for _, dep := range strings.Fields(string(out)) {
		if forbidden[dep] {
			t.Errorf("protocol/rpc depends on %s", dep)
		}
	}
}
