package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/internal/daemon"
)

func (a *app) daemonCommand() *cobra.Command {
	var (
		f        netFlags
		listen   string
		socket   string
		printKey bool
		debug    bool
	)
	cmd := &cobra.Command{
		Use:   "daemon [--listen 127.0.0.1:PORT | --socket PATH] [--print-key]",
		Short: "Run hush in the background with a local JSON API (docs/api.md)",
		Long: `Run the long-running client: it receives in fast mode, sends what waits in
the outbox, keeps prekeys and timers, and serves a JSON API and an event
stream on a loopback address or a unix socket for scripts and the web UI
(docs/api.md). It may start with no account or a locked home: the account is
then created, restored or unlocked through the API, so the passphrase is
never on a command line. While it runs it owns the home: other hush
commands on the same home refuse and name it.

Every request needs the API key (Authorization: Bearer KEY), kept in
daemon.key in the home; --print-key prints it and exits. The daemon prints
a one-time login URL for the web UI at start. SIGINT or SIGTERM stop it
cleanly: requests in flight get a few seconds, and what is not sent stays
in the outbox.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := a.homeDir()
			if err != nil {
				return err
			}
			if printKey {
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return err
				}
				k, err := daemon.LoadKey(dir)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, string(k))
				return nil
			}
			if listen != "" && socket != "" {
				return errors.New("give --listen or --socket, not both")
			}
			if listen == "" && socket == "" {
				listen = "127.0.0.1:7777"
			}
			o, err := f.options(true)
			if err != nil {
				return err
			}
			o.Clock = a.testClock()
			if fs := a.testFiles(); fs != nil {
				o.Files = fs
			}
			level := slog.LevelWarn
			if debug {
				level = slog.LevelDebug
			}
			d, err := daemon.New(daemon.Config{
				Home: dir, Listen: listen, Socket: socket, Options: o,
				HomeOptions: a.homeOptions(), Out: a.stdout,
				Logger: slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level})),
			})
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd)
			defer cancel()
			return d.Run(ctx)
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "", "loopback address to serve on (default 127.0.0.1:7777)")
	fl.StringVar(&socket, "socket", "", "unix socket to serve on instead")
	fl.BoolVar(&printKey, "print-key", false, "print the API key (made if there is none) and exit")
	fl.BoolVar(&debug, "debug", false, "log at debug level")
	return cmd
}
