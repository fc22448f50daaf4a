package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/protocol/rpc"
)

// heldRetrieves reads the node's gauge of held retrieves.
func heldRetrieves(t *testing.T, n *Node) string {
	t.Helper()
	resp, err := http.Get("http://" + n.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(m)) {
		if v, ok := strings.CutPrefix(line, "hush_rpc_held_retrieves "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("no hush_rpc_held_retrieves in the metrics")
	return ""
}

// TestHeldRetrieve holds retrieves on a real standalone node, over TLS.
func TestHeldRetrieve(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*config.Node)
		wait time.Duration
		// during runs once the retrieve is held (nil: do not wait for
		// that); it returns how many messages the retrieve must answer.
		during func(t *testing.T, c *nodeclient.Client, acct *identity.Account, stop func() error) int
	}{
		// The handler extends the deadlines once it holds the retrieve;
		// time-outs must leave it time to get there. With 200 ms a loaded
		// machine's handler got there late, and HTTP/2 had already reset
		// the stream ("stream error: stream ID 3; INTERNAL_ERROR").
		{name: "a held retrieve outlives the server's read and write time-outs", wait: 5 * time.Second,
			cfg: func(c *config.Node) {
				c.ReadTimeout, c.WriteTimeout = config.Duration(2*time.Second), config.Duration(2*time.Second)
			}},
		{name: "a client's store wakes it", wait: rpc.MaxWait,
			during: func(t *testing.T, c *nodeclient.Client, acct *identity.Account, _ func() error) int {
				if _, err := c.Signed(context.Background(), acct, rpc.MethodStore, json.RawMessage(`{"namespace":0,"ttl":60000,"data":"`+base64.StdEncoding.EncodeToString([]byte("wake"))+`"}`)); err != nil {
					t.Fatal(err)
				}
				return 1
			}},
		{name: "shutdown answers it, empty", wait: rpc.MaxWait,
			during: func(t *testing.T, _ *nodeclient.Client, _ *identity.Account, stop func() error) int {
				go stop()
				return 0
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, t.TempDir())
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			n, stop := start(t, cfg)
			c, err := nodeclient.New("https://"+n.Addr().String(), n.Identity().Ed25519Public())
			if err != nil {
				t.Fatal(err)
			}
			acct := identity.NewAccount()
			type answer struct {
				body []byte
				err  error
			}
			done := make(chan answer, 1)
			go func() {
				b, err := c.Signed(context.Background(), acct, rpc.MethodRetrieve, json.RawMessage(fmt.Sprintf(`{"namespace":0,"wait":%d}`, tc.wait.Milliseconds())))
				done <- answer{b, err}
			}()
			want := 0
			if tc.during != nil {
				for deadline := time.Now().Add(time.Minute); heldRetrieves(t, n) != "1"; time.Sleep(5 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the retrieve was never held")
					}
					select {
					case a := <-done:
						t.Fatalf("answered instead of held: %s %v", a.body, a.err)
					default:
					}
				}
				want = tc.during(t, c, acct, stop)
			}
			var a answer
			select {
			case a = <-done:
			case <-time.After(time.Minute):
				t.Fatal("held retrieve never answered")
			}
			var res rpc.RetrieveResult
			if a.err != nil || json.Unmarshal(a.body, &res) != nil || len(res.Messages) != want {
				t.Fatalf("answer %s, %v; want %d messages", a.body, a.err, want)
			}
		})
	}
}
