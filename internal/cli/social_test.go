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
)

// TestSocialScripts runs the scripts of testdata/social (requests,
// blocking, unsend, disappearing messages) against a real standalone
// node. Besides idvar and countmatch (as in TestScripts) they have
// jsonvar, to carry a message ID or swarm hash from one command's --json
// output into the next command.
func TestSocialScripts(t *testing.T) {
	n := startNode(t)
	nodeURL := "https://" + n.Addr().String()
	nodeKey := hex.EncodeToString(n.Identity().Ed25519Public().Bytes())
	testscript.Run(t, testscript.Params{
		Dir: "testdata/social",
		Setup: func(env *testscript.Env) error {
			env.Setenv(envTestKDF, "1")
			env.Setenv("XDG_DATA_HOME", env.WorkDir+"/xdg")
			env.Setenv("NODE_URL", nodeURL)
			env.Setenv("NODE_KEY", nodeKey)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond != "nearmidnight" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			// disappear.txt moves client clocks up to 3h01m ahead; from
			// 20:55 UTC on they cross into the next day's prekey epoch,
			// where a known bug (issue note, 2026-12-05) makes the
			// jumping device's published records vanish from its swarm.
			now := time.Now().UTC()
			return now.Add(3*time.Hour+5*time.Minute).Day() != now.Day(), nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
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
	})
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
