package swarm

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The registry's replicas must agree bit for bit, so this package may not
// reach a clock, the network, the file system or global randomness. Its
// imports are held to an allow-list; math/rand/v2 is there only for the
// seeded ChaCha8 (newDraws), never its global functions.
func TestImportsArePure(t *testing.T) {
	allowed := map[string]bool{
		"cmp": true, "encoding/binary": true, "encoding/hex": true, "errors": true,
		"fmt": true, "maps": true, "math": true, "math/rand/v2": true, "slices": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[path] {
				t.Errorf("%s imports %q, which is not on the pure allow-list", name, path)
			}
		}
	}
}
