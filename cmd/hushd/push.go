package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/logfilter"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/push"
)

// pushCmd is `hushd push`: run the push server, print its keys for the
// network file (--show-identity), or print what it holds (transparency).
func pushCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		configPath     string
		showIdentity   bool
		validateConfig bool
	)
	flags := config.DefaultPush()
	cmd := &cobra.Command{
		Use:   "push",
		Short: "run the push server (an onion destination that wakes devices through Web Push, APNs or FCM)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := pushConfig(configPath, &flags, cmd)
			if err != nil {
				return err
			}
			if validateConfig && !showIdentity {
				// Checked before the key is loaded, so that a check writes
				// nothing (no data directory, no key).
				if err := cfg.Validate(); err != nil {
					return err
				}
				fmt.Fprintln(stdout, "config ok")
				return nil
			}
			// The push server's key is a node key in form (an Ed25519 seed,
			// its X25519 derived), kept in its own data directory.
			id, err := node.LoadOrCreateIdentity(cfg.Data)
			if err != nil {
				return err
			}
			if showIdentity {
				x := id.X25519Public()
				fmt.Fprintf(stdout, "ed25519 %s\nx25519 %x\n", id.Ed25519Public(), x[:])
				return nil
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			logger, err := pushLogger(cfg, stderr)
			if err != nil {
				return err
			}
			svc, err := push.NewService(cfg, push.Keys{Ed25519: id.Ed25519, X25519: id.X25519}, logger)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			if err := svc.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
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
	cmd.AddCommand(pushTransparencyCmd(stdout))
	return cmd
}

func pushConfig(path string, flags *config.Push, cmd *cobra.Command) (config.Push, error) {
	cfg := config.DefaultPush()
	if path != "" {
		var err error
		if cfg, err = config.LoadPush(path); err != nil {
			return cfg, err
		}
	}
	config.ApplyPushFlags(&cfg, flags, cmd.Flags())
	return cfg, nil
}

func pushLogger(cfg config.Push, stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, err
	}
	var h slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if !cfg.DebugLogPrivate {
		// The server logs no addresses of its own accord; this catches
		// one quoted in an error. Its listening address is public.
		h = logfilter.Handler(h, "listen")
	}
	return slog.New(h), nil
}

// pushTransparencyCmd prints every kind of record the server's database
// holds, how many and their fields (DESIGN §10), from the live file.
func pushTransparencyCmd(stdout io.Writer) *cobra.Command {
	var (
		data, tconfig string
		asJSON        bool
		dataDef       = config.DefaultPush().Data
	)
	cmd := &cobra.Command{
		Use:   "transparency",
		Short: "print every kind of record the push server holds, how many, their fields and retention, and what it logs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config.DefaultPush()
			if tconfig != "" {
				var err error
				if cfg, err = config.LoadPush(tconfig); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("data") || tconfig == "" {
				cfg.Data = data
			}
			path := filepath.Join(cfg.Data, push.DBFile)
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("no push database in %s: %w", cfg.Data, err)
			}
			r, err := push.Transparency(cmd.Context(), cfg.Data, cfg)
			if err != nil {
				return err
			}
			return printReport(stdout, r, asJSON)
		},
	}
	cmd.Flags().StringVar(&data, "data", dataDef, "the push server's data directory")
	cmd.Flags().StringVar(&tconfig, "config", "", "the server's TOML configuration (its log level and metrics; its data directory unless --data is given)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
