package cli

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hushnet/hush/internal/devnet"
)

// Script commands for long-running hush commands whose output a script
// reads while they run (testscript's own "exec ... &" shows it only after
// "wait"): each writes straight into files, which a script polls.
//
//	bg NAME PROG ARGS...         start PROG (found on the script's PATH) with the
//	                             script's environment, output to NAME.stdout, NAME.stderr
//	waitmatch FILE REGEXP [VAR]  wait (up to 12 minutes) for a line of FILE matching
//	                             REGEXP; set VAR to its first group
//	execuntil REGEXP PROG ARGS...  exec PROG ARGS... again every second until its
//	                             stdout matches REGEXP (up to 5 minutes)
//	runline [-retry N] LINE      exec the command LINE spells (split at spaces),
//	                             as a user pastes a printed line; N tries in all
//	stopbg NAME                  SIGINT, and wait for it to exit
//	countmatch N REGEXP FILE...  the files hold N matches of REGEXP in all
var bgCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"bg": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: bg NAME PROG ARGS...")
		}
		prog, err := lookPath(ts, args[1])
		ts.Check(err)
		cmd := exec.Command(prog, args[2:]...)
		cmd.Dir = ts.MkAbs(".")
		cmd.Env = scriptEnv(ts)
		out, err := os.Create(ts.MkAbs(args[0] + ".stdout"))
		ts.Check(err)
		errf, err := os.Create(ts.MkAbs(args[0] + ".stderr"))
		ts.Check(err)
		cmd.Stdout, cmd.Stderr = out, errf
		ts.Check(cmd.Start())
		done, exited := make(chan error, 1), make(chan struct{})
		go func() { done <- cmd.Wait(); out.Close(); errf.Close(); close(exited) }()
		procs := bgProcsOf(ts)
		procs[args[0]] = bgProc{cmd, done, exited}
		name, dir := args[0], devnetDir(ts, args[2:])
		ts.Defer(func() {
			if _, ok := procs[name]; ok {
				cmd.Process.Kill()
				<-done
				delete(procs, name)
			}
			// A failed script shows what its background commands said, and
			// a devnet's log, so a CI failure explains itself.
			if t, ok := bgT(ts).(interface{ Failed() bool }); ok && t.Failed() {
				logTail(ts, ts.MkAbs(name+".stderr"))
				if dir != "" {
					logTail(ts, filepath.Join(dir, devnet.LogFile))
				}
			}
		})
	},
	"stopbg": func(ts *testscript.TestScript, neg bool, args []string) {
		procs := bgProcsOf(ts)
		p, ok := procs[args[0]]
		if !ok {
			ts.Fatalf("no background command %s", args[0])
		}
		delete(procs, args[0])
		p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-p.done:
			if err != nil && !neg {
				b, _ := os.ReadFile(ts.MkAbs(args[0] + ".stderr"))
				ts.Fatalf("%s: %v; its stderr:\n%s", args[0], err, b)
			}
		case <-time.After(5 * time.Minute): // a devnet stops a dozen servers, on a busy machine
			p.cmd.Process.Kill()
			<-p.done
			b, _ := os.ReadFile(ts.MkAbs(args[0] + ".stderr"))
			ts.Fatalf("%s did not stop on SIGINT in 5 minutes; its stderr:\n%s", args[0], b)
		}
	},
	"waitmatch": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: waitmatch FILE REGEXP [VAR]")
		}
		re := regexp.MustCompile(args[1])
		// Generous: a devnet forming on a busy 2-core machine under -race
		// has taken over three minutes (CI's own run beside another test
		// run missed five in all), and the scripts give it six to form
		// and its demo as long again.
		ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
		defer cancel()
		// A background command that exited writes no more: give up at
		// once (a devnet that failed to start waited out the whole bound).
		var exited chan struct{}
		if name, ok := strings.CutSuffix(args[0], ".stdout"); ok {
			exited = bgProcsOf(ts)[name].exited
		}
		for {
			gone := false
			select {
			case <-exited:
				gone = true
			default:
			}
			if m := matchLine(ts.MkAbs(args[0]), re); m != nil {
				if len(args) > 2 && len(m) > 1 {
					ts.Setenv(args[2], m[1])
				}
				return
			}
			select {
			case <-ctx.Done():
				b, _ := os.ReadFile(ts.MkAbs(args[0]))
				// A background command's stderr says where it is stuck.
				var stderr []byte
				if name, ok := strings.CutSuffix(args[0], ".stdout"); ok {
					stderr, _ = os.ReadFile(ts.MkAbs(name + ".stderr"))
				}
				ts.Fatalf("no line of %s matches %s; it holds:\n%s\n(its stderr:\n%s)", args[0], args[1], b, stderr)
			case <-time.After(100 * time.Millisecond):
			}
			if gone {
				b, _ := os.ReadFile(ts.MkAbs(args[0]))
				name, _ := strings.CutSuffix(args[0], ".stdout")
				stderr, _ := os.ReadFile(ts.MkAbs(name + ".stderr"))
				ts.Fatalf("%s exited and no line of %s matches %s; it holds:\n%s\n(its stderr:\n%s)", name, args[0], args[1], b, stderr)
			}
		}
	},
	"execuntil": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: execuntil REGEXP PROG ARGS...")
		}
		re := regexp.MustCompile("(?m)" + args[0])
		for deadline := time.Now().Add(5 * time.Minute); ; {
			err := ts.Exec(args[1], args[2:]...)
			if err == nil && re.MatchString(ts.ReadFile("stdout")) {
				return
			}
			if time.Now().After(deadline) {
				ts.Fatalf("%s: no match for %s after 5 minutes (last error %v); stdout:\n%s\nstderr:\n%s",
					strings.Join(args[1:], " "), args[0], err, ts.ReadFile("stdout"), ts.ReadFile("stderr"))
			}
			time.Sleep(time.Second)
		}
	},
	"runline": func(ts *testscript.TestScript, neg bool, args []string) {
		tries := 1
		if len(args) > 1 && args[0] == "-retry" {
			n, err := strconv.Atoi(args[1])
			ts.Check(err)
			tries, args = n, args[2:]
		}
		f := strings.Fields(strings.Join(args, " "))
		if len(f) == 0 {
			ts.Fatalf("runline: empty line")
		}
		var err error
		for i := range tries {
			if i > 0 {
				ts.Logf("runline: attempt %d failed (%v); again", i, err)
				time.Sleep(2 * time.Second)
			}
			if err = ts.Exec(f[0], f[1:]...); err == nil || neg {
				break
			}
		}
		if neg != (err != nil) {
			ts.Fatalf("runline %s: %v", f[0], err)
		}
	},
	"countmatch": func(ts *testscript.TestScript, neg bool, args []string) {
		want, err := strconv.Atoi(args[0])
		ts.Check(err)
		re := regexp.MustCompile("(?m)" + args[1])
		got := 0
		for _, f := range args[2:] {
			got += len(re.FindAllString(ts.ReadFile(f), -1))
		}
		if got != want {
			ts.Fatalf("%d matches of %s, want %d", got, args[1], want)
		}
	},
}

type bgProc struct {
	cmd    *exec.Cmd
	done   chan error
	exited chan struct{} // closed once it exited and its files are closed
}

// bgKey holds a script's running background commands by name (in
// testscript.Env.Values, set up by bgSetup): each script has its own, and
// only its goroutine touches it.
type bgKey struct{}

// bgTKey holds a script's testscript.T (in testscript.Env.Values): its
// Failed tells a deferred function whether the script failed.
type bgTKey struct{}

// bgSetup gives a script its table of background commands.
func bgSetup(env *testscript.Env) {
	env.Values[bgKey{}] = map[string]bgProc{}
	env.Values[bgTKey{}] = env.T()
}

func bgT(ts *testscript.TestScript) testscript.T {
	t, _ := ts.Value(bgTKey{}).(testscript.T)
	return t
}

// devnetDir returns the --dir of a hush devnet up command line, else "".
func devnetDir(ts *testscript.TestScript, args []string) string {
	if len(args) < 2 || args[0] != "devnet" || args[1] != "up" {
		return ""
	}
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--dir="); ok {
			return ts.MkAbs(v)
		}
		if a == "--dir" && i+1 < len(args) {
			return ts.MkAbs(args[i+1])
		}
	}
	return ""
}

// logTail logs the end of file (its last 64 KiB) into the script's log.
func logTail(ts *testscript.TestScript, file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		ts.Logf("%s: %v", file, err)
		return
	}
	const max = 64 << 10
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
		ts.Logf("%s (its last %d KiB):\n%s", file, max>>10, b)
		return
	}
	ts.Logf("%s:\n%s", file, b)
}

func bgProcsOf(ts *testscript.TestScript) map[string]bgProc {
	return ts.Value(bgKey{}).(map[string]bgProc)
}

// matchLine returns the submatches of the first line of file that re
// matches, or nil.
func matchLine(file string, re *regexp.Regexp) []string {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			return m
		}
	}
	return nil
}

// lookPath finds prog on the script's PATH (where testscript put hush).
func lookPath(ts *testscript.TestScript, prog string) (string, error) {
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		p := filepath.Join(dir, prog)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return exec.LookPath(prog)
}

// scriptEnv is the environment a script's commands get: this process's,
// with the variables scripts set overriding it.
func scriptEnv(ts *testscript.TestScript) []string {
	env := os.Environ()
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "WORK", "XDG_STATE_HOME", "XDG_DATA_HOME",
		envTestKDF, envHome, envPassphrase, "HUSH_NETWORK", envNode, envNodeKey} {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}
