package daemon

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/internal/node/nodetest"
	"github.com/hushnet/hush/protocol/snapshot"
)

// The API tests run daemons on one standalone node in this process (the
// cheapest network a client works on) with an in-memory file server; the
// end-to-end test (e2e_test.go) runs them on a devnet.

const testPass = "correct horse"

// testDaemon is a running daemon and what a test needs to call it.
type testDaemon struct {
	*Daemon
	t      testing.TB
	hc     *http.Client
	cancel context.CancelFunc
	done   chan error
}

// standalone starts a standalone node for the test.
func standalone(t testing.TB) *snapshot.Node {
	n := nodetest.Start(t, nodetest.Standalone(t))
	return &snapshot.Node{Address: n.Addr().String(), Ed25519: n.Identity().Ed25519Public()}
}

// startDaemon runs a daemon on a fresh home with options o (Home,
// Listen, HomeOptions filled in when empty), until the test ends.
func startDaemon(t testing.TB, cfg Config) *testDaemon {
	t.Helper()
	if cfg.Home == "" {
		cfg.Home = t.TempDir()
	}
	if cfg.Listen == "" && cfg.Socket == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	cfg.HomeOptions = append(cfg.HomeOptions, client.InsecureTestKDF())
	if cfg.Options.OutboxBackoff == (client.Backoff{}) {
		cfg.Options.OutboxBackoff = client.Backoff{Base: 50 * time.Millisecond, Max: 200 * time.Millisecond}
	}
	if cfg.Options.PollInterval == 0 {
		cfg.Options.PollInterval = 100 * time.Millisecond
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	td := &testDaemon{Daemon: d, t: t, hc: &http.Client{}, cancel: cancel, done: make(chan error, 1)}
	if cfg.Socket != "" {
		td.hc.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", cfg.Socket)
		}}
	}
	go func() { td.done <- d.Run(ctx) }()
	t.Cleanup(td.stop)
	// Run claims the home before it serves: wait for the first answer.
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", d.URL()+"/api/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+d.Key())
		if resp, err := td.hc.Do(req); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon does not answer")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return td
}

// stop stops the daemon and waits for Run.
func (td *testDaemon) stop() {
	td.cancel()
	select {
	case err := <-td.done:
		if err != nil {
			td.t.Errorf("Run: %v", err)
		}
		td.done <- nil // a second stop returns at once
	case <-time.After(time.Minute):
		td.t.Error("Run did not return")
	}
}

// unlockedDaemon is a daemon with a fresh account on node.
func unlockedDaemon(t testing.TB, node *snapshot.Node, files client.FileServer) *testDaemon {
	td := startDaemon(t, Config{Options: client.Options{Standalone: node, Files: files}})
	td.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, nil)
	return td
}

// call is one API request.
type call struct {
	method, path string
	body         any               // JSON-encoded unless []byte or io.Reader
	header       map[string]string // on top of the key (an empty Authorization drops it)
}

func (td *testDaemon) request(c call) *http.Request {
	var body io.Reader
	switch b := c.body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case io.Reader:
		body = b
	default:
		j, _ := json.Marshal(b)
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequest(c.method, td.URL()+c.path, body)
	if err != nil {
		td.t.Fatal(err)
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+td.Key())
	for k, v := range c.header {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return req
}

// do sends c and returns the response with its body read.
func (td *testDaemon) do(c call) (*http.Response, []byte) {
	td.t.Helper()
	resp, err := td.hc.Do(td.request(c))
	if err != nil {
		td.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// mustDo sends a request, checks its status and decodes the answer into
// out (when not nil).
func (td *testDaemon) mustDo(method, path string, body any, status int, out any) []byte {
	td.t.Helper()
	resp, b := td.do(call{method: method, path: path, body: body})
	if resp.StatusCode != status {
		td.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, status)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			td.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return b
}

// errorCode returns an error body's code.
func errorCode(b []byte) string {
	var e apiError
	json.Unmarshal(b, &e)
	return e.Error.Code
}

// stream is an open event stream.
type stream struct {
	t      testing.TB
	events chan streamEvent
	cancel context.CancelFunc
}

type streamEvent struct {
	name string
	data json.RawMessage
}

// events opens the daemon's event stream.
func (td *testDaemon) events() *stream {
	td.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req := td.request(call{method: "GET", path: "/api/v1/events"}).WithContext(ctx)
	resp, err := td.hc.Do(req)
	if err != nil {
		td.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		td.t.Fatalf("events: %d", resp.StatusCode)
	}
	s := &stream{t: td.t, events: make(chan streamEvent, 1024), cancel: cancel}
	td.t.Cleanup(cancel)
	go func() {
		defer resp.Body.Close()
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var e streamEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.name != "" {
					s.events <- e
				}
				e = streamEvent{}
			case strings.HasPrefix(line, "event: "):
				e.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				e.data = json.RawMessage(strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return s
}

// waitFor returns the first event named name for which match (if set)
// reports true, skipping others.
func (s *stream) waitFor(name string, match func(json.RawMessage) bool) json.RawMessage {
	s.t.Helper()
	b, seen, ok := s.waitWithin(name, match, 90*time.Second)
	if !ok {
		s.t.Fatalf("no %q event; saw %q", name, seen)
	}
	return b
}

// waitWithin is waitFor for at most d: ok is false, with the events
// skipped, when none came.
func (s *stream) waitWithin(name string, match func(json.RawMessage) bool, d time.Duration) (b json.RawMessage, seen []string, ok bool) {
	s.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case e, ok := <-s.events:
			seen = append(seen, e.name+":"+string(e.data))
			if !ok {
				s.t.Fatalf("event stream ended while waiting for %q", name)
			}
			if e.name == name && (match == nil || match(e.data)) {
				return e.data, seen, true
			}
		case <-timeout:
			return nil, seen, false
		}
	}
}

// memFiles is an in-memory file server.
type memFiles struct {
	mu    sync.Mutex
	blobs map[string][]byte
}

func newMemFiles() *memFiles { return &memFiles{blobs: map[string][]byte{}} }

func (f *memFiles) Upload(_ context.Context, piece []byte, ttl time.Duration) (client.UploadedPiece, error) {
	b := make([]byte, 16)
	rand.Read(b)
	id := hex.EncodeToString(b)
	f.mu.Lock()
	f.blobs[id] = bytes.Clone(piece)
	f.mu.Unlock()
	return client.UploadedPiece{ID: id, Expires: time.Now().Add(ttl), Token: b}, nil
}

func (f *memFiles) Download(_ context.Context, id string, offset, length int64) ([]byte, int64, error) {
	f.mu.Lock()
	b, ok := f.blobs[id]
	f.mu.Unlock()
	if !ok {
		return nil, 0, client.ErrAttachmentExpired
	}
	if offset < 0 || offset > int64(len(b)) || length < 0 {
		return nil, 0, errors.New("bad range")
	}
	return b[offset:min(int64(len(b)), offset+length)], int64(len(b)), nil
}

func (f *memFiles) Delete(context.Context, string, []byte) error { return nil }

func (f *memFiles) Extend(_ context.Context, _ string, _ []byte, ttl time.Duration) (time.Time, error) {
	return time.Now().Add(ttl), nil
}
