// Package sqlite is the service node's message store: [store.Store] and
// [store.Replica] over one SQLite file (modernc.org/sqlite, pure Go), with
// quotas, tombstones and the per-account digests that anti-entropy between
// swarm members compares.
//
// # Durability
//
// The file is in WAL mode with synchronous=FULL, and every method that
// changes state returns only after its transaction committed, so a message
// Put acknowledged survives kill -9 and power loss. Writes go through a
// single connection, in IMMEDIATE transactions; reads use a pool of
// read-only connections that WAL lets run beside the writer. [DB.PutBatch]
// commits many messages with one fsync, for replication and hand-off, and
// [GroupCommit] lets concurrent Puts and PutBatches share one commit.
//
// The schema lives in sql/ as numbered scripts embedded in the binary; Open
// runs the ones newer than the file's PRAGMA user_version in one transaction
// (syncthing's internal/db/sqlite/basedb.go works the same way).
//
// # Limits
//
// An account's storage is split into quota buckets: each public namespace
// (divisible by 10, where strangers deposit) is a bucket of its own
// ([WithPublicQuota]), and all owner-only namespaces share one
// ([WithAccountQuota]). A flood of deposits therefore fills only the
// namespace it is sent to: the owner's sync copies, config and key records
// always have their room, however much strangers send. (Before, one
// account-wide quota let anyone make every owner write fail with a burst
// of deposits.) Which public namespaces take deposits at all is the RPC's
// rule (rpc.DepositNamespaces), so an account has only a few public
// buckets. No expiry change takes a message past its deposit timestamp plus
// its namespace's longest TTL ([WithMaxTTL]).
//
// The file may grow only to [WithMaxTotalBytes]. At that cap, or when the
// disk is full, a change fails with store.ErrStoreFull and its transaction
// is rolled back whole: SQLite's journal keeps the file consistent, and the
// store stays usable for reads, deletes and sweeps.
//
// # Floods
//
// Anyone may deposit into a public namespace, so one account's inbox can
// be flooded. Once the namespace's bucket is full, Put first drops the
// account's expired messages; after that the store must either evict old
// messages or refuse new ones. It evicts the oldest by default
// ([EvictOldest]):
//
//   - Refusal keeps old mail but lets a spammer shut the inbox for as long
//     as the spam lives (up to 14 days), with one burst of deposits: nothing
//     new gets in, including the mail of every real contact.
//   - Eviction keeps the newest mail flowing: to push real mail out, a
//     spammer has to keep sending for as long as the victim is away, and a
//     recipient who polls while online still receives mail arriving between
//     the bursts. Its cost is silent loss of unread old mail under a
//     sustained flood, where refusal would have told the sender.
//
// A mailbox that keeps working is worth more to a messenger than one that
// is preserved but closed; [WithFloodPolicy]([Refuse]) selects the other
// trade-off. The same policy holds for every public namespace's bucket:
// eviction stays inside the flooded namespace. Only messages ordered
// before the new one are evicted, so members of a swarm converge on the
// same newest messages; a spammer who stamps deposits up to the 10 s the
// RPC allows ahead can make a real message stamped now count as older
// than all of them, and be refused, until that spam's time has passed.
// Owner-only namespaces hold the account's own data and are never evicted:
// over their quota, a Put into them fails with store.ErrAccountQuota.
//
// # Tombstones and anti-entropy
//
// [DB.Delete] and [DB.DeleteBefore] leave a tombstone per deleted message,
// kept until the message's expiry, and Put of a hash with a tombstone
// reports added=false without storing it, so a peer's late forward or
// anti-entropy cannot undo a deletion; [DB.Deleted] tells such a Put from
// a plain duplicate, so the RPC can say the message is gone. [DB.AccountDigest] and [DB.Hashes]
// let two members find and list the messages of an account they disagree
// on; [DB.Tombstones] and [DB.ApplyTombstones] carry deletions across.
//
// # Time
//
// The store keeps times as Unix milliseconds and returns them in UTC. It
// reads no clock except in Put ([WithClock]) and [DB.RunSweeper]; methods
// given a zero now return [ErrNoTime] rather than treat every message as
// unexpired.
package sqlite
