// Package lab is hush's network lab: registry hosts, service nodes and
// clients each in their own Linux network namespace with their own
// address, so the per-IP limits, the per-relay identities, the /24 path
// rule, partitions and real round trips can be tested and measured
// (issue 25). Linux only, as root, with `ip`; the tests carry the `lab`
// build tag (`go test -tags lab ./internal/lab/...`).
//
// # Layout
//
// A lab has a run ID (hushlab-PID-RANDOM) that prefixes every namespace
// it creates. One namespace holds a bridge; every host gets a namespace
// with lo and eth0, one end of a veth pair whose other end is a port of
// that bridge, and one address in 10.77.0.0/16. The whole /16 is one
// link, so hosts in 10.77.1.0/24 and 10.77.2.0/24 reach each other
// without a router while the client's /24 rule still tells them apart.
// No namespace gets a route out and the root namespace gets nothing:
// the lab's addresses exist only inside the namespaces it made, and the
// test process never dials them itself — it asks `hush` running inside
// a namespace (`ip netns exec`).
//
// # Links and partitions
//
// Latency, jitter and loss come from the `lab` build of hushd
// (internal/labnet) reading the links file the lab writes; see there
// for why that is not a proxy and what TCP loss becomes. A partition
// takes a host's bridge port down ([Lab.Partition]), so its packets go
// nowhere until [Lab.Heal], while its processes and address stay.
// [Lab.Block] cuts only some pairs (the registry from half the nodes):
// blackhole routes in both namespaces, again never in the root's.
// Bandwidth is the kernel's: [Lab.Shape] puts a `tc tbf` on a host's
// eth0 and on its bridge port (a profile's Rate), and [Lab.Counters]
// reads eth0's byte counters, so a test can bound a transfer's time by
// the bytes that really crossed.
//
// # Devnet
//
// [Lab.StartDevnet] is what `hush devnet up --lab` runs: a devnet's
// registry hosts and nodes with every link of one profile, and client
// namespaces with an account each, whose [Client.Command] a person
// types to use them.
//
// # Clean-up
//
// [Lab.Close] ends every process the lab started (SIGTERM, then
// SIGKILL) and deletes its namespaces; children also die with the test
// process (Pdeathsig). [New] first deletes namespaces left by lab runs
// whose process is gone, so a crash leaves nothing behind for long.
package lab
