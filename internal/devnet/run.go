package devnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hushnet/hush/internal/files"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/registry"
)

// registryConfigFile is a host's config inside its folder; hushd
// registry run reads it in processes mode.
const registryConfigFile = "registry.toml"

// childLog is a child process's stderr inside its folder.
const childLog = "hushd.log"

// stopTimeout bounds a graceful stop before the kill.
const stopTimeout = 10 * time.Second

func writeRegistryConfig(c *registry.Config) error {
	f, err := os.OpenFile(filepath.Join(c.DataDir, registryConfigFile), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := toml.NewEncoder(f).Encode(c); err != nil {
		f.Close()
		return fmt.Errorf("devnet: registry config: %w", err)
	}
	return f.Close()
}

func (d *Devnet) startHost(i int) (runner, error) {
	c := d.regCfgs[i]
	if d.opts.Processes {
		return d.startProcess(c.DataDir, "registry", "run", "--config", filepath.Join(c.DataDir, registryConfigFile), "--log-level", "info")
	}
	key, err := registry.LoadKey(c.DataDir)
	if err != nil {
		return nil, err
	}
	h, err := registry.New(c, key, registry.Options{Logger: d.opts.Logger.With("registry", i+1)})
	if err != nil {
		return nil, err
	}
	return goRun(h.Run), nil
}

func (d *Devnet) startNode(i int) (runner, error) {
	cfg := d.nodeCfg[i]
	if d.opts.Processes {
		args := []string{"node", "--network", cfg.Network, "--data", cfg.Data,
			"--listen", cfg.Listen, "--advertise", cfg.Advertise, "--shutdown-timeout", cfg.ShutdownTimeout.D().String(), "--public-stats",
			"--anti-entropy-interval", cfg.AntiEntropyInterval.D().String(),
			"--push-notify-interval", cfg.PushNotifyInterval.D().String()}
		if cfg.Metrics != "" { // set by Options.Node
			args = append(args, "--metrics", cfg.Metrics)
		}
		return d.startProcess(cfg.Data, args...)
	}
	var opts []node.Option
	if d.opts.WrapRPC != nil {
		if wrap := d.opts.WrapRPC(i); wrap != nil {
			opts = append(opts, node.WithRPCWrapper(wrap))
		}
	}
	n, err := node.New(cfg, d.opts.Logger.With("node", fmt.Sprintf("%02d", i+1)), opts...)
	if err != nil {
		return nil, err
	}
	// Run opens the listeners: an error there is a start error, as for a
	// process that exits at once.
	g := goRun(n.Run)
	select {
	case <-n.Ready():
		return g, nil
	case <-g.done():
		return nil, g.err
	}
}

func (d *Devnet) startFiles() (runner, error) {
	cfg := d.fileCfg
	if d.opts.Processes {
		p, err := d.startProcess(cfg.Data, "files", "--network", cfg.Network, "--data", cfg.Data,
			"--listen", cfg.Listen, "--shutdown-timeout", cfg.ShutdownTimeout.D().String())
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		go func() {
			<-p.exited
			cancel()
		}()
		if err := waitListening(ctx, cfg.Listen); err != nil {
			p.kill()
			return nil, fmt.Errorf("devnet: the file server did not start: %w", err)
		}
		return p, nil
	}
	s, err := files.New(cfg, d.opts.Logger.With("files", 1))
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

// waitListening waits until something accepts TCP connections at addr.
func waitListening(ctx context.Context, addr string) error {
	for {
		var dl net.Dialer
		c, err := dl.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// FilesPid returns the file server's process ID, or 0 in-process or when
// it is not running.
func (d *Devnet) FilesPid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.fileRun.(*process); ok && p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

// goroutine runs a host or node in this process.
type goroutine struct {
	cancel context.CancelFunc
	exited chan struct{}
	err    error // set before exited closes
}

func goRun(run func(context.Context) error) *goroutine {
	ctx, cancel := context.WithCancel(context.Background())
	g := &goroutine{cancel: cancel, exited: make(chan struct{})}
	go func() {
		defer close(g.exited)
		if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			g.err = err
		}
	}()
	return g
}

func (g *goroutine) stop() error {
	g.cancel()
	<-g.exited
	return g.err
}

// kill is stop: a goroutine cannot be killed, and a node's stop is
// already abrupt for its clients once its listener closes.
func (g *goroutine) kill()                 { g.stop() }
func (g *goroutine) done() <-chan struct{} { return g.exited }

// process is a hushd child.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited closes
}

func (d *Devnet) startProcess(dir string, args ...string) (*process, error) {
	logf, err := os.OpenFile(filepath.Join(dir, childLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(d.hushd, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("devnet: start %s: %w", d.hushd, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		defer close(p.exited)
		p.err = cmd.Wait()
		logf.Close()
	}()
	return p, nil
}

func (p *process) stop() error {
	select {
	case <-p.exited:
		return nil // already gone (killed from outside)
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			return fmt.Errorf("devnet: %s: %w", p.cmd.Args[1], p.err)
		}
		return nil
	case <-time.After(stopTimeout):
		p.kill()
		return fmt.Errorf("devnet: %s did not stop within %s; killed", p.cmd.Args[1], stopTimeout)
	}
}

func (p *process) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

func (p *process) done() <-chan struct{} { return p.exited }

// Pid returns node i's process ID, or 0 in-process or when it is not
// running.
func (d *Devnet) Pid(i int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i < 0 || i >= len(d.members) {
		return 0
	}
	if p, ok := d.members[i].(*process); ok && p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}
