package registry

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/registry/registryapi"
)

// dialFrom opens a TCP connection to addr from the loopback address
// src (127.0.0.0/8 is all loopback on Linux), so a test can play several
// sources.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// getOn sends one GET over a TLS connection from src and returns the
// status, the error code of an error body, and the open connection.
func getOn(t *testing.T, src, addr, path string) (int, string, *tls.Conn) {
	t.Helper()
	tc := tls.Client(dialFrom(t, src, addr), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	tc.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := fmt.Fprintf(tc, "GET %s HTTP/1.1\r\nHost: registry\r\n\r\n", path); err != nil {
		return 0, "write: " + err.Error(), tc
	}
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		return 0, "read: " + err.Error(), tc
	}
	defer resp.Body.Close()
	var eb registryapi.ErrorBody
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &eb)
	tc.SetDeadline(time.Time{})
	return resp.StatusCode, eb.Error.Code, tc
}

// closedByServer reports whether the server closes c within d.
func closedByServer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestAPIHoldsOffIdleSlowAndPollingClients: a source that opens many idle
// connections, trickles headers, keeps connections alive or long-polls
// gets a clear 503 past its share, its connections are closed after the
// time-outs, and the registry keeps answering nodes all along.
func TestAPIHoldsOffIdleSlowAndPollingClients(t *testing.T) {
	const perSource, pollsPerSource = 8, 2
	c := newCluster(t, 1, func(cfg *Config) {
		// Long enough that the source's share is still held when its
		// extra request arrives, on a slow machine too.
		cfg.API = APIConfig{ReadTimeout: config.Duration(8 * time.Second), IdleTimeout: config.Duration(time.Second),
			MaxConns: 64, MaxConnsPerSource: perSource, MaxPolls: 16, MaxPollsPerSource: pollsPerSource}
	})
	h := c.leader()
	addr := h.cfg.APIAdvertise
	register(t, h, newNode(t, 1))
	nodeAnswers := func(when string) {
		t.Helper()
		cl := h.client()
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := cl.Status(ctx); err != nil {
			t.Fatalf("%s: a node's status request: %v", when, err)
		}
		if raw, err := cl.Snapshot(ctx, 0, 0); err != nil || raw == nil {
			t.Fatalf("%s: a node's snapshot request: %v", when, err)
		}
	}

	// 127.0.0.2 fills its share with idle TCP connections, opens more
	// whose TLS request headers never end, then floods.
	const attacker = "127.0.0.2"
	var conns []net.Conn
	for range perSource {
		conns = append(conns, dialFrom(t, attacker, addr))
	}
	for range perSource / 2 {
		tc := tls.Client(dialFrom(t, attacker, addr), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if tc.Handshake() == nil {
			io.WriteString(tc, "GET /v1/status HTTP/1.1\r\nHost: registry\r\n")
		}
		conns = append(conns, tc)
	}
	nodeAnswers("while one source holds many idle and slow connections")
	status, code, _ := getOn(t, attacker, addr, "/v1/status")
	if status != http.StatusServiceUnavailable || code != "unavailable" {
		t.Errorf("a request from the source over its connection share: %d %q, want 503 unavailable", status, code)
	}
	for range 4 * perSource {
		conns = append(conns, dialFrom(t, attacker, addr))
	}
	nodeAnswers("while one source floods connections")
	// The caps and time-outs close every one of them.
	for i, conn := range conns {
		if !closedByServer(conn, 20*time.Second) {
			t.Fatalf("connection %d of the flooding source still open after the time-outs", i)
		}
	}

	// A kept-alive connection that goes idle is closed after IdleTimeout.
	if status, _, kept := getOn(t, "127.0.0.3", addr, "/v1/status"); status != http.StatusOK {
		t.Errorf("status over a fresh source: %d", status)
	} else if !closedByServer(kept, 15*time.Second) {
		t.Errorf("an idle kept-alive connection stayed open")
	}

	// Long-polls: a source gets its share, then 503 at once; nodes
	// elsewhere still poll.
	const poller = "127.0.0.4"
	var wg sync.WaitGroup
	held := make([]*tls.Conn, pollsPerSource)
	for i := range pollsPerSource {
		tc := tls.Client(dialFrom(t, poller, addr), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		fmt.Fprintf(tc, "GET /v1/snapshot?after=999999&wait=20s HTTP/1.1\r\nHost: registry\r\n\r\n")
		held[i] = tc
		wg.Go(func() { io.Copy(io.Discard, tc) })
	}
	t.Cleanup(func() {
		for _, tc := range held {
			tc.Close()
		}
		wg.Wait()
	})
	eventually(t, "the poller's long-polls to be held", func() bool { return h.h.pollsFrom(poller) == pollsPerSource })
	start := time.Now()
	status, code, _ = getOn(t, poller, addr, "/v1/snapshot?after=999999&wait=20s")
	if status != http.StatusServiceUnavailable || code != "unavailable" || time.Since(start) > 10*time.Second {
		t.Errorf("a long-poll over the source's share: %d %q after %s, want 503 unavailable at once", status, code, time.Since(start).Round(time.Millisecond))
	}
	nodeAnswers("while one source holds its long-polls")
}
