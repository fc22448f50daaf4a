// Package devicerecord defines the signed per-device prekey record of
// protocol v2 and the private prekeys behind it.
//
// Each device of an account publishes its own record in its account's swarm.
// The record is signed by the device's own Ed25519 key and then by the
// account's (so a device ID stays bound to its key: whoever has only the
// account seed cannot publish in an existing device's name), is dated at
// the start of its epoch (namespace 7 is public, and an exact time would
// tell when the device was last in use), and lists, for each
// epoch (one UTC day, [EpochLength]) from now until the longest time a
// message to it may live, an X-Wing public key (ML-KEM-768 + X25519, HPKE's
// MLKEM768X25519 from the Go standard library). Senders wrap a message key to
// the prekey of the current epoch (crypto/sealv2); the device deletes the
// private prekey once every message sealed to it must have expired, which is
// what gives protocol v2 its forward secrecy. The byte layout and the rules
// are specified in docs/protocol-v2.md; this package is their reference.
//
// # Classes
//
// A device keeps two independent sets of prekeys, one per [Class]: [Inbox]
// prekeys, published in the account's public-readable key namespace for
// contacts, and [Sync] prekeys, published in an owner-only namespace for the
// account's other devices (sync copies of sent messages). Inbox messages live
// at most 14 days, sync copies 30 days (DESIGN.md §4), and a prekey must be
// kept as long as the longest-lived message sealed to it: one shared set
// would stretch the forward-secrecy window of every contact's message to 31
// days. The class is inside the signature, so a sync prekey cannot be passed
// off as an inbox prekey.
//
// # Trust
//
// [Parse] only checks the format. A sender uses a record only after [Verify],
// which checks the account signature, that the record belongs to the account
// it was fetched for, the device signature, its validity period and that it
// has a prekey for the current epoch; each failure has its own error. The
// client then checks the device key against the one it remembers for the
// device ID before [Newest] picks among the records.
//
// # Private side
//
// [DeviceKeys] holds one class's private prekeys. Each one is generated from
// fresh randomness and stored, never derived from a long-lived secret: a key
// that can be derived again cannot be deleted, and deletion is the whole
// point. [DeviceKeys.Prune] applies the deletion rule ([DeleteAfter]).
//
// The package does no I/O and reads no clock: every function that needs the
// time takes it as an argument. Randomness comes from crypto/rand.
package devicerecord
