// Package client is the hush client library: a [Client] opened on a home
// directory, a network and a passphrase sends 1:1 messages, receives them
// by polling the account's own swarm, and keeps contacts, conversations and
// messages in the home's encrypted database. It is the one door into hush:
// the `hush` command line, the daemon and any other program go through it,
// and its exported API uses only its own types and those of the public
// packages (identity, protocol/...), so a program outside this module can
// use it too (TestAPIUsesOnlyPublicTypes keeps it so).
//
// # Homes
//
// A [Home] is a directory holding one device of an account: the key file
// (the seed and the database key wrapped under the passphrase with
// Argon2id), the database, and small public files. It owns the layout and
// every operation on it: [Home.Create] and [Home.Restore] (from the
// recovery phrase) make an account, [Home.Open] opens a Client,
// [Home.ChangePassphrase], [Home.Export] and [Home.Import] (an encrypted
// backup that moves the home as the same device) and [Home.Wipe].
//
// # A first program
//
// Package hushtest starts a small network on loopback; the package
// example (Example) creates two accounts on it and exchanges a message
// with nothing but this package. In short:
//
//	home, _ := client.NewHome(dir)
//	id, phrase, err := home.Create(passphrase)
//	c, err := home.Open(ctx, passphrase, client.Options{Network: network})
//	defer c.Close()
//	m, err := c.Send(ctx, peer, "hello")
//	msgs, err := c.Sync(ctx) // send what waits, receive what is new
//
// # Errors
//
// Errors a caller must tell apart are exported values, listed in one
// place (errors.go, starting at [ErrNoAccount]), and a node's refusal is a
// [*NodeError] carrying the node's stable error code; wrapped errors keep
// them visible to errors.Is and errors.As.
//
// # Raw RPC
//
// [Client.RPC] signs a storage RPC for the account and sends it to a
// member of its swarm, through onion paths or, with [Options].Direct,
// straight to the node, following 421s to a newer verified snapshot;
// [Client.NodeRPC] sends one to a single node. They are `hush tool rpc`.
//
// # Reaching the network
//
// The client reaches nodes through two small interfaces. A [Transport]
// carries one storage RPC to one node: onion paths (internal/paths) by
// default, or [DirectTransport], a pinned HTTPS connection, for debugging
// and for a standalone node. A [Directory] says which nodes hold an
// account: [SnapshotDirectory] follows the registry's signed snapshots
// (the first from a seed node, later ones through the transport, each
// verified against the network file's registry keys, epochs never going
// back), and [StandaloneDirectory] is a single `hushd node --standalone`
// that owns every account.
//
// # Sending
//
// [Client.Send] builds a Content (random 16-byte message ID, the sender's
// signed time in sent_at_ms), pads it, seals it with protocol v1 to the
// recipient, and wraps it in an Envelope. A second, separate copy goes to
// the sender's own swarm for its other devices: a Content carrying a
// one-message HistoryShare (conversation = the recipient, author = the
// sender, content = the original Content), sealed to the sender's own
// account. The message is stored in the local database as queued and both
// copies are put in the outbox; the outbox is flushed at once and by every
// later command that reaches the network. A Client's first flush sends
// every queued item, since a new command is a new chance to reach the
// network; later flushes of a long-running Client (receive --follow)
// follow clientdb's backoff. A standalone home remembers its node's
// network ID and key, so it can queue while the node is down.
//
// A copy counts as stored once two members of the destination swarm
// confirmed it (one, for a swarm of one). The client stores to one random
// member; a replicating node answers with its peers' signed
// confirmations (rpc.StoreResult.Swarm), which are verified against the
// snapshot's swarm. When they fall short (a member that does not
// replicate, a forward that failed), the client stores to further
// members itself until enough confirmed.
//
// # Namespaces and lifetimes
//
//   - 0: the account's public inbox (DMs), TTL 14 days, or the
//     conversation's after-send disappearing timer when shorter.
//   - 1 ([NamespaceSync]): owner-only, the sender's sync copies, with the
//     same TTL as the inbox copy.
//   - 2 ([NamespaceDevices]): owner-only, one announcement per device of
//     the account (device ID, Ed25519 device key, creation time), TTL 30
//     days, renewed weekly.
//   - 3 ([NamespaceConfig]): owner-only, config objects (ConfigSync kinds
//     contacts and conversations), TTL 30 days, renewed weekly and by
//     the first sync after a change. Session spreads its config over
//     namespaces 2–5; one namespace with typed objects is enough here.
//   - 7 ([NamespaceKeys], rpc.NamespaceKeys): each device's protocol v2
//     Inbox record. The one namespace anyone may read without a signature
//     (a sender needs a contact's records before it can write); only the
//     account writes it. TTL up to the record's expiry.
//   - 8 ([NamespaceSyncKeys]): owner-only, each device's Sync record, for
//     the account's other devices.
//
// # Devices and config sync
//
// Every home is a device with a random device ID and an Ed25519 device key
// (protocol/devicerecord.Device, the identity protocol v2 hangs prekeys on),
// made at `hush init` and kept in the home's sealed settings. [Client.Sync]
// first announces the device, reads the account's announcements (a device
// not seen before raises [EventNewDevice] and waits in
// [Client.TakeNewDevices]; older devices found by a device's first poll
// are not news) and merges the config, then polls messages; so a device
// restored from the recovery phrase knows the contacts before their
// messages arrive and shows none of them as requests. Under v1 it also
// reads the history still in namespaces 0 and 1.
//
// Config (nicknames, accepted requests, blocks, disappearing settings,
// read state) is sealed with XChaCha20-Poly1305 under a key derived from
// the account seed with HKDF-SHA256 ("hush/1 config key"), inside an
// account object. Announcements and config objects are account objects
// (envelope type 3): XChaCha20-Poly1305 under another seed-derived key
// ("hush/1 account object key"), the AAD naming account and namespace;
// protocol v1, which the account's X25519 key opens, is no longer used for
// them (docs/protocol-v2.md §10). Anyone with the
// recovery phrase can read all config ever stored: config has no forward
// secrecy, by design, since a phrase restore must recover it. Each entry
// carries the signed time of its change and the changing device's ID, and
// the larger (time, device ID) wins, so every device converges whatever
// order objects arrive in; read state takes the maximum (config.go).
//
// # Receiving
//
// [Client.Poll] asks two random members of the own swarm, through the
// transport, for namespaces 0 and 1 from a cursor kept in the database
// minus a lookback window ([Options.Lookback]), so messages repaired into
// a swarm behind the cursor are still found; hashes already seen are
// skipped. Each member is also asked for what arrived there since the
// arrival mark it gave last (one per node, trusted for that node only),
// so a message that reaches a member later than the lookback — a forward
// held back under load, an anti-entropy repair — still arrives. Each new message is opened, its signature checked, its
// Content validated and stored with the sender's signed time; an envelope
// that does not open is dropped and counted ([Stats]) and the poll goes
// on. [Client.Receive] polls in a loop; [Client.Subscribe] delivers
// [Event]s to a UI: messages received, sent or failed, status changes
// (receipts), messages unsent or disappeared, requests, typing, path
// changes, transfers and new devices.
//
// # A long-running client
//
// [Client.Run] is everything a daemon does in the background, in one
// call: the receive loop of the notification mode (restarted when the
// mode changes), whose duties send the outbox, publish keys, sync config
// and devices, send receipts, download media and renew the push
// subscription, and the disappearing timers, applied at their deadlines.
// Failures of the network are retried with backoff; cancelling the
// context ends it. While a daemon runs, it owns the home
// ([Home.ClaimDaemon]): an exclusive lock on a file in the home, which the
// kernel drops when the process dies however it dies, and daemon.json
// naming it; every other [Home] value's opening and writing methods, and
// [Open], refuse with a [*DaemonRunningError], so two processes never
// write one home.
//
// Typing indicators ([Client.SendTyping]) are TypingMessages with a
// one-minute TTL, never stored and never queued: one that cannot be sent
// now is worth nothing later. Like receipts they go only to accepted
// contacts, and only an accepted contact's raise an [EventTyping].
//
// # Trusting no single node
//
// No one member of a swarm can make the client lose mail or keys
// (trust.go). Every message a member serves must hash to its hash and be
// dated no later than the network time allows; a member whose answer
// fails (garbled data, a far-future message, pages that never end) is
// marked bad, its bad messages ignored, and another member asked in its
// place, so answers are never merged last-wins. A member slower than a
// few seconds gets company (one more member is asked) and one that misses
// its deadline is replaced; both are asked last for a while, but a slow
// answer proves nothing, so slowness alone names no node. A message is marked seen only once stored, or refused for a
// reason its own data proves; one whose signed time is not yet plausible
// is tried again by later polls. The cursor moves only over messages that
// passed these checks, never past where a member cut off by a bound
// stopped. Pages, bytes and time per poll are bounded. Bad nodes are
// logged as warnings, listed by [Client.BadNodes] and saved in paths.json
// for `hush path`.
//
// Time: the network's time is the local clock plus the median offset of
// distinct nodes' answers (internal/netclock), never one node's word;
// samples further than a week off are refused and their node marked bad.
// It signs requests and dates what is sealed. Decisions that destroy
// something (pruning prekeys, refusing mail as past its key's deadline)
// take the earlier of the local and the network clock, so they wait,
// with a warning, while the two disagree; local expiry of messages uses
// the local clock only. A message's time is the one its sender signed in
// the protocol v2 seal, which replaces the Content's sent_at_ms
// everywhere (ordering, disappearing timers, receipts); an entry of a
// history share cannot be dated after the share was sealed.
//
// # Addressing
//
// A conversation is named by the peer's full Account ID or by a nickname
// the user gave the contact locally ([Client.Resolve]); never by a display
// name the other side chose.
//
// # Requests, receipts, unsend, timers and blocks
//
// The user's display name ([Client.SetProfileName]) rides in every
// DataMessage; receivers keep it as the contact's display name, a hint
// shown beside the Account ID and never resolved. A data message from an
// account with no accepted contact makes it an unaccepted contact: its
// conversation is a message request ([Client.Requests], Message.Request)
// until [Client.Accept] or [Client.DeleteRequest]; writing to an account,
// here or on another device (a sync copy), accepts it.
//
// A profile picture ([Client.SetAvatar], [Client.ClearAvatar]) rides the
// same way, as an attachment pointer in Profile.avatar: re-encoded
// without metadata, scaled to fit [AvatarSide], uploaded for as long as
// the file server keeps files and again before it would expire.
// Receivers fetch a contact's picture in the receive loop, never a
// request's, and keep it encrypted like other media ([Client.OpenAvatar]).
//
// Receipts ([Client.SetReceipts], off by default as in Session) are
// ReceiptMessages to the peer's inbox: delivered when a poll stores
// messages (one receipt per peer and poll), read when [Client.TakeUnread]
// hands them out, and only to accepted contacts. A receipt moves only messages we sent to its sender.
//
// [Client.Unsend] deletes an own message locally (tombstoned), deletes its
// sync copy from the own swarm and sends an UnsendRequest to the peer and,
// in namespace 1, to the account's other devices. The receiver
// honours it only when the request's author is the account that sealed it
// (the v1 signature), deletes the message (or tombstones it, if it has not
// arrived) and deletes its inbox copy from its own swarm: no account can
// delete from another's swarm.
//
// Disappearing settings ([Client.SetTimer]) are the conversation's column
// in clientdb; a change travels as a Content.expiration_settings naming
// its author (who must be its sender), and every message carries the
// setting, so a receiver whose setting lags adopts it, unless it knows a
// later change (signed times decide). After-send: the deadline is the
// sender's signed time plus the timer, and the swarm TTL is the timer (at
// least rpc.MinTTL). After-read: the reader's deadline is the local read
// time plus the timer, and it shortens its inbox copy with expire; the
// sender's is the read receipt's signed time plus the timer, or 14 days
// (the inbox TTL) without a receipt. Deadlines live in the database, so
// they survive restarts; every command runs clientdb.ExpireDue (also
// those that stay offline), and the own-swarm copies of what expired are
// deleted by the next command that reaches the network.
//
// A blocked account's messages (any kind) are dropped unread, the seal
// opened only to learn the sender, and their copies deleted from the own
// swarm ([Client.Block]).
// Pending remote deletions and expiry changes are kept in sealed settings
// and retried by the background duties ([Client.Flush]).
//
// # Files in the home
//
// Besides the key file and the database, the home holds snapshot.json
// (the newest verified registry snapshot) and paths.json ([PathsFile],
// guards and paths, shown by [Home.WritePaths]): public node keys and
// addresses only, readable without the passphrase, a running daemon's
// lock file, daemon.json and API key ([DaemonKeyFile]; none of them ever
// in a backup), and media/, the
// attachments' verified ciphertexts under random names (attachments.go;
// their keys, names and types are sealed in the database). The names are
// defined once, in home.go. Nothing in the home
// holds a message, a contact's Account ID or a nickname in the clear.
//
// # Sealing
//
// Sealing goes through one small seam (seal.go), protocol v2 between hush
// clients (crypto/sealv2 over protocol/devicerecord, docs/protocol-v2.md);
// v1 stays for tooling and tests. A new device (a restore) therefore
// cannot read what was sealed before it existed: history reaches it only
// when a live device shares it again ([Client.ShareHistory], `hush devices
// share-history`): the messages still within the TTL, in HistoryShare parts
// sealed with v2 to the new device's Sync records only.
//
// Under v2, Queue only marks each copy as pending in the outbox (sealed at
// rest there), because sealing needs the destination's device records and
// a message may be queued offline. The outbox seals a pending copy when it
// sends it ([Client.FlushOutbox]): it reads the recipient's Inbox records
// from two members of its swarm (unsigned, namespace 7), verifies each
// (account signature, account, validity, a prekey for now's epoch), keeps
// the newest per device and seals one ciphertext to all of them. The sync
// copy is a separate ciphertext to the Sync records of the account's other
// devices (namespace 8), or to this device alone when it has none, so the
// own swarm always holds a copy that deletes and timers apply to. A
// recipient without a valid record leaves the copy queued and the
// conversation "waiting for keys" ([Client.WaitingForKeys]); the outbox
// retries it, and nothing weaker is ever sent. Records fetched in one flush
// are reused within it. Devices seen for the first time are recorded and
// announced ([EventNewKeyDevice]); a record that gives a known device ID
// another device key is held back, never sealed to, and reported the same
// way until [Client.ConfirmDeviceKey]. A known contact device whose record
// is missing from the answer (withheld) holds the message for up to ten
// minutes, then it goes to the others ([EventDeviceMissing],
// [Client.MissingDevices]).
//
// Receiving, a v2 message is opened with this device's prekeys of the
// class its header names; a v1 message is dropped, counted and reported
// ([ErrV1Refused]): hush clients never send each other v1, so one is
// injected, replayed or downgraded.
//
// Prekeys: each device keeps private X-Wing prekeys of both classes in the
// sealed settings of its database (secure_delete on). [Client.KeyDuties],
// run by Open on a network and by every Sync, generates the epochs ahead,
// prunes keys past their deadline and republishes both records when the
// last ones are half an epoch old, deleting the ones they replace. `hush
// init` publishes at once; `hush export` prunes first.
package client
