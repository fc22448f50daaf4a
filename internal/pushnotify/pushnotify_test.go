package pushnotify

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/internal/store/sqlite"
	"github.com/hushnet/hush/protocol/group"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/push"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// sender is a fake onion path to the push server: it parses each notify,
// passes it on got and answers as answer says. Info requests (the
// notifier's warm-ups) are answered and counted apart.
type sender struct {
	got    chan *push.Request
	mu     sync.Mutex
	answer func(n int) (int, []byte, error) // n: the how-manieth call, from 1
	calls  int
	warms  atomic.Int64
}

var okAnswer = (&push.Answer{OK: true, Sent: true}).Marshal()

func newSender() *sender {
	return &sender{got: make(chan *push.Request, 256), answer: func(int) (int, []byte, error) { return 200, okAnswer, nil }}
}

func (s *sender) DoServer(ctx context.Context, target onion.ServerTarget, key snapshot.X25519Key, body []byte) (int, []byte, error) {
	req, err := push.ParseRequest(body)
	if err != nil {
		return 0, nil, err
	}
	if req.Op == push.OpInfo {
		s.warms.Add(1)
		return 200, (&push.Answer{OK: true}).Marshal(), nil
	}
	s.mu.Lock()
	s.calls++
	n, answer := s.calls, s.answer
	s.mu.Unlock()
	s.got <- req
	return answer(n)
}

// fixture is a notifier over a real store with a settable clock.
type fixture struct {
	t      *testing.T
	n      *Notifier
	db     *sqlite.DB
	clock  *clock
	sender *sender
	server Server
	reg    *prometheus.Registry
}

func newFixture(t *testing.T, tune func(*Config)) *fixture {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, db: db, clock: &clock{now: time.Now()}, sender: newSender(), reg: prometheus.NewRegistry()}
	f.server = Server{Target: onion.ServerTarget{Host: "127.0.0.1", Port: 1, Protocol: "https", Method: "POST", Target: push.Target}, Key: newKey(t)}
	cfg := Config{Store: db, Server: f.server, Sender: f.sender, Clock: f.clock.Now, Logger: slog.New(slog.DiscardHandler),
		Metrics: f.reg, Interval: 5 * time.Second, Tick: 5 * time.Millisecond, Backoff: time.Second}
	if tune != nil {
		tune(&cfg)
	}
	if f.n, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs the notifier until the test ends.
func (f *fixture) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.n.Run(ctx); close(done) }()
	f.t.Cleanup(func() { cancel(); <-done })
}

func newKey(t testing.TB) snapshot.X25519Key {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return snapshot.X25519Key(k.PublicKey().Bytes())
}

// record stores a record of acct naming server for namespaces, as a
// replicated message (no checks), and returns it.
func (f *fixture) record(acct *identity.Account, server snapshot.X25519Key, namespaces ...int32) *push.Record {
	f.t.Helper()
	r := &push.Record{Server: server, Namespaces: namespaces, Expiry: f.clock.Now().Add(24 * time.Hour)}
	rand.Read(r.SubID[:])
	rand.Read(r.NotifySecret[:])
	rand.Read(r.EncKey[:])
	if err := push.SignRecord(r, acct); err != nil {
		f.t.Fatal(err)
	}
	f.put(acct.ID(), push.Namespace, r.Marshal())
	return r
}

// put stores data for acct in ns and returns the message.
func (f *fixture) put(acct identity.AccountID, ns int32, data []byte) store.Message {
	f.t.Helper()
	now := f.clock.Now().Truncate(time.Millisecond)
	m := store.Message{Account: acct, Namespace: ns, Hash: rpc.MessageHash(acct, ns, data), Data: data, Timestamp: now, Expiry: now.Add(48 * time.Hour)}
	if _, err := f.db.Put(context.Background(), m); err != nil {
		f.t.Fatal(err)
	}
	return m
}

// deposit stores a new message and tells the notifier, then waits until
// the notifier has taken it.
func (f *fixture) deposit(acct identity.AccountID, ns int32, text string) store.Message {
	f.t.Helper()
	m := f.put(acct, ns, []byte(text))
	before := f.n.accepted.Load()
	f.n.Deposited(m)
	f.waitFor("the deposit to be taken", func() bool { return f.n.accepted.Load() > before })
	return m
}

func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a busy machine, not a speed bound
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// next returns the next notify the server got.
func (f *fixture) next() *push.Request {
	f.t.Helper()
	select {
	case r := <-f.sender.got:
		return r
	case <-time.After(30 * time.Second):
		f.t.Fatal("no notify arrived")
		return nil
	}
}

// none checks that no notify is waiting.
func (f *fixture) none() {
	f.t.Helper()
	select {
	case r := <-f.sender.got:
		f.t.Fatalf("unexpected notify for sub %x", r.SubID[:4])
	default:
	}
}

// check checks that req notifies rec of the deposit m with count.
func check(t *testing.T, req *push.Request, rec *push.Record, m store.Message, count int) {
	t.Helper()
	if req.Op != push.OpNotify || req.SubID != rec.SubID || req.NotifySecret != rec.NotifySecret {
		t.Fatalf("notify op %q for sub %x, want notify for %x with its secret", req.Op, req.SubID[:4], rec.SubID[:4])
	}
	if req.Tag != push.Tag(rec.EncKey, m.Hash) {
		t.Fatal("the tag is not the record's over the message hash")
	}
	in, err := push.OpenPayload(rec.EncKey, req.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if in != (push.Inner{Namespace: m.Namespace, Hash: m.Hash, Count: count}) {
		t.Fatalf("payload %+v, want namespace %d, hash %s, count %d", in, m.Namespace, m.Hash, count)
	}
}

// TestCoalescing: the first deposit of a subscription is notified at
// once; those within the interval after it go in one notify, naming the
// newest and counting them all, once the interval has passed; each
// subscription gets the deposits of its namespaces only.
func TestCoalescing(t *testing.T) {
	f := newFixture(t, nil)
	f.run()
	acct := identity.NewAccount()
	dms := f.record(acct, f.server.Key, 0)
	both := f.record(acct, f.server.Key, 0, 1)

	m1 := f.deposit(acct.ID(), 0, "one")
	got := map[[32]byte]*push.Request{}
	for range 2 {
		r := f.next()
		got[r.SubID] = r
	}
	check(t, got[dms.SubID], dms, m1, 1)
	check(t, got[both.SubID], both, m1, 1)

	f.deposit(acct.ID(), 0, "two")
	m3 := f.deposit(acct.ID(), 0, "three")
	f.none()
	f.clock.advance(5 * time.Second)
	got = map[[32]byte]*push.Request{}
	for range 2 {
		r := f.next()
		got[r.SubID] = r
	}
	check(t, got[dms.SubID], dms, m3, 2)
	check(t, got[both.SubID], both, m3, 2)

	f.clock.advance(5 * time.Second)
	m4 := f.deposit(acct.ID(), 1, "sync copy")
	check(t, f.next(), both, m4, 1)
	// Another account's deposits wake nobody here.
	f.deposit(identity.NewAccount().ID(), 0, "elsewhere")
	f.none()
	if got := value(f.n.metrics.notifies.WithLabelValues("sent")); got != 5 {
		t.Fatalf("%v notifies counted sent, want 5", got)
	}
}

// TestWhatIsNotNotified: old deposits, records naming a server the
// network file does not list, expired records and malformed ones wake
// nobody; a malformed record leaves the account's good ones working.
func TestWhatIsNotNotified(t *testing.T) {
	f := newFixture(t, nil)
	f.run()
	acct := identity.NewAccount()
	good := f.record(acct, f.server.Key, 0)
	f.record(acct, newKey(t), 0)
	f.put(acct.ID(), push.Namespace, []byte(`{"v":1,"not":"a record"}`))

	old := f.put(acct.ID(), 0, []byte("old"))
	f.clock.advance(2 * time.Minute)
	f.n.Deposited(old)
	if got := value(f.n.metrics.deposits.WithLabelValues("old")); got != 1 {
		t.Fatalf("%v old deposits counted, want 1", got)
	}
	m := f.deposit(acct.ID(), 0, "new")
	check(t, f.next(), good, m, 1)
	f.none()
	if got := value(f.n.metrics.ignored.WithLabelValues("unlisted_server")); got != 1 {
		t.Errorf("%v records counted for an unlisted server, want 1", got)
	}
	if got := value(f.n.metrics.ignored.WithLabelValues("malformed")); got != 1 {
		t.Errorf("%v malformed records counted, want 1", got)
	}

	// Once the good record has expired, nothing is sent.
	f.clock.advance(25 * time.Hour)
	f.deposit(acct.ID(), 0, "after expiry")
	f.none()
}

// TestRecordsPastExpiredOnes: a live record is found behind more expired
// ones (whose messages live on) than one page of the store holds.
func TestRecordsPastExpiredOnes(t *testing.T) {
	f := newFixture(t, nil)
	f.run()
	acct := identity.NewAccount()
	for range 70 {
		f.record(acct, f.server.Key, 0)
	}
	f.clock.advance(25 * time.Hour)
	rec := f.record(acct, f.server.Key, 0)
	m := f.deposit(acct.ID(), 0, "hello")
	check(t, f.next(), rec, m, 1)
	f.none()
}

// TestNoServerListed: without a push server in the network file every
// record is ignored.
func TestNoServerListed(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Server = Server{} })
	f.run()
	acct := identity.NewAccount()
	f.record(acct, f.server.Key, 0)
	f.deposit(acct.ID(), 0, "hello")
	f.none()
}

// TestRetries: a notify that fails is retried with backoff until it
// goes through or its attempts are spent; one the server refuses is not
// retried.
func TestRetries(t *testing.T) {
	cases := []struct {
		name     string
		answer   func(n int) (int, []byte, error)
		attempts int
		result   string
	}{
		{"no path, then through", func(n int) (int, []byte, error) {
			if n < 3 {
				return 0, nil, errors.New("no path")
			}
			return 200, okAnswer, nil
		}, 3, "sent"},
		{"rate limited, then through", func(n int) (int, []byte, error) {
			if n == 1 {
				return 429, push.ErrorAnswer(push.CodeRateLimited, "slow down", 2*time.Second).Marshal(), nil
			}
			return 200, okAnswer, nil
		}, 2, "sent"},
		{"never through", func(int) (int, []byte, error) {
			return 503, push.ErrorAnswer(push.CodeUnavailable, "provider down", 0).Marshal(), nil
		}, DefaultAttempts, "failed"},
		{"forbidden", func(int) (int, []byte, error) {
			return 403, push.ErrorAnswer(push.CodeForbidden, "wrong secret", 0).Marshal(), nil
		}, 1, "refused"},
		{"gone", func(int) (int, []byte, error) {
			return 410, push.ErrorAnswer(push.CodeGone, "token gone", 0).Marshal(), nil
		}, 1, "refused"},
		{"not a push server's answer", func(int) (int, []byte, error) { return 200, []byte("ok"), nil }, 1, "refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.sender.answer = tc.answer
			f.run()
			acct := identity.NewAccount()
			rec := f.record(acct, f.server.Key, 0)
			m := f.deposit(acct.ID(), 0, "hello")
			for i := range tc.attempts {
				check(t, f.next(), rec, m, 1)
				if i < tc.attempts-1 {
					// The retry is scheduled from the time of the failure.
					f.waitFor("a retry to be scheduled", func() bool { return value(f.n.metrics.retries) == float64(i+1) })
					f.clock.advance(maxRetryWait)
				}
			}
			counter := f.n.metrics.notifies.WithLabelValues(tc.result)
			f.waitFor("the notify to finish", func() bool { return value(counter) == 1 })
			f.clock.advance(time.Hour)
			time.Sleep(20 * time.Millisecond) // a few ticks: nothing more may go out
			f.none()
		})
	}
}

// TestStoreNeverWaits: with nobody taking deposits, Deposited still
// returns at once and drops what the queue cannot hold.
func TestStoreNeverWaits(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.QueueSize = 4 })
	acct := identity.NewAccount()
	for i := range 10 {
		f.n.Deposited(store.Message{Account: acct.ID(), Hash: string(rune('a' + i)), Timestamp: f.clock.Now()})
	}
	if q, full := value(f.n.metrics.deposits.WithLabelValues("queued")), value(f.n.metrics.deposits.WithLabelValues("queue_full")); q != 4 || full != 6 {
		t.Fatalf("%v queued and %v dropped, want 4 and 6", q, full)
	}
}

// TestWithoutNode: the node's path directory leaves the node out, and
// keeps the rest in lookup order.
func TestWithoutNode(t *testing.T) {
	var nodes []snapshot.Node
	for range 5 {
		nodes = append(nodes, snapshot.Node{Ed25519: identity.NewAccount().Ed25519Public()})
	}
	s := &snapshot.Snapshot{Epoch: 7, Nodes: nodes}
	s.Nodes = sortedNodes(s.Nodes)
	self := s.Nodes[2].Ed25519
	dir := WithoutNode(func() *snapshot.Snapshot { return s }, self)
	got := dir()
	if len(got.Nodes) != 4 || got.Epoch != 7 {
		t.Fatalf("%d nodes at epoch %d, want 4 at 7", len(got.Nodes), got.Epoch)
	}
	if _, ok := got.Node(self); ok {
		t.Fatal("the node is in its own path directory")
	}
	for _, n := range s.Nodes {
		if _, ok := got.Node(n.Ed25519); !ok && n.Ed25519 != self {
			t.Fatal("another node went missing")
		}
	}
	if dir() != got {
		t.Fatal("the same snapshot was copied twice")
	}
	if len(s.Nodes) != 5 {
		t.Fatal("the node's own snapshot was changed")
	}
	if WithoutNode(func() *snapshot.Snapshot { return nil }, self)() != nil {
		t.Fatal("no snapshot became one")
	}
}

func sortedNodes(ns []snapshot.Node) []snapshot.Node {
	out := append([]snapshot.Node(nil), ns...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].Ed25519.Compare(out[i].Ed25519) < 0 {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// value reads a counter, through a registry so that the test needs no
// import of the metrics' data model.
func value(c prometheus.Counter) float64 {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 {
		panic(fmt.Sprint("reading a counter: ", err))
	}
	return mfs[0].GetMetric()[0].GetCounter().GetValue()
}

// TestCoalescedSendsOnTime: deposits coalesced within the interval go
// out once it has passed, woken by a timer set for that moment, not by
// the next tick of a poll: with the poll an hour apart, the coalesced
// notify still comes.
func TestCoalescedSendsOnTime(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Clock, c.Tick, c.Interval = time.Now, time.Hour, 100*time.Millisecond
	})
	f.clock = nil // the fixture's clock is not the notifier's
	f.run()
	acct := identity.NewAccount()
	r := &push.Record{Server: f.server.Key, Namespaces: []int32{0}, Expiry: time.Now().Add(24 * time.Hour)}
	rand.Read(r.SubID[:])
	rand.Read(r.NotifySecret[:])
	rand.Read(r.EncKey[:])
	if err := push.SignRecord(r, acct); err != nil {
		t.Fatal(err)
	}
	put := func(ns int32, data []byte) store.Message {
		now := time.Now().Truncate(time.Millisecond)
		m := store.Message{Account: acct.ID(), Namespace: ns, Hash: rpc.MessageHash(acct.ID(), ns, data), Data: data, Timestamp: now, Expiry: now.Add(time.Hour)}
		if _, err := f.db.Put(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	put(push.Namespace, r.Marshal())
	f.n.Deposited(put(0, []byte("one")))
	f.next()
	// Both within the interval of the first send, as a rule (a machine
	// stalled longer sends "two" at once, and "three" waits instead).
	f.n.Deposited(put(0, []byte("two")))
	m3 := put(0, []byte("three"))
	f.n.Deposited(m3)
	for {
		in, err := push.OpenPayload(r.EncKey, f.next().Payload)
		if err != nil {
			t.Fatal(err)
		}
		if in.Hash == m3.Hash {
			break
		}
	}
}

// TestKeepWarm: the notifier warms its path to the push server when it
// starts, before any deposit needs it, and again once a node that
// notified has been idle for KeepWarm.
func TestKeepWarm(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Clock, c.KeepWarm = time.Now, 30*time.Millisecond })
	f.clock = &clock{now: time.Now()}
	f.run()
	f.waitFor("the path to be warmed at the start", func() bool { return f.sender.warms.Load() >= 1 })
	acct := identity.NewAccount()
	r := &push.Record{Server: f.server.Key, Namespaces: []int32{0}, Expiry: time.Now().Add(24 * time.Hour)}
	rand.Read(r.SubID[:])
	rand.Read(r.NotifySecret[:])
	rand.Read(r.EncKey[:])
	if err := push.SignRecord(r, acct); err != nil {
		t.Fatal(err)
	}
	f.put(acct.ID(), push.Namespace, r.Marshal())
	before := f.sender.warms.Load()
	f.clock.now = time.Now()
	f.deposit(acct.ID(), 0, "hello")
	f.next()
	f.waitFor("the path to be warmed when idle", func() bool { return f.sender.warms.Load() > before })
	if got := value(f.n.metrics.notifies.WithLabelValues("sent")); got != 1 {
		t.Fatalf("%v notifies counted sent, want 1 (warm-ups are no notifies)", got)
	}
}

// TestGroupRecords (docs/groups.md §12): in a group swarm, records signed
// by member keys (two members here) are each notified of a new group
// message; a deposit in another group namespace wakes nobody.
func TestGroupRecords(t *testing.T) {
	f := newFixture(t, nil)
	f.run()
	seed := make([]byte, group.SeedSize)
	rand.Read(seed)
	admin, err := group.NewAdmin(seed)
	if err != nil {
		t.Fatal(err)
	}
	gid := admin.ID()
	var recs []*push.Record
	for range 2 {
		mseed := make([]byte, group.SeedSize)
		rand.Read(mseed)
		tok := group.Token{Perms: group.PermRead, Member: identity.Ed25519PublicKeyOf(ed25519.NewKeyFromSeed(mseed))}
		m, err := group.NewMember(admin.Group(), mseed, admin.Issue(tok))
		if err != nil {
			t.Fatal(err)
		}
		r := &push.Record{Server: f.server.Key, Namespaces: []int32{group.NamespaceMessages}, Expiry: f.clock.Now().Add(24 * time.Hour)}
		rand.Read(r.SubID[:])
		rand.Read(r.NotifySecret[:])
		rand.Read(r.EncKey[:])
		if err := push.SignGroupRecord(r, gid, m); err != nil {
			t.Fatal(err)
		}
		f.put(gid, push.Namespace, r.Marshal())
		recs = append(recs, r)
	}
	msg := f.deposit(gid, group.NamespaceMessages, "a group message")
	got := map[[32]byte]*push.Request{}
	for range 2 {
		r := f.next()
		got[r.SubID] = r
	}
	for _, r := range recs {
		check(t, got[r.SubID], r, msg, 1)
	}
	f.clock.advance(time.Minute)
	f.deposit(gid, group.NamespaceKeys, "a key message")
	f.none()

	// The first member is removed: its record wakes nobody any more.
	list, err := (&group.Revocations{Version: 1, Created: f.clock.Now(), Revoked: []identity.Ed25519PublicKey{recs[0].Ed25519}}).Sign(admin)
	if err != nil {
		t.Fatal(err)
	}
	f.put(gid, group.NamespaceRevocations, list)
	msg = f.deposit(gid, group.NamespaceMessages, "after the removal")
	check(t, f.next(), recs[1], msg, 1)
	f.none()
}
