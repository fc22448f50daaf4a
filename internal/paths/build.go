package paths

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/onionclient"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// ready reports whether the paths are complete and checked against s.
func (m *Manager) ready(s *snapshot.Snapshot) bool {
	return m.checked && s.Epoch == m.epoch && len(m.paths) >= Guards && len(m.guards) >= Guards
}

// ensure makes sure there are Guards tested guards and a path from each,
// all of them nodes of the current snapshot.
func (m *Manager) ensure(ctx context.Context) error {
	s := m.opts.Snapshot()
	if s == nil {
		return ErrNoSnapshot
	}
	m.mu.Lock()
	ok := m.ready(s)
	m.mu.Unlock()
	if ok {
		return nil
	}
	m.buildMu.Lock()
	defer m.buildMu.Unlock()

	m.mu.Lock()
	if m.ready(s) { // built by another request while this one waited
		m.mu.Unlock()
		return nil
	}
	m.refresh(s)
	have := slices.Clone(m.guards)
	avoid := maps(m.avoid)
	m.mu.Unlock()

	// Test candidates without holding mu: requests on existing paths go on.
	if need := Guards - len(have); need > 0 {
		cands := slices.Clone(s.Nodes)
		rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
		for _, c := range cands {
			if need == 0 {
				break
			}
			if avoid[c.Ed25519] || slices.Contains(have, c.Ed25519) {
				continue
			}
			if err := m.testGuard(ctx, c); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				m.opts.Logger.Info("candidate guard failed its test", "node", c.Ed25519.String()[:12], "err", err)
				continue
			}
			have = append(have, c.Ed25519)
			need--
		}
		if need > 0 {
			return fmt.Errorf("%w: found %d working guards, need %d", ErrNotEnoughNodes, len(have), Guards)
		}
	}

	m.mu.Lock()
	m.guards = have
	var err error
	for _, g := range m.guards {
		if slices.ContainsFunc(m.paths, func(p *path) bool { return p.nodes[0].Ed25519 == g }) {
			continue
		}
		gn, _ := s.Node(g)
		var nodes []snapshot.Node
		if nodes, err = m.drawRelays(s, gn, nil); err != nil {
			break
		}
		m.paths = append(m.paths, &path{nodes: nodes})
	}
	m.mu.Unlock()
	m.save()
	m.noteChange()
	return err
}

func maps(m map[identity.Ed25519PublicKey]bool) map[identity.Ed25519PublicKey]bool {
	c := make(map[identity.Ed25519PublicKey]bool, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// refresh checks guards and paths against a new snapshot: nodes that
// left are dropped (with their paths), addresses and keys are updated.
// m.mu must be held.
func (m *Manager) refresh(s *snapshot.Snapshot) {
	if m.checked && s.Epoch == m.epoch {
		return
	}
	m.epoch, m.checked = s.Epoch, true
	clear(m.avoid)
	m.guards = slices.DeleteFunc(m.guards, func(g identity.Ed25519PublicKey) bool {
		_, ok := s.Node(g)
		return !ok
	})
	var kept []*path
	for _, p := range m.paths {
		nodes := make([]snapshot.Node, 0, len(p.nodes))
		for _, n := range p.nodes {
			if cur, ok := s.Node(n.Ed25519); ok {
				nodes = append(nodes, cur)
			}
		}
		if len(nodes) == Relays && slices.Contains(m.guards, nodes[0].Ed25519) && (m.opts.Loopback || distinctNetworks(nodes)) {
			// The same relays: their onion sessions stay valid (a session
			// key depends on no published key), so a new epoch costs no
			// full request.
			kept = append(kept, &path{nodes: nodes, lastOK: p.lastOK, sess: p.sess})
		}
	}
	m.paths = kept
}

func distinctNetworks(nodes []snapshot.Node) bool {
	seen := map[string]bool{}
	for _, n := range nodes {
		k := network(n.Address)
		if seen[k] {
			return false
		}
		seen[k] = true
	}
	return true
}

// drawRelays returns guard followed by Relays-1 random nodes: not guards,
// not in extra, preferably in no other path and not avoided, and (unless
// loopback) each in a network of its own. m.mu must be held.
func (m *Manager) drawRelays(s *snapshot.Snapshot, guard snapshot.Node, extra map[identity.Ed25519PublicKey]bool) ([]snapshot.Node, error) {
	used := map[identity.Ed25519PublicKey]bool{}
	for _, p := range m.paths {
		for _, n := range p.nodes {
			used[n.Ed25519] = true
		}
	}
	// First without nodes of other paths (Session keeps paths disjoint);
	// a small network may need to share them, and at last to take nodes
	// avoided for failing: on a loaded machine a devnet's few nodes all
	// time out now and then, and no path at all would leave the client
	// unreachable until the next snapshot clears the marks.
	for _, pass := range []struct{ shareOK, avoidedOK bool }{{false, false}, {true, false}, {true, true}} {
		nodes := []snapshot.Node{guard}
		nets := map[string]bool{network(guard.Address): true}
		cands := slices.Clone(s.Nodes)
		rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
		for _, c := range cands {
			if len(nodes) == Relays {
				break
			}
			k := c.Ed25519
			if k == guard.Ed25519 || slices.Contains(m.guards, k) || (m.avoid[k] && !pass.avoidedOK) || extra[k] || (used[k] && !pass.shareOK) {
				continue
			}
			if !m.opts.Loopback && nets[network(c.Address)] {
				continue
			}
			nodes = append(nodes, c)
			nets[network(c.Address)] = true
		}
		if len(nodes) == Relays {
			return nodes, nil
		}
	}
	return nil, fmt.Errorf("%w: cannot find %d relays in distinct networks", ErrNotEnoughNodes, Relays-1)
}

// testGuard asks a candidate for info directly, as onionPath.ts
// testGuardNode does with get_swarm: the guard sees the client's address
// anyway, and a guard that cannot answer would only fail later.
func (m *Manager) testGuard(ctx context.Context, n snapshot.Node) error {
	ctx, cancel := context.WithTimeout(ctx, guardTestTimeout)
	defer cancel()
	status, body, err := m.opts.Transport.Post(ctx, n.Ed25519, n.Address, onionclient.RPCPath, []byte(`{"method":"info"}`), onion.MaxFrameSize)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("info answered %d", status)
	}
	var info rpc.InfoResult
	if err := json.Unmarshal(body, &info); err != nil {
		return fmt.Errorf("info reply: %w", err)
	}
	if info.PubkeyEd25519 != n.Ed25519.String() {
		return fmt.Errorf("info reports key %s", info.PubkeyEd25519)
	}
	return nil
}
