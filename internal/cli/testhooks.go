package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/hushnet/hush/client"
)

// Test hooks: two environment variables that let end-to-end tests drive
// the real command, read only when the hooks are on. Main turns them on
// in builds with the lab tag (the network lab runs the built binary) and
// the package's tests turn them on through run; a shipped `hush` ignores
// them. They stay out of the shipped binary, not documented options,
// because both weaken what a user relies on: one makes a new passphrase
// cheap to guess, the other moves the clock that disappearing messages
// and prekey deletion follow, and an environment variable is easy to
// leave set by accident or to inherit from someone else's script.
const (
	// envTestKDF makes new key files and backups use Argon2id parameters
	// so cheap that their passphrases are trivially guessed
	// ([client.InsecureTestKDF]).
	envTestKDF = "HUSH_INSECURE_TEST_KDF"
	// envTestClock moves the client's local clock by a duration (such as
	// 61m), so scripts can pass disappearing deadlines without sleeping.
	// Only the local clock moves: signed times still follow the nodes'
	// clocks, which the client learns from their answers.
	envTestClock = "HUSH_TEST_CLOCK_OFFSET"
)

// homeOptions returns the options that writing a key file or backup
// takes: the cheap KDF when the hook asks for it, with a warning.
func (a *app) homeOptions() []client.HomeOption {
	if a.hooks && os.Getenv(envTestKDF) == "1" {
		fmt.Fprintln(a.stderr, "hush: warning: "+envTestKDF+" is set; this passphrase is cheap to guess")
		return []client.HomeOption{client.InsecureTestKDF()}
	}
	return nil
}

// testClock returns the clock envTestClock asks for, or nil (the real one).
func (a *app) testClock() func() time.Time {
	if !a.hooks {
		return nil
	}
	d, err := time.ParseDuration(os.Getenv(envTestClock))
	if err != nil || d == 0 {
		return nil
	}
	return func() time.Time { return time.Now().Add(d) }
}
