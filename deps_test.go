package hush

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The import rules of the module (STYLE.md rule 16, after tailscale's
// cmd/tailscaled/deps_test.go): the layers identity ← crypto ← protocol ←
// client/internal, packages that build or parse wire formats and keys do no
// I/O, and the CLI reaches the network and the disk only through the client
// library. A new import that breaks one fails here, not in review. Only
// non-test imports count: a test may build its fixtures from a higher layer.

const module = "github.com/hushnet/hush"

// pkg is what a rule sees of a package: its import path, its direct
// imports and all it depends on.
type pkg struct {
	Path    string
	Imports []string
	Deps    []string
}

// rule is one import rule. For every module package from selects (given
// its path inside the module), each direct import (each dependency, when
// deps is set) for which bad reports true is a violation, unless except
// excuses it for that package.
type rule struct {
	name   string
	from   func(p string) bool
	deps   bool
	bad    func(from, imp string) bool  // from inside the module, imp a full import path
	except map[string]map[string]string // package inside the module → import → why it is allowed
}

// layer orders the module's top-level trees: a package may import module
// packages of its own layer or a lower one.
func layer(p string) int {
	top, _, _ := strings.Cut(p, "/")
	switch top {
	case "identity":
		return 0
	case "crypto":
		return 1
	case "protocol", "swarm":
		return 2
	case "client", "internal":
		return 3
	}
	return 4 // cmd and the module root
}

// local returns p's path inside the module ("." for its root), and whether
// p is a module package at all.
func local(p string) (string, bool) {
	if p == module {
		return ".", true
	}
	return strings.CutPrefix(p, module+"/")
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// ioImports are packages whose presence means I/O, logging or process
// state. A package that parses bytes has no use for them.
var ioImports = map[string]bool{
	"net": true, "net/http": true, "os": true, "os/exec": true, "os/signal": true,
	"io/ioutil": true, "io/fs": true, "path/filepath": true, "syscall": true,
	"database/sql": true, "log": true, "log/slog": true,
}

// ioServices are I/O packages a pure package may not reach even through
// another package. fmt, crypto/rand and time bring os and syscall with them,
// so those two cannot be on this list.
var ioServices = map[string]bool{
	"net/http": true, "os/exec": true, "database/sql": true, "log": true, "log/slog": true,
}

// swarmAllowed is all the swarm package may import. The registry's replicas
// must agree bit for bit, so it may reach no clock, network, file system or
// global randomness; math/rand/v2 is here only for the seeded ChaCha8
// (newDraws), never its global functions.
var swarmAllowed = map[string]bool{
	"cmp": true, "encoding/binary": true, "encoding/hex": true, "errors": true,
	"fmt": true, "maps": true, "math": true, "math/rand/v2": true, "slices": true,
}

var rules = []rule{
	{
		name: "identity ← crypto ← protocol ← client/internal",
		from: func(string) bool { return true },
		bad: func(from, imp string) bool {
			l, ok := local(imp)
			return ok && layer(l) > layer(from)
		},
	},
	{
		name: "identity, crypto, protocol and swarm do no I/O",
		from: isPure,
		bad:  func(_, imp string) bool { return ioImports[imp] },
		except: map[string]map[string]string{
			// CheckAddress splits host:port with net.SplitHostPort, a pure
			// function; nothing else of net is used.
			"protocol/snapshot": {"net": "net.SplitHostPort"},
		},
	},
	{
		name: "identity, crypto, protocol and swarm reach no I/O service",
		from: isPure,
		deps: true,
		bad:  func(_, imp string) bool { return ioServices[imp] },
	},
	{
		name: "protocol/rpc depends on no network package",
		from: func(p string) bool { return p == "protocol/rpc" },
		deps: true,
		bad: func(_, imp string) bool {
			return imp == "net" || strings.HasPrefix(imp, "net/") && imp != "net/netip" && imp != "net/url"
		},
	},
	{
		name: "protocol/envelope draws no randomness",
		from: func(p string) bool { return p == "protocol/envelope" },
		bad:  func(_, imp string) bool { return imp == "crypto/rand" },
	},
	{
		name: "swarm imports only its allow-list",
		from: func(p string) bool { return p == "swarm" },
		bad:  func(_, imp string) bool { return !swarmAllowed[imp] },
	},
	{
		// The CLI is flags and printing: of the module's internal packages
		// it may use only internal/devnet and the network lab's
		// internal/lab and internal/labnet (for hush devnet up [--lab]),
		// internal/netlookup (which network file a flag names) and its
		// own UI helpers under internal/cli; keys, databases, backups and
		// the network are the client library's.
		name: "internal/cli uses the client library, not what is under it",
		from: func(p string) bool { return under(p, "internal/cli") },
		bad: func(_, imp string) bool {
			l, ok := local(imp)
			return ok && under(l, "internal") && !under(l, "internal/devnet") && !under(l, "internal/lab") && !under(l, "internal/labnet") && !under(l, "internal/netlookup") && !under(l, "internal/cli") && !under(l, "internal/daemon")
		},
	},
	{
		// The daemon is a program that acts for a user, like the CLI
		// (STYLE.md rule 14): the client library is its only door to
		// keys, databases and the network, and it imports no internal
		// package at all.
		name: "internal/daemon uses only the public client library",
		from: func(p string) bool { return under(p, "internal/daemon") },
		bad: func(_, imp string) bool {
			l, ok := local(imp)
			return ok && under(l, "internal") && !under(l, "internal/daemon")
		},
	},
}

// violations returns, for each rule broken by pkgs, one line per offending
// import, keyed by rule name.
func violations(pkgs []pkg, rules []rule) map[string][]string {
	out := map[string][]string{}
	for _, r := range rules {
		for _, p := range pkgs {
			from, ok := local(p.Path)
			if !ok || !r.from(from) {
				continue
			}
			imps := p.Imports
			if r.deps {
				imps = p.Deps
			}
			for _, imp := range imps {
				if imp == p.Path || !r.bad(from, imp) {
					continue
				}
				if _, ok := r.except[from][imp]; ok {
					continue
				}
				verb := "imports"
				if r.deps {
					verb = "depends on"
				}
				out[r.name] = append(out[r.name], fmt.Sprintf("%s %s %s", from, verb, imp))
			}
		}
	}
	return out
}

// loadPackages lists the module's packages with go list.
func loadPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath    string
			Imports, Deps []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, pkg{Path: p.ImportPath, Imports: p.Imports, Deps: p.Deps})
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// TestImportRules checks the module against every rule.
func TestImportRules(t *testing.T) {
	pkgs := loadPackages(t)
	found := violations(pkgs, rules)
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			for _, v := range found[r.name] {
				t.Error(v)
			}
		})
	}
}

// TestImportRulesCatch shows each rule failing on a package list that
// breaks it, and passing the imports the module relies on.
func TestImportRulesCatch(t *testing.T) {
	m := func(p string) string { return module + "/" + p }
	tests := []struct {
		name string
		pkg  pkg
		want string // the rule broken, or "" for none
	}{
		{"crypto imports protocol (sealv2 before crypto/prekey)", pkg{Path: m("crypto/sealv2"), Imports: []string{m("crypto/prekey"), m("protocol/devicerecord")}}, rules[0].name},
		{"identity imports crypto", pkg{Path: m("identity"), Imports: []string{m("crypto/sealv1")}}, rules[0].name},
		{"protocol imports internal", pkg{Path: m("protocol/rpc"), Imports: []string{m("internal/nodeclient")}}, rules[0].name},
		{"swarm subpackage imports client", pkg{Path: m("swarm/swarmtest"), Imports: []string{m("swarm"), m("client")}}, rules[0].name},
		{"internal imports cmd", pkg{Path: m("internal/node"), Imports: []string{m("cmd/hushd")}}, rules[0].name},
		{"layers as built", pkg{Path: m("client"), Imports: []string{m("crypto/sealv2"), m("identity"), m("internal/clientdb"), m("protocol/devicerecord"), m("swarm"), "golang.org/x/crypto/hkdf"}}, ""},
		{"protocol imports crypto", pkg{Path: m("protocol/devicerecord"), Imports: []string{m("crypto/prekey"), m("identity"), "crypto/hpke"}}, ""},
		{"crypto imports os", pkg{Path: m("crypto/prekey"), Imports: []string{"os"}}, rules[1].name},
		{"protocol imports net", pkg{Path: m("protocol/envelope"), Imports: []string{"net"}}, rules[1].name},
		{"identity imports database/sql", pkg{Path: m("identity"), Imports: []string{"database/sql"}}, rules[1].name},
		{"swarm subpackage imports os/exec", pkg{Path: m("swarm/swarmtest"), Imports: []string{"os/exec"}}, rules[1].name},
		{"snapshot's net.SplitHostPort", pkg{Path: m("protocol/snapshot"), Imports: []string{"net", "net/netip"}}, ""},
		{"protocol reaches log/slog", pkg{Path: m("protocol/onion"), Deps: []string{"fmt", "os", "log/slog"}}, rules[2].name},
		{"os through fmt", pkg{Path: m("protocol/onion"), Deps: []string{"fmt", "os", "syscall"}}, ""},
		{"rpc reaches net", pkg{Path: m("protocol/rpc"), Deps: []string{m("protocol/snapshot"), "net"}}, rules[3].name},
		{"envelope imports crypto/rand", pkg{Path: m("protocol/envelope"), Imports: []string{"crypto/rand"}}, rules[4].name},
		{"swarm imports time", pkg{Path: m("swarm"), Imports: []string{"slices", "time"}}, rules[5].name},
		{"cli imports keystore", pkg{Path: m("internal/cli"), Imports: []string{m("client"), m("internal/keystore")}}, rules[6].name},
		{"cli imports the client database", pkg{Path: m("internal/cli"), Imports: []string{m("internal/clientdb")}}, rules[6].name},
		{"cli imports the daemon", pkg{Path: m("internal/cli"), Imports: []string{m("client"), m("internal/daemon")}}, ""},
		{"daemon imports the client database", pkg{Path: m("internal/daemon"), Imports: []string{m("client"), m("internal/clientdb")}}, rules[7].name},
		{"daemon imports devnet", pkg{Path: m("internal/daemon"), Imports: []string{m("internal/devnet")}}, rules[7].name},
		{"daemon as intended", pkg{Path: m("internal/daemon"), Imports: []string{m("client"), m("identity"), m("crypto/prekey"), "net/http"}}, ""},
		{"cli as intended", pkg{Path: m("internal/cli"), Imports: []string{m("client"), m("identity"), m("protocol/netfile"), m("internal/devnet"), m("internal/cli/table"), "github.com/spf13/cobra"}}, ""},
		{"third-party packages are not layers", pkg{Path: m("crypto/sealv2"), Imports: []string{"golang.org/x/crypto/chacha20poly1305", "filippo.io/edwards25519"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := violations([]pkg{tt.pkg}, rules)
			names := slices.Sorted(maps.Keys(got))
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if !slices.Equal(names, want) {
				t.Fatalf("rules broken: %q, want %q (%v)", names, want, got)
			}
		})
	}
}

// clockCalls are the functions of package time that read or wait on the
// clock. protocol/onion may name durations (a layer's hold) but calls
// none of them: a layer means the same whenever it is peeled, and what
// depends on time (replay windows, deadlines) is the relay's.
var clockCalls = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "AfterFunc": true,
	"Tick": true, "NewTimer": true, "NewTicker": true,
}

// readsClock returns the clock calls in a Go source file, as "time.Now"
// and so on, under whatever name the file imports package time.
func readsClock(t *testing.T, name string, src []byte) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	local := ""
	for _, im := range f.Imports {
		if im.Path.Value == `"time"` {
			local = "time"
			if im.Name != nil {
				local = im.Name.Name
			}
		}
	}
	var found []string
	if local == "" {
		return nil
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == local && clockCalls[sel.Sel.Name] {
				found = append(found, fmt.Sprintf("%s: time.%s", fset.Position(sel.Pos()), sel.Sel.Name))
			}
		}
		return true
	})
	return found
}

func TestOnionReadsNoClock(t *testing.T) {
	files, err := filepath.Glob("protocol/onion/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sources of protocol/onion: %v", err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range readsClock(t, name, src) {
			t.Errorf("protocol/onion reads the clock: %s", c)
		}
	}
}

func TestReadsClockCatches(t *testing.T) {
	tests := []struct {
		name, src string
		want      int
	}{
		{"durations only", "package p\nimport \"time\"\nconst Max = 30 * time.Second\nvar d time.Duration", 0},
		{"now", "package p\nimport \"time\"\nvar t = time.Now()", 1},
		{"renamed import", "package p\nimport clock \"time\"\nfunc f() { clock.Sleep(1); _ = clock.Since }", 2},
		{"no time", "package p\nfunc Now() {}\nfunc f() { Now() }", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := readsClock(t, "x.go", []byte(tt.src)); len(got) != tt.want {
				t.Fatalf("found %q, want %d", got, tt.want)
			}
		})
	}
}
