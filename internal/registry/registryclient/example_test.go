package registryclient_test

import (
	"context"
	"crypto/ed25519"
	"log"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/internal/registry/registryclient"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/snapshot"
)

// A service node registers itself and then follows the registry's
// snapshots, serving each verified one to clients.
func Example() {
	var (
		ctx     context.Context
		network *netfile.Network   // parsed network file
		nodeKey ed25519.PrivateKey // the node's identity
		x25519  snapshot.X25519Key // its onion-layer key
		adm     *entry.Admission   // a steward's admission, or nil if already admitted
	)
	pool := registryclient.NewPoolForNetwork(network)
	defer pool.Close()

	d := entry.Descriptor{Ed25519: identity.Ed25519PublicKeyOf(nodeKey), X25519: x25519, Address: "203.0.113.7:22021",
		Version: "0.1.0", TimestampMs: time.Now().UnixMilli()}
	sd, err := entry.SignDescriptor(network.ID, d, nodeKey)
	if err != nil {
		log.Fatal(err)
	}
	// The node must already answer at its address with its key: the
	// registry probes it before accepting.
	if err := pool.Register(ctx, sd, adm); err != nil {
		log.Fatal(err) // errors.Is(err, entry.ErrNotAdmitted), entry.ErrUnreachable, ...
	}
	v := network.SnapshotVerifier()
	err = pool.Follow(ctx, v, 0, func(s *snapshot.Snapshot, raw []byte) error {
		// Keep raw to serve to clients; look swarms up in s.
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}
