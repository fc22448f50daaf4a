package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/push"
)

// pushCmd is `hushd push`: run the push server, print its keys for the
// network file (--show-identity), or print what it holds (transparency).
func pushCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := stewardServer[config.Push, *config.Push]{
		use:        "push",
		short:      "run the push server (an onion destination that wakes devices through Web Push, APNs or FCM)",
		defaults:   config.DefaultPush,
		load:       config.LoadPush,
		applyFlags: config.ApplyPushFlags,
		// The push server's key is a node key in form (an Ed25519 seed,
		// its X25519 derived), kept in its own data directory.
		identity: func(cfg config.Push) (*node.Identity, error) { return node.LoadOrCreateIdentity(cfg.Data) },
		logging:  func(cfg config.Push) (string, bool) { return cfg.LogLevel, cfg.DebugLogPrivate },
		// The server logs no addresses of its own accord; the filter
		// catches one quoted in an error. Its listening address is public.
		public: []string{"listen"},
		run: func(ctx context.Context, cfg config.Push, logger *slog.Logger) error {
			id, err := node.LoadOrCreateIdentity(cfg.Data)
			if err != nil {
				return err
			}
			svc, err := push.NewService(cfg, push.Keys{Ed25519: id.Ed25519, X25519: id.X25519}, logger)
			if err != nil {
				return err
			}
			return svc.Run(ctx)
		},
	}.command(stdout, stderr)
	cmd.AddCommand(reportCommand[config.Push]{
		who:      "push server",
		short:    "print every kind of record the push server holds, how many, their fields and retention, and what it logs",
		defaults: config.DefaultPush,
		load:     config.LoadPush,
		data:     func(cfg *config.Push) *string { return &cfg.Data },
		check: func(dir string) error {
			if _, err := os.Stat(filepath.Join(dir, push.DBFile)); err != nil {
				return fmt.Errorf("no push database in %s: %w", dir, err)
			}
			return nil
		},
		report: push.Transparency,
	}.command(stdout))
	return cmd
}
