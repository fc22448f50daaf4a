package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/snapshot"
)

// loadNetwork reads the network file that flag, $HUSH_NETWORK or the
// default devnet names.
func loadNetwork(flag string) (*netfile.Network, string, error) {
	path, err := devnet.ResolveNetwork(flag)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("network file: %w", err)
	}
	n, err := netfile.Parse(b)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return n, path, nil
}

// preferred orders members by SHA-256 of the account's key and theirs.
func preferred(id identity.AccountID, members []snapshot.Node) []snapshot.Node {
	rank := func(n snapshot.Node) [32]byte {
		pk := id.PubKey()
		return sha256.Sum256(append(pk[:], n.Ed25519.Bytes()...))
	}
	out := slices.Clone(members)
	slices.SortFunc(out, func(a, b snapshot.Node) int {
		ra, rb := rank(a), rank(b)
		return bytes.Compare(ra[:], rb[:])
	})
	return out
}

// swarmRefreshes bounds how often one call follows a 421 to a newer
// snapshot before giving up.
const swarmRefreshes = 3

// callInSwarm sends a signed RPC to a member of acct's swarm: the first
// snapshot comes from a seed node and is verified against the network
// file's registry keys; members are tried in random order, moving on
// from unreachable ones. A 421 means the member knows a newer epoch, so
// the client fetches that member's snapshot, verifies it, and looks the
// swarm up again (it never trusts the swarm a 421 names unverified).
func callInSwarm(ctx context.Context, acct *identity.Account, n *netfile.Network, method string, params json.RawMessage) (json.RawMessage, error) {
	_, snap, err := devnet.FetchSnapshot(ctx, n)
	if err != nil {
		return nil, err
	}
refresh:
	for range swarmRefreshes {
		_, members, ok := snap.SwarmOf(acct.ID())
		if !ok {
			return nil, fmt.Errorf("the network has no swarms yet (epoch %d); retry shortly", snap.Epoch)
		}
		var lastErr error
		for _, m := range preferred(acct.ID(), members) {
			c, err := nodeclient.New("https://"+m.Address, m.Ed25519)
			if err != nil {
				return nil, err
			}
			reply, err := c.Signed(ctx, acct, method, params)
			var ne *nodeclient.Error
			switch {
			case errors.As(err, &ne) && ne.Status == http.StatusMisdirectedRequest:
				var newer *snapshot.Snapshot
				if _, newer, err = devnet.FetchSnapshotFrom(ctx, c, n, snap.Epoch+1); err != nil {
					// The member disagrees without a newer snapshot to
					// show: report its answer.
					return reply, ne
				}
				snap = newer
				continue refresh
			case err == nil, ne != nil:
				return reply, err // the node answered
			}
			lastErr = fmt.Errorf("node %s: %w", m.Address, err)
		}
		return nil, fmt.Errorf("no member of the account's swarm answered: %w", lastErr)
	}
	return nil, fmt.Errorf("the account's swarm kept moving over %d snapshots; retry", swarmRefreshes)
}
