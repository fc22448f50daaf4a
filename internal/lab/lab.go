//go:build linux

package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Prefix starts the name of every namespace a lab creates.
const Prefix = "hushlab-"

// Subnet is the lab's address range; every host's eth0 is in it.
const Subnet = "10.77.0.0/16"

// ErrUnavailable reports a machine where the lab cannot run (not root,
// no `ip`, or no network namespaces).
var ErrUnavailable = errors.New("lab: network namespaces unavailable")

// ipTimeout bounds one `ip` command.
const ipTimeout = 30 * time.Second

// stopTimeout bounds a graceful stop before the kill.
const stopTimeout = 10 * time.Second

// Lab is one run's namespaces and processes. Its methods are safe for
// concurrent use.
type Lab struct {
	// ID prefixes every namespace of this run.
	ID string
	// Dir holds the run's files (configs, data, logs).
	Dir string

	bridge string // the bridge namespace

	mu     sync.Mutex
	hosts  []*Host
	procs  map[*Proc]struct{}
	closed bool
}

// Host is one namespace with one address.
type Host struct {
	Name string
	// NS is the namespace's name.
	NS string
	// Addr is the host's address (no prefix length).
	Addr string
	// port is the host's veth end on the bridge.
	port string
}

// ip runs `ip args...`.
func ip(args ...string) error {
	_, err := command("ip", args...)
	return err
}

// command runs name (ip or tc) with args and returns its output.
func command(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ipTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("lab: %s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// Available reports why the lab cannot run here, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: not root", ErrUnavailable)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	probe := fmt.Sprintf("%sprobe-%d", Prefix, os.Getpid())
	if err := ip("netns", "add", probe); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return ip("netns", "del", probe)
}

// CleanStale deletes the namespaces of lab runs whose process is gone.
func CleanStale() error {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return fmt.Errorf("lab: ip netns list: %w", err)
	}
	var errs []error
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], Prefix) {
			continue
		}
		// hushlab-PID-... : the run is over when PID is gone.
		rest := strings.TrimPrefix(f[0], Prefix)
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err == nil && pid > 0 && syscall.Kill(pid, 0) == nil {
			continue
		}
		if err := ip("netns", "del", f[0]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// New creates a lab: the stale namespaces of earlier runs are removed,
// then the bridge namespace created. dir holds the run's files.
func New(dir string) (*Lab, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if err := CleanStale(); err != nil {
		return nil, err
	}
	var r [3]byte
	rand.Read(r[:])
	l := &Lab{ID: fmt.Sprintf("%s%d-%s", Prefix, os.Getpid(), hex.EncodeToString(r[:])), Dir: dir, procs: map[*Proc]struct{}{}}
	l.bridge = l.ID + "-br"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	for _, args := range [][]string{
		{"netns", "add", l.bridge},
		{"-n", l.bridge, "link", "set", "lo", "up"},
		{"-n", l.bridge, "link", "add", "br0", "type", "bridge"},
		{"-n", l.bridge, "link", "set", "br0", "up"},
	} {
		if err := ip(args...); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// AddHost creates a namespace named after name with addr on its eth0,
// plugged into the lab's bridge.
func (l *Lab) AddHost(name, addr string) (*Host, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("lab: closed")
	}
	h := &Host{Name: name, NS: l.ID + "-" + name, Addr: addr, port: "p" + strconv.Itoa(len(l.hosts))}
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()
	for _, args := range [][]string{
		{"netns", "add", h.NS},
		{"-n", h.NS, "link", "set", "lo", "up"},
		// Both ends are created in their namespaces at once: the root
		// namespace never holds either.
		{"link", "add", "eth0", "netns", h.NS, "type", "veth", "peer", "name", h.port, "netns", l.bridge},
		{"-n", l.bridge, "link", "set", h.port, "master", "br0"},
		{"-n", l.bridge, "link", "set", h.port, "up"},
		{"-n", h.NS, "addr", "add", addr + "/16", "dev", "eth0"},
		{"-n", h.NS, "link", "set", "eth0", "up"},
	} {
		if err := ip(args...); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Hosts returns the lab's hosts so far.
func (l *Lab) Hosts() []*Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Host(nil), l.hosts...)
}

// Partition cuts h off: its bridge port goes down.
func (l *Lab) Partition(h *Host) error { return ip("-n", l.bridge, "link", "set", h.port, "down") }

// Heal plugs h back in.
func (l *Lab) Heal(h *Host) error { return ip("-n", l.bridge, "link", "set", h.port, "up") }

// Block drops, silently and in both directions, the traffic between h
// and the hosts in others: a blackhole route in each namespace (the lab's
// own, never the root's), so only these pairs are partitioned.
func (l *Lab) Block(h *Host, others ...*Host) error {
	return l.block("add", h, others)
}

// Unblock undoes Block.
func (l *Lab) Unblock(h *Host, others ...*Host) error {
	return l.block("del", h, others)
}

func (l *Lab) block(op string, h *Host, others []*Host) error {
	var errs []error
	for _, o := range others {
		errs = append(errs,
			ip("-n", h.NS, "route", op, "blackhole", o.Addr+"/32"),
			ip("-n", o.NS, "route", op, "blackhole", h.Addr+"/32"))
	}
	return errors.Join(errs...)
}

// ShapeBurst is the token bucket of Shape's tbf, in bytes: a few
// full-size frames, so a transfer runs at the rate after its first
// milliseconds.
const ShapeBurst = 16 << 10

// Shape limits h's link to rate bits per second each way with `tc tbf`:
// on h's eth0 (what h sends) and on its port of the bridge (what h
// receives), both in the lab's namespaces. rate 0 takes the limits off.
// A queue of 400 ms at the rate is kept; past it tbf drops, and TCP
// backs off as on a real bottleneck.
func (l *Lab) Shape(h *Host, rate int64) error {
	var errs []error
	for _, dev := range [][2]string{{h.NS, "eth0"}, {l.bridge, h.port}} {
		if rate <= 0 {
			// "No such qdisc" when there is none: nothing to take off.
			command("tc", "-n", dev[0], "qdisc", "del", "dev", dev[1], "root")
			continue
		}
		_, err := command("tc", "-n", dev[0], "qdisc", "replace", "dev", dev[1], "root", "tbf",
			"rate", strconv.FormatInt(rate, 10)+"bit", "burst", strconv.Itoa(ShapeBurst), "latency", "400ms")
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Counters are a host's eth0 byte counters, frames' headers included.
type Counters struct {
	TxBytes, RxBytes uint64
}

// Counters reads h's eth0 counters (`ip -s link`, in h's namespace).
func (l *Lab) Counters(h *Host) (Counters, error) {
	out, err := command("ip", "-n", h.NS, "-j", "-s", "link", "show", "eth0")
	if err != nil {
		return Counters{}, err
	}
	var links []struct {
		Stats64 struct {
			Rx struct {
				Bytes uint64 `json:"bytes"`
			} `json:"rx"`
			Tx struct {
				Bytes uint64 `json:"bytes"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return Counters{}, fmt.Errorf("lab: ip -s link of %s: %q: %v", h.Name, out, err)
	}
	return Counters{TxBytes: links[0].Stats64.Tx.Bytes, RxBytes: links[0].Stats64.Rx.Bytes}, nil
}

// Proc is a process running in a host's namespace.
type Proc struct {
	Host *Host
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done closes
}

// Start runs bin with args in h's namespace, with env added to the
// environment, its output appended to logPath.
func (l *Lab) Start(h *Host, logPath string, env []string, bin string, args ...string) (*Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	// `ip netns exec` execs bin in place, so the child's PID is bin's.
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS, bin}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = filepath.Dir(logPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		logf.Close()
		return nil, errors.New("lab: closed")
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("lab: start %s: %w", bin, err)
	}
	p := &Proc{Host: h, cmd: cmd, done: make(chan struct{})}
	l.procs[p] = struct{}{}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
		l.mu.Lock()
		delete(l.procs, p)
		l.mu.Unlock()
	}()
	return p, nil
}

// Pid is the process's ID.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Kill ends the process with SIGKILL and waits.
func (p *Proc) Kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop ends the process with SIGTERM, SIGKILL after a while, and waits.
func (p *Proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.Kill()
	}
}

// Run runs bin with args in h's namespace and returns its output.
func (l *Lab) Run(ctx context.Context, h *Host, env []string, bin string, args ...string) (stdout []byte, err error) {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, bin}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("lab: %s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, bytes.TrimSpace(errb.Bytes()))
	}
	return out.Bytes(), nil
}

// Close stops every process the lab started and deletes its
// namespaces. It is safe to call more than once.
func (l *Lab) Close() error {
	l.mu.Lock()
	l.closed = true
	procs := make([]*Proc, 0, len(l.procs))
	for p := range l.procs {
		procs = append(procs, p)
	}
	hosts := l.hosts
	l.hosts = nil
	l.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(p.Stop)
	}
	wg.Wait()
	var errs []error
	for _, h := range hosts {
		if err := ip("netns", "del", h.NS); err != nil {
			errs = append(errs, err)
		}
	}
	if l.bridge != "" {
		if err := ip("netns", "del", l.bridge); err != nil {
			errs = append(errs, err)
		}
		l.bridge = ""
	}
	return errors.Join(errs...)
}
