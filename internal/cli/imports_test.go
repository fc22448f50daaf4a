package cli

import (
	"go/build"
	"slices"
	"testing"
)

// TestImportsOnlyTheClientLibrary keeps the CLI flags and printing: the
// home, the database, backups and the network are the client library's
// business (package client), so the CLI may not reach past it.
func TestImportsOnlyTheClientLibrary(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"keystore", "clientdb", "backup", "nodeclient", "onionclient", "paths", "store"}
	for _, name := range forbidden {
		path := "github.com/hushnet/hush/internal/" + name
		if slices.Contains(pkg.Imports, path) {
			t.Errorf("internal/cli imports %s; go through package client", path)
		}
	}
	// The check must see the imports at all.
	if !slices.Contains(pkg.Imports, "github.com/hushnet/hush/client") {
		t.Fatalf("imports %v do not include the client library", pkg.Imports)
	}
}
