// Package devnet runs a whole hush network on one machine: one or three
// registry hosts and N service nodes on 127.0.0.1, each with its own data
// directory under one folder, for trying hush (`hush devnet up`) and for
// end-to-end tests.
//
// [Up] picks free ports, creates the keys, writes the registry configs
// and the network file (the registry hosts, the first nodes as seeds,
// loopback allowed, the swarm sizes, the file server as services.files),
// starts the hosts, then the file server (`hushd files`, internal/files),
// then the nodes,
// waits until every node is registered, every node is in a swarm, and
// every node serves the snapshot that says so ([Devnet.Wait]), and only
// then writes network.json for clients: whoever finds that file finds a
// formed network. [Devnet.Stop] removes it again, so clients looking for
// the default devnet hear "no network" rather than time out. The registry admits every node (open admission), as
// DESIGN §3 allows for devnets only.
//
// A devnet also runs one push server (`hushd push`, listed as
// services.push in the network file, after the nodes have started): it
// follows the devnet's snapshots and serves only its nodes, with the Web
// Push test setting on: endpoints on loopback allowed, and the devnet's
// own test CA trusted (written into the folder with the push server's
// VAPID key, for a local receiver: [LoadWebPush]); [Options.Push] may
// point it at another CA or at provider stand-ins' URLs.
//
// # In-process or processes
//
// By default hosts and nodes run as goroutines of the calling process:
// fast to start, and enough to try hush. With [Options.Processes] each
// runs as its own `hushd` process (own process group, so a terminal's
// Ctrl-C reaches only the parent, which then stops them in order; killed
// with the parent on Linux through Pdeathsig), so a test can `kill -9`
// one with [Devnet.Kill] and bring it back with [Devnet.Restart]; the file
// server likewise with [Devnet.KillFiles] and [Devnet.RestartFiles]
// ([Devnet.FileServer] describes it).
//
// # Timers
//
// A devnet is small and local, so its timers are scaled down through
// configuration, never by sleeping: epochs every 500 ms, probes every
// 500 ms, a node voted unreachable after 3 s, Raft timeouts of 500 ms
// ([Options] changes all but the last). Snapshots live for an hour, so
// nodes keep serving through a registry pause.
//
// # Folder
//
// A devnet's folder holds network.json, registry-N/, node-NN/, files/ and push/ (keys,
// databases, and in processes mode each child's log), devnet.log for the
// in-process logs, the Web Push test CA (webpush-ca.pem, and its key
// webpush-ca-key.pem, mode 0600) with the push server's VAPID key
// (webpush-vapid.txt), and a marker file. Up refuses a non-empty folder
// without the marker, and clears a previous devnet's folder (it is
// scratch data) unless that devnet still runs.
package devnet
