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
	"github.com/spf13/pflag"

	"github.com/hushnet/hush/internal/logfilter"
	"github.com/hushnet/hush/internal/node"
)

// stewardConfig is what the steward servers' configurations (config.Files,
// config.Push, config.TURN) offer the command prologue.
type stewardConfig[C any] interface {
	*C
	RegisterFlags(*pflag.FlagSet)
	Validate() error
}

// stewardServer is one steward server's part of its hushd command; the
// rest (flags, config, --show-identity, --validate-config, logging,
// signals) is [stewardServer.command]'s, the same for all three.
type stewardServer[C any, P stewardConfig[C]] struct {
	use, short, long string
	defaults         func() C
	load             func(path string) (C, error)
	applyFlags       func(dst, src *C, fs *pflag.FlagSet)
	// identity loads (or creates) the server's keys from its data
	// directory.
	identity func(cfg C) (*node.Identity, error)
	// logging is the configuration's log level and debug_log_private.
	logging func(cfg C) (level string, private bool)
	// public names the log attributes that carry the server's own
	// addresses, which are public and pass the log filter.
	public []string
	// run assembles and runs the server until ctx is done.
	run func(ctx context.Context, cfg C, logger *slog.Logger) error
}

// command is the server's cobra command: the config file with flags over
// it; --show-identity prints the keys (creating them on first use);
// --validate-config checks the config before any key is made (a check
// writes nothing); otherwise it validates, then runs the server until
// SIGTERM or an interrupt.
func (s stewardServer[C, P]) command(stdout, stderr io.Writer) *cobra.Command {
	var (
		configPath     string
		showIdentity   bool
		validateConfig bool
	)
	flags := s.defaults()
	cmd := &cobra.Command{
		Use:   s.use,
		Short: s.short,
		Long:  s.long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := s.defaults()
			if configPath != "" {
				var err error
				if cfg, err = s.load(configPath); err != nil {
					return err
				}
			}
			s.applyFlags(&cfg, &flags, cmd.Flags())
			if validateConfig && !showIdentity {
				if err := P(&cfg).Validate(); err != nil {
					return err
				}
				fmt.Fprintln(stdout, "config ok")
				return nil
			}
			if showIdentity {
				id, err := s.identity(cfg)
				if err != nil {
					return err
				}
				x := id.X25519Public()
				fmt.Fprintf(stdout, "ed25519 %s\nx25519 %x\n", id.Ed25519Public(), x[:])
				return nil
			}
			if err := P(&cfg).Validate(); err != nil {
				return err
			}
			level, private := s.logging(cfg)
			logger, err := serverLogger(stderr, level, private, s.public...)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			if err := s.run(ctx, cfg, logger); err != nil && !errors.Is(err, context.Canceled) {
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
	P(&flags).RegisterFlags(fs)
	return cmd
}

// serverLogger is a server's text logger at level. Unless private (the
// config's debug_log_private), whatever a line quotes, no IP address or
// Account ID gets out, except in the attributes named public: the
// server's own addresses.
func serverLogger(stderr io.Writer, level string, private bool, public ...string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, err
	}
	var h slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: l})
	if !private {
		h = logfilter.Handler(h, public...)
	}
	return slog.New(h), nil
}
