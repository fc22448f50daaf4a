//go:build linux

package lab

import (
	"fmt"
	"strconv"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/devnet"
	"github.com/hushnet/hush/swarm"
)

// SwarmMembers returns the Ed25519 keys of the members of the swarm
// that Account ID id belongs to in st.
func SwarmMembers(st *devnet.Status, id string) ([]string, error) {
	acct, err := identity.ParseAccountID(id)
	if err != nil {
		return nil, err
	}
	ids := make([]swarm.ID, 0, len(st.Swarms))
	for _, s := range st.Swarms {
		x, err := strconv.ParseUint(s.SwarmID, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("lab: swarm ID %q: %w", s.SwarmID, err)
		}
		ids = append(ids, swarm.ID(x))
	}
	got, ok := swarm.ForKey(acct.PubKey(), ids)
	if !ok {
		return nil, fmt.Errorf("lab: no swarm in epoch %d", st.Epoch)
	}
	for _, s := range st.Swarms {
		if s.SwarmID == devnet.SwarmID(uint64(got)) {
			return s.Members, nil
		}
	}
	return nil, fmt.Errorf("lab: swarm %016x not listed", uint64(got))
}

// Messages returns node key's stored message count in st (-1 if it did
// not answer).
func Messages(st *devnet.Status, key string) int64 {
	for _, n := range st.Nodes {
		if n.PubkeyEd25519 == key && n.Messages != nil {
			return *n.Messages
		}
	}
	return -1
}
