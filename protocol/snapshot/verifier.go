package snapshot

import (
	"crypto/ed25519"
	"time"
)

// Verifier is what a network's snapshots are checked against: its
// network ID and its registry hosts' keys, both from the network file
// (protocol/netfile's Network.SnapshotVerifier). Clients, nodes and tools
// keep one and pass the time, since this package reads no clock.
type Verifier struct {
	NetworkID string
	Hosts     []ed25519.PublicKey
}

// Verify checks raw as [Verify] does, at now, accepting no epoch below
// minEpoch.
func (v Verifier) Verify(raw []byte, now time.Time, minEpoch uint64) (*Snapshot, error) {
	return Verify(raw, v.Hosts, v.NetworkID, now, minEpoch)
}
