package replication_test

import (
	"sync"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/protocol/snapshot"
)

// TestMembershipUpdateWhileReading: readers that look through the past
// snapshots (WasMember, Known) while a new snapshot comes in must not
// share the slice Update rewrites. Under -race this failed when Update
// inserted into the old slice in place (hushd devnet up exited 66).
func TestMembershipUpdateWhileReading(t *testing.T) {
	var self, other identity.Ed25519PublicKey
	m := replication.NewSnapshotMembership(self, &snapshot.Snapshot{NetworkID: "race", Epoch: 1})
	var acct identity.AccountID
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				m.WasMember(other, acct)
				m.Known(other)
			}
		})
	}
	for e := uint64(2); e < 3*replication.PastSnapshots; e++ {
		m.Update(&snapshot.Snapshot{NetworkID: "race", Epoch: e})
	}
	close(stop)
	wg.Wait()
}
