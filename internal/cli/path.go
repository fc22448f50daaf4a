package cli

import (
	"time"

	"github.com/spf13/cobra"
)

func (a *app) pathCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "path",
		Short: "Show the onion paths this client uses to reach the network",
		Long: `Show the current onion paths: guard → relay → relay, each hop with its short
key and address, and when the path last worked. Every request to the network
goes through one of them, then on to the node that holds the data; the guard
sees your IP address but not what you ask, and the node that answers sees
what you ask but not your address. Paths are built on the first request.
Nodes caught misbehaving (garbled answers, a clock far off the network's,
endless paging) are listed after the paths.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := a.openHome()
			if err != nil {
				return err
			}
			// Paths are public facts about the network (no passphrase needed),
			// stored beside the account by the client.
			return h.WritePaths(a.stdout, a.jsonOut, time.Now())
		},
	}
}
