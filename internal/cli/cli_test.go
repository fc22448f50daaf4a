package cli

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/node/nodetest"
)

// TestMain lets the scripts in testdata/script run the real `hush` command:
// testscript re-executes this test binary as `hush` in a fresh process for
// every invocation, so each command starts cold, as a user's would. Its
// `hush` reads the test hooks (testhooks.go), which a shipped one ignores.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hush": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, true)) },
	})
}

func TestScripts(t *testing.T) {
	// One real standalone node serves the scripts that talk to the network.
	n := startNode(t)
	nodeURL := "https://" + n.Addr().String()
	nodeKey := hex.EncodeToString(n.Identity().Ed25519Public().Bytes())
	ice := startTURN(t) // call_test.go
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			// Cheap Argon2 for speed; the real parameters are covered by the
			// keystore benchmark.
			env.Setenv(envTestKDF, "1")
			env.Setenv("XDG_DATA_HOME", env.WorkDir+"/xdg")
			env.Setenv("NODE_URL", nodeURL)
			env.Setenv("NODE_KEY", nodeKey)
			env.Setenv(envTestICE, ice)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "attachments" {
				return attachmentsBuilt, nil // media_build*_test.go
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: withCalls(map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"wavfile": wavfileCmd, // convb_test.go
			// hugefile NAME SIZE: a sparse file of SIZE bytes.
			"hugefile": func(ts *testscript.TestScript, neg bool, args []string) {
				n, err := strconv.ParseInt(args[1], 10, 64)
				ts.Check(err)
				f, err := os.Create(ts.MkAbs(args[0]))
				ts.Check(err)
				ts.Check(f.Truncate(n))
				ts.Check(f.Close())
			},
			// pngfile NAME W H TEXT: a W×H PNG carrying TEXT in a tEXt
			// chunk (as an editor may leave a location there).
			"pngfile": func(ts *testscript.TestScript, neg bool, args []string) {
				w, err := strconv.Atoi(args[1])
				ts.Check(err)
				h, err := strconv.Atoi(args[2])
				ts.Check(err)
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), pngWithText(w, h, args[3]), 0o600))
			},
			// mediaid HOME VAR: set VAR to the local ID of HOME's first
			// attachment's message (hush --json media list).
			"mediaid": func(ts *testscript.TestScript, neg bool, args []string) {
				ts.Check(ts.Exec("hush", "--home", args[0], "--json", "media", "list"))
				var items []struct {
					ID int64 `json:"local_id"`
				}
				ts.Check(json.Unmarshal([]byte(ts.ReadFile("stdout")), &items))
				if len(items) == 0 {
					ts.Fatalf("no attachments in %s", args[0])
				}
				ts.Setenv(args[1], strconv.FormatInt(items[0].ID, 10))
			},
			// sealto HOME IDFILE TEXT: hush --home HOME tool seal $(cat IDFILE) TEXT
			"sealto": func(ts *testscript.TestScript, neg bool, args []string) {
				ts.Check(ts.Exec("hush", "--home", args[0], "tool", "seal", strings.TrimSpace(ts.ReadFile(args[1])), args[2]))
			},
			// openct HOME CTFILE: hush --home HOME --json tool open $(cat CTFILE)
			"openct": func(ts *testscript.TestScript, neg bool, args []string) {
				err := ts.Exec("hush", "--home", args[0], "--json", "tool", "open", strings.TrimSpace(ts.ReadFile(args[1])))
				if neg != (err != nil) {
					ts.Fatalf("openct: unexpected result %v", err)
				}
			},
			// sendermatches JSONFILE IDFILE: the opened message's sender is that ID.
			"sendermatches": func(ts *testscript.TestScript, neg bool, args []string) {
				var v struct{ Sender string }
				ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &v))
				if want := strings.TrimSpace(ts.ReadFile(args[1])); v.Sender != want {
					ts.Fatalf("sender %s, want %s", v.Sender, want)
				}
			},
			// idvar HOME VAR: set VAR to the Account ID of the account in HOME.
			"idvar": func(ts *testscript.TestScript, neg bool, args []string) {
				id, err := homeAccountID(ts.MkAbs(args[0]))
				ts.Check(err)
				ts.Setenv(args[1], id.String())
			},
			// countmatch N REGEXP FILE...: the files hold N matches in all.
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
			// flipbit FILE: flip one bit in the middle of a hex file's bytes.
			"flipbit": func(ts *testscript.TestScript, neg bool, args []string) {
				b, err := hex.DecodeString(strings.TrimSpace(ts.ReadFile(args[0])))
				ts.Check(err)
				b[len(b)/2] ^= 0x10
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(hex.EncodeToString(b)), 0o600))
			},
		}),
	})
}

func startNode(t *testing.T) *node.Node {
	t.Helper()
	return nodetest.Start(t, nodetest.Standalone(t))
}

// homeAccountID reads the Account ID of the account in home.
func homeAccountID(home string) (identity.AccountID, error) {
	h, err := client.NewHome(home)
	if err != nil {
		return identity.AccountID{}, err
	}
	return h.AccountID()
}

// pngWithText returns a w×h PNG with text in a tEXt chunk before its end.
func pngWithText(w, h int, text string) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 37)
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	b := buf.Bytes()
	data := append([]byte("Comment\x00"), text...)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(append(chunk, "tEXt"...), data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	return append(append(append([]byte{}, b[:len(b)-12]...), chunk...), b[len(b)-12:]...)
}
