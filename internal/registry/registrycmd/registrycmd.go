// Package registrycmd is the `hushd registry` command tree: thin cobra
// commands over package registry. init writes a host key and a config;
// run serves; admit, join, leave and status act on a running host through
// its own API, signed with its host key (admit with a steward key).
package registrycmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/registry"
	"github.com/hushnet/hush/protocol/snapshot"
)

// loader loads the config file, applying overrides before defaults.
type loader func(overrides ...func(*registry.Config)) (*registry.Config, error)

// ConfigFile is the config's name in the directory init writes.
const ConfigFile = "registry.toml"

// New returns the `registry` command for hushd, writing to stdout and
// stderr.
func New(stdout, stderr io.Writer) *cobra.Command {
	var configPath string
	root := &cobra.Command{
		Use:   "registry",
		Short: "run or manage a network registry host (Raft-replicated node list and swarms)",
		Long: `A registry host keeps the network's list of service nodes and their swarms,
replicated with Raft across 1, 3 or 5 hosts run by the network's stewards.
Nodes join only with a steward's admission of their key: this stands in for
the stake Session's network requires, so stewards decide who runs nodes.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&configPath, "config", ConfigFile, "registry host config (TOML)")
	load := func(overrides ...func(*registry.Config)) (*registry.Config, error) {
		return registry.LoadConfig(configPath, overrides...)
	}
	root.AddCommand(initCmd(stdout), runCmd(stdout, stderr, load))
	root.AddCommand(adminCmds(stdout, load)...)
	return root
}

var configTemplate = template.Must(template.New("config").Parse(`# hushd registry host configuration.
network_id = "{{.NetworkID}}"
data_dir = "."
raft_listen = "{{.RaftListen}}"
api_listen = "{{.APIListen}}"
# raft_advertise / api_advertise: the addresses others dial, if not the listen ones.

# bootstrap founds a new registry whose first hosts are [[hosts]] below. A host
# that joins an existing registry sets it to false, lists the existing
# hosts below, starts, and is added with "hushd registry join" on one of them.
bootstrap = {{.Bootstrap}}

# Keys that may admit nodes ("hushd registry admit").
stewards = [{{range $i, $s := .Stewards}}{{if $i}}, {{end}}"{{$s}}"{{end}}]
# Register nodes without admission: for devnets only.
open_admission = {{.OpenAdmission}}
swarm_min_size = {{.SwarmMinSize}}
swarm_ideal_size = {{.SwarmIdealSize}}

epoch_interval = "{{.EpochInterval}}"
snapshot_lifetime = "{{.SnapshotLifetime}}"
probe_interval = "{{.ProbeInterval}}"
unreachable_after = "{{.UnreachableAfter}}"

# The founding hosts (bootstrap), or the existing hosts to trust (joining).
# Tables come last: TOML puts every key after [[hosts]] into that table.
{{range .Hosts}}
[[hosts]]
key = "{{.Key}}"
raft_address = "{{.RaftAddress}}"
api_address = "{{.APIAddress}}"
{{end}}`))

func initCmd(stdout io.Writer) *cobra.Command {
	var (
		dir  string
		join bool
		cfg  registry.Config
		peer []string
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "create a registry host: key and config in --dir",
		Long: `init creates a host key (0600) and a config in --dir. By default the host
founds a registry alone (add hosts later with "join"); with --join it waits
to be added to the registry whose hosts are given with --peer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := filepath.Join(dir, ConfigFile)
			if _, err := os.Stat(path); err == nil {
				return fmt.Errorf("%s exists; not overwriting", path)
			}
			key, err := registry.CreateKey(dir)
			if err != nil {
				return err
			}
			pub := identity.Ed25519PublicKeyOf(key).String()
			cfg.DataDir = dir
			cfg.Bootstrap = !join
			if !join {
				cfg.Hosts = append(cfg.Hosts, registry.HostConfig{Key: pub, RaftAddress: cfg.RaftListen, APIAddress: cfg.APIListen})
			}
			for _, p := range peer {
				parts := strings.Split(p, ",")
				if len(parts) != 3 {
					return fmt.Errorf("--peer %q: want KEY,RAFT_ADDRESS,API_ADDRESS", p)
				}
				cfg.Hosts = append(cfg.Hosts, registry.HostConfig{Key: parts[0], RaftAddress: parts[1], APIAddress: parts[2]})
			}
			if len(cfg.Stewards) == 0 {
				cfg.Stewards = []string{pub}
			}
			cfg.SetDefaults()
			if err := cfg.Validate(); err != nil {
				os.Remove(filepath.Join(dir, registry.KeyFile))
				return err
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			if err := configTemplate.Execute(f, &cfg); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "host key %s\nconfig %s\n", pub, path)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&dir, "dir", ".", "directory for the key, config and Raft data")
	fs.BoolVar(&join, "join", false, "join an existing registry instead of founding one")
	fs.StringArrayVar(&peer, "peer", nil, "another host as KEY,RAFT_ADDRESS,API_ADDRESS (repeatable)")
	fs.StringVar(&cfg.NetworkID, "network", "devnet", "network ID")
	fs.StringVar(&cfg.RaftListen, "raft-listen", "127.0.0.1:7100", "address for Raft traffic between hosts")
	fs.StringVar(&cfg.APIListen, "api-listen", "127.0.0.1:7101", "address of the HTTPS API for nodes and tools")
	fs.StringSliceVar(&cfg.Stewards, "steward", nil, "steward key allowed to admit nodes (default: this host's key)")
	fs.BoolVar(&cfg.OpenAdmission, "open-admission", false, "register nodes without admission (devnets)")
	fs.IntVar(&cfg.SwarmMinSize, "swarm-min", 5, "minimum swarm size")
	fs.IntVar(&cfg.SwarmIdealSize, "swarm-ideal", 7, "ideal swarm size")
	fs.DurationVar((*time.Duration)(&cfg.EpochInterval), "epoch-interval", time.Minute, "time between epochs (signed snapshots)")
	fs.DurationVar((*time.Duration)(&cfg.ProbeInterval), "probe-interval", 30*time.Second, "time between reachability probes of each node")
	fs.DurationVar((*time.Duration)(&cfg.UnreachableAfter), "unreachable-after", 5*time.Minute, "how long a node fails probes before this host votes it unreachable")
	return cmd
}

func runCmd(stdout, stderr io.Writer, load loader) *cobra.Command {
	var (
		logLevel    string
		checkConfig bool
		flagCfg     registry.Config
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "run the registry host until SIGTERM or interrupt",
		Long:  "run serves the host described by --config; the flags below override the file.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs := cmd.Flags()
			cfg, err := load(func(c *registry.Config) {
				str := func(name string, dst *string, v string) {
					if fs.Changed(name) {
						*dst = v
					}
				}
				dur := func(name string, dst *config.Duration, v config.Duration) {
					if fs.Changed(name) {
						*dst = v
					}
				}
				str("data-dir", &c.DataDir, flagCfg.DataDir)
				str("raft-listen", &c.RaftListen, flagCfg.RaftListen)
				str("raft-advertise", &c.RaftAdvertise, flagCfg.RaftAdvertise)
				str("api-listen", &c.APIListen, flagCfg.APIListen)
				str("api-advertise", &c.APIAdvertise, flagCfg.APIAdvertise)
				dur("epoch-interval", &c.EpochInterval, flagCfg.EpochInterval)
				dur("probe-interval", &c.ProbeInterval, flagCfg.ProbeInterval)
				dur("unreachable-after", &c.UnreachableAfter, flagCfg.UnreachableAfter)
			})
			if err != nil {
				return err
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			if checkConfig {
				fmt.Fprintln(stdout, "config ok")
				return nil
			}
			key, err := registry.LoadKey(cfg.DataDir)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
			h, err := registry.New(cfg, key, registry.Options{Logger: log, LogLevel: logLevel})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			log.Info("registry host starting", "network", cfg.NetworkID, "host", h.Key().String())
			return h.Run(ctx)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&checkConfig, "check-config", false, "check the configuration and exit")
	fs.StringVar(&flagCfg.DataDir, "data-dir", "", "data directory (host key, raft.db, snapshots/)")
	fs.StringVar(&flagCfg.RaftListen, "raft-listen", "", "address for Raft traffic")
	fs.StringVar(&flagCfg.RaftAdvertise, "raft-advertise", "", "Raft address other hosts dial")
	fs.StringVar(&flagCfg.APIListen, "api-listen", "", "address of the HTTPS API")
	fs.StringVar(&flagCfg.APIAdvertise, "api-advertise", "", "API address nodes and hosts dial")
	fs.DurationVar((*time.Duration)(&flagCfg.EpochInterval), "epoch-interval", 0, "time between epochs")
	fs.DurationVar((*time.Duration)(&flagCfg.ProbeInterval), "probe-interval", 0, "time between probes of each node")
	fs.DurationVar((*time.Duration)(&flagCfg.UnreachableAfter), "unreachable-after", 0, "failing time before an unreachable vote")
	return cmd
}

func adminCmds(stdout io.Writer, load loader) []*cobra.Command {
	var timeout time.Duration
	var stewardKeyFile string
	var jsonOut bool
	// withAdmin runs f with an Admin for the configured host.
	withAdmin := func(cmd *cobra.Command, f func(ctx context.Context, a *registry.Admin) error) error {
		cfg, err := load()
		if err != nil {
			return err
		}
		key, err := registry.LoadKey(cfg.DataDir)
		if err != nil {
			return err
		}
		a := registry.NewAdmin(cfg, key)
		defer a.Close()
		ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
		defer cancel()
		return f(ctx, a)
	}
	admit := &cobra.Command{
		Use:   "admit NODE_KEY",
		Short: "admit a service node's Ed25519 key (signed with a steward key)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			node, err := parseKey("NODE_KEY", args[0])
			if err != nil {
				return err
			}
			return withAdmin(cmd, func(ctx context.Context, a *registry.Admin) error {
				steward := a.HostKey()
				if stewardKeyFile != "" {
					if steward, err = registry.ReadKeyFile(stewardKeyFile); err != nil {
						return err
					}
				}
				if err := a.Admit(ctx, node, steward); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "admitted %s\n", node)
				return nil
			})
		},
	}
	admit.Flags().StringVar(&stewardKeyFile, "steward-key", "", "file with the steward's hex Ed25519 seed (default: this host's key)")
	join := &cobra.Command{
		Use:   "join API_ADDRESS HOST_KEY",
		Short: "add the registry host answering at API_ADDRESS with HOST_KEY",
		Long: `join adds a host that is already running with "bootstrap = false" and this
registry's hosts in its config. Its Raft address is read from its API over
TLS pinned to HOST_KEY.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := parseKey("HOST_KEY", args[1])
			if err != nil {
				return err
			}
			return withAdmin(cmd, func(ctx context.Context, a *registry.Admin) error {
				if err := a.Join(ctx, args[0], k); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "host %s added\n", k)
				return nil
			})
		},
	}
	leave := &cobra.Command{
		Use:   "leave HOST_KEY",
		Short: "remove a registry host",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := parseKey("HOST_KEY", args[0])
			if err != nil {
				return err
			}
			return withAdmin(cmd, func(ctx context.Context, a *registry.Admin) error {
				if err := a.Leave(ctx, k); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "host %s removed\n", k)
				return nil
			})
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "show the host's view of the registry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withAdmin(cmd, func(ctx context.Context, a *registry.Admin) error {
				s, err := a.Status(ctx)
				if err != nil {
					return err
				}
				if jsonOut {
					enc := json.NewEncoder(stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(s)
				}
				fmt.Fprintf(stdout, "network %s\nhost %s (%s)\nleader %s\nepoch %d (signed %d)\nnodes %d, admitted %d, swarms %d\n",
					s.NetworkID, s.Host, s.Role, orNone(s.Leader), s.Epoch, s.SignedEpoch, s.Nodes, s.Admitted, s.Swarms)
				for _, h := range s.Hosts {
					fmt.Fprintf(stdout, "registry host %s raft %s api %s\n", h.Key, h.RaftAddress, h.APIAddress)
				}
				return nil
			})
		},
	}
	status.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	var transparencyJSON bool
	transparency := &cobra.Command{
		Use:   "transparency",
		Short: "print every kind of record the registry host holds, how many, their fields and retention, and what it logs",
		Long: `transparency asks the running host for its signed transparency report (the
one clients fetch through onion paths), checks the signature against the
host's key, and prints it: the steward's requests statement (from
transparency.toml in the data directory, or transparency_requests), then
every kind of record from the host's live state.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withAdmin(cmd, func(ctx context.Context, a *registry.Admin) error {
				s, err := a.Transparency(ctx)
				if err != nil {
					return err
				}
				if transparencyJSON {
					enc := json.NewEncoder(stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(s.Statement)
				}
				_, err = fmt.Fprint(stdout, s.Text())
				return err
			})
		},
	}
	transparency.Flags().BoolVar(&transparencyJSON, "json", false, "print JSON (the signed statement)")
	cmds := []*cobra.Command{admit, join, leave, status, transparency}
	for _, c := range cmds {
		c.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "give up after this long")
	}
	return cmds
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func parseKey(what, s string) (identity.Ed25519PublicKey, error) {
	var k identity.Ed25519PublicKey
	err := k.UnmarshalText([]byte(strings.ToLower(strings.TrimSpace(s))))
	if err == nil {
		err = snapshot.CheckEd25519(k)
	}
	if err != nil {
		return identity.Ed25519PublicKey{}, fmt.Errorf("%s: %w", what, err)
	}
	return k, nil
}
