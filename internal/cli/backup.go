package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/internal/backup"
	"github.com/hushnet/hush/internal/keystore"
)

// envBackupPassphrase holds the backup passphrase of export and import.
const envBackupPassphrase = "HUSH_BACKUP_PASSPHRASE"

// backupParams are the backup file's KDF parameters; the test KDF
// variable makes them cheap as it does the key file's.
func (a *app) backupParams() keystore.Params {
	if os.Getenv(envTestKDF) == "1" {
		fmt.Fprintln(a.stderr, "hush: warning: "+envTestKDF+" is set; this backup's passphrase is cheap to guess")
		return keystore.TestParams
	}
	return backup.DefaultParams
}

func (a *app) exportCommand() *cobra.Command {
	var passFile string
	var force bool
	cmd := &cobra.Command{
		Use:   "export FILE",
		Short: "Write an encrypted backup of this home (account, messages, contacts) to FILE",
		Long: `Write the whole local state of this home to FILE, encrypted under a backup
passphrase (from --backup-passphrase-file, env ` + envBackupPassphrase + `, or a prompt).
Choose one you do not use elsewhere: whoever has the file and the
passphrase has the account. 'hush import FILE' restores it as the same
device into a new home.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := a.homeDir()
			if err != nil {
				return err
			}
			if _, err := keystore.ReadAccountID(home); err != nil {
				return err
			}
			out := args[0]
			if _, err := os.Lstat(out); err == nil && !force {
				return fmt.Errorf("%s already exists; use --force to replace it", out)
			}
			homePass, err := a.passphrase("Passphrase", a.passphraseFile, envPassphrase, false)
			if err != nil {
				return err
			}
			// Check it before asking for a second passphrase.
			if _, err := keystore.Open(home, homePass); err != nil {
				return err
			}
			backupPass, err := a.passphrase("Backup passphrase", passFile, envBackupPassphrase, true)
			if err != nil {
				return err
			}
			if len(backupPass) == 0 {
				return backup.ErrEmptyPassphrase
			}
			// A backup carries only unexpired prekeys (docs/protocol-v2.md §9):
			// expired ones are deleted first, as every command would. A home
			// that does not open is left to writeBackup, which says why.
			if c, err := client.Open(cmd.Context(), client.Options{Home: home, Passphrase: homePass}); err == nil {
				_, err = c.PrunePrekeys()
				c.Close()
				if err != nil {
					return fmt.Errorf("pruning expired prekeys before the export: %w", err)
				}
			}
			sum, err := writeBackup(out, home, homePass, backupPass, a.backupParams())
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"file": out, "account_id": sum.AccountID, "database_bytes": sum.DatabaseBytes, "files": sum.Files})
			}
			fmt.Fprintf(a.stdout, "Exported account %s to %s.\n", sum.AccountID, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&passFile, "backup-passphrase-file", "", "read the backup passphrase from this file")
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
	return cmd
}

// writeBackup writes the backup to a private temporary file beside out and
// renames it into place, so a failure leaves no partial backup and never
// clobbers an existing one.
func writeBackup(out, home string, homePass, backupPass []byte, p keystore.Params) (*backup.Summary, error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("write backup: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write backup: %w", err)
	}
	sum, err := backup.Export(tmp, home, homePass, backupPass, p)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, fmt.Errorf("write backup: %w", err)
	}
	return sum, nil
}

func (a *app) importCommand() *cobra.Command {
	var passFile string
	var force bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Restore a backup made with 'hush export' into a new home",
		Long: `Restore the backup in FILE into the home directory, which must be empty or
missing (--force replaces what is there, for good). The account comes back
as the same device, with its messages, contacts and settings. The backup
passphrase comes from --backup-passphrase-file, env ` + envBackupPassphrase + ` or a
prompt; the new home's own passphrase the usual way (--passphrase-file,
` + envPassphrase + `, or a prompt).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := a.homeDir()
			if err != nil {
				return err
			}
			if empty, err := backup.HomeEmpty(home); err != nil {
				return err
			} else if !empty && !force {
				return fmt.Errorf("%w: %s (use another --home, or --force to replace it)", backup.ErrHomeNotEmpty, home)
			}
			f, err := os.Open(args[0])
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no backup file %s", args[0])
			} else if err != nil {
				return err
			}
			defer f.Close()
			backupPass, err := a.passphrase("Backup passphrase", passFile, envBackupPassphrase, false)
			if err != nil {
				return err
			}
			homePass, err := a.passphrase("New passphrase for this home", a.passphraseFile, envPassphrase, true)
			if err != nil {
				return err
			}
			sum, err := backup.Import(f, backupPass, home, homePass, a.kdfParams(), force)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"home": home, "account_id": sum.AccountID, "database_bytes": sum.DatabaseBytes, "files": sum.Files})
			}
			fmt.Fprintf(a.stdout, "Imported account %s into %s.\n", sum.AccountID, home)
			if len(sum.Files) > 0 {
				fmt.Fprintf(a.stdout, "Also restored: %s.\n", strings.Join(sum.Files, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&passFile, "backup-passphrase-file", "", "read the backup passphrase from this file")
	cmd.Flags().BoolVar(&force, "force", false, "replace whatever the home directory holds")
	return cmd
}
