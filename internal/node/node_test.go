package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/protocol/rpc"
)

func testConfig(t *testing.T, dir string) config.Node {
	c := config.DefaultNode()
	c.Data = dir
	c.Listen = "127.0.0.1:0"
	c.Standalone = true
	c.Metrics = "127.0.0.1:0"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// start runs a node until the test ends and returns it.
func start(t *testing.T, cfg config.Node) (*Node, func() error) {
	t.Helper()
	n, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	select {
	case <-n.Ready():
	case err := <-done:
		cancel()
		t.Fatal(err)
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	return n, stop
}

func TestIdentityPersistsWithPrivateMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	a, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", st.Mode(), err)
	}
	b, err := LoadOrCreateIdentity(dir)
	if err != nil || !a.Ed25519Public().Equal(b.Ed25519Public()) || a.X25519Public() != b.X25519Public() {
		t.Fatalf("key changed across loads: %v", err)
	}
	// The X25519 key is the Ed25519 key's Montgomery form, as for accounts.
	id, err := a.Ed25519Public().AccountID()
	if err != nil || [32]byte(id[1:]) != a.X25519Public() {
		t.Fatal("X25519 key does not match the Ed25519 key")
	}
	os.Chmod(filepath.Join(dir, KeyFile), 0o644)
	if _, err := LoadOrCreateIdentity(dir); err == nil || !strings.Contains(err.Error(), "readable by other users") {
		t.Fatalf("world-readable key accepted: %v", err)
	}
}

func TestRunServeAndStop(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	n, stop := start(t, cfg)
	url := "https://" + n.Addr().String()
	c, err := nodeclient.New(url, n.Identity().Ed25519Public())
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.NetworkID != n.Identity().StandaloneNetworkID() || info.Version != Version {
		t.Fatalf("info: %+v", info)
	}
	acct := identity.NewAccount()
	if _, err := c.Signed(context.Background(), acct, rpc.MethodStore, json.RawMessage(`{"namespace":0,"ttl":60000,"data":"`+base64.StdEncoding.EncodeToString([]byte("secret-ish"))+`"}`)); err != nil {
		t.Fatal(err)
	}
	var sw rpc.SwarmResult
	body, err := c.Signed(context.Background(), acct, rpc.MethodGetSwarm, nil)
	if err != nil || json.Unmarshal(body, &sw) != nil || len(sw.Members) != 1 || sw.Members[0].Address != n.Addr().String() || sw.Members[0].PubkeyEd25519 != info.PubkeyEd25519 {
		t.Fatalf("get_swarm: %s %v", body, err)
	}

	// Metrics: on their own address, with no account or address in them.
	resp, err := http.Get("http://" + n.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), `hush_rpc_requests_total{code="ok",method="store"} 1`) || !strings.Contains(string(m), "hush_store_messages 1") {
		t.Fatalf("metrics missing series:\n%s", m)
	}
	if strings.Contains(string(m), acct.ID().String()) || strings.Contains(string(m), "127.0.0.1") {
		t.Fatal("metrics carry an account or address")
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Info(context.Background()); err == nil {
		t.Fatal("node still answers after stop")
	}
	// The database was closed: a new node can open the same directory.
	cfg2 := cfg
	n2, _ := start(t, cfg2)
	if !n2.Identity().Ed25519Public().Equal(n.Identity().Ed25519Public()) {
		t.Fatal("restart changed the node key")
	}
}

func TestInsecureHTTP(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.InsecureHTTP = true
	cfg.Metrics = ""
	n, _ := start(t, cfg)
	resp, err := http.Get("http://" + n.Addr().String() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz over http: %v", err)
	}
	resp.Body.Close()
	if n.MetricsAddr() != nil {
		t.Fatal("metrics listening although off")
	}
}

func TestWarnIfClockLooksWrongIsQuietForNow(t *testing.T) {
	var buf strings.Builder
	warnIfClockLooksWrong(slog.New(slog.NewTextHandler(&buf, nil)), time.Now())
	if buf.Len() != 0 {
		t.Fatalf("warned with a correct clock: %s", buf.String())
	}
}
