package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/node"
	"github.com/hushnet/hush/internal/turn"
)

// turnCmd is `hushd turn`: run the STUN/TURN server with its credential
// endpoint, print its keys for the network file, or print what it holds.
func turnCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := stewardServer[config.TURN, *config.TURN]{
		use:   "turn",
		short: "run the STUN/TURN server for calls, with its credential endpoint reached through onion paths",
		long: `turn runs hush's STUN/TURN server (RFC 8656 UDP relays over UDP, TCP and
TLS) and its credential endpoint, an onion destination that issues short-lived
TURN REST credentials to clients it cannot see. Put its keys (--show-identity),
listen, tls_listen and endpoint addresses in the network file's services.turn.`,
		defaults:   config.DefaultTURN,
		load:       config.LoadTURN,
		applyFlags: config.ApplyTURNFlags,
		identity: func(cfg config.TURN) (*node.Identity, error) {
			return node.LoadOrCreateIdentityFile(cfg.Data, turn.KeyFile)
		},
		logging: func(cfg config.TURN) (string, bool) { return cfg.LogLevel, cfg.DebugLogPrivate },
		public:  []string{"listen", "endpoint", "tls_listen", "relay_ip"},
		run: func(ctx context.Context, cfg config.TURN, logger *slog.Logger) error {
			s, err := turn.New(cfg, logger)
			if err != nil {
				return err
			}
			return s.Run(ctx)
		},
	}.command(stdout, stderr)
	// The live counts of what it keeps in memory are in the server's
	// signed report (hush network transparency).
	cmd.AddCommand(reportCommand[config.TURN]{
		who:      "TURN server",
		short:    "print every kind of record the TURN server holds, their fields and retention, and what it logs",
		defaults: config.DefaultTURN,
		load:     config.LoadTURN,
		data:     func(cfg *config.TURN) *string { return &cfg.Data },
		check:    dataDirExists("TURN"),
		report:   turn.Transparency,
	}.command(stdout))
	return cmd
}
