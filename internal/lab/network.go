//go:build linux

package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/labnet"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/registry"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/snapshot"
	"github.com/hushnet/hush/swarm"
)

// Ports every lab host uses on its own address.
const (
	NodePort     = "7000"
	RaftPort     = "7100"
	RegistryPort = "7200"
)

// pollEvery paces the waits; the network's timers decide how soon.
const pollEvery = 300 * time.Millisecond

// NetOptions describe a lab network. Zero values take the defaults in
// brackets.
type NetOptions struct {
	// Hushd and Hush are the binaries, built with -tags lab.
	Hushd, Hush string
	// Registries and Nodes are the hosts' addresses; names are
	// derived (reg1.., node01..).
	Registries, Nodes []string
	// Observer is the address of the host the lab inspects the
	// network from [10.77.99.1].
	Observer string
	// NodeArgs are added to every node's command line (e.g. a lower
	// per-IP rate limit).
	NodeArgs []string
	// Links is the links file every hushd reads [nothing slowed].
	Links labnet.File
	// Params are the swarm sizes [3/4].
	Params swarm.Params
	// Registry timers [500ms, 500ms, 3s, 1h].
	EpochInterval, ProbeInterval, UnreachableAfter, SnapshotLifetime time.Duration
	// TURN, when set, is listed as the network file's services.turn
	// (the caller runs the server) [none].
	TURN *netfile.Service
}

// Network is a hush network running in a lab.
type Network struct {
	Lab      *Lab
	Opts     NetOptions
	Net      *netfile.Network
	NetPath  string
	Observer *Host
	Regs     []*Server

	linksPath string

	mu    sync.Mutex // guards Nodes after the start
	Nodes []*Server
	env   []string
}

// newNode creates a node's host, identity and arguments.
func (n *Network) newNode(addr string) (*Server, netfile.Seed, error) {
	n.mu.Lock()
	name := fmt.Sprintf("node%02d", len(n.Nodes)+1)
	n.mu.Unlock()
	h, err := n.Lab.AddHost(name, addr)
	if err != nil {
		return nil, netfile.Seed{}, err
	}
	dir := filepath.Join(n.Lab.Dir, h.Name)
	id, err := node.LoadOrCreateIdentity(dir)
	if err != nil {
		return nil, netfile.Seed{}, err
	}
	ed := id.Ed25519Public()
	s := &Server{Host: h, Dir: dir, Key: ed.String(), env: n.env, bin: n.Opts.Hushd}
	a := addr + ":" + NodePort
	s.args = []string{"node", "--network", n.NetPath, "--data", dir, "--listen", a, "--advertise", a,
		"--shutdown-timeout", "5s", "--public-stats"}
	s.args = append(s.args, n.Opts.NodeArgs...)
	n.mu.Lock()
	n.Nodes = append(n.Nodes, s)
	n.mu.Unlock()
	return s, netfile.Seed{Address: a, Ed25519: ed, X25519: snapshot.X25519Key(id.X25519Public())}, nil
}

// AddNode creates and starts one more node at addr; it registers on
// its own.
func (n *Network) AddNode(addr string) (*Server, error) {
	s, _, err := n.newNode(addr)
	if err != nil {
		return nil, err
	}
	return s, s.Start(n.Lab)
}

// nodes returns the nodes so far.
func (n *Network) nodes() []*Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Server(nil), n.Nodes...)
}

// Server is one registry host or node.
type Server struct {
	Host *Host
	Dir  string
	// Key is its Ed25519 key as hex.
	Key  string
	args []string
	env  []string
	bin  string

	mu   sync.Mutex
	proc *Proc
}

// Proc returns the running process, or nil.
func (s *Server) Proc() *Proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// StartNetwork creates the hosts, writes the configs and the network
// file, starts the registry hosts and the nodes, and returns once the
// network has formed ([Network.WaitFormed]).
func (l *Lab) StartNetwork(ctx context.Context, o NetOptions) (*Network, error) {
	if o.Observer == "" {
		o.Observer = "10.77.99.1"
	}
	if o.Params == (swarm.Params{}) {
		o.Params = swarm.DevnetParams()
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
	n := &Network{Lab: l, Opts: o, NetPath: filepath.Join(l.Dir, "network.json")}
	links, err := o.Links.Marshal()
	if err != nil {
		return nil, err
	}
	linksPath := filepath.Join(l.Dir, "links.json")
	n.linksPath = linksPath
	if err := os.WriteFile(linksPath, links, 0o644); err != nil {
		return nil, err
	}
	env := []string{labnet.EnvLinks + "=" + linksPath}
	if n.Observer, err = l.AddHost("obs", o.Observer); err != nil {
		return nil, err
	}
	var hosts []registry.HostConfig
	var regKeys []identity.Ed25519PublicKey
	for i, addr := range o.Registries {
		h, err := l.AddHost(fmt.Sprintf("reg%d", i+1), addr)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(l.Dir, h.Name)
		key, err := registry.CreateKey(dir)
		if err != nil {
			return nil, err
		}
		regKeys = append(regKeys, identity.Ed25519PublicKeyOf(key))
		s := &Server{Host: h, Dir: dir, Key: identity.Ed25519PublicKeyOf(key).String(), env: env, bin: o.Hushd}
		n.Regs = append(n.Regs, s)
		hosts = append(hosts, registry.HostConfig{Key: s.Key, RaftAddress: addr + ":" + RaftPort, APIAddress: addr + ":" + RegistryPort})
	}
	nf := &netfile.Network{ID: "lab", Limits: netfile.DefaultLimits()}
	nf.Services.TURN = o.TURN
	nf.Limits.SwarmMinSize, nf.Limits.SwarmIdealSize = o.Params.MinSize, o.Params.IdealSize
	for i, s := range n.Regs {
		c, err := devnet.RegistryConfig(nf.ID, s.Dir, hosts, i, devnet.RegistryTimers{
			Params: o.Params, EpochInterval: o.EpochInterval, SnapshotLifetime: o.SnapshotLifetime,
			ProbeInterval: o.ProbeInterval, UnreachableAfter: o.UnreachableAfter,
		})
		if err != nil {
			return nil, err
		}
		path := filepath.Join(s.Dir, "registry.toml")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, err
		}
		err = toml.NewEncoder(f).Encode(c)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("lab: registry config: %w", err)
		}
		s.args = []string{"registry", "run", "--config", path, "--log-level", "info"}
		nf.Registries = append(nf.Registries, netfile.Registry{Address: hosts[i].APIAddress, Ed25519: regKeys[i]})
	}
	n.env = env
	for _, addr := range o.Nodes {
		_, seed, err := n.newNode(addr)
		if err != nil {
			return nil, err
		}
		if len(nf.Seeds) < 3 {
			nf.Seeds = append(nf.Seeds, seed)
		}
	}
	b, err := netfile.Marshal(nf)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(n.NetPath, b, 0o644); err != nil {
		return nil, err
	}
	n.Net = nf
	for _, s := range n.Regs {
		if err := s.Start(l); err != nil {
			return nil, err
		}
	}
	for _, s := range n.nodes() {
		if err := s.Start(l); err != nil {
			return nil, err
		}
	}
	return n, n.WaitFormed(ctx)
}

// Start starts the server (again) with its data.
func (s *Server) Start(l *Lab) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		select {
		case <-s.proc.Done():
		default:
			return fmt.Errorf("lab: %s is running", s.Host.Name)
		}
	}
	p, err := l.Start(s.Host, filepath.Join(s.Dir, "hushd.log"), s.env, s.bin, s.args...)
	if err != nil {
		return err
	}
	s.proc = p
	return nil
}

// Kill ends the server with SIGKILL.
func (s *Server) Kill() {
	if p := s.Proc(); p != nil {
		p.Kill()
	}
}

// Running reports whether the server's process runs.
func (s *Server) Running() bool {
	p := s.Proc()
	if p == nil {
		return false
	}
	select {
	case <-p.Done():
		return false
	default:
		return true
	}
}

// Status asks `hush devnet status` in the observer's namespace.
func (n *Network) Status(ctx context.Context) (*devnet.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := n.Lab.Run(ctx, n.Observer, nil, n.Opts.Hush, "devnet", "status", "--json", "--network", n.NetPath)
	if err != nil {
		return nil, err
	}
	var st devnet.Status
	if err := json.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("lab: status: %w", err)
	}
	return &st, nil
}

// formed reports whether every running node is up and in a swarm.
func (n *Network) formed(st *devnet.Status) (bool, string) {
	byKey := map[string]devnet.NodeStatus{}
	for _, ns := range st.Nodes {
		byKey[ns.PubkeyEd25519] = ns
	}
	running, placed := 0, 0
	for _, s := range n.nodes() {
		if !s.Running() {
			continue
		}
		running++
		if ns, ok := byKey[s.Key]; ok && ns.Up && ns.SwarmID != nil {
			placed++
		}
	}
	return placed == running, fmt.Sprintf("epoch %d: %d/%d running nodes up in swarms", st.Epoch, placed, running)
}

// WaitFormed returns once every running node is up and in a swarm of
// the newest snapshot, or fails when a server exits or ctx ends.
func (n *Network) WaitFormed(ctx context.Context) error {
	return n.WaitFor(ctx, func(st *devnet.Status) (bool, string) { return n.formed(st) })
}

// WaitFor polls the status until cond holds.
func (n *Network) WaitFor(ctx context.Context, cond func(*devnet.Status) (bool, string)) error {
	last := "no status yet"
	for {
		st, err := n.Status(ctx)
		if err == nil {
			var ok bool
			if ok, last = cond(st); ok {
				return nil
			}
		} else {
			last = err.Error()
		}
		for _, s := range append(append([]*Server(nil), n.Regs...), n.nodes()...) {
			if p := s.Proc(); p != nil {
				select {
				case <-p.Done():
					if p.err != nil && !strings.Contains(p.err.Error(), "killed") {
						return fmt.Errorf("lab: %s exited (%v); see %s/hushd.log", s.Host.Name, p.err, s.Dir)
					}
				default:
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lab: waiting (%s): %w", last, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// Leader returns the index of the registry host that says it leads.
func (n *Network) Leader(st *devnet.Status) (int, error) {
	for i, r := range st.Registries {
		if r.Up && r.Role == "leader" {
			return i, nil
		}
	}
	return -1, errors.New("lab: no registry leader")
}

// Node returns the node with Ed25519 key key.
func (n *Network) Node(key string) *Server {
	for _, s := range n.nodes() {
		if s.Key == key {
			return s
		}
	}
	return nil
}

// SetLinks replaces the links file; every lab process reads it again
// within a second (internal/labnet), open connections included.
func (n *Network) SetLinks(f labnet.File) error {
	b, err := f.Marshal()
	if err != nil {
		return err
	}
	tmp := n.linksPath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, n.linksPath)
}
