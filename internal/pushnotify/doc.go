// Package pushnotify is a service node's push notifier (DESIGN.md §7
// push, step 4): for each new deposit into a namespace that a live push
// subscription record of the account subscribes (protocol/push, namespace
// push.Namespace of the account's own swarm), it sends the push server a
// notify — the subscription ID, its notify secret, a tag keyed by the
// record's payload key over the message hash, and the sealed payload —
// through the node's own onion path, so that the push server cannot tell
// which node, hence which swarm, woke the device. [New] returns a
// [Notifier]; the node passes it as the Deposits of its storage RPC
// (internal/nodeapi) and of replication, and runs [Notifier.Run].
//
// # What wakes a device
//
// Only new deposits: a client's store that added a message to this node,
// or a swarm peer's forward that did (replication.Deposits). Anti-entropy
// repairs and hand-offs carry messages the swarm already had, and a
// deposit whose timestamp is older than [Config.MaxAge] (a minute) is old
// news: neither wakes anyone. Each member of the swarm notifies on its
// own; the tag is the same at every member for one message, so the push
// server sends one push.
//
// # Which server
//
// A record names the push server by its X25519 key. The notifier sends
// only to the push server the network file lists ([Config.Server]), and
// only when the record names exactly that one: a record naming any other
// key is ignored (and counted), so an account cannot make nodes send
// requests where it likes.
//
// # Coalescing, retries and bounds
//
// A store never waits for a notify: [Notifier.Deposited] puts the deposit
// in a bounded queue and returns; when the queue is full the deposit is
// dropped and counted. One goroutine ([Notifier.Run]) takes deposits,
// reads the account's records from the store, and keeps per subscription
// the deposits not yet notified. The first deposit of a quiet
// subscription is sent at once (a push is latency); later ones within
// [Config.Interval] of the last send are coalesced into one notify whose
// payload names the newest deposit and counts them all, sent as soon as
// the interval has passed (a timer set for that moment; a poll every
// [Config.Tick] only backs it up). A notify that
// fails (no path, a 5xx, rate_limited) is retried with doubling backoff,
// [Config.Attempts] times in all, well within the push server's tag
// memory; one the server refuses (forbidden, not_found, gone) is not.
// At most [Config.MaxInFlight] notifies travel at once and at most
// [Config.MaxPending] subscriptions are tracked; past either, work waits
// or is dropped and counted, never a store.
//
// # Privacy
//
// Metrics carry no per-subscription or per-account label. Logs carry no
// Account ID and no subscription ID.
package pushnotify
