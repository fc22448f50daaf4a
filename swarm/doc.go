// Package swarm holds the pure rules that place accounts and service nodes
// into swarms: which swarm stores an account's messages, and how the
// registry assigns nodes to swarms as they join and leave.
//
// Both rules follow Session/Oxen exactly, so that anyone who knows those
// networks can predict hush's behaviour:
//
//   - Account → swarm ([KeyPosition], [Ring], [ForKey]) is
//     session-storage-server oxenss/snode/swarm.cpp get_swarm_by_pk: the 32
//     key bytes after the 0x05 prefix, read as four big-endian uint64 and
//     XORed, choose the nearest swarm ID on the 2^64 ring; on a tie the left
//     neighbour (the smaller ID going around) wins.
//   - Node → swarm ([Update]) is oxen-core
//     src/cryptonote_core/service_node_swarm.cpp calc_swarm_changes: new
//     nodes fill the smallest quarter of swarms, a new swarm is split off
//     once the nodes above the minimum are enough for one ideal swarm plus a
//     margin in every existing one, swarms below the minimum steal from the
//     largest quarter, and a swarm that cannot be saved is dissolved into the
//     smallest swarms.
//
// The sources were read at oxen-core b208672 (2024-10-24) and
// session-foundation/session-storage-server 8616387 (2024-07-22); their unit
// tests (tests/unit_tests/service_nodes_swarm.cpp, unit_test/swarm.cpp)
// are replayed in this package's tests.
//
// # Determinism
//
// The registry runs [Update] inside a Raft state machine, so every replica
// must compute the same bytes from the same inputs. Nothing here reads a
// clock, does I/O, or lets map iteration order reach a result: nodes are
// processed in ascending key order and swarms in ascending ID order, as in
// oxen (whose std::map and pubkey-sorted node list give the same orders).
//
// All randomness comes from the 32-byte seed passed to [Update]. It seeds
// the ChaCha8 generator of the C2SP chacha8rand specification
// (c2sp.org/chacha8rand), which Go implements as math/rand/v2.ChaCha8; a
// bounded draw uses oxen's tools::uniform_distribution_portable rejection
// rule (src/common/random.cpp) on that stream, never rand.IntN, whose
// algorithm Go does not promise to keep. The registry must pass a seed the
// registrant cannot grind: the hash of a later log entry, never of the
// registrant's own.
//
// # Differences from oxen
//
// Oxen seeds a Mersenne Twister with 8 bytes of the block hash; hush uses
// ChaCha8 with the full seed. Oxen sorts swarms by size with std::sort,
// whose order among equal sizes the C++ standard leaves open; hush sorts
// stably, so equal sizes stay in ascending ID order. Oxen would throw if
// dissolving left no swarm at all (two swarms whose nodes together are
// fewer than the minimum); hush keeps the last swarm, undersized, instead.
package swarm
