package cli

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the scripts in testdata/script run the real `hush` command:
// testscript re-executes this test binary as `hush` in a fresh process for
// every invocation, so each command starts cold, as a user's would.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hush": func() { os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			// Cheap Argon2 for speed; the real parameters are covered by the
			// keystore benchmark.
			env.Setenv(envTestKDF, "1")
			env.Setenv("XDG_DATA_HOME", env.WorkDir+"/xdg")
			return nil
		},
	})
}
