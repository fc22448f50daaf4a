// Package cli implements the `hush` command line: flag parsing, passphrase
// handling and output formatting over the client libraries. Commands print
// human text by default and one JSON document (or one JSON object per line
// for streams) with --json; errors are one line on stderr and a non-zero exit
// status, and a failing command never overwrites anything.
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/identity"
)

// Environment variables the CLI reads.
const (
	envHome          = "HUSH_HOME"
	envPassphrase    = "HUSH_PASSPHRASE"
	envNewPassphrase = "HUSH_NEW_PASSPHRASE"
)

// app carries the global flags and streams of one invocation.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	home           string
	passphraseFile string
	jsonOut        bool

	// hooks says whether the test hooks' variables are read (testhooks.go).
	hooks bool
}

// Main runs the hush command line with args (without the program name) and
// returns the process exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(args, stdin, stdout, stderr, buildHooks)
}

// run is Main with the test hooks on or off.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, hooks bool) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, hooks: hooks}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "hush: "+err.Error())
		return 1
	}
	return 0
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "hush",
		Short: "hush: a decentralized, end-to-end-encrypted messenger",
		Long: `hush is a messenger whose account is a key: no phone number, no e-mail.
Messages are end-to-end encrypted and stored by a network of service nodes
that never learn who talks to whom.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.home, "home", "", "home directory (env "+envHome+", default $XDG_DATA_HOME/hush)")
	pf.StringVar(&a.passphraseFile, "passphrase-file", "", "read the passphrase from this file (else env "+envPassphrase+", else a prompt)")
	pf.BoolVar(&a.jsonOut, "json", false, "print machine-readable JSON")
	root.AddCommand(
		a.initCommand(),
		a.idCommand(),
		a.phraseCommand(),
		a.passphraseCommand(),
		a.toolCommand(),
		a.devnetCommand(),
		a.pathCommand(),
		a.sendCommand(), a.receiveCommand(), a.chatsCommand(), a.chatCommand(), a.contactsCommand(), a.storageCommand(),
		a.exportCommand(), a.importCommand(), a.accountCommand(),
		a.profileCommand(), a.settingsCommand(), a.notificationsCommand(), a.requestsCommand(), a.acceptCommand(),
		a.blockCommand(), a.unblockCommand(), a.unsendCommand(), a.deleteMessageCommand(),
		a.devicesCommand(),
		a.mediaCommand(),                    // media.go
		a.daemonCommand(),                   // daemon.go
		a.networkCommand(),                  // transparency.go
		a.callCommand(),                     // call.go
		a.groupCommand(),                    // group.go
		a.reactCommand(), a.searchCommand(), // conva.go
	)
	return root
}

// homeDir resolves the home directory: --home, $HUSH_HOME, then the XDG data
// directory.
func (a *app) homeDir() (string, error) {
	if a.home != "" {
		return a.home, nil
	}
	if h := os.Getenv(envHome); h != "" {
		return h, nil
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "hush"), nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory: set --home or %s", envHome)
	}
	return filepath.Join(h, ".local", "share", "hush"), nil
}

// openHome returns the home directory's [client.Home].
func (a *app) openHome() (*client.Home, error) {
	dir, err := a.homeDir()
	if err != nil {
		return nil, err
	}
	return client.NewHome(dir)
}

// ownHome is openHome for a command that opens or writes the home: while
// a daemon owns it, the command refuses with one line naming the daemon
// ([client.DaemonRunningError]), before asking for any passphrase. Commands
// that only read public files (id, path) or only unlock (phrase) need not.
func (a *app) ownHome() (*client.Home, error) {
	h, err := a.openHome()
	if err != nil {
		return nil, err
	}
	info, running, err := h.RunningDaemon()
	if err != nil {
		return nil, err
	}
	if running {
		return nil, &client.DaemonRunningError{Info: info}
	}
	return h, nil
}

// errNoPassphrase is returned when no passphrase source is available.
var errNoPassphrase = errors.New("no passphrase: set " + envPassphrase + ", use --passphrase-file, or run on a terminal")

// passphrase returns the passphrase from --passphrase-file, the environment,
// or a no-echo prompt on the terminal, in that order. With confirm set (a new
// passphrase), a prompt asks twice.
func (a *app) passphrase(prompt, file, env string, confirm bool) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read passphrase file: %w", err)
		}
		// One trailing newline is an artifact of `echo pw > file`, not part of the passphrase.
		s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		return []byte(s), nil
	}
	// An empty variable counts as unset, as shells make that easy to do by accident.
	if v := os.Getenv(env); v != "" {
		return []byte(v), nil
	}
	tty, ok := a.terminal()
	if !ok {
		return nil, errNoPassphrase
	}
	fmt.Fprint(a.stderr, prompt+": ")
	p, err := term.ReadPassword(tty)
	fmt.Fprintln(a.stderr)
	if err != nil {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	if confirm {
		fmt.Fprint(a.stderr, "Repeat it: ")
		again, err := term.ReadPassword(tty)
		fmt.Fprintln(a.stderr)
		if err != nil {
			return nil, fmt.Errorf("read passphrase: %w", err)
		}
		if string(again) != string(p) {
			return nil, errors.New("the two passphrases differ")
		}
	}
	return p, nil
}

// terminal reports the file descriptor of stdin when it is a terminal.
func (a *app) terminal() (int, bool) {
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// unlock opens the current home's account.
func (a *app) unlock() (*identity.Account, error) {
	h, pass, err := a.homePassphrase()
	if err != nil {
		return nil, err
	}
	return h.Unlock(pass)
}

// homePassphrase returns the home and its passphrase, checking for the
// account first so no one types a passphrase that has no use.
func (a *app) homePassphrase() (*client.Home, []byte, error) {
	h, err := a.openHome()
	if err != nil {
		return nil, nil, err
	}
	if _, err := h.AccountID(); err != nil {
		return nil, nil, err
	}
	pass, err := a.passphrase("Passphrase", a.passphraseFile, envPassphrase, false)
	if err != nil {
		return nil, nil, err
	}
	return h, pass, nil
}

// printJSON writes v as indented JSON on stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
