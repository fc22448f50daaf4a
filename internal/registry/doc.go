// Package registry is the network registry (`hushd registry`, DESIGN §3):
// which service nodes exist, with which keys and addresses, and which
// swarm each belongs to. It is a state machine replicated by
// hashicorp/raft across 1, 3 or 5 registry hosts run by the network's
// stewards; each epoch it issues a snapshot (protocol/snapshot) that a
// majority of the hosts sign and that nodes and clients verify.
//
// # The log
//
// Every decision is a log entry (package entry): a genesis that fixes the
// network ID, the founding hosts, the stewards, the admission policy and
// the swarm sizes; steward admissions of node keys; node registrations
// (signed descriptors); hosts' liveness votes; host membership changes;
// epoch ticks; and hosts' signatures over each epoch's snapshot. Nothing a
// replica needs comes from its own config once the genesis is in the log,
// so hosts cannot diverge through configuration.
//
// Raft tolerates crashed hosts, not lying ones, so the state machine
// trusts no entry because a leader appended it: Apply re-verifies every
// signature in every entry on every replica (admissions against the
// genesis stewards, descriptors against the node's own key, votes and
// membership changes against the current hosts, epoch signatures against
// the snapshot the replica built itself) and refuses a bad entry with an
// error response, leaving the registry as it was. The host that accepts a
// request makes the same checks first, so honest traffic never reaches
// the log only to be refused.
//
// # Epochs and swarms
//
// Registrations and deregistrations change the node set at once, but
// swarms change only at epoch ticks, which the leader proposes every
// EpochInterval: each tick runs swarm.Update (oxen-core's rules) over the
// registered nodes, builds the epoch's snapshot, and every host signs it
// and logs its signature; the snapshot counts once a strict majority of
// that epoch's hosts have signed. The assignment's randomness is SHA-256
// over the network ID, the epoch, a nonce the leader draws when it
// proposes the tick, and the digest of the whole log so far. The tick is
// proposed after the registrations it places were committed, so a
// registrant cannot see the seed that will place it, let alone grind it.
// Epochs only go up; a snapshot names its issue and expiry times, taken
// from the tick entry rather than any replica's clock.
//
// # Liveness
//
// Every host probes every node each ProbeInterval (by default with the
// storage RPC's info call over TLS pinned to the node key, [NodeProber]).
// A host that has seen a node fail for UnreachableAfter logs a signed
// vote; it withdraws the vote when the node answers again. A node is
// deregistered when a strict majority of the current hosts vote against
// its current registration; one host alone never removes a node. A node
// that comes back registers again with a newer descriptor, which starts
// with no votes.
//
// A node that is decommissioned leaves at once instead: it signs a
// deregistration (entry.Deregister) later than its current registration,
// and the registry drops it when the entry is applied. As for a voted-out
// node, its swarm changes at the next epoch. The registry remembers the
// deregistration's timestamp, so neither it nor the descriptor it ended
// can be replayed.
//
// # Hosts
//
// Raft traffic runs over mutual TLS pinned to the hosts' Ed25519 keys
// (package raftnet). A host is added or removed by a log entry signed by
// a current host (`hushd registry join|leave`); the leader then makes
// Raft's voter set follow the registry's host list. The HTTPS API
// (package registryapi, client in registryclient) serves nodes and tools;
// followers forward writes to the leader.
//
// Logs name hosts by key and never carry node addresses or Account IDs.
//
// # Transparency
//
// [Host.Transparency] reads what the host holds (DESIGN §10) from its live
// state: the replicated records, the Raft log, every file of the data
// directory, what it keeps in memory and what it logs. The API serves it
// signed with the host key (protocol/transparency, with the steward's
// requests statement from transparency.toml) to a GET at
// [TransparencyPath], and as an onion destination at
// transparency.Target, so that clients fetch it without showing their
// address: the host's onion key is derived from its Ed25519 seed as a
// node's is, and so is known to every client from the network file's
// Ed25519 key alone. Nodes relay to that one path of a registry host and
// to nothing else of its API.
package registry
