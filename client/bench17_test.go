//go:build bench17

package client

// Issue 17's benchmarks, behind the bench17 tag (they start a devnet of
// hushd processes and move hundreds of megabytes):
//
//	go test -tags bench17 -run 'TestBench17$' -v -timeout 30m ./client
//
// Figures are ratios measured in one run, the measured thing alternating
// with its baselines, since the machine is shared: nothing here asserts a
// time. TestBench17Child is the client process of the memory figures (the
// test binary re-executed); alone it skips.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/protocol/netfile"
)

// Environment of the child process.
const (
	benchRole    = "HUSH_BENCH17_ROLE" // send or recv
	benchNet     = "HUSH_BENCH17_NET"  // network file
	benchHome    = "HUSH_BENCH17_HOME"
	benchPeer    = "HUSH_BENCH17_PEER" // send: the receiver's account
	benchFile    = "HUSH_BENCH17_FILE" // send: the file
	benchCaption = "HUSH_BENCH17_CAPTION"
	benchSize    = "HUSH_BENCH17_SIZE"  // recv: the file's size
	benchSizes   = "HUSH_BENCH17_SIZES" // the memory series, in MB
)

// benchCap is the raised size cap of the memory figures.
const benchCap = MaxAttachmentLimit

func TestBench17(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	d := startHushdDevnet(ctx, t)
	o := Options{Network: d.Network(), MaxAttachmentBytes: benchCap}
	aHome, bHome := newHome(t), newHome(t)
	alice, bob := open(t, aHome, o), open(t, bHome, o)
	if err := bob.AddContact(alice.Account(), "alice"); err != nil {
		t.Fatal(err)
	}
	if err := alice.AddContact(bob.Account(), "bob"); err != nil {
		t.Fatal(err)
	}
	benchThroughput(ctx, t, d.Network(), alice, bob)
	bobID := bob.Account()
	alice.Close()
	bob.Close()
	benchMemory(t, d.NetworkPath(), aHome, bHome, bobID, d.FilesPid, func() int {
		if err := d.StopFiles(); err != nil {
			t.Fatal(err)
		}
		if err := d.RestartFiles(); err != nil {
			t.Fatal(err)
		}
		return d.FilesPid()
	})
}

// benchThroughput moves a 10 MB file from alice to bob (SendFiles, then
// FetchMedia: upload and download times, not the message's delivery),
// alternating with the same pieces as raw onion requests to the same file
// server (filesclient over the client's own onion paths, as many in
// parallel as the client) and as an HTTPS copy on loopback.
func benchThroughput(ctx context.Context, t *testing.T, nf *netfile.Network, alice, bob *Client) {
	// Round 0 warms up (the client's first paths, the server's caches)
	// and is not counted.
	const size, rounds = 10_000_000, 5
	path := filepath.Join(t.TempDir(), "ten.bin")
	want := writeRandom(t, path, size)
	raw := newNetworkFiles(alice.tr.(*paths.Manager), *nf.Services.Files)
	tls := newHTTPSCopy(t)
	var pieces []int
	var tc, tr, th time.Duration
	for round := range rounds + 1 {
		caption := fmt.Sprintf("throughput %d", round)
		start := time.Now()
		sent, err := alice.SendFiles(ctx, bob.Account(), caption, []FileToSend{{Path: path, AsFile: true}})
		if err != nil {
			t.Fatal(err)
		}
		up := time.Since(start)
		it, err := alice.db.MediaOf(clientdb.LocalID(sent.ID), 0)
		if err != nil {
			t.Fatal(err)
		}
		pieces = pieces[:0]
		for _, pc := range it.Pieces {
			pieces = append(pieces, int(pc.Size))
		}
		got := receive(ctx, t, bob, caption)
		start = time.Now()
		if err := bob.FetchMedia(ctx, got); err != nil {
			t.Fatal(err)
		}
		down := time.Since(start)
		h := sha256.New()
		if _, err := bob.OpenMedia(got, 0, h); err != nil || string(h.Sum(nil)) != string(want) {
			t.Fatalf("bob's copy: %v", err)
		}
		r := movePieces(t, pieces, func(p []byte) (string, error) {
			u, err := raw.Upload(ctx, p, time.Hour)
			return u.ID, err
		}, func(id string, n int) error {
			_, _, err := raw.Download(ctx, id, 0, int64(n))
			return err
		})
		hs := movePieces(t, pieces, tls.put, tls.get)
		if round > 0 {
			tc, tr, th = tc+up+down, tr+r, th+hs
		}
		t.Logf("round %d: client %v (up %v, down %v), raw onion %v, https %v", round, up+down, up, down, r, hs)
	}
	mbps := func(d time.Duration) float64 { return 2 * size / 1e6 / (d.Seconds() / rounds) }
	t.Logf("throughput of a 10 MB file up and down (%d pieces), mean of %d rounds: client %.2f MB/s, raw onion %.2f MB/s, HTTPS loopback %.1f MB/s",
		len(pieces), rounds, mbps(tc), mbps(tr), mbps(th))
	t.Logf("ratio client/raw onion = %.2f (goal ≥ 0.7), client/HTTPS = %.3f, raw onion/HTTPS = %.3f",
		tr.Seconds()/tc.Seconds(), th.Seconds()/tc.Seconds(), th.Seconds()/tr.Seconds())
}

// movePieces uploads random pieces of the given sizes, uploadWorkers at a
// time as the client does, then downloads them one after the other as
// the client does, and returns the time taken.
func movePieces(t *testing.T, sizes []int, put func([]byte) (string, error), get func(id string, n int) error) time.Duration {
	bufs := make([][]byte, len(sizes))
	for i, n := range sizes {
		bufs[i] = make([]byte, n)
		rand.Read(bufs[i])
	}
	ids := make([]string, len(sizes))
	start := time.Now()
	var wg sync.WaitGroup
	slots := make(chan struct{}, uploadWorkers)
	errs := make(chan error, len(sizes))
	for i := range bufs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			id, err := put(bufs[i])
			ids[i] = id
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		if err := get(id, sizes[i]); err != nil {
			t.Fatal(err)
		}
	}
	return time.Since(start)
}

// httpsCopy is the direct baseline: an HTTPS server on loopback keeping
// what it is given in memory.
type httpsCopy struct {
	srv *httptest.Server
	mu  sync.Mutex
	m   map[string][]byte
}

func newHTTPSCopy(t *testing.T) *httpsCopy {
	h := &httpsCopy{m: map[string][]byte{}}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			h.mu.Lock()
			id := strconv.Itoa(len(h.m))
			h.m[id] = b
			h.mu.Unlock()
			io.WriteString(w, id)
			return
		}
		h.mu.Lock()
		b := h.m[r.URL.Query().Get("id")]
		h.mu.Unlock()
		w.Write(b)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *httpsCopy) put(p []byte) (string, error) {
	resp, err := h.srv.Client().Post(h.srv.URL, "application/octet-stream", bytes.NewReader(p))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func (h *httpsCopy) get(id string, n int) error {
	resp, err := h.srv.Client().Get(h.srv.URL + "?id=" + id)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && len(b) != n {
		err = fmt.Errorf("https copy: %d bytes back of %d", len(b), n)
	}
	return err
}

// receive polls c until the message with caption comes and returns its
// local ID.
func receive(ctx context.Context, t testing.TB, c *Client, caption string) int64 {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		ms, err := c.Poll(ctx)
		if err != nil {
			t.Logf("poll: %v", err)
		}
		for _, m := range ms {
			if m.Text == caption {
				return m.ID
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no message %q", caption)
	return 0
}

// writeRandom writes size random bytes to path, a megabyte at a time, and
// returns their SHA-256.
func writeRandom(t testing.TB, path string, size int) []byte {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, int64(size)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

// benchMemory sends a 20 MB and a 100 MB file (three times each, alternating)
// from a sender process to a receiver process (this test binary run as
// TestBench17Child) through the devnet, and compares the peak RSS of each
// and of the file server (restarted before each transfer; VmHWM read
// once the receiver is done).
func benchMemory(t *testing.T, netPath, aHome, bHome string, bob identity.AccountID, filesPid func() int, restartFiles func() int) {
	dir := t.TempDir()
	type peak struct{ send, recv, server int64 }
	peaks := map[int][]peak{}
	sizes := []int{20_000_000, 100_000_000, 20_000_000, 100_000_000, 20_000_000, 100_000_000}
	if v := os.Getenv(benchSizes); v != "" {
		// Another series, e.g. "20,100,200" (MB, each at most benchCap).
		sizes = nil
		for f := range strings.SplitSeq(v, ",") {
			mb, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, mb*1_000_000)
		}
	}
	for i, size := range sizes {
		path := filepath.Join(dir, fmt.Sprintf("f%d.bin", size))
		if _, err := os.Stat(path); err != nil {
			writeRandom(t, path, size)
		}
		pid := restartFiles()
		caption := fmt.Sprintf("memory %d", i)
		env := []string{benchNet + "=" + netPath, benchCaption + "=" + caption}
		send := runChild(t, append(env, benchRole+"=send", benchHome+"="+aHome, benchPeer+"="+bob.String(), benchFile+"="+path))
		recv := runChild(t, append(env, benchRole+"=recv", benchHome+"="+bHome, benchSize+"="+strconv.Itoa(size)))
		server := vmHWM(t, pid)
		if filesPid() != pid {
			t.Fatal("the file server restarted during the transfer")
		}
		peaks[size] = append(peaks[size], peak{send, recv, server})
		t.Logf("%d MB: peak RSS sender %d KiB, receiver %d KiB, file server %d KiB", size/1e6, send, recv, server)
	}
	most := func(size int, f func(peak) int64) int64 {
		var m int64
		for _, p := range peaks[size] {
			m = max(m, f(p))
		}
		return m
	}
	for _, w := range []struct {
		name string
		f    func(peak) int64
	}{{"sender", func(p peak) int64 { return p.send }}, {"receiver", func(p peak) int64 { return p.recv }}, {"file server", func(p peak) int64 { return p.server }}} {
		small, large := most(20_000_000, w.f), most(100_000_000, w.f)
		t.Logf("peak RSS %s: 20 MB %d KiB, 100 MB %d KiB, ratio %.2f (goal ≤ 1.2)", w.name, small, large, float64(large)/float64(small))
	}
}

// runChild runs TestBench17Child with env and returns its peak RSS (KiB),
// which the child reads from its /proc status as it ends. (Not wait4's
// ru_maxrss: Linux starts a child's at the parent's peak when the child
// was forked sharing the parent's memory, as Go's exec does.)
func runChild(t *testing.T, env []string) int64 {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBench17Child$", "-test.v", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child %v: %v\n%s", env, err, out)
	}
	_, v, ok := strings.Cut(string(out), childPeak)
	if !ok {
		t.Fatalf("child %v told no peak:\n%s", env, out)
	}
	n, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// childPeak prefixes the child's peak RSS in its output.
const childPeak = "BENCH17-VMHWM-KIB="

// vmHWM reads the peak RSS (KiB) of process pid.
func vmHWM(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// TestBench17Child is one client process of benchMemory: it sends a file,
// or receives it, fetches it and reads it back through verification.
func TestBench17Child(t *testing.T) {
	role := os.Getenv(benchRole)
	if role == "" {
		t.Skip("the child process of TestBench17")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	b, err := os.ReadFile(os.Getenv(benchNet))
	if err != nil {
		t.Fatal(err)
	}
	nf, err := netfile.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	c := open(t, os.Getenv(benchHome), Options{Network: nf, MaxAttachmentBytes: benchCap})
	caption := os.Getenv(benchCaption)
	switch role {
	case "send":
		peer, err := identity.ParseAccountID(os.Getenv(benchPeer))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.SendFiles(ctx, peer, caption, []FileToSend{{Path: os.Getenv(benchFile), AsFile: true}}); err != nil {
			t.Fatal(err)
		}
	case "recv":
		id := receive(ctx, t, c, caption)
		if err := c.FetchMedia(ctx, id); err != nil {
			t.Fatal(err)
		}
		a, err := c.OpenMedia(id, 0, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := strconv.ParseInt(os.Getenv(benchSize), 10, 64); a.Size != want {
			t.Fatalf("received %d bytes, want %d", a.Size, want)
		}
	}
	c.Close()
	fmt.Printf("%s%d\n", childPeak, vmHWM(t, os.Getpid()))
}
