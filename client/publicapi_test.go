package client_test

import (
	"go/build"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestExamplesImportNothingInternal keeps this package's external tests
// (Example above all) honest: they use what a program outside the module
// can, so nothing under internal/.
func TestExamplesImportNothingInternal(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range pkg.XTestImports {
		if strings.Contains(path, "/internal/") {
			t.Errorf("package client_test imports %s", path)
		}
	}
}

// TestAPIUsesOnlyPublicTypes fails when an exported function, method,
// field or variable of package client mentions a type from an internal
// package, which a program outside the module could not name.
func TestAPIUsesOnlyPublicTypes(t *testing.T) {
	// The compiler's export data of the package and its dependencies
	// (from the build cache) is what go/types reads.
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}", "github.com/hushnet/hush/client").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	exports := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, file, ok := strings.Cut(line, "\t"); ok && file != "" {
			exports[path] = file
		}
	}
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(exports[path])
	})
	pkg, err := imp.Import("github.com/hushnet/hush/client")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[types.Type]bool{}
	var check func(where string, typ types.Type)
	check = func(where string, typ types.Type) {
		if tt, ok := typ.(*types.Named); ok {
			// Checked before seen, so every use is named, not the first.
			if p := tt.Obj().Pkg(); p != nil && strings.Contains(p.Path()+"/", "/internal/") {
				t.Errorf("%s uses %s", where, tt)
				return
			}
		}
		if seen[typ] {
			return
		}
		seen[typ] = true
		switch tt := typ.(type) {
		case *types.Named:
			if p := tt.Obj().Pkg(); p == nil || p.Path() != pkg.Path() {
				return // another public package's type: its own business
			}
			if st, ok := tt.Underlying().(*types.Struct); ok {
				for f := range st.Fields() {
					if f.Exported() {
						check(where+"."+f.Name(), f.Type())
					}
				}
			}
			if it, ok := tt.Underlying().(*types.Interface); ok {
				for m := range it.Methods() {
					check(where+"."+m.Name(), m.Type())
				}
			}
			for m := range tt.Methods() {
				if m.Exported() {
					check(tt.Obj().Name()+"."+m.Name(), m.Type())
				}
			}
		case *types.Pointer:
			check(where, tt.Elem())
		case *types.Slice:
			check(where, tt.Elem())
		case *types.Array:
			check(where, tt.Elem())
		case *types.Map:
			check(where, tt.Key())
			check(where, tt.Elem())
		case *types.Chan:
			check(where, tt.Elem())
		case *types.Signature:
			for v := range tt.Params().Variables() {
				check(where, v.Type())
			}
			for v := range tt.Results().Variables() {
				check(where, v.Type())
			}
		case *types.Struct:
			for f := range tt.Fields() {
				check(where, f.Type())
			}
		}
	}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		if obj := scope.Lookup(name); obj.Exported() {
			check(name, obj.Type())
		}
	}
}
