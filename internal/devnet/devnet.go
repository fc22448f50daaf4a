package devnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/files"
	"github.com/hushnet/hush/internal/netlookup"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/registry"
	wire "github.com/hushnet/hush/protocol/files"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
	"github.com/hushnet/hush/swarm"
)

// Files inside a devnet's folder.
// The network file itself is netlookup.DevnetFile, where hush and hushd
// look for it.
const (
	LogFile    = "devnet.log"
	markerFile = ".hush-devnet"
	// lockFile is flocked by the devnet running from the folder
	// (lock_unix.go), so another is refused whether or not the network
	// answers.
	lockFile = ".hush-devnet.lock"
	// nodesNetworkFile is the same network file for the devnet's own
	// nodes, which need it before the network has formed;
	// netlookup.DevnetFile appears only once it has, so whoever finds it
	// finds a network.
	nodesNetworkFile = ".network-nodes.json"
)

// DefaultNetworkID names every devnet's network.
const DefaultNetworkID = "devnet"

// seedCount is how many nodes the network file names as seeds.
const seedCount = 3

// Options configure [Up]. Zero values take the defaults in brackets.
type Options struct {
	// Dir is the devnet's folder (required; see netlookup.DevnetDir).
	Dir string
	// Nodes is the number of service nodes [12].
	Nodes int
	// Registries is the number of registry hosts, 1 or 3 [1].
	Registries int
	// Processes runs each host and node as its own hushd process.
	Processes bool
	// HushdPath is the hushd binary for Processes [FindHushd].
	HushdPath string
	// Params are the swarm sizes [swarm.DevnetParams: 3/4].
	Params swarm.Params
	// NetworkID [devnet].
	NetworkID string
	// Registry timers [500ms, 500ms, 3s, 1h].
	EpochInterval, ProbeInterval, UnreachableAfter, SnapshotLifetime time.Duration
	// AntiEntropyInterval is the nodes' anti_entropy_interval [30s]:
	// tests that wait for a repair scale it down.
	AntiEntropyInterval time.Duration
	// Timeout bounds how long Up waits for the registry and then the
	// network to form [2m]; building hushd does not count.
	Timeout time.Duration
	// Logger receives the in-process hosts' and nodes' logs [the
	// folder's devnet.log].
	Logger *slog.Logger
	// Progress receives one line per step while starting [nothing].
	Progress io.Writer
	// WrapRPC, when set, wraps the storage RPC handler of in-process node
	// i (node.WithRPCWrapper): tests use it to make a real node misbehave
	// (internal/misbehave). It returns nil to leave a node as it is.
	WrapRPC func(i int) func(http.Handler) http.Handler
	// Services are listed in the network file as they are: tests point
	// nodes and clients at stand-in steward servers with them.
	Services netfile.Services
	// Push, when set, adjusts the push server's config before it is
	// written (tests point it at provider stand-ins and their CA).
	Push func(*config.Push)
	// Node, when set, adjusts node i's config before it is written
	// (tests turn on metrics or shorten the push notifier's interval).
	Node func(i int, c *config.Node)
}

func (o *Options) setDefaults() error {
	if o.Dir == "" {
		return errors.New("devnet: no folder")
	}
	if o.Nodes == 0 {
		o.Nodes = 12
	}
	if o.Registries == 0 {
		o.Registries = 1
	}
	if o.Params == (swarm.Params{}) {
		o.Params = swarm.DevnetParams()
	}
	if o.NetworkID == "" {
		o.NetworkID = DefaultNetworkID
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.EpochInterval, 500*time.Millisecond)
	def(&o.ProbeInterval, 500*time.Millisecond)
	def(&o.UnreachableAfter, 3*time.Second)
	def(&o.SnapshotLifetime, time.Hour)
	def(&o.Timeout, 2*time.Minute)
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	switch {
	case o.Nodes < o.Params.MinSize:
		return fmt.Errorf("devnet: %d nodes cannot fill one swarm of %d", o.Nodes, o.Params.MinSize)
	case o.Registries != 1 && o.Registries != 3:
		return fmt.Errorf("devnet: %d registry hosts; want 1 or 3", o.Registries)
	}
	return o.Params.Validate()
}

// Node describes one of the devnet's service nodes: its descriptor (keys
// and address; Version and Swarm are the registry's snapshot's to tell)
// and its place in the devnet.
type Node struct {
	snapshot.Node
	Index int
	Dir   string
}

// Registry describes one of the devnet's registry hosts.
type Registry struct {
	Key         identity.Ed25519PublicKey
	APIAddress  string
	RaftAddress string
	Dir         string
}

// FileServer describes the devnet's file server (`hushd files`), as the
// network file's services.files lists it.
type FileServer struct {
	Address string
	Ed25519 identity.Ed25519PublicKey
	X25519  snapshot.X25519Key
	// Target is the endpoint clients put in their last relay's layer.
	Target onion.ServerTarget
	Dir    string
}

// runner is one running host or node, in-process or as a process.
type runner interface {
	// stop ends it gracefully and waits.
	stop() error
	// kill ends it at once (SIGKILL for a process) and waits.
	kill()
	// done is closed when it has exited.
	done() <-chan struct{}
}

// Devnet is a running devnet. Its methods are safe for concurrent use.
type Devnet struct {
	opts    Options
	net     *netfile.Network
	netPath string
	netRaw  []byte
	hushd   string
	logFile *os.File // in-process logs; nil if Options.Logger was given

	regs    []Registry
	regCfgs []*registry.Config
	nodes   []Node
	nodeCfg []config.Node
	files   FileServer
	fileCfg config.Files
	push    PushServer
	turn    TURNServer

	mu      sync.Mutex // guards the runners
	hosts   []runner
	members []runner // nil for a killed node
	fileRun runner   // nil while the file server is down
	pushRun runner   // the push server; nil once stopped
	turnRun runner   // the TURN server; nil once stopped
	stopped bool
	unlock  func() // frees the folder's lock; nil once freed
}

// Up starts a devnet as opts describe and returns once it has formed
// (see [Devnet.Wait]). On error, or when ctx ends before then, it stops
// whatever it started.
func Up(ctx context.Context, opts Options) (*Devnet, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	unlock, err := prepareDir(ctx, opts.Dir, opts.Progress)
	if err != nil {
		return nil, err
	}
	d := &Devnet{opts: opts, netPath: filepath.Join(opts.Dir, netlookup.DevnetFile), unlock: unlock}
	if err := d.up(ctx); err != nil {
		d.Stop()
		return nil, err
	}
	return d, nil
}

func (d *Devnet) up(ctx context.Context) (err error) {
	opts := d.opts
	if opts.Processes {
		if d.hushd = opts.HushdPath; d.hushd == "" {
			if d.hushd, err = FindHushd(ctx, opts.Dir, opts.Progress); err != nil {
				return err
			}
		}
	}
	if err := d.prepare(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	fmt.Fprintf(opts.Progress, "starting %d registry host(s)\n", opts.Registries)
	for i := range d.regs {
		r, err := d.startHost(i)
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.hosts = append(d.hosts, r)
		d.mu.Unlock()
	}
	if err := d.waitRegistry(ctx); err != nil {
		return err
	}
	fmt.Fprintf(opts.Progress, "starting %d nodes\n", opts.Nodes)
	d.members = make([]runner, len(d.nodes))
	for i := range d.nodes {
		if err := d.Restart(i); err != nil {
			return err
		}
	}
	// The file and push servers start after the nodes have bound their
	// ports: their connections to the registry take ephemeral ports,
	// which could be ports freePorts handed out for nodes not yet
	// listening.
	fmt.Fprintln(opts.Progress, "starting the file server")
	if err := d.RestartFiles(); err != nil {
		return err
	}
	fmt.Fprintln(opts.Progress, "starting the push server")
	pr, err := d.startPush()
	if err != nil {
		return err
	}
	if pr != nil {
		d.mu.Lock()
		d.pushRun = pr
		d.mu.Unlock()
	}
	fmt.Fprintln(opts.Progress, "starting the TURN server")
	tr, err := d.startTURN()
	if err != nil {
		return err
	}
	if tr != nil {
		d.mu.Lock()
		d.turnRun = tr
		d.mu.Unlock()
	}
	if err := d.Wait(ctx); err != nil {
		return err
	}
	if err := waitListening(ctx, d.files.Address); err != nil {
		return fmt.Errorf("devnet: the file server: %w", err)
	}
	return os.WriteFile(d.netPath, d.netRaw, 0o644)
}

// prepareDir makes dir ready for a new devnet: created if missing,
// cleared if a previous devnet (that no longer runs) left it. It returns
// with the folder's lock held, for the devnet to free when it stops.
//
// A devnet runs from dir if it holds the lock, or (its parent killed,
// its hushd children still running, or no flock) if its network serves a
// snapshot. The lock alone decides where it exists: an answer within a
// bound is no proof that nothing runs, since on a busy machine a running
// devnet can miss it, and clearing its folder deletes its data under it.
func prepareDir(ctx context.Context, dir string, progress io.Writer) (unlock func(), err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("devnet: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, markerFile), []byte("a hush devnet's folder: `hush devnet up` may clear it\n"), 0o600); err != nil {
			return nil, err
		}
		return lockDevnet(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, markerFile)); err != nil {
		return nil, fmt.Errorf("devnet: %s is not empty and is not a devnet's folder; choose another --dir", dir)
	}
	if unlock, err = lockDevnet(dir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			unlock()
		}
	}()
	if n, err := node.LoadNetwork(filepath.Join(dir, nodesNetworkFile)); err == nil {
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, _, ferr := FetchSnapshot(ictx, n)
		cancel()
		if ferr == nil {
			return nil, errRunning(dir)
		}
	}
	fmt.Fprintf(progress, "clearing the previous devnet in %s\n", dir)
	for _, e := range entries {
		if e.Name() == markerFile || e.Name() == lockFile {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return nil, fmt.Errorf("devnet: %w", err)
		}
	}
	return unlock, nil
}

// lockDevnet takes dir's lock, or says a devnet runs from dir.
func lockDevnet(dir string) (func(), error) {
	unlock, held, err := lockFolder(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	if held {
		return nil, errRunning(dir)
	}
	return unlock, nil
}

func errRunning(dir string) error {
	return fmt.Errorf("devnet: a devnet is running from %s; stop it first (or use another --dir)", dir)
}

// prepare creates every key, config and the network file.
func (d *Devnet) prepare() error {
	o := d.opts
	switch {
	case o.Logger != nil:
	case o.Processes:
		// Children write their own logs, each into its folder.
		d.opts.Logger = slog.New(slog.DiscardHandler)
	default:
		f, err := os.OpenFile(filepath.Join(o.Dir, LogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		d.logFile = f
		d.opts.Logger = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	ports, err := freePorts(2*o.Registries + o.Nodes + 5) // + the file and push servers, TURN's three
	if err != nil {
		return err
	}
	addr := func() string {
		p := ports[0]
		ports = ports[1:]
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	var hosts []registry.HostConfig
	keys := make([][]byte, o.Registries)
	for i := range o.Registries {
		dir := filepath.Join(o.Dir, "registry-"+strconv.Itoa(i+1))
		key, err := registry.CreateKey(dir)
		if err != nil {
			return fmt.Errorf("devnet: registry key: %w", err)
		}
		keys[i] = key
		r := Registry{Key: identity.Ed25519PublicKeyOf(key), RaftAddress: addr(), APIAddress: addr(), Dir: dir}
		d.regs = append(d.regs, r)
		hosts = append(hosts, registry.HostConfig{Key: r.Key.String(), RaftAddress: r.RaftAddress, APIAddress: r.APIAddress})
	}
	for i, r := range d.regs {
		c, err := RegistryConfig(o.NetworkID, r.Dir, hosts, i, RegistryTimers{
			Params: o.Params, EpochInterval: o.EpochInterval, SnapshotLifetime: o.SnapshotLifetime,
			ProbeInterval: o.ProbeInterval, UnreachableAfter: o.UnreachableAfter,
		})
		if err != nil {
			return err
		}
		if err := writeRegistryConfig(c); err != nil {
			return err
		}
		d.regCfgs = append(d.regCfgs, c)
	}

	net := &netfile.Network{ID: o.NetworkID, Loopback: true, Limits: netfile.DefaultLimits(), Services: o.Services}
	net.Limits.SwarmMinSize, net.Limits.SwarmIdealSize = o.Params.MinSize, o.Params.IdealSize
	for _, r := range d.regs {
		net.Registries = append(net.Registries, netfile.Registry{Address: r.APIAddress, Ed25519: r.Key})
	}
	for i := range o.Nodes {
		dir := filepath.Join(o.Dir, fmt.Sprintf("node-%02d", i+1))
		id, err := node.LoadOrCreateIdentity(dir)
		if err != nil {
			return err
		}
		n := Node{Node: snapshot.Node{Ed25519: id.Ed25519Public(), X25519: snapshot.X25519Key(id.X25519Public()), Address: addr()}, Index: i, Dir: dir}
		d.nodes = append(d.nodes, n)
		cfg := config.DefaultNode()
		cfg.Data, cfg.Listen, cfg.Advertise, cfg.Network = dir, n.Address, n.Address, filepath.Join(o.Dir, nodesNetworkFile)
		cfg.ShutdownTimeout = config.Duration(5 * time.Second)
		cfg.PublicStats = true // devnet status shows each node's message count
		cfg.AntiEntropyInterval = config.Duration(o.AntiEntropyInterval)
		if o.Node != nil {
			o.Node(i, &cfg)
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		d.nodeCfg = append(d.nodeCfg, cfg)
		if i < seedCount {
			net.Seeds = append(net.Seeds, netfile.Seed{Address: n.Address, Ed25519: n.Ed25519, X25519: n.X25519})
		}
	}
	if err := d.prepareFiles(addr(), net); err != nil {
		return err
	}
	if err := d.preparePush(net, addr()); err != nil {
		return err
	}
	if err := d.prepareTURN(net, addr(), addr(), addr()); err != nil {
		return err
	}
	b, err := netfile.Marshal(net)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, nodesNetworkFile), b, 0o644); err != nil {
		return err
	}
	d.net, d.netRaw = net, b
	return nil
}

// prepareFiles creates the file server's keys and config, listening on
// addr, and lists it in net's services.
func (d *Devnet) prepareFiles(addr string, net *netfile.Network) error {
	dir := filepath.Join(d.opts.Dir, "files")
	id, err := node.LoadOrCreateIdentityFile(dir, files.KeyFile)
	if err != nil {
		return err
	}
	ed, x := id.Ed25519Public(), snapshot.X25519Key(id.X25519Public())
	net.Services.Files = &netfile.Service{Address: addr, Ed25519: &ed, X25519: &x}
	d.files = FileServer{Address: addr, Ed25519: ed, X25519: x, Target: net.Services.Files.OnionTarget(wire.Target), Dir: dir}
	cfg := config.DefaultFiles()
	cfg.Data, cfg.Listen, cfg.Network = dir, addr, filepath.Join(d.opts.Dir, nodesNetworkFile)
	cfg.ShutdownTimeout = config.Duration(5 * time.Second)
	if err := cfg.Validate(); err != nil {
		return err
	}
	d.fileCfg = cfg
	return nil
}

// Network returns the devnet's network file.
func (d *Devnet) Network() *netfile.Network { return d.net }

// NetworkPath returns the path of the devnet's network file.
func (d *Devnet) NetworkPath() string { return d.netPath }

// Nodes returns the devnet's nodes, running or not.
func (d *Devnet) Nodes() []Node { return append([]Node(nil), d.nodes...) }

// Registries returns the devnet's registry hosts.
func (d *Devnet) Registries() []Registry { return append([]Registry(nil), d.regs...) }

// Hushd returns the hushd binary in use; empty in-process.
func (d *Devnet) Hushd() string { return d.hushd }

// NodeConfig returns node i's configuration (for commands run against
// its data directory, such as a decommission).
func (d *Devnet) NodeConfig(i int) config.Node { return d.nodeCfg[i] }

// Running reports whether node i runs.
func (d *Devnet) Running(i int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i < 0 || i >= len(d.members) || d.members[i] == nil {
		return false
	}
	select {
	case <-d.members[i].done():
		return false
	default:
		return true
	}
}

// Kill ends node i at once: SIGKILL for a process, cancellation
// in-process. The registry notices only through its probes.
func (d *Devnet) Kill(i int) error {
	r, err := d.take(i)
	if err != nil {
		return err
	}
	r.kill()
	return nil
}

// StopNode ends node i gracefully (SIGTERM for a process).
func (d *Devnet) StopNode(i int) error {
	r, err := d.take(i)
	if err != nil {
		return err
	}
	return r.stop()
}

func (d *Devnet) take(i int) (runner, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i < 0 || i >= len(d.members) || d.members[i] == nil {
		return nil, fmt.Errorf("devnet: node %d is not running", i)
	}
	r := d.members[i]
	d.members[i] = nil
	return r, nil
}

// StopRegistry stops registry host i gracefully, as in an outage; the
// nodes keep serving their last snapshot until it expires. [Devnet.Done]
// then reports the devnet as ended.
func (d *Devnet) StopRegistry(i int) error {
	d.mu.Lock()
	if i < 0 || i >= len(d.hosts) {
		d.mu.Unlock()
		return fmt.Errorf("devnet: no registry host %d", i)
	}
	r := d.hosts[i]
	d.mu.Unlock()
	return r.stop()
}

// Restart starts node i again (or the first time) with its data.
func (d *Devnet) Restart(i int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return errors.New("devnet: stopped")
	}
	if i < 0 || i >= len(d.nodes) {
		return fmt.Errorf("devnet: no node %d", i)
	}
	if d.members[i] != nil {
		return fmt.Errorf("devnet: node %d is running", i)
	}
	r, err := d.startNode(i)
	if err != nil {
		return err
	}
	d.members[i] = r
	return nil
}

// FileServer returns the devnet's file server, running or not.
func (d *Devnet) FileServer() FileServer { return d.files }

// FilesRunning reports whether the file server runs.
func (d *Devnet) FilesRunning() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fileRun == nil {
		return false
	}
	select {
	case <-d.fileRun.done():
		return false
	default:
		return true
	}
}

// KillFiles ends the file server at once: SIGKILL for a process (an
// upload in flight is cut wherever it was), cancellation in-process.
func (d *Devnet) KillFiles() error {
	r, err := d.takeFiles()
	if err != nil {
		return err
	}
	r.kill()
	return nil
}

// StopFiles ends the file server gracefully (SIGTERM for a process).
func (d *Devnet) StopFiles() error {
	r, err := d.takeFiles()
	if err != nil {
		return err
	}
	return r.stop()
}

func (d *Devnet) takeFiles() (runner, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fileRun == nil {
		return nil, errors.New("devnet: the file server is not running")
	}
	r := d.fileRun
	d.fileRun = nil
	return r, nil
}

// RestartFiles starts the file server again (or the first time) with its
// data, and returns once it listens.
func (d *Devnet) RestartFiles() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return errors.New("devnet: stopped")
	}
	if d.fileRun != nil {
		return errors.New("devnet: the file server is running")
	}
	r, err := d.startFiles()
	if err != nil {
		return err
	}
	d.fileRun = r
	return nil
}

// Stop stops the nodes and the file server, then the push server, then
// the registry hosts, and waits for all of them. It is safe to call more than once.
func (d *Devnet) Stop() error {
	d.mu.Lock()
	d.stopped = true
	members, hosts, pushRun := d.members, d.hosts, d.pushRun
	d.members, d.hosts, d.pushRun = make([]runner, len(d.nodes)), nil, nil
	if d.turnRun != nil {
		members = append(members, d.turnRun)
		d.turnRun = nil
	}
	if d.fileRun != nil {
		members = append(members, d.fileRun)
		d.fileRun = nil
	}
	d.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	// Nodes first, so they do not spend their last moments retrying a
	// registry that is already gone.
	for _, r := range members {
		if r != nil {
			wg.Go(func() {
				if err := r.stop(); err != nil {
					d.mu.Lock()
					errs = append(errs, err)
					d.mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	// The push server follows the registry: it stops before it.
	if pushRun != nil {
		if err := pushRun.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range hosts {
		wg.Go(func() {
			if err := r.stop(); err != nil {
				d.mu.Lock()
				errs = append(errs, err)
				d.mu.Unlock()
			}
		})
	}
	wg.Wait()
	if d.logFile != nil {
		d.logFile.Close()
		d.logFile = nil
	}
	// Clients find the default devnet by its file: once it is stopped,
	// they should hear "no network", not time out on dead addresses.
	os.Remove(d.netPath)
	// Last: the folder is free for the next devnet once nothing of this
	// one runs.
	d.mu.Lock()
	if d.unlock != nil {
		d.unlock()
		d.unlock = nil
	}
	d.mu.Unlock()
	return errors.Join(errs...)
}

// Done is closed when any registry host exits on its own (a crash, or a
// process killed from outside): the devnet cannot go on without it.
func (d *Devnet) Done() <-chan struct{} {
	d.mu.Lock()
	hosts := append([]runner(nil), d.hosts...)
	d.mu.Unlock()
	ch := make(chan struct{})
	var once sync.Once
	for _, h := range hosts {
		go func() {
			<-h.done()
			once.Do(func() { close(ch) })
		}()
	}
	return ch
}

// RegistryTimers are the swarm sizes and timers a test network's registry
// hosts share.
type RegistryTimers struct {
	Params                                                           swarm.Params
	EpochInterval, SnapshotLifetime, ProbeInterval, UnreachableAfter time.Duration
}

// RegistryConfig returns the validated configuration of registry host
// self of a test network whose hosts all bootstrap together: open
// admission, the first host's key the steward, and Raft timers short
// enough to elect a leader within a second yet long enough that a busy
// 2-core machine does not make leadership flap. The devnet and the
// network lab (internal/lab) both build their registries with it.
func RegistryConfig(networkID, dir string, hosts []registry.HostConfig, self int, t RegistryTimers) (*registry.Config, error) {
	c := &registry.Config{
		NetworkID: networkID, DataDir: dir,
		RaftListen: hosts[self].RaftAddress, APIListen: hosts[self].APIAddress,
		Bootstrap: true, Hosts: hosts, OpenAdmission: true, Stewards: []string{hosts[0].Key},
		SwarmMinSize: t.Params.MinSize, SwarmIdealSize: t.Params.IdealSize,
		EpochInterval: config.Duration(t.EpochInterval), SnapshotLifetime: config.Duration(t.SnapshotLifetime),
		ProbeInterval: config.Duration(t.ProbeInterval), UnreachableAfter: config.Duration(t.UnreachableAfter),
		Raft: registry.RaftConfig{
			HeartbeatTimeout: config.Duration(500 * time.Millisecond), ElectionTimeout: config.Duration(500 * time.Millisecond),
			LeaderLeaseTimeout: config.Duration(250 * time.Millisecond), CommitTimeout: config.Duration(5 * time.Millisecond),
		},
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}
