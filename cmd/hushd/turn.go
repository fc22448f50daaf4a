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
	"github.com/hushnet/hush/internal/logfilter"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/turn"
)

// turnCmd is `hushd turn`: run the STUN/TURN server with its credential
// endpoint, print its keys for the network file, or print what it holds.
func turnCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		configPath     string
		showIdentity   bool
		validateConfig bool
	)
	flags := config.DefaultTURN()
	load := func(cmd *cobra.Command) (config.TURN, error) {
		cfg := config.DefaultTURN()
		if configPath != "" {
			var err error
			if cfg, err = config.LoadTURN(configPath); err != nil {
				return cfg, err
			}
		}
		config.ApplyTURNFlags(&cfg, &flags, cmd.Flags())
		return cfg, nil
	}
	cmd := &cobra.Command{
		Use:   "turn",
		Short: "run the STUN/TURN server for calls, with its credential endpoint reached through onion paths",
		Long: `turn runs hush's STUN/TURN server (RFC 8656 UDP relays over UDP, TCP and
TLS) and its credential endpoint, an onion destination that issues short-lived
TURN REST credentials to clients it cannot see. Put its keys (--show-identity),
listen, tls_listen and endpoint addresses in the network file's services.turn.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			if validateConfig && !showIdentity {
				// Checked before any key is made: a check writes nothing.
				if err := cfg.Validate(); err != nil {
					return err
				}
				fmt.Fprintln(stdout, "config ok")
				return nil
			}
			if showIdentity {
				id, err := node.LoadOrCreateIdentityFile(cfg.Data, turn.KeyFile)
				if err != nil {
					return err
				}
				x := id.X25519Public()
				fmt.Fprintf(stdout, "ed25519 %s\nx25519 %x\n", id.Ed25519Public(), x[:])
				return nil
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			logger, err := turnLogger(cfg, stderr)
			if err != nil {
				return err
			}
			s, err := turn.New(cfg, logger)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			if err := s.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&configPath, "config", "", "TOML configuration file (flags override it)")
	fs.BoolVar(&showIdentity, "show-identity", false, "print the server's keys for the network file (creating them on first use) and exit")
	fs.BoolVar(&validateConfig, "validate-config", false, "check the configuration and exit")
	fs.BoolVar(&validateConfig, "check-config", false, "check the configuration and exit (the same as --validate-config)")
	flags.RegisterFlags(fs)
	cmd.AddCommand(turnTransparencyCmd(stdout))
	return cmd
}

func turnLogger(cfg config.TURN, stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, err
	}
	var h slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if !cfg.DebugLogPrivate {
		// The server's own addresses are public; anything else a line
		// quotes is filtered.
		h = logfilter.Handler(h, "listen", "endpoint", "tls_listen", "relay_ip")
	}
	return slog.New(h), nil
}

// turnTransparencyCmd prints what the server's data directory holds and
// the kinds of record it keeps in memory (DESIGN §10). The live counts of
// the memory records are in the server's signed report (hush network
// transparency); this command reads the directory only.
func turnTransparencyCmd(stdout io.Writer) *cobra.Command {
	var (
		data, tconfig string
		asJSON        bool
	)
	cmd := &cobra.Command{
		Use:   "transparency",
		Short: "print every kind of record the TURN server holds, their fields and retention, and what it logs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config.DefaultTURN()
			if tconfig != "" {
				var err error
				if cfg, err = config.LoadTURN(tconfig); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("data") || tconfig == "" {
				cfg.Data = data
			}
			if _, err := os.Stat(cfg.Data); err != nil {
				return fmt.Errorf("no TURN data directory: %w", err)
			}
			rep, err := turn.Transparency(cmd.Context(), cfg.Data, cfg)
			if err != nil {
				return err
			}
			return printReport(stdout, rep, asJSON)
		},
	}
	cmd.Flags().StringVar(&data, "data", config.DefaultTURN().Data, "the TURN server's data directory")
	cmd.Flags().StringVar(&tconfig, "config", "", "the server's TOML configuration (its log level and metrics; its data directory unless --data is given)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
