// Package devicerecord defines the signed per-device prekey record of
// protocol v2: how a device publishes its public prekeys (crypto/prekey)
// and how a sender checks them before sealing to them (crypto/sealv2).
//
// Each device of an account publishes its own record in its account's swarm.
// The record is signed by the device's own Ed25519 key and then by the
// account's (so a device ID stays bound to its key: whoever has only the
// account seed cannot publish in an existing device's name), is dated at
// the start of its epoch (namespace 7 is public, and an exact time would
// tell when the device was last in use), and lists, for each epoch
// (prekey.EpochLength) from now until the longest time a message to it may
// live, an X-Wing public key. The byte layout and the rules are specified in
// docs/protocol-v2.md; this package is their reference. The epochs, the
// classes, the device IDs and the private prekeys behind a record belong to
// crypto/prekey, which this package builds on.
//
// # Classes
//
// A record carries the [prekey.Class] of its prekeys: [prekey.Inbox] records
// are published in the account's public-readable key namespace for
// contacts, [prekey.Sync] records in an owner-only namespace for the
// account's other devices. The class is inside the signature, so a sync
// prekey cannot be passed off as an inbox prekey.
//
// # Trust
//
// [Parse] only checks the format. A sender uses a record only after [Verify],
// which checks the account signature, that the record belongs to the account
// it was fetched for, the device signature, its validity period and that it
// has a prekey for the current epoch; each failure has its own error. The
// client then checks the device key against the one it remembers for the
// device ID before [Newest] picks among the records, and seals to the
// records' [Record.Bundle].
//
// # Making a record
//
// A [Device] is a device's long-lived signing identity; [Make] signs a
// record of the public side of its [prekey.DeviceKeys].
//
// The package does no I/O and reads no clock: every function that needs the
// time takes it as an argument. Randomness comes from crypto/rand.
package devicerecord
