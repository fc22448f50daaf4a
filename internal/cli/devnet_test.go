package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/protocol/netfile"
)

// TestDevnetScripts runs `hush devnet up` as a real subprocess (the test
// binary re-executed as hush) next to `hush devnet status` and `hush tool
// rpc --network` against it.
func TestDevnetScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/devnet",
		Setup: func(env *testscript.Env) error {
			env.Setenv(envTestKDF, "1")
			env.Setenv("XDG_DATA_HOME", env.WorkDir+"/xdg")
			env.Setenv("XDG_STATE_HOME", env.WorkDir+"/state")
			bgSetup(env)
			return nil
		},
		Cmds: withCmds(withCmds(bgCmds, callCmds), map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// jsonvar FILE TEXT PATH VAR: as in the social scripts
			// (social_test.go).
			"jsonvar": func(ts *testscript.TestScript, neg bool, args []string) {
				v, err := jsonPick([]byte(ts.ReadFile(args[0])), args[1], args[2])
				ts.Check(err)
				ts.Setenv(args[3], regexp.QuoteMeta(v))
			},
			// devnetready NETFILE N: wait until the network file exists (Up
			// writes it once the network has formed) and
			// a seed serves a snapshot with N nodes, all up and in swarms.
			"devnetready": func(ts *testscript.TestScript, neg bool, args []string) {
				ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
				defer cancel()
				want := atoi(ts, args[1])
				for {
					st, err := readyStatus(ctx, ts.MkAbs(args[0]))
					if err == nil && len(st.Nodes) == want && allPlaced(st) {
						return
					}
					select {
					case <-ctx.Done():
						// The background command's stderr and the devnet's
						// log follow (bg's deferred report).
						if err == nil {
							err = fmt.Errorf("%d nodes, want %d, all up and placed: %v", len(st.Nodes), want, allPlaced(st))
						}
						ts.Fatalf("devnet did not form in 6 minutes: %v", err)
					case <-time.After(100 * time.Millisecond):
					}
				}
			},
			// idvar HOME VAR: as in the other scripts (cli_test.go).
			"idvar": func(ts *testscript.TestScript, neg bool, args []string) {
				id, err := homeAccountID(ts.MkAbs(args[0]))
				ts.Check(err)
				ts.Setenv(args[1], id.String())
			},
			// polluntil [-sender SENDER]... REGEXP HOME ARGS...: hush --home
			// HOME receive, then hush --home HOME ARGS..., again every
			// second until the latter's stdout matches REGEXP (up to 5
			// minutes: under load each try's commands take a minute). A
			// store is answered once two of a swarm's members hold it, and
			// a single poll may ask another, which has it moments later;
			// an invitation's key message may come a poll after the
			// invitation. Each try first runs hush --home SENDER receive
			// for each -sender: a one-shot command leaves what it
			// could not send yet (a path that failed, the recipient's keys
			// not yet at the members it asked) in the outbox, and only the
			// sender's next command retries it.
			"polluntil": func(ts *testscript.TestScript, neg bool, args []string) {
				var senders []string
				for len(args) > 1 && args[0] == "-sender" {
					senders, args = append(senders, args[1]), args[2:]
				}
				if len(args) < 3 {
					ts.Fatalf("usage: polluntil [-sender SENDER]... REGEXP HOME ARGS...")
				}
				re := regexp.MustCompile("(?m)" + args[0])
				home, rest := args[1], args[2:]
				for deadline := time.Now().Add(5 * time.Minute); ; {
					for _, s := range senders {
						ts.Exec("hush", "--home", s, "receive") // sends what waits in its outbox
					}
					ts.Exec("hush", "--home", home, "receive") // a failed poll is tried again
					err := ts.Exec("hush", append([]string{"--home", home}, rest...)...)
					if err == nil && re.MatchString(ts.ReadFile("stdout")) {
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("hush --home %s %s: no match for %s after 5 minutes (last error %v); stdout:\n%s\nstderr:\n%s", home, strings.Join(rest, " "), args[0], err, ts.ReadFile("stdout"), ts.ReadFile("stderr"))
					}
					time.Sleep(time.Second)
				}
			},
			// statusjson N [NETFILE]: stdout is devnet status JSON with N
			// nodes, each up and in a listed swarm, and a registry host.
			// With NETFILE, a status that fails the check is asked for
			// again (hush devnet status --json --network NETFILE) for up
			// to 3 minutes: status pings every node with a 2 s bound, and
			// on a loaded machine a node of the devnet's busy process can
			// miss one (devnetready waited for the same).
			"statusjson": func(ts *testscript.TestScript, neg bool, args []string) {
				want := atoi(ts, args[0])
				err := checkStatusJSON([]byte(ts.ReadFile("stdout")), want)
				for deadline := time.Now().Add(3 * time.Minute); err != nil && len(args) > 1 && time.Now().Before(deadline); {
					ts.Logf("statusjson: %v; asking again", err)
					time.Sleep(time.Second)
					if xerr := ts.Exec("hush", "devnet", "status", "--json", "--network", args[1]); xerr == nil {
						err = checkStatusJSON([]byte(ts.ReadFile("stdout")), want)
					}
				}
				ts.Check(err)
			},
		}),
	})
}

// checkStatusJSON checks devnet status JSON: n nodes, each up and in a
// listed swarm of at least three, and one registry host, up.
func checkStatusJSON(b []byte, n int) error {
	var st struct {
		Registries []struct {
			Address       string `json:"address"`
			PubkeyEd25519 string `json:"pubkey_ed25519"`
			Up            bool   `json:"up"`
		} `json:"registries"`
		Nodes []struct {
			PubkeyEd25519 string  `json:"pubkey_ed25519"`
			Address       string  `json:"address"`
			Up            *bool   `json:"up"`
			SwarmID       *string `json:"swarm_id"`
			Messages      *int64  `json:"messages"`
		} `json:"nodes"`
		Swarms []struct {
			SwarmID string   `json:"swarm_id"`
			Members []string `json:"members"`
		} `json:"swarms"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	if len(st.Registries) != 1 || !st.Registries[0].Up || len(st.Registries[0].PubkeyEd25519) != 64 {
		return fmt.Errorf("registries: %+v", st.Registries)
	}
	if len(st.Nodes) != n {
		return fmt.Errorf("%d nodes, want %d", len(st.Nodes), n)
	}
	members := map[string]string{}
	for _, s := range st.Swarms {
		if len(s.Members) < 3 {
			return fmt.Errorf("swarm %s: %d members", s.SwarmID, len(s.Members))
		}
		for _, m := range s.Members {
			members[m] = s.SwarmID
		}
	}
	for _, n := range st.Nodes {
		if n.Up == nil || !*n.Up || n.SwarmID == nil || members[n.PubkeyEd25519] != *n.SwarmID || n.Address == "" || n.Messages == nil {
			return fmt.Errorf("node %s at %s: up %v, swarm %v, messages %v", n.PubkeyEd25519, n.Address, deref(n.Up), deref(n.SwarmID), deref(n.Messages))
		}
	}
	return nil
}

// deref is *p, or nil for a nil p (for an error message).
func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// withCmds returns the script commands of both maps.
func withCmds(a, b map[string]func(ts *testscript.TestScript, neg bool, args []string)) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

func readyStatus(ctx context.Context, path string) (*devnet.Status, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	n, err := netfile.Parse(b)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return devnet.Inspect(cctx, n)
}

func allPlaced(st *devnet.Status) bool {
	for _, n := range st.Nodes {
		if !n.Up || n.SwarmID == nil {
			return false
		}
	}
	return true
}

func atoi(ts *testscript.TestScript, s string) int {
	var n int
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		ts.Fatalf("not a number: %s", s)
	}
	return n
}
