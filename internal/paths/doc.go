// Package paths is the client's onion path manager: it keeps two guard
// nodes across restarts, builds paths of three relays (a guard and two
// random nodes) from the verified snapshot, sends storage RPCs through
// them to a destination node ([Manager.Do]), counts failures, and rebuilds
// what fails (DESIGN.md §5 "Paths"). The rules follow Session's desktop
// client (session-desktop ts/session/onions/onionPath.ts and
// ts/session/apis/snode_api/onions.ts); the differences are listed below.
//
// # Guards and paths
//
// Two guards ([Guards]) are chosen at random from the snapshot and tested
// with a direct info request before use, as onionPath.ts selectGuardNodes
// and testGuardNode do; they are stored in the client's home (the state
// file, mode 0600) together with the current paths, so that a restart
// keeps them and `hush path` can show them. Each guard starts one path;
// the two other relays of a path are drawn at random from the nodes that
// are neither guards nor in another path. No two relays of a path share an
// IPv4 /24 (IPv6 /48; a DNS name counts as its own network), unless the
// network file sets loopback for a devnet on one machine. A path never
// carries a request to a destination that is one of its own relays.
//
// # Failures
//
// onionclient reports which position of a path failed. A relay that fails
// three times ([MaxFailures], Session's snodeFailureThreshold) is replaced
// by a fresh node, and avoided until the next snapshot unless no other
// node can fill a path (a small network); a guard that fails three times is dropped with its path
// and a new guard is selected and tested. A path that fails three times
// without a relay to blame (a response that does not decrypt) is rebuilt.
// A failure at the destination is the caller's business, not the path's.
// A request that failed before reaching its destination is retried on
// another path, at most twice.
//
// # Sessions
//
// Each path opens onion sessions at its guard and middle relay with its
// first request and uses them for later ones (onionclient.Sessions,
// docs/onion.md), so a warm request does public-key work only for the
// last relay and the destination. A rebuilt path starts new sessions;
// Options.NoSessions turns them off.
//
// # Answers the manager understands
//
// A 421 answer returns a *[WrongSwarmError] with the swarm the node named,
// so that the caller refreshes its swarm cache (onions.ts
// handle421InvalidSwarm). A clock_skew answer gives the node's time "t"
// to the network clock (internal/netclock, shared with the client through
// Options.NetClock: the median over distinct nodes, so one node cannot
// set it) and returns [ErrClockSkew]; callers sign with [Manager.Now] and
// retry. Nodes the client caught misbehaving ([Manager.MarkBad]) are kept
// in the state file for `hush path` ([ReadReport]). The snapshot itself is fetched through a
// path ([Manager.FetchSnapshot]) once the client has one; only the first
// comes straight from a seed node (the same [FetchSnapshot] over a direct
// connection).
//
// # Differences from Session
//
//   - Failures name a hop by cryptography (the layer key that opened the
//     report), not by a plaintext key any relay could write.
//   - Path state lives in a JSON file, not in the client's database, so
//     that `hush path` can read it without unlocking anything: it holds
//     only public node keys and addresses.
package paths
