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
	"github.com/hushnet/hush/internal/files"
	"github.com/hushnet/hush/internal/logfilter"
	"github.com/hushnet/hush/internal/node"
)

// filesCmd is `hushd files`: run the file server, print its keys for the
// network file, or report what its data holds (transparency).
func filesCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		configPath     string
		showIdentity   bool
		validateConfig bool
	)
	flags := config.DefaultFiles()
	load := func(cmd *cobra.Command) (config.Files, error) {
		cfg := config.DefaultFiles()
		if configPath != "" {
			var err error
			if cfg, err = config.LoadFiles(configPath); err != nil {
				return cfg, err
			}
		}
		config.ApplyFilesFlags(&cfg, &flags, cmd.Flags())
		return cfg, nil
	}
	cmd := &cobra.Command{
		Use:   "files",
		Short: "run the file server (attachments), reached through onion paths",
		Long: `files runs hush's file server: it stores the encrypted pieces of attachments
for a few weeks and serves them by random ID, only to the network's nodes
relaying onion requests. Put its keys (--show-identity) in the network file's
services.files entry.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load(cmd)
			if err != nil {
				return err
			}
			if showIdentity {
				id, err := node.LoadOrCreateIdentityFile(cfg.Data, files.KeyFile)
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
			if validateConfig {
				fmt.Fprintln(stdout, "config ok")
				return nil
			}
			logger, err := filesLogger(cfg, stderr)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			s, err := files.New(cfg, logger)
			if err != nil {
				return err
			}
			if err := s.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&configPath, "config", "", "TOML configuration file (flags override it)")
	fs.BoolVar(&showIdentity, "show-identity", false, "print the server's keys (creating them on first use) and exit")
	fs.BoolVar(&validateConfig, "validate-config", false, "check the configuration and exit")
	fs.BoolVar(&validateConfig, "check-config", false, "check the configuration and exit (the same as --validate-config)")
	flags.RegisterFlags(fs)

	var (
		dir, tconfig string
		asJSON       bool
	)
	transparency := &cobra.Command{
		Use:   "transparency",
		Short: "print every kind of record the file server's data holds, with counts, fields and retention, and what it logs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config.DefaultFiles()
			if tconfig != "" {
				var err error
				if cfg, err = config.LoadFiles(tconfig); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("data") || tconfig == "" {
				cfg.Data = dir
			}
			rep, err := files.Transparency(cmd.Context(), cfg.Data, cfg)
			if err != nil {
				return err
			}
			return printReport(stdout, rep, asJSON)
		},
	}
	transparency.Flags().StringVar(&dir, "data", config.DefaultFiles().Data, "the file server's data directory")
	transparency.Flags().StringVar(&tconfig, "config", "", "the server's TOML configuration (its log level and metrics; its data directory unless --data is given)")
	transparency.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(transparency)
	return cmd
}

func filesLogger(cfg config.Files, stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, err
	}
	var h slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if !cfg.DebugLogPrivate {
		// As for a node: whatever a line quotes, no address or ID gets out;
		// the server's own listening address is public.
		h = logfilter.Handler(h, "listen")
	}
	return slog.New(h), nil
}
