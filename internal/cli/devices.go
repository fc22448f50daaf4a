package cli

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/crypto/prekey"
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
			out := make([]deviceJSON, len(ds))
			for i, d := range ds {
				out[i] = deviceJSON{ID: d.ID.String(), PublicKey: d.PublicKey.String(),
					Created: d.Created.UTC(), FirstSeen: d.FirstSeen.UTC(), This: d.This, New: isNew(news, d)}
			}
			if !a.jsonOut {
				for _, d := range news {
					a.printNewDevice(d)
				}
			}
			return printList(a, out, "", func(d deviceJSON) []string {
				cells := []string{d.ID, "created " + d.Created.Local().Format(time.DateTime)}
				if d.This {
					cells = append(cells, "(this device)")
				}
				return cells
			})
		},
	}
	f.register(cmd)
	cmd.AddCommand(a.shareHistoryCommand(), a.confirmKeyCommand())
	return cmd
}

// confirmKeyCommand is `hush devices confirm-key`: the user's answer to a
// record that gives a known device ID another device key (protocol v2 §8).
// Until then nothing is sealed to that record.
func (a *app) confirmKeyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "confirm-key ACCOUNT DEVICE_ID",
		Short: "Accept a device's changed key, after checking with its owner",
		Long: `A device record that gives a known device another key is held: hush seals
nothing to it and says so once. A new device key means the account's seed
(its recovery phrase) is on another device, which may be a reinstall by its
owner or a thief. Ask the owner (not through hush), then accept the key with
this command. ACCOUNT is a contact's nickname or Account ID, or your own
Account ID for one of your devices.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			var f netFlags
			c, err := a.openClient(ctx, &f, false)
			if err != nil {
				return err
			}
			defer c.Close()
			acct, err := c.Resolve(args[0])
			if err != nil {
				return err
			}
			var id prekey.DeviceID
			if b, err := hex.DecodeString(args[1]); err != nil || len(b) != len(id) {
				return fmt.Errorf("device ID %q: want %d hex digits", args[1], 2*len(id))
			} else {
				copy(id[:], b)
			}
			if err := c.ConfirmDeviceKey(acct, id); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"account_id": acct.String(), "device": id.String(), "confirmed": true})
			}
			fmt.Fprintf(a.stdout, "Device %s of %s now uses its new key; messages are sealed to it from now on.\n", id, acct.Short())
			return nil
		},
	}
	return cmd
}

// shareHistoryCommand is `hush devices share-history`: the one way a
// device restored from the recovery phrase gets the messages sealed before
// it existed (DESIGN.md §5). It never runs by itself; a new device only
// brings a hint (printNewDevice).
func (a *app) shareHistoryCommand() *cobra.Command {
	var f netFlags
	cmd := &cobra.Command{
		Use:   "share-history",
		Short: "Give this account's other devices the history they cannot read",
		Long: `Seal the messages this device holds that are still within the 14-day TTL
again, to every other device of this account that has not had them from
this device yet (a device restored from the recovery phrase cannot read what
was sealed before it existed), and store them in the account's swarm. The
other device receives them on its next receive.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := signalContext(cmd)
			defer cancel()
			c, err := a.openClient(ctx, &f, true)
			if err != nil {
				return err
			}
			defer c.Close()
			// Devices first: a device restored since the last command is
			// known, and its records are published by its own init.
			if err := c.SyncAccount(ctx); err != nil {
				fmt.Fprintln(a.stderr, "hush: "+err.Error())
			}
			r, err := c.ShareHistoryTo(ctx, nil)
			if err != nil {
				return err
			}
			if a.jsonOut {
				ids := make([]string, len(r.Devices))
				for i, d := range r.Devices {
					ids[i] = d.String()
				}
				return a.printJSON(map[string]any{"messages": r.Messages, "devices": ids, "reactions": r.Reactions, "parts": r.Parts,
					"unproven": r.Unproven, "openable_until": r.OpenableUntil.UTC().Format(time.RFC3339)})
			}
			if len(r.Devices) == 0 {
				fmt.Fprintln(a.stdout, "Every other device of this account already has the history from this one.")
				return nil
			}
			fmt.Fprintf(a.stdout, "Shared %s with %s.\n", count(r.Messages, "message"), count(len(r.Devices), "device"))
			if r.Unproven > 0 {
				fmt.Fprintf(a.stdout, "Left out %s from contacts that this device holds no signature of (received with protocol v1, or before signatures were kept).\n", count(r.Unproven, "message"))
			}
			// docs/protocol-v2.md §4: shared copies are sealed to Sync
			// prekeys, which outlive the originals' Inbox prekeys.
			fmt.Fprintf(a.stdout, "Note: the shared copies stay decryptable by a thief of a device until %s (protocol v2 §4: up to 45 days after a contact's message, instead of 15).\n",
				r.OpenableUntil.UTC().Format(time.RFC3339))
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
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
	// Offered, never done unasked: sharing seals the history to it.
	fmt.Fprintln(a.stdout, "Run `hush devices share-history` to give it your history.")
}
