package devnet

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/paths"
	"github.com/hushnet/hush/internal/push"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/snapshot"
)

// A devnet runs one push server (hushd push), listed in its network file
// as services.push, so that nodes forward to it and clients can subscribe.
// It follows the devnet's snapshots and serves only its nodes, like a
// real one, and runs with the test setting (Web Push endpoints on
// loopback allowed, the devnet's test CA trusted: webpush.go): a devnet
// is a local network, and a Web Push receiver on it listens on loopback.

// pushConfigFile is the push server's config inside its folder.
const pushConfigFile = "push.toml"

// PushServer describes the devnet's push server.
type PushServer struct {
	Address string
	Ed25519 identity.Ed25519PublicKey
	X25519  snapshot.X25519Key
	Dir     string
	Config  config.Push
	// VAPIDPublic is the key it signs Web Push requests with
	// (WebPushVAPIDFile holds it too).
	VAPIDPublic []byte
}

// Push describes the devnet's push server.
func (d *Devnet) Push() PushServer { return d.push }

// preparePush makes the push server's key and config and lists it in net.
// A push server the network already lists (a test's stand-in) is kept,
// and none is started.
func (d *Devnet) preparePush(net *netfile.Network, addr string) error {
	if net.Services.Push != nil {
		return nil
	}
	if min := pushMinNodes(); d.opts.Nodes < min {
		fmt.Fprintf(d.opts.Progress, "note: with %d nodes no push will arrive: a node reaches the push server through an onion path of %d other nodes (use %d nodes or more)\n",
			d.opts.Nodes, min-1, min)
	}
	dir := filepath.Join(d.opts.Dir, "push")
	id, err := node.LoadOrCreateIdentity(dir)
	if err != nil {
		return fmt.Errorf("devnet: push key: %w", err)
	}
	cfg := config.DefaultPush()
	cfg.Data, cfg.Listen, cfg.Network = dir, addr, filepath.Join(d.opts.Dir, nodesNetworkFile)
	if err := createWebPushCA(d.opts.Dir, time.Now()); err != nil {
		return fmt.Errorf("devnet: web push test CA: %w", err)
	}
	vapid, err := seedVAPID(d.opts.Dir, dir)
	if err != nil {
		return err
	}
	cfg.TestAllowLoopback = true
	cfg.TestExtraRoots = filepath.Join(d.opts.Dir, WebPushCAFile)
	cfg.WebPushSubject = "mailto:devnet@invalid"
	if d.opts.Push != nil {
		d.opts.Push(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("devnet: push config: %w", err)
	}
	ed, x := id.Ed25519Public(), snapshot.X25519Key(id.X25519Public())
	net.Services.Push = &netfile.Service{Address: addr, Ed25519: &ed, X25519: &x}
	d.push = PushServer{Address: addr, Ed25519: ed, X25519: x, Dir: dir, Config: cfg, VAPIDPublic: vapid}
	f, err := os.OpenFile(filepath.Join(dir, pushConfigFile), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := toml.NewEncoder(f).Encode(cfg); err != nil {
		f.Close()
		return fmt.Errorf("devnet: push config: %w", err)
	}
	return f.Close()
}

// startPush starts the push server, in-process or as hushd push; nil
// when the devnet runs none (see preparePush).
func (d *Devnet) startPush() (runner, error) {
	p := d.push
	if p.Dir == "" {
		return nil, nil
	}
	if d.opts.Processes {
		return d.startProcess(p.Dir, "push", "--config", filepath.Join(p.Dir, pushConfigFile))
	}
	id, err := node.LoadOrCreateIdentity(p.Dir)
	if err != nil {
		return nil, err
	}
	svc, err := push.NewService(p.Config, push.Keys{Ed25519: id.Ed25519, X25519: id.X25519}, d.opts.Logger.With("push", 1))
	if err != nil {
		return nil, err
	}
	g := goRun(svc.Run)
	select {
	case <-svc.Ready():
		return g, nil
	case <-g.done():
		return nil, g.err
	}
}

// pushMinNodes is the smallest devnet whose nodes can notify: a node's
// onion path to the push server avoids the node itself, and takes its
// guards and the relays after them from distinct nodes (internal/paths).
func pushMinNodes() int { return paths.Guards + paths.Relays - 1 + 1 }
