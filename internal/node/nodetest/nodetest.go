// Package nodetest runs real service nodes (internal/node) inside tests:
// [Start] builds one, runs it until the test ends and returns it once it
// serves, so its address is known.
package nodetest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/node"
)

// Standalone returns a validated configuration of a standalone node with
// its data in a fresh temporary directory, listening on an ephemeral
// loopback port, without metrics.
func Standalone(t testing.TB) config.Node {
	t.Helper()
	c := config.DefaultNode()
	c.Data, c.Listen, c.Standalone = t.TempDir(), "127.0.0.1:0", true
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// Start builds a node from cfg with opts, runs it until the test ends
// (then stops it and waits for Run to return), and returns it once its
// listeners are open. Logs are discarded.
func Start(t testing.TB, cfg config.Node, opts ...node.Option) *node.Node {
	t.Helper()
	n, err := node.New(cfg, slog.New(slog.DiscardHandler), opts...)
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
		t.Fatalf("node: %v", err)
	}
	t.Cleanup(func() { cancel(); <-done })
	return n
}
