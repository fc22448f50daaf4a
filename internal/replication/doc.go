// Package replication makes the members of a swarm one replicated store:
// it forwards every write a member receives to the other members, repairs
// what forwards missed by anti-entropy, and hands accounts over when the
// registry moves them to another swarm. [New] returns a [Replicator]; the
// node mounts [Replicator.Handler] at rpc.NodeRPCPath, calls
// [Replicator.Forward] from its storage RPC handlers, and runs
// [Replicator.RunAntiEntropy]. It needs a store.Replica of the node's
// messages and a [Membership]; [SnapshotMembership] answers the latter, and
// the storage RPC (internal/nodeapi), from verified registry snapshots,
// using the [Swarm] type defined here.
//
// # Forwarding
//
// As in session-storage-server (oxenss/snode/service_node.cpp, where a
// stored message is relayed to every swarm peer and delete/expire requests
// are re-sent to the swarm with recurse unset), a member forwards each
// store, delete and expire at once, in parallel, to every other member,
// over HTTPS pinned to the peer's Ed25519 key. Unlike Session, a store's
// forward returns each member's signature over rpc.SigConfirmation, and
// the member that received the client's request lists them in its reply,
// so a client can count two confirmations before treating a message as
// stored: losing one node right after it answered cannot lose the message.
// That is also when the member answers: once one peer accepted the write
// (two members hold it), not when every peer did, so a slow or hanging
// member does not slow the swarm's stores. A client's store is queued for
// the peers before this member commits it ([Replicator.StoreAndForward]),
// so the two commits overlap; the member still answers only after its own
// commit, and signs its own confirmation only then. The forwards to the remaining
// members go on from bounded per-peer queues; what they cannot deliver
// within [Config.ForwardTimeout] is counted ([Replicator.ForwardStats])
// and left to anti-entropy. A client polls two members at once, so it
// sees the message even while the third still waits for its forward.
//
// Deletions travel as tombstones (hash and expiry) together with the
// client's intent (the hashes, or delete_before's time), so a member that
// never held a message still refuses it later.
//
// # Authentication and limits
//
// Every node-to-node request carries the sender's key, a timestamp, the
// SHA-256 of the body (which holds a random nonce) and an Ed25519
// signature over rpc.SigNodeRequest: network, sender, recipient, time and
// that hash. The receiver checks, on the headers alone and before it
// reads a byte of the body, the time (±rpc.SigTolerance), that the sender
// is registered (current or previous snapshot), the signature and a
// replay cache of signatures; it then takes one of the sender's in-flight
// slots (Config.PeerInFlight, and Config.InFlight for all peers; 503 past
// them), reads at most rpc.MaxNodeRequestBody and checks it against the
// signed hash. Then comes a token bucket per sender key — node traffic
// is limited per authenticated identity, never per IP; summary and
// accounts, which digest every shared account, cost 100 tokens — and, per
// operation, that the sender is a current member of the account's swarm
// (per the verified snapshot) and that the receiver is one too. Hand-offs
// are also accepted from a node that was a member in the previous
// snapshot, which is how a dissolved swarm's data reaches its new home.
//
// # Anti-entropy
//
// Session only forwards; a member down or partitioned during a forward
// stays without the message. Here each member periodically reconciles
// with each peer of its swarm, one peer at a time:
//
//  1. summary: the peer's digest per bucket (the first key byte of the
//     account), each bucket digest a SHA-256 over its accounts' digests;
//  2. accounts: for the buckets that differ, the digest of each account;
//  3. hashes: for each account that differs, its message hashes with
//     expiries and its tombstones;
//  4. both directions at once: tombstones the other side lacks are
//     applied or pushed, messages the other side lacks are fetched (in
//     batches bounded by bytes) or pushed, and an expiry that differs is
//     set to the earlier of the two on both sides.
//
// An account digest is SHA-256 over a domain label, each message hash with
// its expiry, in hash order, then each tombstone hash. Expiries are in the
// digest so that a lost expire converges too; the earlier expiry wins
// because shortening is what a user does to make a message go away, and a
// missed extension is repaired by the client renewing it, while a missed
// shortening would keep a message the user wanted gone. A round stops
// after [Config.RoundBytes] of message data, so a member far behind
// catches up over several rounds without starving client traffic.
// Account digests are cached between rounds and dropped when this node
// changes the account (or when a message or tombstone in it expires, and
// after five minutes at most), so a round over unchanged stores reads no
// hashes: BenchmarkAntiEntropyRound measures it, and a round with the
// cache cold, per 10,000 messages held.
//
// # Throughput
//
// Forwards to one peer are batched: while an apply to the peer is in
// flight, the forwards that arrive meanwhile go together in the next one
// (up to rpc.MaxNodeOps). The receiver commits the stores of concurrent
// applies in one transaction (sqlite.GroupCommit, which the node's
// client-facing Puts go through too), so under load a member pays one
// request, one signature and one fsync per batch rather than per message:
// it confirms the batch's stores with one signature over a Merkle root,
// each confirmation carrying its path (rpc.SignConfirmations). A member's
// own confirmations of the client stores it takes are batched the same
// way: those that wait together share a signature.
// A receiver decodes a forwarded account without the X25519 point check
// (see rpc.NodeOp.UnmarshalJSON), and the forwarding member checks only
// the form of the confirmations it passes on: the client verifies them.
// BenchmarkReplicatedStore measures a swarm of 3 against a single node.
//
// # Churn
//
// [Replicator.HandOff] runs after each new snapshot: accounts this node
// holds but no longer stores are pushed to every member of their new swarm
// and dropped here (without tombstones) only once at least two of those
// members, or all of them if fewer, accepted them; accounts it still
// stores are reconciled with the peers at once, which is how a newly
// joined member receives the swarm's data (Session's on_swarm_update
// relays everything to new nodes and bootstrap_swarms redistributes a
// dissolved swarm's messages). [Replicator.Decommission] pushes every
// account to its swarm's other members before the node leaves. Nothing
// acknowledged is dropped before another member holds it.
package replication
