package hush

import (
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// goDirs returns every directory of the module holding non-test Go files,
// keyed by slash path, skipping testdata and hidden directories.
func goDirs(t *testing.T) map[string][]string {
	t.Helper()
	dirs := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") {
			dirs[filepath.ToSlash(filepath.Dir(path))] = append(dirs[filepath.ToSlash(filepath.Dir(path))], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestPackageDocs fails when a package has no doc comment (tailscale's
// pkgdoc_test.go does the same): the doc is where a package says what it is
// for, and the next engineer starts there.
func TestPackageDocs(t *testing.T) {
	for dir, files := range goDirs(t) {
		hasDoc, hasCode := false, false
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			hasCode = true
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
				hasDoc = true
			}
		}
		if hasCode && !hasDoc {
			t.Errorf("package %s has no package doc comment", dir)
		}
	}
}

// TestGofmt fails when a file is not gofmt-clean (wireguard-go's
// format_test.go).
func TestGofmt(t *testing.T) {
	for _, files := range goDirs(t) {
		for _, path := range files {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out, err := format.Source(src)
			if err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			if string(out) != string(src) {
				t.Errorf("%s is not gofmt-clean (run gofmt -w %s)", path, path)
			}
		}
	}
}

// pure lists the packages that build or parse wire formats and keys. They do
// no I/O and read no clock, so that they are deterministic, testable with
// vectors, and safe to fuzz (katzenpost core/sphinx is the model). Subtrees
// count too. What they may import is checked in deps_test.go.
var pure = []string{"identity", "crypto", "protocol", "swarm"}

// TestPurePackages enforces the rule above where imports cannot: no calls of
// time.Now, time.Since or time.Until in non-test files.
func TestPurePackages(t *testing.T) {
	for dir, files := range goDirs(t) {
		if !isPure(dir) {
			continue
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			timeName := ""
			for _, imp := range f.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); p == "time" {
					timeName = "time"
					if imp.Name != nil {
						timeName = imp.Name.Name
					}
				}
			}
			if timeName == "" {
				continue
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == timeName && (sel.Sel.Name == "Now" || sel.Sel.Name == "Since" || sel.Sel.Name == "Until") {
					t.Errorf("%s: reads the clock (time.%s); take the time as an argument", fset.Position(sel.Pos()), sel.Sel.Name)
				}
				return true
			})
		}
	}
}

func isPure(dir string) bool {
	for _, p := range pure {
		if dir == p || strings.HasPrefix(dir, p+"/") {
			return true
		}
	}
	return false
}
