package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// hushdBin is the real binary, built once for this package's tests
// (without -race, so the real-process tests stay fast).
var hushdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hushd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hushdBin = filepath.Join(dir, "hushd")
	if out, err := exec.Command("go", "build", "-o", hushdBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running hushd node.
type proc struct {
	cmd  *exec.Cmd
	addr string
	// done is closed when the process has exited; exitErr is then set.
	done    chan struct{}
	exitErr error

	mu  sync.Mutex // guards log
	log strings.Builder
}

var readyRE = regexp.MustCompile(`msg="node ready".* listen=(\S+)`)

func startHushd(t *testing.T, dataDir string, args ...string) *proc {
	t.Helper()
	return startHushdIn(t, "", dataDir, args...)
}

// startHushdIn starts a standalone node in the working directory wd (""
// for the test's own).
func startHushdIn(t *testing.T, wd, dataDir string, args ...string) *proc {
	t.Helper()
	args = append([]string{"node", "--standalone", "--data", dataDir, "--listen", "127.0.0.1:0"}, args...)
	p := &proc{cmd: exec.Command(hushdBin, args...), done: make(chan struct{})}
	p.cmd.Dir = wd
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := readyRE.FindStringSubmatch(line); m != nil {
				ready <- m[1]
			}
		}
		io.Copy(io.Discard, stderr)
		p.exitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	})
	select {
	case p.addr = <-ready:
	case <-p.done:
		t.Fatalf("hushd exited before ready: %v\n%s", p.exitErr, p.logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("hushd not ready:\n%s", p.logs())
	}
	return p
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (p *proc) url() string { return "https://" + p.addr }

func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.done:
		return p.exitErr
	case <-time.After(30 * time.Second):
		t.Fatal("hushd did not exit")
		return nil
	}
}

func signed(t *testing.T, c *nodeclient.Client, acct *identity.Account, method, params string, out any) {
	t.Helper()
	body, err := c.Signed(context.Background(), acct, method, json.RawMessage(params))
	if err != nil {
		t.Fatalf("%s: %v %s", method, err, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatal(err)
		}
	}
}

func retrieveAll(t *testing.T, c *nodeclient.Client, acct *identity.Account, ns int) []rpc.Message {
	t.Helper()
	var all []rpc.Message
	cursor := ""
	for {
		var res rpc.RetrieveResult
		signed(t, c, acct, rpc.MethodRetrieve, fmt.Sprintf(`{"namespace":%d,"max_count":16%s}`, ns, cursor), &res)
		all = append(all, res.Messages...)
		if !res.More {
			return all
		}
		last := res.Messages[len(res.Messages)-1]
		cursor = fmt.Sprintf(`,"after_timestamp":%d,"after_hash":%q`, last.Timestamp, last.Hash)
	}
}

// TestKill9Durability: every acknowledged store survives kill -9.
func TestKill9Durability(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startHushd(t, dir)
	c, err := nodeclient.New(p.url(), identity.Ed25519PublicKey{})
	if err != nil {
		t.Fatal(err)
	}
	acct := identity.NewAccount()
	const n = 60
	want := map[string]bool{}
	for i := range n {
		var res rpc.StoreResult
		signed(t, c, acct, rpc.MethodStore, fmt.Sprintf(`{"namespace":1,"ttl":3600000,"data":%q}`, base64.StdEncoding.EncodeToString([]byte(fmt.Sprint("msg ", i)))), &res)
		want[res.Hash] = true
	}
	key := c.NodeKey()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t)

	p2 := startHushd(t, dir)
	c2, err := nodeclient.New(p2.url(), key) // same data dir: same key
	if err != nil {
		t.Fatal(err)
	}
	got := retrieveAll(t, c2, acct, 1)
	if len(got) != n {
		t.Fatalf("retrieved %d messages after kill -9, want %d", len(got), n)
	}
	for _, m := range got {
		if !want[m.Hash] {
			t.Fatalf("unexpected message %s", m.Hash)
		}
	}
}

// TestRealShortTTL waits out the shortest TTL allowed on a real node.
func TestRealShortTTL(t *testing.T) {
	t.Parallel()
	p := startHushd(t, t.TempDir(), "--sweep-interval", "1s")
	c, _ := nodeclient.New(p.url(), identity.Ed25519PublicKey{})
	acct := identity.NewAccount()
	signed(t, c, acct, rpc.MethodStore, `{"ttl":10000,"data":"c2hvcnQ="}`, nil)
	signed(t, c, acct, rpc.MethodStore, `{"ttl":600000,"data":"bG9uZw=="}`, nil)
	if got := retrieveAll(t, c, acct, 0); len(got) != 2 {
		t.Fatalf("before expiry: %d messages", len(got))
	}
	time.Sleep(11 * time.Second)
	got := retrieveAll(t, c, acct, 0)
	if len(got) != 1 || got[0].Data != "bG9uZw==" {
		t.Fatalf("after expiry: %+v", got)
	}
}

// TestSIGTERM: a graceful stop exits 0 after closing everything.
func TestSIGTERM(t *testing.T) {
	t.Parallel()
	p := startHushd(t, t.TempDir())
	c, _ := nodeclient.New(p.url(), identity.Ed25519PublicKey{})
	if _, err := c.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs())
	}
	if !strings.Contains(p.logs(), `msg=stopped`) {
		t.Fatalf("no clean stop in logs:\n%s", p.logs())
	}
}

// TestLogPrivacy: no Account ID, client address or size in logs unless
// --debug-log-private.
func TestLogPrivacy(t *testing.T) {
	t.Parallel()
	for _, private := range []bool{false, true} {
		t.Run(fmt.Sprint("private=", private), func(t *testing.T) {
			args := []string{"--log-level", "debug"}
			if private {
				args = append(args, "--debug-log-private")
			}
			p := startHushd(t, t.TempDir(), args...)
			c, _ := nodeclient.New(p.url(), identity.Ed25519PublicKey{})
			acct := identity.NewAccount()
			signed(t, c, acct, rpc.MethodStore, `{"namespace":1,"ttl":60000,"data":"eA=="}`, nil)
			p.cmd.Process.Signal(syscall.SIGTERM)
			p.wait(t)
			logs := p.logs()
			leaks := strings.Contains(logs, acct.ID().String()) || strings.Contains(logs, "remote=")
			if leaks != private {
				t.Fatalf("private=%v but account/address in logs=%v:\n%s", private, leaks, logs)
			}
		})
	}
}

func runHushd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(hushdBin, args...)
	// No network file from the environment or a devnet of the user's.
	cmd.Env = append(os.Environ(), "HUSH_NETWORK=", "XDG_STATE_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o600)
		return p
	}
	good := write("good.toml", "standalone = true\nlisten = \"127.0.0.1:7000\"\n")
	tests := []struct {
		name    string
		args    []string
		wantOK  bool
		wantOut string
	}{
		{"good file", []string{"--config", good}, true, "config ok"},
		{"unknown key", []string{"--config", write("unknown.toml", "standalone = true\nlisten_port = 1\n")}, false, "unknown field listen_port"},
		{"bad value named", []string{"--config", write("bad.toml", "standalone = true\nflood_policy = \"x\"\n")}, false, "config field flood_policy"},
		{"flag overrides file", []string{"--config", good, "--listen", "bogus"}, false, "config field listen"},
		{"flags only", []string{"--standalone", "--listen", "127.0.0.1:7001"}, true, "config ok"},
		{"no network file", []string{"--listen", "127.0.0.1:7001"}, false, "config field network"},
		{"network file", []string{"--listen", "127.0.0.1:7001", "--network", "n.json"}, true, "config ok"},
		{"standalone with network file", []string{"--standalone", "--network", "n.json"}, false, "config field network"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runHushd(t, append([]string{"node", "--validate-config", "--data", dir}, tt.args...)...)
			if (err == nil) != tt.wantOK || !strings.Contains(out, tt.wantOut) {
				t.Fatalf("err=%v out=%q, want ok=%v containing %q", err, out, tt.wantOK, tt.wantOut)
			}
		})
	}
}

func TestShowIdentity(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "fresh")
	a, err := runHushd(t, "node", "--standalone", "--data", dir, "--show-identity")
	if err != nil {
		t.Fatal(err, a)
	}
	b, _ := runHushd(t, "node", "--standalone", "--data", dir, "--show-identity")
	if a != b || !regexp.MustCompile(`^ed25519 [0-9a-f]{64}\nx25519 [0-9a-f]{64}\nnetwork_id standalone-[0-9a-f]{8}\n$`).MatchString(a) {
		t.Fatalf("identity output %q then %q", a, b)
	}
	st, err := os.Stat(filepath.Join(dir, "node_ed25519.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
}

// TestDoneWhen is the acceptance check on the real binary: an
// account stores, retrieves, expires and deletes its own messages through
// nodeclient.SignedCall (what `hush tool rpc` runs), and another account
// can neither read nor delete them.
func TestDoneWhen(t *testing.T) {
	t.Parallel()
	p := startHushd(t, t.TempDir())
	ctx := context.Background()
	alice, mallory := identity.NewAccount(), identity.NewAccount()
	call := func(acct *identity.Account, method, params string, out any) {
		t.Helper()
		body, err := nodeclient.SignedCall(ctx, acct, p.url(), identity.Ed25519PublicKey{}, method, json.RawMessage(params))
		if err != nil {
			t.Fatalf("%s: %v %s", method, err, body)
		}
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatal(err)
		}
	}
	var st rpc.StoreResult
	call(alice, rpc.MethodStore, `{"namespace":0,"ttl":600000,"data":"aGVsbG8="}`, &st)
	var got rpc.RetrieveResult
	call(alice, rpc.MethodRetrieve, `{"namespace":0}`, &got)
	if len(got.Messages) != 1 || got.Messages[0].Hash != st.Hash || got.Messages[0].Data != "aGVsbG8=" {
		t.Fatalf("retrieve: %+v", got)
	}
	var mal rpc.RetrieveResult
	call(mallory, rpc.MethodRetrieve, `{"namespace":0}`, &mal)
	var malDel rpc.DeleteResult
	call(mallory, rpc.MethodDelete, `{"messages":["`+st.Hash+`"]}`, &malDel)
	if len(mal.Messages) != 0 || len(malDel.Deleted) != 0 {
		t.Fatalf("another account read %d / deleted %d", len(mal.Messages), len(malDel.Deleted))
	}
	var ex rpc.ExpireResult
	call(alice, rpc.MethodExpire, fmt.Sprintf(`{"messages":[%q],"expiry":%d,"shorten":true}`, st.Hash, got.T+60_000), &ex)
	if ex.Updated[st.Hash] != got.T+60_000 {
		t.Fatalf("expire: %+v", ex)
	}
	var del rpc.DeleteResult
	call(alice, rpc.MethodDelete, `{"messages":["`+st.Hash+`"]}`, &del)
	var after rpc.RetrieveResult
	call(alice, rpc.MethodRetrieve, `{"namespace":0}`, &after)
	if len(del.Deleted) != 1 || len(after.Messages) != 0 {
		t.Fatalf("delete: %+v, left %+v", del, after)
	}
}

// TestStartupErrors: a node that cannot start says why in one line and
// exits non-zero; it never panics.
func TestStartupErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, []byte("x"), 0o600)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"busy listen port", []string{"--listen", busy.Addr().String(), "--data", t.TempDir()}, "listen"},
		{"data path is a file", []string{"--listen", "127.0.0.1:0", "--data", notDir}, notDir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runHushd(t, append([]string{"node", "--standalone", "--log-level", "error"}, tt.args...)...)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1; output:\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "hushd: ") || !strings.Contains(lines[0], tt.want) {
				t.Fatalf("want one line \"hushd: …%s…\", got:\n%s", tt.want, out)
			}
		})
	}
}

// TestRelativeDataPath: --data may be relative to the working directory.
func TestRelativeDataPath(t *testing.T) {
	t.Parallel()
	wd := t.TempDir()
	p := startHushdIn(t, wd, "./data")
	c, err := nodeclient.New(p.url(), identity.Ed25519PublicKey{})
	if err != nil {
		t.Fatal(err)
	}
	acct := identity.NewAccount()
	signed(t, c, acct, rpc.MethodStore, `{"namespace":1,"ttl":60000,"data":"eA=="}`, nil)
	if got := retrieveAll(t, c, acct, 1); len(got) != 1 {
		t.Fatalf("retrieved %d messages, want 1", len(got))
	}
	if _, err := os.Stat(filepath.Join(wd, "data", "messages.db")); err != nil {
		t.Fatalf("database not under the relative data path: %v", err)
	}
}

// TestDebugLogsKeepClientsPrivate: at debug level, after stores,
// retrieves, a refused request and failed TLS handshakes, the logs name
// no client address, Account ID or size unless --debug-log-private.
func TestDebugLogsKeepClientsPrivate(t *testing.T) {
	t.Parallel()
	p := startHushd(t, t.TempDir(), "--log-level", "debug")
	c, err := nodeclient.New(p.url(), identity.Ed25519PublicKey{})
	if err != nil {
		t.Fatal(err)
	}
	acct := identity.NewAccount()
	for i := range 3 {
		signed(t, c, acct, rpc.MethodStore, fmt.Sprintf(`{"namespace":1,"ttl":60000,"data":%q}`, base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 100+i)))), nil)
	}
	retrieveAll(t, c, acct, 1)
	c.Call(context.Background(), "no_such_method", json.RawMessage(`{}`))
	onionStoreAndRetrieve(t, c, p.addr, acct)
	// Connections that hang up during the TLS handshake, or speak plain
	// HTTP to it: the server logs those with the client's address.
	for range 3 {
		conn, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		io.Copy(io.Discard, conn)
		conn.Close()
	}
	// Another request after them, so their log lines are out first.
	signed(t, c, acct, rpc.MethodStore, `{"namespace":1,"ttl":60000,"data":"eA=="}`, nil)
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t)
	logs := p.logs()
	if !strings.Contains(logs, "level=DEBUG") {
		t.Fatalf("no debug lines to check:\n%s", logs)
	}
	addr := regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(:\d+)?\b`)
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `msg="node ready"`) {
			continue // the node's own listening address
		}
		for _, a := range addr.FindAllString(line, -1) {
			if a != p.addr {
				t.Errorf("client address %s in: %s", a, line)
			}
		}
		if regexp.MustCompile(`\b05[0-9a-f]{64}\b`).MatchString(line) || strings.Contains(line, acct.ID().String()) {
			t.Errorf("Account ID in: %s", line)
		}
		if regexp.MustCompile(`\b(bytes|size|len)=\d`).MatchString(line) {
			t.Errorf("a size in: %s", line)
		}
	}
}

// onionStoreAndRetrieve stores into acct's DM inbox and retrieves it
// through an onion request to the node (the node is the destination).
func onionStoreAndRetrieve(t *testing.T, c *nodeclient.Client, addr string, acct *identity.Account) {
	t.Helper()
	ctx := context.Background()
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var dest snapshot.Node
	ed, err1 := hex.DecodeString(info.PubkeyEd25519)
	x, err2 := hex.DecodeString(info.PubkeyX25519)
	if err1 != nil || err2 != nil || len(ed) != 32 || len(x) != 32 {
		t.Fatalf("info keys: %+v", info)
	}
	dest.Ed25519, _ = identity.Ed25519PublicKeyFromBytes(ed)
	copy(dest.X25519[:], x)
	dest.Address = addr
	pool := onionclient.NewPool(onionclient.PoolConfig{})
	defer pool.Close()
	send := func(method string, params json.RawMessage) []byte {
		t.Helper()
		signedParams, err := nodeclient.SignDraft(acct, info.NetworkID, method, params, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(map[string]any{"method": method, "params": signedParams})
		status, body, err := onionclient.Send(ctx, pool, nil, dest, payload)
		if err != nil || status != 200 {
			t.Fatalf("onion %s: %d %v %s", method, status, err, body)
		}
		return body
	}
	send(rpc.MethodStore, json.RawMessage(`{"namespace":0,"ttl":60000,"data":"b25pb24="}`))
	var res rpc.RetrieveResult
	if err := json.Unmarshal(send(rpc.MethodRetrieve, json.RawMessage(`{"namespace":0}`)), &res); err != nil || len(res.Messages) != 1 {
		t.Fatalf("onion retrieve: %+v %v", res, err)
	}
}

// TestFilesCommands: `hushd files --show-identity` creates and prints the
// file server's keys (stable across runs), and `hushd files transparency`
// reports its data directory as text and JSON.
func TestFilesCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, err := runHushd(t, "files", "--show-identity", "--data", dir)
	if err != nil {
		t.Fatalf("%v %s", err, a)
	}
	b, _ := runHushd(t, "files", "--show-identity", "--data", dir)
	if a != b || !regexp.MustCompile(`^ed25519 [0-9a-f]{64}\nx25519 [0-9a-f]{64}\n$`).MatchString(a) {
		t.Fatalf("identity output %q then %q", a, b)
	}
	if st, err := os.Stat(filepath.Join(dir, "files_ed25519.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	out, err := runHushd(t, "files", "transparency", "--data", dir)
	if err != nil || !strings.Contains(out, "files files_ed25519.key: 1 (") {
		t.Fatalf("transparency: %v\n%s", err, out)
	}
	out, err = runHushd(t, "files", "transparency", "--data", dir, "--json")
	if err != nil || !json.Valid([]byte(out)) {
		t.Fatalf("transparency --json: %v\n%s", err, out)
	}
	if out, err := runHushd(t, "files", "--validate-config", "--data", dir, "--max-blob-bytes", "99999999"); err == nil || !strings.Contains(out, "max_blob_bytes") {
		t.Fatalf("a blob limit over MaxPiece was accepted: %v %s", err, out)
	}
}
