package node

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/nodeapi"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/internal/store/arrivals"
	"github.com/hushnet/hush/internal/store/sqlite"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Replication wiring. A node in a network replicates its swarm's writes
// (internal/replication): the storage RPC forwards every committed write,
// the node-to-node route is mounted at rpc.NodeRPCPath on the same TLS
// listener, anti-entropy runs in the background, and every newer snapshot
// triggers a hand-off. A standalone node has no replication.

// snapshotPoll is how often the node looks for a newer snapshot to hand
// off after: a pointer load, so it costs nothing.
const snapshotPoll = 250 * time.Millisecond

// replicationState is the node's replication, nil when standalone.
type replicationState struct {
	repl    *replication.Replicator
	members *liveMembership
	// commit is the one group commit of the node's writes: the storage
	// RPC's and the peers' forwards share it, so a member that takes both
	// pays one transaction and one fsync for what arrives together
	// instead of one per source.
	commit *sqlite.GroupCommit
	handed uint64 // epoch of the last hand-off; only the poller uses it
}

// liveMembership answers replication's questions from the node's newest
// snapshot: each call first adopts a newer snapshot if the registry link
// installed one (a pointer comparison), so forwards and their checks never
// lag behind the storage RPC's view. The previous snapshot is kept for
// hand-offs.
type liveMembership struct {
	snap *replication.SnapshotMembership
	src  *snapshotMembership
	seen atomic.Pointer[snapshot.Snapshot]
}

var _ replication.Membership = (*liveMembership)(nil)

func (l *liveMembership) sync() *replication.SnapshotMembership {
	if s := l.src.current(); s != nil && l.seen.Load() != s {
		l.snap.Update(s)
		l.seen.Store(s)
	}
	return l.snap
}

func (l *liveMembership) Members(a identity.AccountID) []snapshot.Node {
	return l.sync().Members(a)
}
func (l *liveMembership) Owns(a identity.AccountID) bool { return l.sync().Owns(a) }
func (l *liveMembership) IsMember(k identity.Ed25519PublicKey, a identity.AccountID) bool {
	return l.sync().IsMember(k, a)
}
func (l *liveMembership) WasMember(k identity.Ed25519PublicKey, a identity.AccountID) bool {
	return l.sync().WasMember(k, a)
}
func (l *liveMembership) Known(k identity.Ed25519PublicKey) bool { return l.sync().Known(k) }
func (l *liveMembership) Peers() []snapshot.Node                 { return l.sync().Peers() }

// WithReplication lets tune adjust the replicator's configuration (time
// intervals, the test-only fault hook) before the node builds it.
func WithReplication(tune func(*replication.Config)) Option {
	return func(o *options) { o.replication = append(o.replication, tune) }
}

// registerReplicationMetrics counts the forwards left to anti-entropy
// (a store is answered at two members; the rest are forwarded from
// bounded queues).
func (n *Node) registerReplicationMetrics(reg prometheus.Registerer) {
	if n.rep == nil {
		return
	}
	r := n.rep.repl
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "hush", Subsystem: "replication", Name: "forwards_queue_full_total",
			Help: "Forwards not queued because the peer's queue was full; anti-entropy repairs them."},
			func() float64 { return float64(r.ForwardStats().QueueFull) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "hush", Subsystem: "replication", Name: "forwards_failed_total",
			Help: "Forwards queued but not delivered (peer backed off, time-out, failure); anti-entropy repairs them."},
			func() float64 { return float64(r.ForwardStats().Failed) }),
	)
}

// setUpReplication builds the replicator of a node in a network, after
// the registry link loaded any saved snapshot. Its inserts are signalled
// to hub.
func (n *Node) setUpReplication(o options, hub *arrivals.Hub) error {
	if n.members == nil {
		return nil
	}
	m := &liveMembership{snap: replication.NewSnapshotMembership(n.id.Ed25519Public(), nil), src: n.members}
	commit := sqlite.NewGroupCommit(n.db)
	cfg := replication.Config{
		Key: n.id.Ed25519, NetworkID: n.networkID, Store: hub.Replica(commit), Membership: m,
		Clock: n.now, Logger: n.logger.With("subsystem", "replication"), PlainHTTP: n.cfg.InsecureHTTP,
		Deposits: n.deposits(),
	}
	cfg.AntiEntropyInterval = n.cfg.AntiEntropyInterval.D()
	for _, tune := range o.replication {
		tune(&cfg)
	}
	r, err := replication.New(cfg)
	if err != nil {
		return err
	}
	n.rep = &replicationState{repl: r, members: m, commit: commit}
	return nil
}

// replicator is what the storage RPC forwards through; a nil interface
// when standalone.
func (n *Node) replicator() nodeapi.Replicator {
	if n.rep == nil {
		return nil
	}
	return n.rep.repl
}

func (n *Node) mountReplication(mux *http.ServeMux) {
	if n.rep != nil {
		mux.Handle(rpc.NodeRPCPath, n.rep.repl.Handler())
	}
}

// startReplication runs anti-entropy and the hand-off on snapshot changes
// until the returned stop is called; stop waits for both.
func (n *Node) startReplication() (stop func()) {
	if n.rep == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { n.rep.repl.RunAntiEntropy(ctx) })
	wg.Go(func() {
		t := time.NewTicker(snapshotPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s := n.rep.members.sync().Snapshot()
			if s == nil || s.Epoch == n.rep.handed {
				continue
			}
			first := n.rep.handed == 0
			n.rep.handed = s.Epoch
			if first {
				continue // nothing to hand off before a change
			}
			st, err := n.rep.repl.HandOff(ctx)
			if err != nil && ctx.Err() == nil {
				n.logger.Warn("hand-off after a snapshot change incomplete; retried every anti-entropy round", "err", err)
			} else if st.HandedOff > 0 {
				n.logger.Info("handed accounts to their new swarm", "accounts", st.HandedOff, "messages", st.Pushed)
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
		n.rep.repl.Close()
	}
}

// handOffBeforeLeaving pushes everything the stopped node at cfg holds to
// the other members of each account's swarm in s, the snapshot that still
// lists it, so that leaving loses nothing. The peers accept it because
// the node is still a member in their view.
func handOffBeforeLeaving(ctx context.Context, cfg config.Node, id *Identity, networkID string, s *snapshot.Snapshot, logger *slog.Logger) error {
	db, err := sqlite.Open(filepath.Join(cfg.Data, DBFile), sqlite.WithLogger(logger))
	if err != nil {
		return fmt.Errorf("decommission: %w", err)
	}
	defer db.Close()
	r, err := replication.New(replication.Config{
		Key: id.Ed25519, NetworkID: networkID, Store: db, Clock: time.Now, Logger: logger,
		Membership: replication.NewSnapshotMembership(id.Ed25519Public(), s), PlainHTTP: cfg.InsecureHTTP,
	})
	if err != nil {
		return err
	}
	defer r.Close()
	st, err := r.Decommission(ctx)
	if err != nil {
		return fmt.Errorf("decommission: handing data to the swarm: %w; nothing was dropped, run it again", err)
	}
	if st.StraysLeft > 0 {
		logger.Warn("some accounts of swarms this node left long ago were refused by those swarms and stay on disk; their swarms hold them if their members did their own hand-offs", "accounts", st.StraysLeft)
	}
	logger.Info("handed every account to its swarm", "accounts", st.HandedOff, "messages", st.Pushed)
	return nil
}

// apiStore is the store the storage RPC writes through: in a network,
// concurrent client stores share a commit (sqlite.GroupCommit) with each
// other and with the peers' forwards, since each is forwarded and
// confirmed by the swarm in the same request.
func (n *Node) apiStore() store.Store {
	if n.rep == nil {
		return n.db
	}
	return n.rep.commit
}
