package client

import (
	"errors"

	"github.com/hushnet/hush/internal/backup"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/internal/keystore"
)

// The errors a caller of this package may need to tell apart, for
// errors.Is (and errors.As for [*NodeError]). Each method's doc names the
// ones it returns; a program that maps them to its own codes (the daemon's
// JSON API) can rely on this list being complete:
//
//   - the home: [ErrNoAccount], [ErrAccountExists], [ErrWrongPassphrase],
//     [ErrEmptyPassphrase], [ErrHomeCorrupt], [ErrHomeNotEmpty], and
//     [ErrDaemonRunning] (as a [*DaemonRunningError]);
//   - backups: [ErrWrongBackupPassphrase], [ErrEmptyBackupPassphrase],
//     [ErrBackupCorrupt], [ErrBackupVersion];
//   - the network: [ErrNoNetwork], [ErrUnreachable], [ErrNoSwarm], and a
//     node's refusal as a [*NodeError] (its Code is the node's stable
//     error code);
//   - addressing: [ErrBadAccountID], [ErrUnknownContact],
//     [ErrNicknameTaken], [ErrNotFound];
//   - messages: [ErrEmptyMessage], [ErrTooLarge], [ErrCannotUnsend],
//     [ErrNotRequest], [ErrBadTimer], [ErrBadProfileName];
//   - settings: [ErrBadNotificationMode], [ErrBadNotificationContent],
//     [ErrBadCallMode];
//   - calls (call.go): [ErrCallsOff], [ErrBlocked], [ErrNoCall],
//     [ErrCallState], [ErrInCall], [ErrRelayOnly], [ErrBadCallSignal];
//   - keys and devices (protocol v2): [ErrWaitingForKeys] (a message waits
//     for the peer's device records; not a failure), [ErrUnknownDevice],
//     [ErrNoKeyChange], [ErrDeviceKeyChanged];
//   - in events only ([Event].Err): [ErrDropped], [ErrV1Refused],
//     [ErrConfig].
var (
	// ErrNoAccount: the home holds no account (no key file).
	ErrNoAccount = keystore.ErrNoAccount
	// ErrAccountExists: [Home.Create] or [Home.Restore] found an account
	// in the home and was not told to replace it.
	ErrAccountExists = keystore.ErrExists
	// ErrWrongPassphrase: the home's passphrase is wrong. Returned by
	// [Open], [Home.Unlock], [Home.ChangePassphrase] and [Home.Export].
	ErrWrongPassphrase = keystore.ErrWrongPassphrase
	// ErrEmptyPassphrase: a new home passphrase is empty.
	ErrEmptyPassphrase = keystore.ErrEmptyPassphrase
	// ErrHomeCorrupt: the key file is damaged.
	ErrHomeCorrupt = keystore.ErrCorrupt
	// ErrHomeNotEmpty: [Home.Import] was asked to restore into a home
	// that already holds something, without [ReplaceHome].
	ErrHomeNotEmpty = errors.New("the home directory is not empty")

	// ErrWrongBackupPassphrase: a backup's passphrase is wrong.
	ErrWrongBackupPassphrase = backup.ErrWrongPassphrase
	// ErrEmptyBackupPassphrase: a new backup passphrase is empty.
	ErrEmptyBackupPassphrase = backup.ErrEmptyPassphrase
	// ErrBackupCorrupt: a backup file is damaged or was tampered with.
	ErrBackupCorrupt = backup.ErrCorrupt
	// ErrBackupVersion: a backup file has a version this client does not
	// read.
	ErrBackupVersion = backup.ErrUnsupportedVersion

	// ErrNoNetwork: the client was opened without a network (Options name
	// no network file, node or directory) and the call needs one.
	ErrNoNetwork = errors.New("no network: give a network file or a standalone node")
	// ErrUnreachable: no node answered; queued work waits in the outbox.
	ErrUnreachable = errors.New("network unreachable")
	// ErrNoSwarm: the snapshot places the account in no swarm (a network
	// with no assigned nodes).
	ErrNoSwarm = errors.New("no swarm holds this account")

	// ErrBadAccountID: text that looks like an Account ID is not a valid
	// one. It wraps identity's error saying what is wrong.
	ErrBadAccountID = errors.New("malformed Account ID")
	// ErrUnknownContact: a name is neither an Account ID nor the nickname
	// of a contact.
	ErrUnknownContact = errors.New("no contact with that nickname")
	// ErrNicknameTaken: [Client.AddContact] was given a nickname another
	// contact has.
	ErrNicknameTaken = clientdb.ErrNicknameTaken
	// ErrNotFound: no conversation or message by that name or ID.
	ErrNotFound = clientdb.ErrNotFound

	// ErrEmptyMessage: the text is empty.
	ErrEmptyMessage = errors.New("message is empty")
	// ErrTooLarge: the message does not fit the network's size limit.
	ErrTooLarge = errors.New("message too large")
	// ErrNotRequest: the account's conversation is not a message request.
	ErrNotRequest = errors.New("not a message request")
	// ErrBadTimer: an unknown mode, or a timer that is not whole seconds.
	ErrBadTimer = errors.New("bad disappearing setting")
	// ErrBadProfileName: the display name is blank, too long or not UTF-8.
	ErrBadProfileName = errors.New("bad display name")
	// ErrBadNotificationMode: [Client.SetNotifications] was given a mode
	// it does not know.
	ErrBadNotificationMode = errors.New("unknown notification mode")

	// ErrUnknownDevice: a device named to [Client.ShareHistory] has no
	// valid Sync record in the own swarm, so nothing can be sealed to it.
	ErrUnknownDevice = errors.New("no sync record for this device of the account")

	// ErrConfig wraps why a config object could not be read.
	ErrConfig = errors.New("unreadable config object")
)
