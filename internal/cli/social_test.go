package cli

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/node/nodetest"
)

// TestSocialScripts runs the scripts of testdata/social (requests,
// blocking, unsend, disappearing messages) against a real standalone
// node. Besides idvar and countmatch (as in TestScripts) they have
// jsonvar, to carry a message ID or swarm hash from one command's --json
// output into the next command.
func TestSocialScripts(t *testing.T) {
	p := socialParams(startNode(t), 0)
	p.Dir = "testdata/social"
	testscript.Run(t, p)
}

// TestDisappearAtNight runs disappear.txt with the network's clock (the
// node's, and the clients' with it) at a fixed hour of the day, whatever
// the wall clock says: its clients' clocks, moved up to 3h01m ahead, then
// cross midnight UTC into the next prekey epoch (a UTC day) and back.
func TestDisappearAtNight(t *testing.T) {
	for _, at := range []time.Duration{21 * time.Hour, 23*time.Hour + 10*time.Minute} {
		t.Run(fmt.Sprintf("%02d%02d", int(at.Hours()), int(at.Minutes())%60), func(t *testing.T) {
			shift := shiftTo(time.Now(), at)
			n := nodetest.Start(t, nodetest.Standalone(t), node.WithClock(func() time.Time { return time.Now().Add(shift) }))
			p := socialParams(n, shift)
			p.Files = []string{"testdata/social/disappear.txt"}
			testscript.Run(t, p)
		})
	}
}

// shiftTo returns the duration that moves now to the nearest time of day
// at (since midnight UTC).
func shiftTo(now time.Time, at time.Duration) time.Duration {
	now = now.UTC()
	d := now.Truncate(24 * time.Hour).Add(at).Sub(now)
	if d > 12*time.Hour {
		d -= 24 * time.Hour
	} else if d <= -12*time.Hour {
		d += 24 * time.Hour
	}
	return d
}

// socialParams returns the testscript parameters of the social scripts
// against n, whose clock runs shift ahead of the wall clock (the clients'
// clocks follow through envTestClockBase).
func socialParams(n *node.Node, shift time.Duration) testscript.Params {
	nodeURL := "https://" + n.Addr().String()
	nodeKey := hex.EncodeToString(n.Identity().Ed25519Public().Bytes())
	return testscript.Params{
		Setup: func(env *testscript.Env) error {
			env.Setenv(envTestKDF, "1")
			env.Setenv("XDG_DATA_HOME", env.WorkDir+"/xdg")
			env.Setenv("NODE_URL", nodeURL)
			env.Setenv("NODE_KEY", nodeKey)
			if shift != 0 {
				env.Setenv(envTestClockBase, shift.String())
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"wavfile": wavfileCmd, // convb_test.go
			"idvar": func(ts *testscript.TestScript, neg bool, args []string) {
				id, err := homeAccountID(ts.MkAbs(args[0]))
				ts.Check(err)
				ts.Setenv(args[1], id.String())
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
			// jsonvar FILE TEXT PATH VAR: in FILE (a JSON array or object),
			// take the first object whose "text" is TEXT (any, for an
			// object or TEXT "-"), follow PATH (keys and indexes joined by
			// dots) and set VAR to what is there, regexp-quoted (swarm
			// hashes are base64, whose + would be a regexp operator).
			"jsonvar": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 4 {
					ts.Fatalf("usage: jsonvar FILE TEXT PATH VAR")
				}
				v, err := jsonPick([]byte(ts.ReadFile(args[0])), args[1], args[2])
				ts.Check(err)
				ts.Setenv(args[3], regexp.QuoteMeta(v))
			},
		},
	}
}

func jsonPick(b []byte, text, path string) (string, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	if obj, ok := v.(map[string]any); ok && obj["messages"] != nil && text != "-" {
		v = obj["messages"] // chat show: the conversation, its messages inside
	}
	if arr, ok := v.([]any); ok {
		v = nil
		for _, e := range arr {
			if m, ok := e.(map[string]any); ok && (text == "-" || m["text"] == text) {
				v = e
				break
			}
		}
		if v == nil {
			return "", fmt.Errorf("no element with text %q", text)
		}
	}
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return "", fmt.Errorf("index %q out of range", k)
			}
			v = x[i]
		default:
			return "", fmt.Errorf("no %q in %v", k, x)
		}
	}
	if v == nil {
		return "", fmt.Errorf("%s: nothing there", path)
	}
	return fmt.Sprint(v), nil
}
