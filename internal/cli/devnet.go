package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/netlookup"
)

func (a *app) devnetCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "devnet",
		Short: "Run a whole hush network on this machine (registry and nodes on 127.0.0.1)",
	}
	cmd.AddCommand(a.devnetUpCommand(), a.devnetStatusCommand())
	return cmd
}

func (a *app) devnetUpCommand() *cobra.Command {
	var opts devnet.Options
	var demo, inLab bool
	var labProfile string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a devnet and run it until Ctrl-C or SIGTERM",
		Long: `Start registry host(s) and service nodes on 127.0.0.1 with free ports, each
with its own data folder under --dir, wait until every node is registered
and in a swarm, write the network file --dir/network.json, and run until
Ctrl-C or SIGTERM, then stop everything. Unless --demo=false, it then
creates two demo accounts, alice and bob, in --dir/demo, sends a message
from alice to bob through onion paths, and prints how to chat as them.

Point hush at the devnet with --network FILE or HUSH_NETWORK (the default
devnet's file is found without either). A previous devnet in --dir is
cleared first: a devnet's folder is scratch data.

By default everything runs inside this process. With --processes every
host and node is its own hushd process (so one can be killed with kill -9):
hushd is taken from next to this program, else from PATH, else built with
"go build" into --dir/bin (which needs a source checkout).

With --lab (Linux, as root, with ip) every registry host and node is a
hushd process in a network namespace of its own, with its own address in
10.77.0.0/16, and every link slowed as --lab-profile says (lan: 1 ms
round trip; continental: 30 ms, 100 Mbit/s; intercontinental: 150 ms,
20 Mbit/s; mobile: 80 ms with jitter and 2% loss, 2 Mbit/s; the rates by
tc tbf on each host's link); see internal/lab. Two client namespaces, alice
and bob, get an account each, and the command lines that run hush as them
are printed. Stopping ends every process and deletes every namespace.
hushd must be built with -tags lab (--hushd, else next to this program
or on PATH if it is one, else built into --dir/lab/bin).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Dir == "" {
				dir, err := netlookup.DevnetDir()
				if err != nil {
					return err
				}
				opts.Dir = dir
			}
			abs, err := filepath.Abs(opts.Dir)
			if err != nil {
				return err
			}
			opts.Dir = abs
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts.Progress = prefixWriter{a.stderr, "hush devnet: "}
			if inLab {
				return a.devnetUpLab(ctx, opts, labProfile, demo)
			}
			d, err := devnet.Up(ctx, opts)
			if err != nil {
				return err
			}
			a.printDevnetUp(d, opts)
			if demo {
				accts, text, err := a.runDemo(ctx, d, opts.Dir, opts.Timeout)
				if err != nil {
					fmt.Fprintf(a.stderr, "hush devnet: the demo failed (the devnet keeps running): %v\n", err)
				} else if !a.jsonOut {
					a.printDemo(d, accts, text)
				} else {
					a.printJSON(map[string]any{"demo": accts, "received": text})
				}
			}
			if !a.jsonOut {
				fmt.Fprintln(a.stdout, "\nPress Ctrl-C to stop.")
			}
			select {
			case <-ctx.Done():
			case <-d.Done():
				fmt.Fprintln(a.stderr, "hush devnet: a registry host stopped; stopping the devnet")
			}
			fmt.Fprintln(a.stderr, "hush devnet: stopping")
			if err := d.Stop(); err != nil {
				return err
			}
			fmt.Fprintln(a.stderr, "hush devnet: stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Dir, "dir", "", "devnet folder (default: devnet in the state directory, $XDG_STATE_HOME/hush or ~/.local/state/hush)")
	f.IntVar(&opts.Nodes, "nodes", 12, "number of service nodes")
	f.IntVar(&opts.Registries, "registries", 1, "number of registry hosts: 1 or 3")
	f.BoolVar(&opts.Processes, "processes", false, "run each host and node as its own hushd process")
	f.StringVar(&opts.HushdPath, "hushd", "", "hushd binary for --processes (default: next to hush, PATH, or go build)")
	f.BoolVar(&demo, "demo", true, "create two demo accounts (alice, bob) and send a first message between them")
	f.BoolVar(&inLab, "lab", false, "run each host and node in a network namespace of its own (Linux, root; see above)")
	f.StringVar(&labProfile, "lab-profile", "lan", "with --lab, every link's profile: lan, continental, intercontinental or mobile")
	f.DurationVar(&opts.Timeout, "timeout", 2*time.Minute, "give up if the devnet has not formed after this long (building hushd not counted)")
	f.DurationVar(&opts.UnreachableAfter, "unreachable-after", 3*time.Second, "deregister a node that has not answered the registry's probes for this long (short, so that a node you stop leaves its swarm soon)")
	return cmd
}

func (a *app) printDevnetUp(d *devnet.Devnet, opts devnet.Options) {
	n := d.Network()
	if a.jsonOut {
		a.printJSON(map[string]any{
			"dir": opts.Dir, "network": d.NetworkPath(), "network_id": n.ID,
			"nodes": len(d.Nodes()), "registries": len(d.Registries()), "processes": opts.Processes,
		})
		return
	}
	mode := "in this process"
	if opts.Processes {
		mode = "as hushd processes (" + d.Hushd() + ")"
	}
	fmt.Fprintf(a.stdout, "hush devnet %q is up: %d nodes, %d registry host(s), running %s\n\n", n.ID, len(d.Nodes()), len(d.Registries()), mode)
	fmt.Fprintf(a.stdout, "  folder   %s\n  network  %s\n", opts.Dir, d.NetworkPath())
	if !opts.Processes {
		fmt.Fprintf(a.stdout, "  logs     %s\n", filepath.Join(opts.Dir, devnet.LogFile))
	}
	fmt.Fprintf(a.stdout, "\nIn another terminal:\n\n  export %s=%s\n  hush devnet status\n", netlookup.Env, d.NetworkPath())
	if d.Push().Dir != "" {
		fmt.Fprintf(a.stdout, "  hush tool webpush-receiver   # a local Web Push receiver, to try push notifications\n")
	}
}

func (a *app) devnetStatusCommand() *cobra.Command {
	var network string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a network's registry hosts, nodes and swarms",
		Long: `Show the registry hosts, nodes and swarms of the network that --network
(else HUSH_NETWORK, else the default devnet) names. The node list comes
from the snapshot a seed node serves, verified against the registry keys in
the network file; "up" means the node answered just now.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, _, err := loadNetwork(network)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			st, err := devnet.Inspect(ctx, n)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(st)
			}
			a.printStatus(st)
			return nil
		},
	}
	cmd.Flags().StringVar(&network, "network", "", "network file (default: $HUSH_NETWORK, else the default devnet's)")
	cmd.Flags().DurationVar(&timeout, "timeout", 20*time.Second, "give up after this long")
	return cmd
}

func (a *app) printStatus(st *devnet.Status) {
	up := func(b bool) string {
		if b {
			return "up"
		}
		return "DOWN"
	}
	short := func(k string) string { return k[:16] + "…" }
	fmt.Fprintf(a.stdout, "network %s, epoch %d (snapshot expires %s)\n\n", st.NetworkID, st.Epoch, st.ExpiresAt.Local().Format(time.DateTime))
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "REGISTRY HOST\tKEY\tSTATE")
	for _, r := range st.Registries {
		state := up(r.Up)
		if r.Role != "" {
			state += " (" + r.Role + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", r.Address, short(r.PubkeyEd25519), state)
	}
	w.Flush()
	fmt.Fprintln(a.stdout)
	w = tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tKEY\tSTATE\tSWARM\tMESSAGES")
	for _, n := range st.Nodes {
		sw, msgs := "-", "-"
		if n.SwarmID != nil {
			sw = *n.SwarmID
		}
		if n.Messages != nil {
			msgs = fmt.Sprint(*n.Messages)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", n.Address, short(n.PubkeyEd25519), up(n.Up), sw, msgs)
	}
	w.Flush()
	fmt.Fprintln(a.stdout)
	for _, s := range st.Swarms {
		short16 := make([]string, len(s.Members))
		for i, m := range s.Members {
			short16[i] = m[:8]
		}
		fmt.Fprintf(a.stdout, "swarm %s: %d members (%s)\n", s.SwarmID, len(s.Members), strings.Join(short16, " "))
	}
}

// prefixWriter starts every write (one progress line) with a prefix.
type prefixWriter struct {
	w      interface{ Write([]byte) (int, error) }
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}
