// Command hushd runs hush's servers. `hushd node` is a service node (see
// internal/node) and `hushd registry` a network registry host (see
// internal/registry), `hushd files` the file server (see
// internal/files), `hushd push` the push server (see internal/push) and
// `hushd turn` the STUN/TURN server for calls (see internal/turn).
//
// The main is thin: flags → config → node.New → Run(ctx) → exit.
//
// A node in a network reads its network file from --network, else from
// $HUSH_NETWORK, else from the default devnet's folder if there is one
// (see internal/netlookup); --standalone runs a one-node network instead.
// --decommission takes a stopped node out of its network and exits.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/netlookup"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/registry/registrycmd"
)

func main() {
	if err := rootCmd(os.Stdout, os.Stderr).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "hushd:", err)
		os.Exit(1)
	}
}

func rootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "hushd",
		Short:         "hush servers: service node, registry, push, files, turn",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(nodeCmd(stdout, stderr), registrycmd.New(stdout, stderr), filesCmd(stdout, stderr), pushCmd(stdout, stderr), turnCmd(stdout, stderr))
	return root
}

func nodeCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		configPath     string
		showIdentity   bool
		validateConfig bool
		decommission   bool
	)
	flags := config.DefaultNode()
	cmd := &cobra.Command{
		Use:   "node",
		Short: "run a service node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config.DefaultNode()
			if configPath != "" {
				var err error
				if cfg, err = config.LoadNode(configPath); err != nil {
					return err
				}
			}
			config.ApplyFlags(&cfg, &flags, cmd.Flags())
			if !cfg.Standalone && cfg.Network == "" {
				// Left empty when nothing names a file: Validate then
				// says what to pass.
				cfg.Network, _ = netlookup.Resolve("")
			}
			if showIdentity {
				id, err := node.LoadOrCreateIdentity(cfg.Data)
				if err != nil {
					return err
				}
				netID := cfg.NetworkID
				if netID == "" && cfg.Standalone {
					netID = id.StandaloneNetworkID()
				}
				x := id.X25519Public()
				fmt.Fprintf(stdout, "ed25519 %s\nx25519 %x\n", id.Ed25519Public(), x[:])
				if netID != "" {
					fmt.Fprintf(stdout, "network_id %s\n", netID)
				}
				return nil
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			if validateConfig {
				fmt.Fprintln(stdout, "config ok")
				return nil
			}
			if decommission {
				return runDecommission(cfg, stderr)
			}
			return run(cfg, stderr)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&configPath, "config", "", "TOML configuration file (flags override it)")
	fs.BoolVar(&showIdentity, "show-identity", false, "print the node's keys (creating them on first use) and exit")
	fs.BoolVar(&validateConfig, "validate-config", false, "check the configuration and exit")
	fs.BoolVar(&validateConfig, "check-config", false, "check the configuration and exit (the same as --validate-config)")
	fs.BoolVar(&decommission, "decommission", false, "take this (stopped) node out of its network: wait until the registry drops it, then exit")
	flags.RegisterFlags(fs)
	cmd.AddCommand(nodeTransparencyCmd(stdout))
	return cmd
}

// nodeTransparencyCmd prints what a node holds (DESIGN §10) from its live
// data directory: every table of its database, every file, what it keeps
// in memory, and what it logs at its configured level. A node signs no
// report: nodes are many, and their keys come from snapshots.
func nodeTransparencyCmd(stdout io.Writer) *cobra.Command {
	return reportCommand[config.Node]{
		who:      "node",
		short:    "print every kind of record the node holds, how many, their fields and retention, and what it logs",
		defaults: config.DefaultNode,
		load:     config.LoadNode,
		data:     func(cfg *config.Node) *string { return &cfg.Data },
		check:    dataDirExists("node"),
		report:   node.Transparency,
	}.command(stdout)
}

func newLogger(cfg config.Node, stderr io.Writer) (*slog.Logger, error) {
	// The node's own listening and advertised addresses are public.
	return serverLogger(stderr, cfg.LogLevel, cfg.DebugLogPrivate, "listen", "advertise")
}

func runDecommission(cfg config.Node, stderr io.Writer) error {
	logger, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return node.Decommission(ctx, cfg, logger)
}

func run(cfg config.Node, stderr io.Writer) error {
	logger, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	n, err := node.New(cfg, logger)
	if err != nil {
		return err
	}
	if err := n.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
