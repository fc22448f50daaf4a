package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/config"
	"github.com/hushnet/hush/internal/registry/entry"
	"github.com/hushnet/hush/internal/registry/registryclient"
	"github.com/hushnet/hush/protocol/snapshot"
)

func TestSingleHost(t *testing.T) {
	c := newCluster(t, 1)
	h := c.leader()
	n := newNode(t, 1)
	cl := h.client()
	defer cl.Close()
	ctx := context.Background()

	if err := cl.Register(ctx, n.desc, nil); !errors.Is(err, entry.ErrNotAdmitted) {
		t.Fatalf("register without admission: %v", err)
	}
	register(t, h, n)
	s := verifiedSnapshot(t, h, c.hostKeys(), "snapshot with the node", func(s *snapshot.Snapshot) bool { return hasNode(s, n.pub()) })
	if len(s.Signatures) != 1 || s.SwarmMinSize != 3 {
		t.Fatalf("snapshot: %d signatures, min size %d", len(s.Signatures), s.SwarmMinSize)
	}

	// Long poll: a request for a newer epoch returns the next one.
	raw, err := cl.Snapshot(ctx, s.Epoch, 10*time.Second)
	if err != nil || raw == nil {
		t.Fatalf("long poll: %v, %d bytes", err, len(raw))
	}
	next, err := snapshot.Verify(raw, c.hostKeys(), testNet, time.Now(), s.Epoch)
	if err != nil || next.Epoch <= s.Epoch {
		t.Fatalf("long poll gave epoch %v after %d: %v", next, s.Epoch, err)
	}
}

func TestLeaderKilled(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d hosts", n), func(t *testing.T) { testLeaderKilled(t, n) })
	}
}

func testLeaderKilled(t *testing.T, hosts int) {
	// Every live host's signature must reach the log within one epoch for
	// the test's last snapshot: 40 ms epochs are too short for that on a
	// busy machine, where a slow signer is always one epoch late.
	c := newCluster(t, hosts, func(cfg *Config) { cfg.EpochInterval = config.Duration(400 * time.Millisecond) })
	old := c.leader()
	n1, n2 := newNode(t, 1), newNode(t, 2)
	register(t, c.hosts[0], n1) // through whichever host: followers forward
	register(t, c.hosts[hosts-1], n2)
	before := verifiedSnapshot(t, old, c.hostKeys(), "snapshot with both nodes", func(s *snapshot.Snapshot) bool {
		return hasNode(s, n1.pub()) && hasNode(s, n2.pub())
	})

	old.stop(t)
	now := c.leader()
	if now == old {
		t.Fatal("stopped host still leads")
	}
	var survivor *testHost
	for _, th := range c.hosts {
		if th != old && th != now {
			survivor = th
		}
	}
	n3 := newNode(t, 3)
	register(t, survivor, n3)
	// Every live host signs each epoch; the dead one never again.
	after := verifiedSnapshot(t, survivor, c.hostKeys(), "snapshot with the new node after the leader died", func(s *snapshot.Snapshot) bool {
		return s.Epoch > before.Epoch && hasNode(s, n1.pub()) && hasNode(s, n2.pub()) && hasNode(s, n3.pub()) &&
			len(s.Signatures) == hosts-1
	})
	for _, sg := range after.Signatures {
		if sg.Host == identity.Ed25519PublicKeyOf(old.key) {
			t.Fatal("stopped host signed a later snapshot")
		}
	}
}

func TestForgedEntryRejectedByApply(t *testing.T) {
	c := newCluster(t, 3)
	good := newNode(t, 1)
	register(t, c.leader(), good)

	forgedDesc := newNode(t, 2)
	forgedDesc.desc.Address = "127.0.0.1:29999" // after signing
	other := testKey("not a steward")
	forgedAdm := entry.Admit(testNet, newNode(t, 3).pub(), time.Now().UnixMilli(), other)
	tests := []struct {
		name string
		cmd  *entry.Command
		want error
	}{
		{"descriptor altered after signing", &entry.Command{Type: entry.TypeRegister, Register: &entry.Register{
			Descriptor: forgedDesc.desc, Admission: forgedDesc.admission(), ReceivedAtMs: time.Now().UnixMilli()}}, entry.ErrBadSignature},
		{"admission by a non-steward", &entry.Command{Type: entry.TypeAdmit, Admit: &forgedAdm}, entry.ErrUnknownSteward},
		{"vote signed by a non-host", &entry.Command{Type: entry.TypeVote, Vote: func() *entry.Vote {
			v := entry.SignVote(testNet, entry.Vote{Node: good.pub(), Registration: good.desc.TimestampMs, Unreachable: true, TimestampMs: 1}, other)
			return &v
		}()}, entry.ErrUnknownHost},
		{"second genesis", &entry.Command{Type: entry.TypeGenesis, Genesis: &entry.Genesis{NetworkID: testNet,
			Hosts: []entry.HostInfo{{Key: identity.Ed25519PublicKeyOf(other), RaftAddress: "127.0.0.1:1", APIAddress: "127.0.0.1:2"}}, SwarmMinSize: 3, SwarmIdealSize: 4}}, entry.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := make([]uint64, len(c.hosts))
			for i, th := range c.hosts {
				before[i] = th.h.fsm.stats().rejected
			}
			data, err := entry.Encode(tt.cmd)
			if err != nil {
				t.Fatal(err)
			}
			// Straight into the log, past every check Submit makes; again
			// if leadership moved before the entry was committed.
			for {
				err := c.leader().h.apply(c.leader().h.raftNode(), data)
				if errors.Is(err, entry.ErrUnavailable) {
					continue
				}
				if !errors.Is(err, tt.want) {
					t.Fatalf("leader's Apply: %v, want %v", err, tt.want)
				}
				break
			}
			for i, th := range c.hosts {
				eventually(t, "every replica to refuse the entry", func() bool { return th.h.fsm.stats().rejected > before[i] })
			}
			for _, th := range c.hosts {
				if _, ok := th.h.Node(forgedDesc.pub()); ok {
					t.Fatal("forged registration applied")
				}
				if _, ok := th.h.Node(good.pub()); !ok {
					t.Fatal("good node lost")
				}
			}
		})
	}
	// Replicas that refused the same entries agree on the whole history.
	eventually(t, "replicas to agree", func() bool {
		a, b, c3 := c.hosts[0].h.fsm.stats(), c.hosts[1].h.fsm.stats(), c.hosts[2].h.fsm.stats()
		return a.chain == b.chain && b.chain == c3.chain
	})
}

func TestDeregistrationNeedsMajority(t *testing.T) {
	c := newCluster(t, 3)
	c.leader()
	n := newNode(t, 1)
	register(t, c.hosts[0], n)
	verifiedSnapshot(t, c.hosts[0], c.hostKeys(), "node in a snapshot", func(s *snapshot.Snapshot) bool { return hasNode(s, n.pub()) })

	// One host of three finds the node unreachable: its vote is logged,
	// and the node stays.
	c.hosts[0].prober.setDown(n.pub(), true)
	for _, th := range c.hosts {
		eventually(t, "one unreachable vote on every replica", func() bool {
			info, ok := th.h.Node(n.pub())
			if !ok {
				t.Fatal("node deregistered by one vote")
			}
			return info.UnreachableVotes == 1
		})
	}
	// A second host agrees: a majority, and the node is gone everywhere.
	c.hosts[1].prober.setDown(n.pub(), true)
	for _, th := range c.hosts {
		eventually(t, "deregistration on every replica", func() bool { _, ok := th.h.Node(n.pub()); return !ok })
	}
	verifiedSnapshot(t, c.hosts[2], c.hostKeys(), "snapshot without the node", func(s *snapshot.Snapshot) bool {
		_, ok := s.Node(n.pub())
		return !ok
	})

	// The node comes back and re-registers with a fresh descriptor.
	c.hosts[0].prober.setDown(n.pub(), false)
	c.hosts[1].prober.setDown(n.pub(), false)
	back := newNode(t, 1)
	register(t, c.hosts[1], back)
	verifiedSnapshot(t, c.hosts[0], c.hostKeys(), "snapshot with the node back", func(s *snapshot.Snapshot) bool { return hasNode(s, n.pub()) })
}

func TestHostJoinAndLeave(t *testing.T) {
	c := newCluster(t, 1)
	first := c.leader()

	// A second host starts without bootstrapping, trusting the first.
	th, raftLn, apiLn := prepareHost(t, "joiner")
	th.cfg.Hosts = []HostConfig{{Key: identity.Ed25519PublicKeyOf(first.key).String(), RaftAddress: first.cfg.RaftAdvertise, APIAddress: first.cfg.APIAdvertise}}
	c.hosts = append(c.hosts, th)
	c.start(th, raftLn, apiLn)

	admin := NewAdmin(first.cfg, first.key)
	defer admin.Close()
	ctx := context.Background()
	if err := admin.Join(ctx, th.cfg.APIAdvertise, identity.Ed25519PublicKeyOf(th.key)); err != nil {
		t.Fatalf("join: %v", err)
	}
	eventuallyShow(t, "the joiner to replicate the host list", func() bool { return len(th.h.Status().Hosts) == 2 }, c.describe)
	// With two hosts a snapshot needs both signatures.
	verifiedSnapshot(t, th, c.hostKeys(), "a snapshot both hosts signed", func(s *snapshot.Snapshot) bool { return len(s.Signatures) == 2 })

	if err := untilAvailable(t, func() error { return admin.Join(ctx, th.cfg.APIAdvertise, identity.Ed25519PublicKeyOf(th.key)) }); !errors.Is(err, entry.ErrConflict) {
		t.Fatalf("joining twice: %v", err)
	}
	if err := untilAvailable(t, func() error { return admin.Leave(ctx, identity.Ed25519PublicKeyOf(testKey("stranger"))) }); !errors.Is(err, entry.ErrUnknownHost) {
		t.Fatalf("removing an unknown host: %v", err)
	}
	// Two hosts lose their leader now and then on a loaded machine (each
	// needs the other's heartbeats): the admin asks again when the answer
	// is unavailable, and an attempt that was committed all the same
	// makes the next one find the host gone.
	tries := 0
	err := untilAvailable(t, func() error { tries++; return admin.Leave(ctx, identity.Ed25519PublicKeyOf(th.key)) })
	if err != nil && !(tries > 1 && errors.Is(err, entry.ErrUnknownHost)) {
		t.Fatalf("leave (attempt %d): %v", tries, err)
	}
	eventuallyShow(t, "the first host to stand alone", func() bool { return len(first.h.Status().Hosts) == 1 }, c.describe)
	verifiedSnapshot(t, first, c.hostKeys()[:1], "a snapshot signed by the remaining host alone", func(s *snapshot.Snapshot) bool {
		return len(s.Signatures) == 1 && s.Signatures[0].Host == identity.Ed25519PublicKeyOf(first.key)
	})
}

func TestBadRequests(t *testing.T) {
	c := newCluster(t, 1)
	h := c.leader()
	cl := h.client()
	defer cl.Close()
	ctx := context.Background()
	n := newNode(t, 1)
	register(t, h, n)

	tampered := newNode(t, 2)
	tampered.desc.Version = "9.9.9"
	otherNet := newNode(t, 3)
	otherNet.desc, _ = entry.SignDescriptor("othernet", otherNet.desc.Descriptor, otherNet.key)
	clash := newNode(t, 4)
	clash.desc.Address = n.desc.Address
	clash.desc, _ = entry.SignDescriptor(testNet, clash.desc.Descriptor, clash.key)
	old := newNode(t, 5)
	old.desc.TimestampMs -= time.Hour.Milliseconds()
	old.desc, _ = entry.SignDescriptor(testNet, old.desc.Descriptor, old.key)
	forgedAdm := *newNode(t, 6).admission()
	forgedAdm.Signature[0] ^= 1
	strangerAdm := entry.Admit(testNet, newNode(t, 7).pub(), 1, testKey("stranger"))
	unknownVote := entry.SignVote(testNet, entry.Vote{Node: newNode(t, 8).pub(), Registration: 1, Unreachable: true, TimestampMs: 1}, h.key)
	strangerVote := entry.SignVote(testNet, entry.Vote{Node: n.pub(), Registration: n.desc.TimestampMs, Unreachable: true, TimestampMs: 1}, testKey("stranger"))
	unadmitted := newNode(t, 9)

	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"descriptor altered after signing", func() error { return cl.Register(ctx, tampered.desc, tampered.admission()) }, entry.ErrBadSignature},
		{"descriptor for another network", func() error { return cl.Register(ctx, otherNet.desc, otherNet.admission()) }, entry.ErrBadSignature},
		{"unknown node key", func() error { return cl.Register(ctx, unadmitted.desc, nil) }, entry.ErrNotAdmitted},
		{"admission for another node", func() error { return cl.Register(ctx, unadmitted.desc, n.admission()) }, entry.ErrNotAdmitted},
		{"address of another node", func() error { return cl.Register(ctx, clash.desc, clash.admission()) }, entry.ErrConflict},
		{"old descriptor", func() error { return cl.Register(ctx, old.desc, old.admission()) }, entry.ErrStale},
		{"replayed descriptor", func() error { return cl.Register(ctx, n.desc, nil) }, entry.ErrStale},
		{"forged admission", func() error { return cl.Admit(ctx, forgedAdm) }, entry.ErrBadSignature},
		{"admission by a non-steward", func() error { return cl.Admit(ctx, strangerAdm) }, entry.ErrUnknownSteward},
		{"vote on an unknown node", func() error {
			return cl.Submit(ctx, &entry.Command{Type: entry.TypeVote, Vote: &unknownVote})
		}, entry.ErrUnknownNode},
		{"vote by a non-host", func() error {
			return cl.Submit(ctx, &entry.Command{Type: entry.TypeVote, Vote: &strangerVote})
		}, entry.ErrUnknownHost},
		{"tick from outside", func() error {
			return cl.Submit(ctx, &entry.Command{Type: entry.TypeTick, Tick: &entry.Tick{IssuedAtMs: 1, ExpiresAtMs: 2}})
		}, entry.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if st := h.h.Status(); st.Nodes != 1 {
		t.Fatalf("%d nodes registered after bad requests, want 1", st.Nodes)
	}
}

func TestPoolFollow(t *testing.T) {
	c := newCluster(t, 3)
	c.leader()
	dead := entry.HostInfo{Key: identity.Ed25519PublicKeyOf(testKey("dead")), APIAddress: "127.0.0.1:1"}
	// A host that answers with another key is skipped like a dead one.
	impostor := entry.HostInfo{Key: identity.Ed25519PublicKeyOf(testKey("impostor")), APIAddress: c.hosts[0].cfg.APIAdvertise}
	hosts := []entry.HostInfo{dead, impostor}
	for _, th := range c.hosts {
		hosts = append(hosts, entry.HostInfo{Key: identity.Ed25519PublicKeyOf(th.key), APIAddress: th.cfg.APIAdvertise})
	}
	pool := registryclient.NewPool(hosts)
	defer pool.Close()

	n := newNode(t, 1)
	// A bound for a hang, not a speed: under -race on a loaded machine
	// the registration and three epochs have taken over 20 s.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		err := pool.Register(ctx, n.desc, n.admission())
		// Stale: an earlier attempt was committed after all, though its
		// leader lost office before it could say so (as in register).
		if err == nil || errors.Is(err, entry.ErrStale) {
			break
		}
		if !errors.Is(err, entry.ErrUnavailable) {
			t.Fatalf("register through the pool: %v", err)
		}
	}

	v := snapshot.Verifier{NetworkID: testNet, Hosts: c.hostKeys()}
	var epochs []uint64
	err := pool.Follow(ctx, v, 0, func(s *snapshot.Snapshot, raw []byte) error {
		epochs = append(epochs, s.Epoch)
		if hasNode(s, n.pub()) && len(epochs) >= 3 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("Follow: %v", err)
	}
	for i := 1; i < len(epochs); i++ {
		if epochs[i] <= epochs[i-1] {
			t.Fatalf("epochs not increasing: %v", epochs)
		}
	}
}

var errStop = errors.New("stop")

func TestRestartRecoversFromDisk(t *testing.T) {
	c := newCluster(t, 1)
	th := c.leader()
	n := newNode(t, 1)
	register(t, th, n)
	before := verifiedSnapshot(t, th, c.hostKeys(), "node in a snapshot", func(s *snapshot.Snapshot) bool { return hasNode(s, n.pub()) })
	// A Raft snapshot of the state machine, then more log after it: the
	// restart must restore the one and replay the other.
	if err := th.h.raftNode().Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	n2 := newNode(t, 2)
	register(t, th, n2)
	th.stop(t)

	raftLn, err := net.Listen("tcp", th.cfg.RaftListen)
	if err != nil {
		t.Fatal(err)
	}
	apiLn, err := net.Listen("tcp", th.cfg.APIListen)
	if err != nil {
		t.Fatal(err)
	}
	c.start(th, raftLn, apiLn)
	eventually(t, "the log replayed", func() bool {
		_, ok1 := th.h.Node(n.pub())
		_, ok2 := th.h.Node(n2.pub())
		return ok1 && ok2
	})
	// Epochs keep going up from where they were.
	verifiedSnapshot(t, th, c.hostKeys(), "a newer epoch after the restart", func(s *snapshot.Snapshot) bool {
		return s.Epoch > before.Epoch && hasNode(s, n.pub()) && hasNode(s, n2.pub())
	})
}

// countingProber records every probe it is asked to make.
type countingProber struct {
	fakeProber
	probed map[string]bool
}

func (p *countingProber) Probe(ctx context.Context, addr string, k identity.Ed25519PublicKey) error {
	p.mu.Lock()
	if p.probed == nil {
		p.probed = map[string]bool{}
	}
	p.probed[addr] = true
	p.mu.Unlock()
	return p.fakeProber.Probe(ctx, addr, k)
}

func TestUnadmittedNodeIsNeverProbed(t *testing.T) {
	th, raftLn, apiLn := prepareHost(t, "host 0")
	th.cfg.Bootstrap = true
	th.cfg.Hosts = []HostConfig{{Key: identity.Ed25519PublicKeyOf(th.key).String(), RaftAddress: th.cfg.RaftListen, APIAddress: th.cfg.APIListen}}
	c := &cluster{t: t, hosts: []*testHost{th}}
	p := &countingProber{}
	th.probeWith = p
	c.start(th, raftLn, apiLn)
	c.leader()

	cl := th.client()
	defer cl.Close()
	n := newNode(t, 1)
	if err := cl.Register(context.Background(), n.desc, nil); !errors.Is(err, entry.ErrNotAdmitted) {
		t.Fatalf("register: %v", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.probed[n.desc.Address] {
		t.Fatal("the host dialled an unadmitted node's address")
	}
}

func TestRunLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		c := newCluster(t, 1)
		th := c.leader()
		register(t, th, newNode(t, 1))
		th.stop(t)
	}()
	// Connections close asynchronously; give them a moment, no more.
	eventually(t, "goroutines to wind down", func() bool { return runtime.NumGoroutine() <= before })
}

func TestNodeDeregistersItself(t *testing.T) {
	c := newCluster(t, 3)
	l := c.leader()
	var follower *testHost
	for _, th := range c.hosts {
		if th != l {
			follower = th
			break
		}
	}
	n := newNode(t, 1)
	register(t, c.hosts[0], n)
	verifiedSnapshot(t, c.hosts[0], c.hostKeys(), "node in a snapshot", func(s *snapshot.Snapshot) bool { return hasNode(s, n.pub()) })

	// Through a follower, which forwards to the leader; no host votes.
	pool := registryclient.NewPool([]entry.HostInfo{{Key: identity.Ed25519PublicKeyOf(follower.key), APIAddress: follower.cfg.APIAdvertise}})
	defer pool.Close()
	d := entry.SignDeregister(testNet, n.desc.TimestampMs+1, n.key)
	eventually(t, "deregistration accepted", func() bool {
		err := pool.Deregister(context.Background(), d)
		if errors.Is(err, entry.ErrStale) {
			// An earlier attempt was committed after all, though its
			// leader lost office before it could say so (as in register).
			_, ok := follower.h.Node(n.pub())
			return !ok
		}
		if err != nil && !errors.Is(err, entry.ErrUnavailable) {
			t.Fatalf("deregister: %v", err)
		}
		return err == nil
	})
	for _, th := range c.hosts {
		eventually(t, "node gone on every replica", func() bool { _, ok := th.h.Node(n.pub()); return !ok })
	}
	verifiedSnapshot(t, c.hosts[2], c.hostKeys(), "snapshot without the node", func(s *snapshot.Snapshot) bool {
		_, ok := s.Node(n.pub())
		return !ok
	})
	if err := untilAvailable(t, func() error { return pool.Deregister(context.Background(), d) }); !errors.Is(err, entry.ErrStale) {
		t.Fatalf("replayed deregistration: %v, want ErrStale", err)
	}
	forged := entry.SignDeregister(testNet, d.TimestampMs+1, testKey("someone else"))
	forged.Node = n.pub()
	if err := untilAvailable(t, func() error { return pool.Deregister(context.Background(), forged) }); !errors.Is(err, entry.ErrBadSignature) {
		t.Fatalf("forged deregistration: %v, want ErrBadSignature", err)
	}
}
