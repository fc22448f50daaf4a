package devnet

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/turn"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/snapshot"
)

// A devnet runs one TURN server (hushd turn), listed in its network file
// as services.turn: STUN/TURN on UDP and TCP at Address, TURN over TLS at
// TLSAddress, and its credential endpoint, an onion destination, at
// Endpoint. It follows the devnet's snapshots and issues credentials only
// through its nodes, like a real one, and relays to loopback peers
// (allow_private_peers): every party of a devnet call is on 127.0.0.1.

// turnConfigFile is the TURN server's config inside its folder.
const turnConfigFile = "turn.toml"

// TURNServer describes the devnet's TURN server.
type TURNServer struct {
	Address    string // STUN/TURN, UDP and TCP
	TLSAddress string
	Endpoint   string // the credential endpoint (HTTPS, for relays)
	Ed25519    identity.Ed25519PublicKey
	X25519     snapshot.X25519Key
	Dir        string
	Config     config.TURN
}

// TURN describes the devnet's TURN server (zero when the network file
// names a stand-in instead).
func (d *Devnet) TURN() TURNServer { return d.turn }

// prepareTURN makes the TURN server's key and config on the three
// addresses and lists it in net. A TURN server the network already lists
// (a test's stand-in) is kept, and none is started.
func (d *Devnet) prepareTURN(net *netfile.Network, addr, tlsAddr, endpoint string) error {
	if net.Services.TURN != nil {
		return nil
	}
	dir := filepath.Join(d.opts.Dir, "turn")
	id, err := node.LoadOrCreateIdentityFile(dir, turn.KeyFile)
	if err != nil {
		return fmt.Errorf("devnet: turn key: %w", err)
	}
	cfg := config.DefaultTURN()
	cfg.Data, cfg.Listen, cfg.TLSListen, cfg.Endpoint = dir, addr, tlsAddr, endpoint
	cfg.Network = filepath.Join(d.opts.Dir, nodesNetworkFile)
	cfg.AllowPrivatePeers = true
	cfg.ShutdownTimeout = config.Duration(5e9)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("devnet: turn config: %w", err)
	}
	ed, x := id.Ed25519Public(), snapshot.X25519Key(id.X25519Public())
	net.Services.TURN = &netfile.Service{Address: addr, TLSAddress: tlsAddr, Endpoint: endpoint, Ed25519: &ed, X25519: &x}
	d.turn = TURNServer{Address: addr, TLSAddress: tlsAddr, Endpoint: endpoint, Ed25519: ed, X25519: x, Dir: dir, Config: cfg}
	f, err := os.OpenFile(filepath.Join(dir, turnConfigFile), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := toml.NewEncoder(f).Encode(cfg); err != nil {
		f.Close()
		return fmt.Errorf("devnet: turn config: %w", err)
	}
	return f.Close()
}

// startTURN starts the TURN server, in-process or as hushd turn; nil when
// the devnet runs none.
func (d *Devnet) startTURN() (runner, error) {
	t := d.turn
	if t.Dir == "" {
		return nil, nil
	}
	if d.opts.Processes {
		return d.startProcess(t.Dir, "turn", "--config", filepath.Join(t.Dir, turnConfigFile))
	}
	s, err := turn.New(t.Config, d.opts.Logger.With("turn", 1))
	if err != nil {
		return nil, err
	}
	g := goRun(s.Run)
	select {
	case <-s.Ready():
		return g, nil
	case <-g.done():
		return nil, g.err
	}
}
