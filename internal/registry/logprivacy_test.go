package registry

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/snapshot"
)

// syncBuffer is a log destination shared by a host's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDebugLogsNameNoClientAddress: a registry host logging at debug level
// names no client's address, even for connections that fail their TLS
// handshake, after nodes register and poll.
func TestDebugLogsNameNoClientAddress(t *testing.T) {
	th, raftLn, apiLn := prepareHost(t, "logging host")
	th.cfg.Bootstrap = true
	th.cfg.Hosts = []HostConfig{{Key: identity.Ed25519PublicKeyOf(th.key).String(), RaftAddress: raftLn.Addr().String(), APIAddress: apiLn.Addr().String()}}
	th.cfg.SetDefaults()
	var logs syncBuffer
	h, err := New(th.cfg, th.key, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Prober: th.prober, RaftListener: raftLn, APIListener: apiLn})
	if err != nil {
		t.Fatal(err)
	}
	th.h = h
	ctx, cancel := context.WithCancel(context.Background())
	th.cancel, th.done = cancel, make(chan error, 1)
	go func() { th.done <- h.Run(ctx) }()
	c := &cluster{t: t, hosts: []*testHost{th}}
	c.leader()
	n := newNode(t, 1)
	register(t, th, n)
	verifiedSnapshot(t, th, c.hostKeys(), "a snapshot with the node", func(s *snapshot.Snapshot) bool { return hasNode(s, n.pub()) })
	for range 3 {
		conn, err := net.Dial("tcp", th.cfg.APIAdvertise)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
		io.Copy(io.Discard, conn)
		conn.Close()
	}
	register(t, th, newNode(t, 2)) // after the failed handshakes were logged
	th.stop(t)
	servers := map[string]bool{th.cfg.APIAdvertise: true, th.cfg.RaftAdvertise: true}
	addr := regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d+\b`)
	out := logs.String()
	if !strings.Contains(out, "level=") {
		t.Fatalf("no logs to check")
	}
	for _, line := range strings.Split(out, "\n") {
		for _, a := range addr.FindAllString(line, -1) {
			if !servers[a] {
				t.Errorf("client address %s in: %s", a, line)
			}
		}
	}
}
