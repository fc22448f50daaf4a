package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
)

// notificationsCommand is `hush notifications slow|fast` and
// `hush notifications status`: this device's notification mode
// (DESIGN.md §7) and what it exposes.
func (a *app) notificationsCommand() *cobra.Command {
	show := func(c *client.Client) error {
		st, err := c.Notifications()
		if err != nil {
			return err
		}
		if a.jsonOut {
			return a.printJSON(st)
		}
		fmt.Fprintf(a.stdout, "notifications: %s\n\n%s\n", st.Mode, st.Explanation)
		return nil
	}
	cmd := &cobra.Command{
		Use:   "notifications slow|fast|status",
		Short: "Choose how `hush receive --follow` learns of new messages",
		Long: `Set this device's notification mode, or show it with what it exposes.

  slow    poll your swarm through onion paths every few seconds
  fast    hold one long-lived request through an onion path, answered as soon
          as a message arrives (the default)

The mode is a setting of this device only. "hush notifications status" shows
the mode with a paragraph on who learns what; read it before choosing.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{string(client.NotifySlow), string(client.NotifyFast), "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			var mode client.NotificationMode
			if args[0] != "status" {
				var err error
				if mode, err = client.ParseNotificationMode(args[0]); err != nil {
					return err
				}
			}
			c, err := a.openClient(cmd.Context(), &netFlags{}, false)
			if err != nil {
				return err
			}
			defer c.Close()
			if mode != "" {
				if err := c.SetNotifications(mode); err != nil {
					return err
				}
			}
			return show(c)
		},
	}
	return cmd
}
