package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/client"
)

// envBackupPassphrase holds the backup passphrase of export and import.
const envBackupPassphrase = "HUSH_BACKUP_PASSPHRASE"

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
			h, err := a.ownHome()
			if err != nil {
				return err
			}
			if _, err := h.AccountID(); err != nil {
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
			if _, err := h.Unlock(homePass); err != nil {
				return err
			}
			backupPass, err := a.passphrase("Backup passphrase", passFile, envBackupPassphrase, true)
			if err != nil {
				return err
			}
			if len(backupPass) == 0 {
				return client.ErrEmptyBackupPassphrase
			}
			opts := a.homeOptions()
			sum, err := writeBackup(out, func(w io.Writer) (*client.BackupSummary, error) {
				return h.Export(cmd.Context(), w, homePass, backupPass, opts...)
			})
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"file": out, "account_id": sum.AccountID, "database_bytes": sum.DatabaseBytes, "files": sum.Files,
					"media_included": false, "media_left_out": sum.MediaLeftOut, "media_left_out_bytes": sum.MediaLeftOutBytes})
			}
			fmt.Fprintf(a.stdout, "Exported account %s to %s.\n", sum.AccountID, out)
			// Said every time, files or not: no one should count on it.
			fmt.Fprintf(a.stdout, "Media files are not in backups (%d files, %s, left out); the messages keep their attachments, "+
				"which an import lets you download again while the file server keeps them (21 days by default).\n",
				sum.MediaLeftOut, sizeText(sum.MediaLeftOutBytes))
			return nil
		},
	}
	cmd.Flags().StringVar(&passFile, "backup-passphrase-file", "", "read the backup passphrase from this file")
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
	return cmd
}

// writeBackup has export write the backup to a private temporary file
// beside out and renames it into place, so a failure leaves no partial
// backup and never clobbers an existing one.
func writeBackup(out string, export func(io.Writer) (*client.BackupSummary, error)) (*client.BackupSummary, error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("write backup: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write backup: %w", err)
	}
	sum, err := export(tmp)
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
			h, err := client.NewHome(home)
			if err != nil {
				return err
			}
			if info, running, err := h.RunningDaemon(); err != nil {
				return err
			} else if running {
				return &client.DaemonRunningError{Info: info}
			}
			if empty, err := h.Empty(); err != nil {
				return err
			} else if !empty && !force {
				return fmt.Errorf("%w: %s (use another --home, or --force to replace it)", client.ErrHomeNotEmpty, home)
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
			opts := a.homeOptions()
			if force {
				opts = append(opts, client.ReplaceHome())
			}
			sum, err := h.Import(f, backupPass, homePass, opts...)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"home": home, "account_id": sum.AccountID, "database_bytes": sum.DatabaseBytes, "files": sum.Files,
					"media_included": false, "media_to_fetch": sum.MediaToFetch})
			}
			fmt.Fprintf(a.stdout, "Imported account %s into %s.\n", sum.AccountID, home)
			if len(sum.Files) > 0 {
				fmt.Fprintf(a.stdout, "Also restored: %s.\n", strings.Join(sum.Files, ", "))
			}
			fmt.Fprintf(a.stdout, "Backups carry no media files: %d attachments are marked not downloaded; "+
				"hush media get MSG_ID fetches each while the file server still holds it.\n", sum.MediaToFetch)
			return nil
		},
	}
	cmd.Flags().StringVar(&passFile, "backup-passphrase-file", "", "read the backup passphrase from this file")
	cmd.Flags().BoolVar(&force, "force", false, "replace whatever the home directory holds")
	return cmd
}
