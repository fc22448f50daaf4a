package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mdp/qrterminal/v3"
	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/identity"
)

func (a *app) initCommand() *cobra.Command {
	var restore, force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create an account (or restore one with --restore)",
		Long: `Create a new account in the home directory and print its Account ID and
recovery phrase. With --restore, read a recovery phrase from standard input
(or a prompt) and restore that account instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := a.ownHome()
			if err != nil {
				return err
			}
			if !force {
				if _, err := h.AccountID(); err == nil {
					return fmt.Errorf("%w (%s); use --force to replace it, which destroys it unless you have its recovery phrase", client.ErrAccountExists, h.Dir())
				}
			}
			var phrase string
			if restore {
				if phrase, err = a.readPhrase(); err != nil {
					return err
				}
			}
			pass, err := a.passphrase("New passphrase", a.passphraseFile, envPassphrase, true)
			if err != nil {
				return err
			}
			opts := a.homeOptions()
			if force {
				opts = append(opts, client.ReplaceHome())
			}
			var id identity.AccountID
			if restore {
				id, err = h.Restore(phrase, pass, opts...)
			} else {
				id, phrase, err = h.Create(pass, opts...)
			}
			if err != nil && id.IsZero() {
				return err
			}
			if err != nil {
				// The account exists; the next Open makes the device.
				fmt.Fprintln(a.stderr, "hush: "+err.Error())
			}
			a.publishKeys(cmd.Context(), h, pass)
			if restore {
				// Protocol v2: this new device holds no key for what was
				// sealed before it existed (DESIGN.md §5).
				fmt.Fprintln(a.stderr, "Contacts and settings come back from the network; messages sent before this restore cannot be read on this device, unless a device you still have runs `hush devices share-history`.")
				if a.jsonOut {
					return a.printJSON(map[string]string{"account_id": id.String()})
				}
				fmt.Fprintf(a.stdout, "Restored account %s\n", id)
				return nil
			}
			if a.jsonOut {
				return a.printJSON(map[string]string{"account_id": id.String(), "recovery_phrase": phrase})
			}
			fmt.Fprintf(a.stdout, "Account ID:      %s\nRecovery phrase: %s\n", id, phrase)
			fmt.Fprintln(a.stderr, "Write the recovery phrase down and keep it secret: it is the only way to restore this account.")
			return nil
		},
	}
	cmd.Flags().BoolVar(&restore, "restore", false, "restore an account from its recovery phrase (read from stdin)")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing account in this home")
	return cmd
}

// readPhrase reads a recovery phrase: a prompt on a terminal, else the first
// non-empty line of stdin. It is checked before the passphrase is asked for.
func (a *app) readPhrase() (string, error) {
	if _, ok := a.terminal(); ok {
		fmt.Fprint(a.stderr, "Recovery phrase: ")
	}
	sc := bufio.NewScanner(io.LimitReader(a.stdin, 4096))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			_, err := identity.ParsePhrase(line)
			return line, err
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read recovery phrase: %w", err)
	}
	return "", errors.New("no recovery phrase on standard input")
}

func (a *app) idCommand() *cobra.Command {
	var qr bool
	cmd := &cobra.Command{
		Use:   "id",
		Short: "Print this account's Account ID (public; no passphrase needed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := a.openHome()
			if err != nil {
				return err
			}
			id, err := h.AccountID()
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]string{"account_id": id.String()})
			}
			fmt.Fprintln(a.stdout, id)
			if qr {
				qrterminal.GenerateWithConfig(id.String(), qrterminal.Config{
					Level: qrterminal.M, Writer: a.stdout, HalfBlocks: true,
					BlackChar: qrterminal.BLACK_BLACK, WhiteChar: qrterminal.WHITE_WHITE,
					BlackWhiteChar: qrterminal.BLACK_WHITE, WhiteBlackChar: qrterminal.WHITE_BLACK,
					QuietZone: 2,
				})
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&qr, "qr", false, "also draw the Account ID as a QR code")
	return cmd
}

func (a *app) phraseCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "phrase",
		Short: "Show the recovery phrase again (asks for the passphrase)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			acct, err := a.unlock()
			if err != nil {
				return err
			}
			phrase := identity.Phrase(acct.Seed())
			if a.jsonOut {
				return a.printJSON(map[string]string{"account_id": acct.ID().String(), "recovery_phrase": phrase})
			}
			fmt.Fprintln(a.stdout, phrase)
			return nil
		},
	}
}

func (a *app) passphraseCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "passphrase",
		Short: "Manage the passphrase that protects this home",
	}
	var newFile string
	change := &cobra.Command{
		Use:   "change",
		Short: "Change the passphrase (new one from --new-passphrase-file, env " + envNewPassphrase + ", or a prompt)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := a.ownHome()
			if err != nil {
				return err
			}
			if _, err := h.AccountID(); err != nil {
				return err
			}
			oldPass, err := a.passphrase("Current passphrase", a.passphraseFile, envPassphrase, false)
			if err != nil {
				return err
			}
			// Check the old one before asking for a new one.
			if _, err := h.Unlock(oldPass); err != nil {
				return err
			}
			newPass, err := a.passphrase("New passphrase", newFile, envNewPassphrase, true)
			if err != nil {
				return err
			}
			if err := h.ChangePassphrase(oldPass, newPass, a.homeOptions()...); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]bool{"changed": true})
			}
			fmt.Fprintln(a.stdout, "Passphrase changed.")
			return nil
		},
	}
	change.Flags().StringVar(&newFile, "new-passphrase-file", "", "read the new passphrase from this file")
	cmd.AddCommand(change)
	return cmd
}
