package registry

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/protocol/snapshot"
	"github.com/hushnet/hush/swarm"
)

// fsm is the Raft state machine around state. Raft calls Apply, Snapshot
// and Restore from one goroutine; readers (API handlers, the host's loops)
// come from others, hence the lock.
type fsm struct {
	log *slog.Logger

	mu       sync.RWMutex // guards everything below
	st       *state
	rejected uint64        // entries Apply refused, for tests and status
	changed  chan struct{} // closed and replaced after every accepted entry
}

var _ raft.FSM = (*fsm)(nil)

func newFSM(log *slog.Logger) *fsm {
	return &fsm{log: log, st: newState(), changed: make(chan struct{})}
}

// Apply decodes the entry and applies it, re-verifying every signature in
// it, whoever put it in the log. A refused entry returns its error as the
// response and leaves the registry unchanged on every replica alike.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.mix(l.Index, l.Term, l.Data)
	c, err := entry.Decode(l.Data)
	if err == nil {
		err = f.st.apply(c)
	}
	if err != nil {
		f.rejected++
		// The code only: the detail may name a node address.
		f.log.Warn("registry entry refused", "index", l.Index, "code", entry.Code(err))
		return err
	}
	close(f.changed)
	f.changed = make(chan struct{})
	return nil
}

// Snapshot serializes the state at once; Raft persists it concurrently
// with further Applies.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	b, err := f.st.marshal()
	if err != nil {
		return nil, err
	}
	return fsmSnapshot(b), nil
}

// Restore replaces the state with a snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	st, err := unmarshalState(b)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st = st
	close(f.changed)
	f.changed = make(chan struct{})
	return nil
}

type fsmSnapshot []byte

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (fsmSnapshot) Release() {}

// wait returns a channel closed at the next accepted entry.
func (f *fsm) wait() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.changed
}

// signed returns the newest majority-signed snapshot and its epoch.
func (f *fsm) signed() ([]byte, uint64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.signed, f.st.signedEpoch
}

// toSign returns a copy of the current epoch's snapshot if host may sign
// it and has not yet.
func (f *fsm) toSign(host identity.Ed25519PublicKey) (*snapshot.Snapshot, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	p := f.st.pending
	if p == nil || !slices.Contains(f.st.pendingHosts, host) {
		return nil, false
	}
	if slices.ContainsFunc(p.Signatures, func(s snapshot.HostSignature) bool { return s.Host == host }) {
		return nil, false
	}
	c := *p
	c.Nodes = slices.Clone(p.Nodes)
	c.Signatures = nil
	return &c, true
}

// hosts returns the current registry hosts.
func (f *fsm) hosts() []entry.HostInfo {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return slices.Clone(f.st.hosts)
}

func (f *fsm) host(k identity.Ed25519PublicKey) (entry.HostInfo, bool) {
	for _, h := range f.hosts() {
		if h.Key == k {
			return h, true
		}
	}
	return entry.HostInfo{}, false
}

func (f *fsm) hasGenesis() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.genesis != nil
}

// probeTarget is a registered node as the liveness prober sees it.
type probeTarget struct {
	key          identity.Ed25519PublicKey
	address      string
	registration int64
}

func (f *fsm) probeTargets() []probeTarget {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]probeTarget, 0, len(f.st.nodes))
	for _, k := range sortedKeys(f.st.nodes) {
		d := f.st.nodes[k].desc
		out = append(out, probeTarget{key: k, address: d.Address, registration: d.TimestampMs})
	}
	return out
}

// NodeInfo is what the registry holds about one node.
type NodeInfo struct {
	Descriptor entry.Descriptor
	// UnreachableVotes counts current hosts voting the node unreachable.
	UnreachableVotes int
	// Assigned reports whether the node is in a swarm (it joins one at
	// the first epoch after it registered).
	Assigned bool
}

func (f *fsm) node(k identity.Ed25519PublicKey) (NodeInfo, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	n, ok := f.st.nodes[k]
	if !ok {
		return NodeInfo{}, false
	}
	info := NodeInfo{Descriptor: n.desc.Descriptor}
	for h, v := range n.votes {
		if v.Unreachable && f.st.isHost(h) {
			info.UnreachableVotes++
		}
	}
	_, info.Assigned = f.st.assignment[swarm.NodeKey(k.Raw32())]
	return info, true
}

// stats is a summary for status.
type stats struct {
	networkID               string
	epoch, signedEpoch      uint64
	nodes, admitted, swarms int
	rejected                uint64
	chain                   entry.Hash
}

func (f *fsm) stats() stats {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s := stats{epoch: f.st.epoch, signedEpoch: f.st.signedEpoch, nodes: len(f.st.nodes), admitted: len(f.st.admitted),
		swarms: len(f.st.assignment.IDs()), rejected: f.rejected, chain: f.st.chain}
	if f.st.genesis != nil {
		s.networkID = f.st.genesis.NetworkID
	}
	return s
}

// lastIssued returns the issue time of the current epoch, or the zero
// time before the first.
func (f *fsm) lastIssued() time.Time {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.st.pending == nil {
		return time.Time{}
	}
	return f.st.pending.IssuedAt
}

// awaitingSignatures reports whether the current epoch still waits for
// its hosts' signatures (state.awaitingSignatures).
func (f *fsm) awaitingSignatures() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.awaitingSignatures()
}

// checkAdmitted reports whether a node may register as far as admission
// goes: the same test Apply makes, run before the host probes the node,
// so that nobody unadmitted can make registry hosts dial addresses of
// their choosing.
func (f *fsm) checkAdmitted(node identity.Ed25519PublicKey, adm *entry.Admission) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.st.genesis == nil {
		return fmt.Errorf("%w: registry has no genesis yet", entry.ErrUnavailable)
	}
	if adm != nil {
		if adm.Node != node {
			return fmt.Errorf("%w: admission is for another node", entry.ErrNotAdmitted)
		}
		return f.st.checkAdmission(adm)
	}
	if _, ok := f.st.admitted[node]; !ok && !f.st.genesis.OpenAdmission {
		return fmt.Errorf("%w: %s", entry.ErrNotAdmitted, node)
	}
	return nil
}
