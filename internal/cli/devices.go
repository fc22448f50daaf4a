package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
)

// deviceJSON is a device as `hush devices --json` prints it.
type deviceJSON struct {
	ID        string    `json:"id"`
	PublicKey string    `json:"public_key"`
	Created   time.Time `json:"created,omitzero"`
	FirstSeen time.Time `json:"first_seen"`
	This      bool      `json:"this_device,omitempty"`
	New       bool      `json:"new,omitempty"`
}

func (a *app) devicesCommand() *cobra.Command {
	var f netFlags
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "List this account's devices",
		Long: `Read the account's device announcements and config from the network, then
list every device of this account: each home made by init or init --restore
is one. A device that appeared since the last time is announced first, since
a new device means the recovery phrase is on it. Without a network, list
what this home already knows.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			c, err := a.openClient(ctx, &f, true)
			if err != nil {
				return err
			}
			defer c.Close()
			// Every command that reaches the network runs the background
			// duties (DESIGN.md §5), messages included.
			if _, err := c.Sync(ctx); err != nil {
				fmt.Fprintln(a.stderr, "hush: "+err.Error())
			}
			news, err := c.TakeNewDevices()
			if err != nil {
				return err
			}
			ds, err := c.Devices()
			if err != nil {
				return err
			}
			if a.jsonOut {
				out := make([]deviceJSON, len(ds))
				for i, d := range ds {
					out[i] = deviceJSON{ID: d.ID.String(), PublicKey: fmt.Sprintf("%x", []byte(d.PublicKey)),
						Created: d.Created.UTC(), FirstSeen: d.FirstSeen.UTC(), This: d.This, New: isNew(news, d)}
				}
				return a.printJSON(out)
			}
			for _, d := range news {
				a.printNewDevice(d)
			}
			for _, d := range ds {
				line := fmt.Sprintf("%s\tcreated %s", d.ID, d.Created.Local().Format(time.DateTime))
				if d.This {
					line += "\t(this device)"
				}
				fmt.Fprintln(a.stdout, line)
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func isNew(news []client.Device, d client.Device) bool {
	for _, n := range news {
		if n.ID == d.ID {
			return true
		}
	}
	return false
}

// printNewDevices tells the user of devices that appeared on the account
// since the last time (`hush receive` shows each once, as `hush devices`
// does). A failure to read them must not stop the messages.
func (a *app) printNewDevices(c *client.Client) {
	news, err := c.TakeNewDevices()
	if err != nil {
		fmt.Fprintln(a.stderr, "hush: "+err.Error())
	}
	for _, d := range news {
		a.printNewDevice(d)
	}
}

func (a *app) printNewDevice(d client.Device) {
	fmt.Fprintf(a.stdout, "New device %s appeared on this account (created %s). If it is not yours, your recovery phrase is in other hands.\n",
		d.ID, d.Created.Local().Format(time.DateTime))
}
