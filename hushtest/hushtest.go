// Package hushtest runs a small hush network on loopback, for tests of
// programs that use package client: registry and service nodes in this
// process, in a folder of their own, with the registry's timers scaled
// down so the network forms in seconds.
//
//	n, err := hushtest.Start(ctx, hushtest.Options{Dir: t.TempDir()})
//	if err != nil { ... }
//	defer n.Stop()
//	c, err := home.Open(ctx, passphrase, n.ClientOptions())
//
// The network file it writes ([Network.NetworkFile]) also serves the
// `hush` command (`--network FILE` or $HUSH_NETWORK). It is a thin wrapper
// over the devnet that `hush devnet up` runs, kept small on purpose: a
// test that needs to kill nodes or break them belongs inside this module.
// Homes for such tests are made with [client.InsecureTestKDF], so each
// account costs no Argon2id run worth the name.
package hushtest

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/internal/devnet"
)

// Options configure [Start]. Zero values take the defaults in brackets.
type Options struct {
	// Dir is the network's folder [a fresh temporary folder, removed by
	// Stop].
	Dir string
	// Nodes is the number of service nodes [6]: enough for swarms of
	// three and for onion paths of three relays plus the destination.
	Nodes int
	// Timeout bounds how long Start waits for the network to form [2m].
	Timeout time.Duration
}

// Network is a running test network.
type Network struct {
	d      *devnet.Devnet
	tmpDir string // removed by Stop; empty when the caller gave Dir
}

// Start starts a network as o describes and returns once it has formed:
// every node registered and placed in a swarm, and a signed snapshot
// served. On error it stops whatever it started.
func Start(ctx context.Context, o Options) (*Network, error) {
	if o.Nodes == 0 {
		o.Nodes = 6
	}
	n := &Network{}
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "hushtest-")
		if err != nil {
			return nil, err
		}
		o.Dir, n.tmpDir = dir, dir
	}
	d, err := devnet.Up(ctx, devnet.Options{
		Dir: o.Dir, Nodes: o.Nodes, Timeout: o.Timeout,
		// Fast epochs and probes let the network form in seconds. Nodes
		// are voted out only after a minute: on a loaded machine a node
		// starved of CPU for a few seconds should not move swarms under
		// a test.
		EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond,
		UnreachableAfter: time.Minute,
	})
	if err != nil {
		if n.tmpDir != "" {
			os.RemoveAll(n.tmpDir)
		}
		return nil, err
	}
	n.d = d
	return n, nil
}

// ClientOptions returns [client.Options] that reach this network through
// onion paths (set Direct to reach its nodes directly), with the client's
// timers scaled down as the network's are: the outbox retries within a
// second instead of backing off from five, and Receive polls five times a
// second.
func (n *Network) ClientOptions() client.Options {
	return client.Options{
		Network:       n.d.Network(),
		OutboxBackoff: client.Backoff{Base: 100 * time.Millisecond, Max: time.Second},
		PollInterval:  200 * time.Millisecond,
	}
}

// NetworkFile returns the path of the network file, for the `hush`
// command.
func (n *Network) NetworkFile() string { return n.d.NetworkPath() }

// Stop stops the nodes and the registry and waits for them; a temporary
// folder Start made is removed. It is safe to call more than once.
func (n *Network) Stop() error {
	err := n.d.Stop()
	if n.tmpDir != "" {
		err = errors.Join(err, os.RemoveAll(n.tmpDir))
	}
	return err
}
