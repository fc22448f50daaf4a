package registry

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/inventory"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/labnet"
	"github.com/hushnet/hush/internal/logfilter"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/internal/registry/raftnet"
	"github.com/hushnet/hush/internal/registry/registryapi"
	"github.com/hushnet/hush/internal/registry/registryclient"
	"github.com/hushnet/hush/protocol/snapshot"
)

// applyTimeout bounds how long a proposal waits to be committed.
const applyTimeout = 10 * time.Second

// Options are a host's collaborators. Zero values get defaults.
type Options struct {
	// Logger receives the host's logs (default: none). Logs name hosts
	// by key and nodes never by address.
	Logger *slog.Logger
	// Prober tests nodes' reachability (default: a [NodeProber]).
	Prober Prober
	// RaftListener and APIListener, when set, are used instead of
	// binding the config's listen addresses; tests bind 127.0.0.1:0
	// first to learn the ports. Run closes them.
	RaftListener, APIListener net.Listener
	// LogLevel is the level Logger logs at, for the transparency report
	// (default "info").
	LogLevel string
}

// Host is one registry host: a Raft replica of the registry, its HTTPS
// API, and the loops that propose epochs (when leader), sign snapshots
// and probe nodes.
type Host struct {
	cfg    *Config
	key    ed25519.PrivateKey
	pub    identity.Ed25519PublicKey
	log    *slog.Logger
	prober Prober
	fsm    *fsm
	cert   tls.Certificate
	seeds  []identity.Ed25519PublicKey // hosts the config names, trusted before the log says so

	raftLn, apiLn net.Listener

	api atomic.Pointer[registryapi.Handler] // set by Run

	logLevel string
	report   *inventory.Signer
	endpoint *inventory.Endpoint

	mu   sync.Mutex    // guards r, logs and fwd
	r    *raft.Raft    // nil until Run has started Raft
	logs raft.LogStore // the Raft log while Run runs
	fwd  map[identity.Ed25519PublicKey]*registryclient.Client
}

// New prepares a host: it binds the listeners (unless opts brings them)
// but starts nothing; [Host.Run] does.
func New(cfg *Config, key ed25519.PrivateKey, opts Options) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hosts, err := cfg.hostInfos()
	if err != nil {
		return nil, err
	}
	cert, err := keytls.Certificate(key)
	if err != nil {
		return nil, err
	}
	h := &Host{cfg: cfg, key: key, pub: identity.Ed25519PublicKeyOf(key), log: opts.Logger, prober: opts.Prober, cert: cert,
		raftLn: opts.RaftListener, apiLn: opts.APIListener, fwd: map[identity.Ed25519PublicKey]*registryclient.Client{}}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.prober == nil {
		h.prober = &NodeProber{NetworkID: cfg.NetworkID}
	}
	h.logLevel = opts.LogLevel
	if h.logLevel == "" {
		h.logLevel = "info"
	}
	if err := h.initTransparency(); err != nil {
		return nil, err
	}
	for _, hi := range hosts {
		h.seeds = append(h.seeds, hi.Key)
	}
	h.fsm = newFSM(h.log)
	if h.raftLn == nil {
		if h.raftLn, err = labnet.Listen("tcp", cfg.RaftListen); err != nil {
			return nil, fmt.Errorf("registry: raft listener: %w", err)
		}
	}
	if h.apiLn == nil {
		if h.apiLn, err = labnet.Listen("tcp", cfg.APIListen); err != nil {
			h.raftLn.Close()
			return nil, fmt.Errorf("registry: api listener: %w", err)
		}
	}
	return h, nil
}

// Key returns the host's public key.
func (h *Host) Key() identity.Ed25519PublicKey { return h.pub }

// trusted decides which peers may speak Raft with this host: the hosts
// in the log, and those in the config (so a joining host accepts the
// leader before it has any log).
func (h *Host) trusted(k identity.Ed25519PublicKey) bool {
	for _, s := range h.seeds {
		if s == k {
			return true
		}
	}
	_, ok := h.fsm.host(k)
	return ok
}

func (h *Host) raftNode() *raft.Raft {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.r
}

// Run runs the host until ctx is done, then shuts it down in this order:
//
//  1. the leader, signer and prober loops stop, so nothing new is proposed;
//  2. the API stops taking requests; long polls end as their context does;
//  3. Raft shuts down, which waits for the state machine to finish;
//  4. the transport closes, and with it the Raft listener;
//  5. the bolt store closes last, once Raft no longer touches it.
//
// Run returns nil after a shutdown caused by ctx, or the error that made
// it stop early. It may be called once.
func (h *Host) Run(ctx context.Context) (err error) {
	defer h.raftLn.Close()
	defer h.apiLn.Close()
	if err := os.MkdirAll(h.cfg.DataDir, 0o700); err != nil {
		return err
	}
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: slogWriter{h.log}})
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(h.cfg.DataDir, "raft.db")})
	if err != nil {
		return fmt.Errorf("registry: raft store: %w", err)
	}
	defer store.Close() // step 5
	h.mu.Lock()
	h.logs = store
	h.mu.Unlock()
	defer func() { h.mu.Lock(); h.logs = nil; h.mu.Unlock() }()
	snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(h.cfg.DataDir, "snapshots"), 2, hl)
	if err != nil {
		return fmt.Errorf("registry: raft snapshots: %w", err)
	}
	layer, err := raftnet.New(h.raftLn, h.cfg.RaftAdvertise, h.cert, h.trusted)
	if err != nil {
		return err
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{Stream: layer, MaxPool: 3, Timeout: applyTimeout, Logger: hl})
	defer trans.Close() // step 4

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(h.pub.String())
	rc.HeartbeatTimeout = time.Duration(h.cfg.Raft.HeartbeatTimeout)
	rc.ElectionTimeout = time.Duration(h.cfg.Raft.ElectionTimeout)
	rc.LeaderLeaseTimeout = time.Duration(h.cfg.Raft.LeaderLeaseTimeout)
	rc.CommitTimeout = time.Duration(h.cfg.Raft.CommitTimeout)
	rc.SnapshotThreshold = h.cfg.Raft.SnapshotThreshold
	rc.Logger = hl
	notify := make(chan bool, 8)
	rc.NotifyCh = notify
	if h.cfg.Bootstrap {
		existing, err := raft.HasExistingState(store, store, snaps)
		if err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		if !existing {
			hosts, _ := h.cfg.hostInfos()
			var servers []raft.Server
			for _, hi := range hosts {
				servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(hi.Key.String()), Address: raft.ServerAddress(hi.RaftAddress)})
			}
			if err := raft.BootstrapCluster(rc, store, store, snaps, trans, raft.Configuration{Servers: servers}); err != nil {
				return fmt.Errorf("registry: bootstrap: %w", err)
			}
		}
	}
	r, err := raft.NewRaft(rc, h.fsm, store, store, snaps, trans)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	defer func() { r.Shutdown().Error() }() // step 3
	h.mu.Lock()
	h.r = r
	h.mu.Unlock()

	apiCtx, stopAPI := context.WithCancel(context.Background())
	lim := h.cfg.API
	h.api.Store(registryapi.New(h, h.log, registryapi.Limits{Polls: lim.MaxPolls, PollsPerSource: lim.MaxPollsPerSource}))
	read := time.Duration(lim.ReadTimeout)
	srv := &http.Server{
		Handler:   refuseOverCap(h.withTransparency(h.api.Load())),
		TLSConfig: keytls.ServerConfig(h.cert, nil),
		// The read time-outs also bound the TLS handshake; the write
		// time-out leaves room for the longest long-poll.
		ReadHeaderTimeout: read,
		ReadTimeout:       read,
		WriteTimeout:      registryapi.MaxWait + read,
		IdleTimeout:       time.Duration(lim.IdleTimeout),
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return apiCtx },
		ConnContext:       connContext,
		// TLS handshake errors name the client's IP:port; a registry
		// logs no client addresses, not even at debug level.
		ErrorLog: logfilter.ErrorLog(h.log.Handler(), false),
	}
	apiLn := newConnLimiter(h.apiLn, lim.MaxConns, lim.MaxConnsPerSource, min(read, 5*time.Second))
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ServeTLS(apiLn, "", "") }()
	defer func() { // step 2
		stopAPI()
		shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutCtx)
		h.mu.Lock()
		for _, c := range h.fwd {
			c.Close()
		}
		h.mu.Unlock()
	}()

	loopCtx, stopLoops := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopLoops(); wg.Wait() }() // step 1
	wg.Go(func() { h.leaderLoop(loopCtx, r, notify) })
	wg.Go(func() { h.signerLoop(loopCtx) })
	wg.Go(func() { h.proberLoop(loopCtx) })

	select {
	case <-ctx.Done():
		return nil
	case err := <-serveErr:
		return fmt.Errorf("registry: api: %w", err)
	}
}

// slogWriter carries hashicorp/raft's log lines into the host's logger.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Submit implements registryapi.Backend: cheap checks first, so a forged
// signature or an unreachable node never reaches the log, then the
// proposal through the leader. The state machine checks everything again.
func (h *Host) Submit(ctx context.Context, c *entry.Command) error {
	netID := h.cfg.NetworkID
	var err error
	switch c.Type {
	case entry.TypeRegister:
		c.Register.ReceivedAtMs = time.Now().UnixMilli()
		d := &c.Register.Descriptor
		if err = d.Verify(netID); err == nil && c.Register.Admission != nil {
			err = c.Register.Admission.Verify(netID)
		}
		if err == nil {
			err = h.fsm.checkAdmitted(d.Ed25519, c.Register.Admission)
		}
		if err == nil {
			err = h.prober.Probe(ctx, d.Address, d.Ed25519)
		}
	case entry.TypeAdmit:
		err = c.Admit.Verify(netID)
	case entry.TypeVote:
		err = c.Vote.Verify(netID)
	case entry.TypeHost:
		err = c.Host.Verify(netID)
	case entry.TypeDeregister:
		err = c.Deregister.Verify(netID)
	case entry.TypeGenesis, entry.TypeTick:
		err = entry.ErrForbidden
	}
	if err != nil {
		return err
	}
	return h.propose(ctx, c)
}

// propose applies c through the leader: here if this host leads, else by
// forwarding it to the leader's API. A forwarded command is not forwarded
// again, so two hosts with stale views of the leader cannot bounce it.
func (h *Host) propose(ctx context.Context, c *entry.Command) error {
	r := h.raftNode()
	if r == nil {
		return fmt.Errorf("%w: raft not running", entry.ErrUnavailable)
	}
	if r.State() == raft.Leader {
		data, err := entry.Encode(c)
		if err != nil {
			return err
		}
		return h.apply(r, data)
	}
	if registryapi.Forwarded(ctx) {
		return fmt.Errorf("%w: not the leader", entry.ErrUnavailable)
	}
	_, id := r.LeaderWithID()
	var lk identity.Ed25519PublicKey
	if err := lk.UnmarshalText([]byte(id)); err != nil {
		return fmt.Errorf("%w: no leader", entry.ErrUnavailable)
	}
	hi, ok := h.fsm.host(lk)
	if !ok {
		return fmt.Errorf("%w: leader not in the registry's host list yet", entry.ErrUnavailable)
	}
	return h.forwarder(hi).Forward(ctx, c)
}

func (h *Host) forwarder(hi entry.HostInfo) *registryclient.Client {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.fwd[hi.Key]
	if !ok {
		c = registryclient.New(hi.APIAddress, hi.Key)
		h.fwd[hi.Key] = c
	}
	return c
}

// apply appends data to the log and returns the state machine's verdict.
func (h *Host) apply(r *raft.Raft, data []byte) error {
	f := r.Apply(data, applyTimeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrRaftShutdown) ||
			errors.Is(err, raft.ErrEnqueueTimeout) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			return fmt.Errorf("%w: %v", entry.ErrUnavailable, err)
		}
		return err
	}
	if err, ok := f.Response().(error); ok {
		return err
	}
	return nil
}

// Snapshot implements registryapi.Backend.
func (h *Host) Snapshot(ctx context.Context, after uint64) ([]byte, error) {
	for {
		changed := h.fsm.wait()
		if raw, epoch := h.fsm.signed(); raw != nil && epoch > after {
			return raw, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-changed:
		}
	}
}

// Status implements registryapi.Backend.
func (h *Host) Status() registryapi.Status {
	st := h.fsm.stats()
	s := registryapi.Status{
		NetworkID: h.cfg.NetworkID, Host: h.pub.String(), RaftAddress: h.cfg.RaftAdvertise, APIAddress: h.cfg.APIAdvertise,
		Role: "shutdown", Epoch: st.epoch, SignedEpoch: st.signedEpoch, Nodes: st.nodes, Admitted: st.admitted,
		Swarms: st.swarms, Rejected: st.rejected, Hosts: []registryapi.Host{},
	}
	if r := h.raftNode(); r != nil {
		s.Role = strings.ToLower(r.State().String())
		_, id := r.LeaderWithID()
		s.Leader = string(id)
	}
	for _, hi := range h.fsm.hosts() {
		s.Hosts = append(s.Hosts, registryapi.Host{Key: hi.Key.String(), RaftAddress: hi.RaftAddress, APIAddress: hi.APIAddress})
	}
	return s
}

// pollsFrom returns how many long-polls from source (an IP) are held.
func (h *Host) pollsFrom(source string) int {
	if a := h.api.Load(); a != nil {
		return a.PollsFrom(source)
	}
	return 0
}

// Node returns what the registry holds about a node.
func (h *Host) Node(k identity.Ed25519PublicKey) (NodeInfo, bool) { return h.fsm.node(k) }

// SignedSnapshot returns the newest majority-signed snapshot and its epoch.
func (h *Host) SignedSnapshot() ([]byte, uint64) { return h.fsm.signed() }

// leaderLoop does the leader's duties whenever this host leads: write
// the genesis into a new registry, keep Raft's voters equal to the
// registry's hosts, and start a new epoch every EpochInterval.
func (h *Host) leaderLoop(ctx context.Context, r *raft.Raft, notify <-chan bool) {
	every := max(time.Duration(h.cfg.EpochInterval)/4, 5*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-notify:
		}
		if r.State() != raft.Leader {
			continue
		}
		if err := h.leaderDuties(r); err != nil && !errors.Is(err, entry.ErrUnavailable) {
			h.log.Error("registry leader", "err", err)
		}
	}
}

func (h *Host) leaderDuties(r *raft.Raft) error {
	if !h.fsm.hasGenesis() {
		if !h.cfg.Bootstrap {
			return nil
		}
		g, err := h.cfg.genesis()
		if err != nil {
			return err
		}
		data, err := entry.Encode(&entry.Command{Type: entry.TypeGenesis, Genesis: g})
		if err != nil {
			return err
		}
		if err := h.apply(r, data); err != nil {
			return fmt.Errorf("genesis: %w", err)
		}
		h.log.Info("registry founded", "network", g.NetworkID, "hosts", len(g.Hosts))
	}
	if err := h.reconcileVoters(r); err != nil {
		return err
	}
	last := h.fsm.lastIssued()
	now := time.Now()
	if now.Sub(last) < time.Duration(h.cfg.EpochInterval) {
		return nil
	}
	// A new epoch makes the current one's missing signatures stale. A
	// follower's signature takes a log round trip and back, so a leader
	// that ticked whenever the interval passed would, with a short
	// interval on a loaded machine, outrun its hosts and never serve a
	// signed snapshot again (the registry tests, under -race at load 40).
	// It waits for them, up to half a snapshot's lifetime, so that the
	// one served meanwhile (the epoch before) is still valid; a host set
	// that changed gets its new epoch at once.
	if h.fsm.awaitingSignatures() && now.Sub(last) < time.Duration(h.cfg.SnapshotLifetime)/2 {
		return nil
	}
	issued := max(now.UnixMilli(), last.UnixMilli())
	t := &entry.Tick{IssuedAtMs: issued, ExpiresAtMs: issued + time.Duration(h.cfg.SnapshotLifetime).Milliseconds()}
	rand.Read(t.Nonce[:])
	data, err := entry.Encode(&entry.Command{Type: entry.TypeTick, Tick: t})
	if err != nil {
		return err
	}
	return h.apply(r, data)
}

// reconcileVoters makes Raft's configuration follow the registry's host
// list, which host-change entries edit. Doing it here, on every leader
// pass, rather than once after each change, repairs a change whose Raft
// step failed or whose leader died in between.
func (h *Host) reconcileVoters(r *raft.Raft) error {
	f := r.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	want := map[raft.ServerID]raft.ServerAddress{}
	for _, hi := range h.fsm.hosts() {
		want[raft.ServerID(hi.Key.String())] = raft.ServerAddress(hi.RaftAddress)
	}
	have := map[raft.ServerID]bool{}
	for _, s := range f.Configuration().Servers {
		have[s.ID] = true
		if _, ok := want[s.ID]; !ok {
			h.log.Info("registry host leaving raft", "host", string(s.ID))
			if err := r.RemoveServer(s.ID, 0, applyTimeout).Error(); err != nil {
				return fmt.Errorf("remove host: %w", err)
			}
		}
	}
	for id, addr := range want {
		if !have[id] {
			h.log.Info("registry host joining raft", "host", string(id))
			if err := r.AddVoter(id, addr, 0, applyTimeout).Error(); err != nil {
				return fmt.Errorf("add host: %w", err)
			}
		}
	}
	return nil
}

// signerLoop signs every epoch's snapshot this host may sign and puts
// the signature in the log, retrying until it is there.
func (h *Host) signerLoop(ctx context.Context) {
	retry := max(time.Duration(h.cfg.EpochInterval)/2, 10*time.Millisecond)
	t := time.NewTicker(retry)
	defer t.Stop()
	for {
		changed := h.fsm.wait()
		if body, ok := h.fsm.toSign(h.pub); ok {
			if err := h.signEpoch(ctx, body); err != nil && ctx.Err() == nil {
				h.log.Debug("registry epoch signature", "epoch", body.Epoch, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-t.C:
		}
	}
}

func (h *Host) signEpoch(ctx context.Context, body *snapshot.Snapshot) error {
	if err := snapshot.Sign(body, h.key); err != nil {
		return err
	}
	es := &entry.EpochSignature{Epoch: body.Epoch, Host: h.pub, Signature: body.Signatures[0].Signature}
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	return h.propose(ctx, &entry.Command{Type: entry.TypeEpochSig, EpochSig: es})
}
