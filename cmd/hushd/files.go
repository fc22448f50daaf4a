package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/files"
	"github.com/hushnet/hush/internal/node"
)

// filesCmd is `hushd files`: run the file server, print its keys for the
// network file, or report what its data holds (transparency).
func filesCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := stewardServer[config.Files, *config.Files]{
		use:   "files",
		short: "run the file server (attachments), reached through onion paths",
		long: `files runs hush's file server: it stores the encrypted pieces of attachments
for a few weeks and serves them by random ID, only to the network's nodes
relaying onion requests. Put its keys (--show-identity) in the network file's
services.files entry.`,
		defaults:   config.DefaultFiles,
		load:       config.LoadFiles,
		applyFlags: config.ApplyFilesFlags,
		identity: func(cfg config.Files) (*node.Identity, error) {
			return node.LoadOrCreateIdentityFile(cfg.Data, files.KeyFile)
		},
		logging: func(cfg config.Files) (string, bool) { return cfg.LogLevel, cfg.DebugLogPrivate },
		public:  []string{"listen"},
		run: func(ctx context.Context, cfg config.Files, logger *slog.Logger) error {
			s, err := files.New(cfg, logger)
			if err != nil {
				return err
			}
			return s.Run(ctx)
		},
	}.command(stdout, stderr)

	cmd.AddCommand(reportCommand[config.Files]{
		who:      "file server",
		short:    "print every kind of record the file server's data holds, with counts, fields and retention, and what it logs",
		defaults: config.DefaultFiles,
		load:     config.LoadFiles,
		data:     func(cfg *config.Files) *string { return &cfg.Data },
		report:   files.Transparency,
	}.command(stdout))
	return cmd
}
