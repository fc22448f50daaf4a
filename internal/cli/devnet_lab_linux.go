//go:build linux

package cli

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/lab"
	"github.com/hushnet/hush/internal/labnet"
)

// labMarker marks a folder `hush devnet up --lab` made, so that it only
// ever clears its own.
const labMarker = ".hush-lab"

// labHost is a lab host as --json prints it.
type labHost struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Address   string `json:"address"`
}

// labClient is a client namespace as --json prints it: Env and Command
// run hush as this client.
type labClient struct {
	labHost
	ID      string   `json:"id"`
	Home    string   `json:"home"`
	Env     []string `json:"env"`
	Command []string `json:"command"`
}

// devnetUpLab is `hush devnet up --lab`: the devnet's hosts in network
// namespaces of a lab (internal/lab), until ctx ends.
func (a *app) devnetUpLab(ctx context.Context, opts devnet.Options, profile string, demo bool) (err error) {
	if err := lab.Available(); err != nil {
		return fmt.Errorf("%w (--lab needs root and `ip`)", err)
	}
	if _, ok := labnet.Profiles[profile]; !ok {
		return fmt.Errorf("devnet: no lab profile %q; want one of %s", profile, strings.Join(slices.Sorted(maps.Keys(labnet.Profiles)), ", "))
	}
	dir := filepath.Join(opts.Dir, "lab")
	if err := prepareLabDir(dir); err != nil {
		return err
	}
	hushd, err := labHushd(ctx, opts.HushdPath, dir, opts.Progress)
	if err != nil {
		return err
	}
	hush, err := os.Executable()
	if err != nil {
		return err
	}
	l, err := lab.New(dir)
	if err != nil {
		return err
	}
	// Everything the lab made goes, however this ends: its processes
	// also die with this one (Pdeathsig), and a run killed with -9
	// leaves namespaces the next lab.New removes.
	defer func() {
		fmt.Fprintln(a.stderr, "hush devnet: stopping the lab")
		if cerr := l.Close(); cerr != nil {
			err = errors.Join(err, cerr)
			return
		}
		fmt.Fprintf(a.stderr, "hush devnet: stopped; namespaces %s* removed\n", l.ID)
	}()
	fmt.Fprintf(opts.Progress, "starting lab %s: %d nodes, %d registry host(s), links %q\n", l.ID, opts.Nodes, opts.Registries, profile)
	sctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	d, err := l.StartDevnet(sctx, lab.DevnetOptions{Hushd: hushd, Hush: hush, Nodes: opts.Nodes, Registries: opts.Registries, Profile: profile})
	if err != nil {
		return err
	}
	var sent string
	if demo {
		if sent, err = labDemo(ctx, d); err != nil {
			fmt.Fprintf(a.stderr, "hush devnet: the demo failed (the devnet keeps running): %v\n", err)
		}
	}
	a.printLabUp(l, d, hush, profile, sent)
	if !a.jsonOut {
		fmt.Fprintln(a.stdout, "\nPress Ctrl-C to stop.")
	}
	<-ctx.Done()
	return nil
}

// prepareLabDir empties dir if a previous lab devnet made it, and
// refuses a folder it did not make.
func prepareLabDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0):
	case err != nil:
		return fmt.Errorf("devnet: %w", err)
	default:
		if _, err := os.Stat(filepath.Join(dir, labMarker)); err != nil {
			return fmt.Errorf("devnet: %s is not empty and is not a lab devnet's folder; choose another --dir", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("devnet: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, labMarker), []byte("a lab devnet's folder: `hush devnet up --lab` clears it\n"), 0o600)
}

// labBuilt reports whether the binary at path was built with -tags lab,
// from the build settings Go records in every binary: only such a hushd
// slows its links (internal/labnet).
func labBuilt(path string) bool {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-tags" && slices.Contains(strings.Split(s.Value, ","), "lab") {
			return true
		}
	}
	return false
}

// labHushd finds a hushd built with -tags lab: path if given, else
// hushd next to this program or on PATH if it is one, else one built
// with `go build -tags lab` into dir/bin (from a source checkout).
func labHushd(ctx context.Context, path, dir string, progress io.Writer) (string, error) {
	if path != "" {
		if !labBuilt(path) {
			return "", fmt.Errorf("devnet: %s was not built with -tags lab, so its links would not be slowed (go build -tags lab ./cmd/hushd)", path)
		}
		return path, nil
	}
	var candidates []string
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "hushd"))
	}
	if p, err := exec.LookPath("hushd"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		if labBuilt(p) {
			fmt.Fprintf(progress, "using %s\n", p)
			return p, nil
		}
	}
	out := filepath.Join(dir, "bin", "hushd")
	fmt.Fprintf(progress, "building hushd with -tags lab into %s\n", out)
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lab", "-o", out, "github.com/hushnet/hush/cmd/hushd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("devnet: no lab-built hushd (--hushd, next to this program or on PATH), and go build -tags lab failed: %v\n%s", err, b)
	}
	return out, nil
}

// labDemoText is what the lab demo sends.
const labDemoText = "Hello Bob! This crossed the lab's links through a three-hop onion path."

// labDemo has the first client send the second a message, each in its
// namespace, and waits until it arrives.
func labDemo(ctx context.Context, d *lab.Devnet) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	from, to := d.Clients[0], d.Clients[1]
	if _, err := from.Send(ctx, to.ID, labDemoText); err != nil {
		return "", fmt.Errorf("demo send: %w", err)
	}
	for {
		ms, err := to.Receive(ctx)
		for _, m := range ms {
			if m.Text == labDemoText {
				return m.Text, nil
			}
		}
		if err != nil && ctx.Err() != nil {
			return "", fmt.Errorf("demo receive: %w", err)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("demo receive: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

func (a *app) printLabUp(l *lab.Lab, d *lab.Devnet, hush, profile, sent string) {
	n := d.Net
	hostOf := func(h *lab.Host) labHost { return labHost{Name: h.Name, Namespace: h.NS, Address: h.Addr} }
	var regs, nodes []labHost
	for _, s := range n.Regs {
		regs = append(regs, hostOf(s.Host))
	}
	for _, s := range n.Nodes {
		nodes = append(nodes, hostOf(s.Host))
	}
	var clients []labClient
	for _, c := range d.Clients {
		clients = append(clients, labClient{labHost: hostOf(c.Host), ID: c.ID, Home: c.Home, Env: c.Env(), Command: c.Command(hush)})
	}
	if a.jsonOut {
		a.printJSON(map[string]any{
			"lab": l.ID, "dir": l.Dir, "network": n.NetPath, "network_id": n.Net.ID, "profile": profile,
			"registries": regs, "nodes": nodes, "clients": clients, "demo_received": sent,
		})
		return
	}
	p := labnet.Profiles[profile]
	fmt.Fprintf(a.stdout, "hush devnet %q is up in lab %s: %d nodes, %d registry host(s), every link %q (%v round trip",
		n.Net.ID, l.ID, len(nodes), len(regs), profile, p.RTT)
	if p.Jitter > 0 || p.Loss > 0 {
		fmt.Fprintf(a.stdout, ", ±%v jitter, %.0f%% loss", p.Jitter, 100*p.Loss)
	}
	if p.Rate > 0 {
		fmt.Fprintf(a.stdout, ", %g Mbit/s each way per host", float64(p.Rate)/1e6)
	}
	fmt.Fprintf(a.stdout, ")\n\n  folder   %s\n  network  %s\n  logs     %s\n\n",
		l.Dir, n.NetPath, filepath.Join(l.Dir, "HOST", "hushd.log"))
	fmt.Fprintln(a.stdout, "Each host runs in its own network namespace; the root namespace cannot reach them.")
	for _, h := range append(append(regs, nodes...), hostOf(n.Observer)) {
		fmt.Fprintf(a.stdout, "  %-8s %-12s %s\n", h.Name, h.Address, h.Namespace)
	}
	if sent != "" {
		fmt.Fprintf(a.stdout, "\nDemo: %s sent %s a message across the lab, and it arrived:\n\n  %s → %s: %s\n",
			d.Clients[0].Host.Name, d.Clients[1].Host.Name, d.Clients[0].Host.Name, d.Clients[1].Host.Name, sent)
	}
	fmt.Fprintln(a.stdout, "\nRun hush as a client, inside its namespace (as root):")
	for i, c := range clients {
		other := clients[(i+1)%len(clients)]
		args := []string{"receive", "--follow"}
		if i > 0 {
			args = []string{"send", other.ID, "'hi " + other.Name + "'"}
		}
		fmt.Fprintf(a.stdout, "\n  # %s (%s, %s)\n  %s\n", c.Name, c.Address, c.ID, strings.Join(d.Clients[i].Command(hush, args...), " "))
	}
	fmt.Fprintf(a.stdout, "\nStopping (Ctrl-C, SIGTERM) ends every process and deletes every namespace named %s*;\n"+
		"after a kill -9, the next `hush devnet up --lab` deletes what was left.\n", l.ID)
}
