package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/internal/netlookup"
)

// confirmChars is how much of the Account ID a user types to confirm.
const confirmChars = 8

func (a *app) accountCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Control the account as a whole"}
	var (
		f         netFlags
		yes       bool
		localOnly bool
	)
	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete everything the account's swarm holds for it, then wipe this home",
		Long: `Ask every node of the account's swarm to delete all it holds for the account
(every namespace: inbox, sync copies, settings), then wipe this home: the
key file is overwritten and removed, then the database and the rest.

Your recovery phrase still restores the account (an Account ID is a key,
not a registration), and contacts can still write to it; other devices of
the account keep their own copies. Confirm by typing the first 8
characters of the Account ID, or pass --yes in scripts.

When the network cannot be reached nothing is deleted, unless --local-only
is given: then only this home is wiped, and the swarm keeps its copies
until they expire (up to 30 days).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := a.ownHome()
			if err != nil {
				return err
			}
			id, err := h.AccountID()
			if err != nil {
				return err
			}
			if !yes {
				fmt.Fprintf(a.stderr, "This deletes account %s\n", id)
				if localOnly {
					fmt.Fprintln(a.stderr, "from this device only; its swarm keeps the copies until they expire (up to 30 days).")
				} else {
					fmt.Fprintln(a.stderr, "from its swarm (all messages, sync copies and settings) and from this device.")
				}
				fmt.Fprintf(a.stderr, "Only the recovery phrase can bring it back. Type the first %d characters of the Account ID to confirm: ", confirmChars)
				line, err := bufio.NewReader(io.LimitReader(a.stdin, 256)).ReadString('\n')
				fmt.Fprintln(a.stderr)
				if err != nil && !errors.Is(err, io.EOF) {
					return err
				}
				if strings.TrimSpace(line) != id.String()[:confirmChars] {
					return errors.New("not confirmed; nothing was deleted")
				}
			}
			pass, err := a.passphrase("Passphrase", a.passphraseFile, envPassphrase, false)
			if err != nil {
				return err
			}
			swarmDone := false
			if localOnly {
				// The passphrase still guards the wipe against a slip of
				// the hand in the wrong home.
				if _, err := h.Unlock(pass); err != nil {
					return err
				}
			} else {
				if err := a.deleteSwarmData(cmd, &f, h, pass); err != nil {
					if errors.Is(err, netlookup.ErrNoNetwork) || errors.Is(err, client.ErrNoNetwork) {
						return fmt.Errorf("no network to delete the account's data from, so nothing was deleted (or use --local-only to wipe this device only): %w", err)
					}
					if errors.Is(err, client.ErrUnreachable) {
						return fmt.Errorf("the network is unreachable, so nothing was deleted (retry later, or use --local-only to wipe this device anyway): %w", err)
					}
					return fmt.Errorf("the swarm did not delete the account's data, so nothing was wiped here: %w", err)
				}
				swarmDone = true
			}
			left, err := h.Wipe()
			if err != nil {
				return err
			}
			if a.jsonOut {
				if left == nil {
					left = []string{}
				}
				return a.printJSON(map[string]any{"account_id": id, "swarm_deleted": swarmDone, "home_wiped": true, "left": left})
			}
			if swarmDone {
				fmt.Fprintf(a.stdout, "Deleted account %s from its swarm and this device.\n", id)
			} else {
				fmt.Fprintf(a.stdout, "Deleted account %s from this device.\n", id)
				fmt.Fprintln(a.stderr, "hush: warning: the swarm keeps this account's messages until they expire (up to 30 days).")
			}
			if len(left) > 0 {
				fmt.Fprintf(a.stdout, "Left in %s (not hush's): %s\n", h.Dir(), strings.Join(left, ", "))
			}
			return nil
		},
	}
	f.register(del)
	del.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	del.Flags().BoolVar(&localOnly, "local-only", false, "wipe this home without contacting the network")
	cmd.AddCommand(del)
	return cmd
}

// deleteSwarmData opens the client on home and deletes the account's data
// in its swarm.
func (a *app) deleteSwarmData(cmd *cobra.Command, f *netFlags, h *client.Home, pass []byte) error {
	ctx, cancel := signalContext(cmd)
	defer cancel()
	o, err := f.options(true)
	if err != nil {
		return err
	}
	c, err := h.Open(ctx, pass, o)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.DeleteAccountData(ctx)
}
