package node

import (
	"context"
	"crypto/tls"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/internal/pushnotify"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/push"
)

// Push notifications. A node in a network whose file lists a push server
// notifies it of new deposits for accounts with push subscription records
// (internal/pushnotify): the storage RPC and replication's forwards report
// their new deposits, and the notifier sends through onion paths of the
// node's own, built by internal/paths (the client's path code) from the
// node's snapshot without the node itself, so that the push server cannot
// tell which node, hence which swarm, sent a notify. The node presents its
// certificate to its guards, which budget it per node identity as they do
// for relayed traffic: a node's address is public anyway. A standalone
// node, or a network without a push server, notifies nobody.

// pushState is the node's notifier, nil when it notifies nobody.
type pushState struct {
	notifier *pushnotify.Notifier
	pool     *onionclient.Pool
}

// WithPushNotify lets tune adjust the notifier's configuration (its clock
// and timers in tests) before the node builds it.
func WithPushNotify(tune func(*pushnotify.Config)) Option {
	return func(o *options) { o.push = append(o.push, tune) }
}

// setUpPush builds the notifier of a node whose network file lists a push
// server. It reads messages from db.
func (n *Node) setUpPush(o options, cert tls.Certificate, db store.Store, reg prometheus.Registerer) error {
	if n.network == nil || n.network.Services.Push == nil || n.network.Services.Push.X25519 == nil {
		return nil
	}
	logger := n.logger.With("subsystem", "pushnotify")
	svc := n.network.Services.Push
	pool := onionclient.NewPool(onionclient.PoolConfig{Cert: &cert})
	pm, err := paths.New(paths.Options{
		Snapshot:  pushnotify.WithoutNode(n.Snapshot, n.id.Ed25519Public()),
		Loopback:  n.network.Loopback,
		Transport: pool,
		Logger:    logger,
	})
	if err != nil {
		return err
	}
	cfg := pushnotify.Config{
		Store:     db,
		Server:    pushnotify.Server{Target: svc.OnionTarget(push.Target), Key: *svc.X25519},
		Sender:    pm,
		Clock:     n.now,
		Logger:    logger,
		Metrics:   reg,
		Interval:  n.cfg.PushNotifyInterval.D(),
		QueueSize: n.cfg.PushNotifyQueue,
	}
	for _, tune := range o.push {
		tune(&cfg)
	}
	nt, err := pushnotify.New(cfg)
	if err != nil {
		return err
	}
	n.push = &pushState{notifier: nt, pool: pool}
	return nil
}

// deposits is what the storage RPC and replication report new deposits
// to; a nil interface when the node notifies nobody.
func (n *Node) deposits() replication.Deposits {
	if n.push == nil {
		return nil
	}
	return n.push.notifier
}

// startPush runs the notifier until the returned stop is called; stop
// waits for it (notifies in flight are cancelled).
func (n *Node) startPush(logger *slog.Logger) (stop func()) {
	if n.push == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := n.push.notifier.Run(ctx); err != nil {
			logger.Error("push notifier stopped", "err", err)
		}
	})
	return func() {
		cancel()
		wg.Wait()
		n.push.pool.Close()
	}
}
