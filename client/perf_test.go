package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/devicerecord"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Issue 23's client tests: a warm send is one onion round trip, so is a
// warm fast-mode receive, device records are refreshed in the background
// and never replaced by older ones, and poll replies stay small over a
// conversation.

// roundKey marks a context whose storage RPCs a hookedTransport counts.
type roundKey struct{}

func marked(ctx context.Context) context.Context { return context.WithValue(ctx, roundKey{}, true) }

// hookedTransport wraps a client's transport and records every call: its
// place in one logical order of starts and ends, whether its context was
// marked, its method and namespace, and the size of its answer. It can
// also answer some calls itself (intercept).
type hookedTransport struct {
	inner Transport
	// settle holds every answer until this long after its call started.
	// Calls a client makes in parallel start within its local work of
	// one another (sealing: milliseconds), so holding answers makes them
	// overlap however the goroutines are scheduled; a call made after
	// another's answer starts after that answer whatever the delay, so
	// sequential calls are never counted as parallel.
	settle time.Duration

	mu        sync.Mutex
	seq       int64
	calls     []*hookCall
	intercept func(n snapshot.Node, method string, params json.RawMessage) (int, []byte, bool)
}

type hookCall struct {
	marked     bool
	hold       bool
	method     string
	namespace  int32
	start, end int64 // logical times; end is 0 while in flight
	respBytes  int
}

func (h *hookedTransport) tick() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	return h.seq
}

func (h *hookedTransport) do(ctx context.Context, n snapshot.Node, body []byte, hold time.Duration) (int, []byte, error) {
	var req struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	json.Unmarshal(body, &req)
	var p struct {
		Namespace int32 `json:"namespace"`
	}
	json.Unmarshal(req.Params, &p)
	began := time.Now()
	h.mu.Lock()
	h.seq++
	c := &hookCall{marked: ctx.Value(roundKey{}) != nil, hold: hold > 0, method: req.Method, namespace: p.Namespace, start: h.seq}
	h.calls = append(h.calls, c)
	icpt := h.intercept
	h.mu.Unlock()
	var (
		status int
		resp   []byte
		err    error
		done   bool
	)
	if icpt != nil {
		status, resp, done = icpt(n, req.Method, req.Params)
	}
	if !done {
		if ht, ok := h.inner.(HoldTransport); ok && hold > 0 {
			status, resp, err = ht.DoHold(ctx, n, body, hold)
		} else {
			status, resp, err = h.inner.Do(ctx, n, body)
		}
	}
	if d := h.settle - time.Since(began); d > 0 && hold == 0 {
		time.Sleep(d)
	}
	h.mu.Lock()
	h.seq++
	c.end, c.respBytes = h.seq, len(resp)
	h.mu.Unlock()
	return status, resp, err
}

func (h *hookedTransport) Do(ctx context.Context, n snapshot.Node, body []byte) (int, []byte, error) {
	return h.do(ctx, n, body, 0)
}

func (h *hookedTransport) DoHold(ctx context.Context, n snapshot.Node, body []byte, hold time.Duration) (int, []byte, error) {
	return h.do(ctx, n, body, hold)
}

// snapshot returns copies of the calls recorded so far.
func (h *hookedTransport) snapshot() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]hookCall, len(h.calls))
	for i, c := range h.calls {
		out[i] = *c
	}
	return out
}

func (h *hookedTransport) reset() {
	h.mu.Lock()
	h.calls = nil
	h.mu.Unlock()
}

// rounds returns the number of sequential round trips among calls: the
// longest chain of calls each of which started after the previous one's
// answer (calls still in flight are left out).
func rounds(calls []hookCall) int {
	done := slices.DeleteFunc(slices.Clone(calls), func(c hookCall) bool { return c.end == 0 })
	slices.SortFunc(done, func(a, b hookCall) int { return int(a.end - b.end) })
	n, last := 0, int64(-1)
	for _, c := range done {
		if c.start > last {
			n, last = n+1, c.end
		}
	}
	return n
}

func describe(calls []hookCall) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "\n  %s ns %d [%d, %d] marked=%v hold=%v", c.method, c.namespace, c.start, c.end, c.marked, c.hold)
	}
	return b.String()
}

func hook(c *Client) *hookedTransport {
	h := &hookedTransport{inner: c.tr, settle: 250 * time.Millisecond}
	c.tr = h
	return h
}

// TestWarmRoundTrips counts, through onion paths on a devnet, the
// sequential onion round trips of a warm send (exactly one: the stores
// to the recipient's swarm and of the sync copy go out at once, with the
// device records cached) and of a warm fast-mode receive (exactly one:
// the held retrieve's answer carries the message).
func TestWarmRoundTrips(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole network")
	}
	nf := startDevnet(t).Network()
	alice := open(t, newHome(t), Options{Network: nf})
	bob := open(t, newHome(t), Options{Network: nf, SafetyNetInterval: time.Hour, PollInterval: time.Hour})
	ah, bh := hook(alice), hook(bob)
	if err := bob.SetNotifications(NotifyFast); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	type arrival struct {
		text string
		at   int64 // bob's hook's logical time at delivery
	}
	arrived := make(chan arrival, 16)
	loop := make(chan error, 1)
	go func() {
		loop <- bob.Receive(marked(ctx), func(ms []Message) error {
			at := bh.tick()
			for _, m := range ms {
				arrived <- arrival{m.Text, at}
			}
			return nil
		})
	}()
	defer func() {
		cancel()
		if err := <-loop; err != nil {
			t.Error(err)
		}
	}()
	next := func(want string) arrival {
		t.Helper()
		select {
		case a := <-arrived:
			if a.text != want {
				t.Fatalf("got %q, want %q", a.text, want)
			}
			return a
		case <-time.After(2 * time.Minute):
			t.Fatalf("%q did not arrive", want)
		}
		return arrival{}
	}
	// Warm up paths, swarms, connections, records and the long-poll.
	if _, err := alice.Send(ctx, bob.Account(), "warm-up"); err != nil {
		t.Fatal(err)
	}
	next("warm-up")
	for i := range 3 {
		// Bob's receipts and other duties for the last message end
		// before the next send starts; only the long-poll stays.
		quiet := time.Now().Add(time.Minute)
		for slices.ContainsFunc(bh.snapshot(), func(c hookCall) bool { return c.end == 0 && !c.hold }) {
			if time.Now().After(quiet) {
				t.Fatal("bob's calls do not end")
			}
			time.Sleep(10 * time.Millisecond)
		}
		ah.reset()
		start := bh.tick()
		text := fmt.Sprint("warm ", i)
		m, err := alice.Send(marked(ctx), bob.Account(), text)
		if err != nil || m.Status != "sent" {
			t.Fatalf("send: %+v, %v", m, err)
		}
		var sends []hookCall
		for _, c := range ah.snapshot() {
			if c.marked {
				sends = append(sends, c)
			}
		}
		if n := rounds(sends); n != 1 {
			t.Errorf("send %d: %d sequential round trips, want 1:%s", i, n, describe(sends))
		}
		a := next(text)
		var recv []hookCall
		for _, c := range bh.snapshot() {
			if c.marked && c.end > start && c.end < a.at {
				recv = append(recv, c)
			}
		}
		if n := rounds(recv); n != 1 {
			t.Errorf("receive %d: %d sequential round trips, want 1:%s", i, n, describe(recv))
		}
	}
}

// fetchEachSend turns c's record cache off: every seal fetches the
// records first, as before issue 23. Tests of what a fetch finds
// (withheld or changed records, a device that appeared a moment ago) use
// it; the cache has its own tests here.
func fetchEachSend(c *Client) {
	c.mu.Lock()
	c.recordStale = 0
	c.mu.Unlock()
}

// cachedHashes returns the hashes of the records c holds in its cache for
// account's class cl.
func cachedHashes(c *Client, account identity.AccountID, cl prekey.Class) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.recordCache[recordCacheKey{account, cl}].recs {
		out = append(out, r.Hash)
	}
	return out
}

// cachedDevices returns the device IDs of the records c holds for
// account's Inbox class.
func cachedDevices(c *Client, account identity.AccountID) []prekey.DeviceID {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []prekey.DeviceID
	for _, r := range c.recordCache[recordCacheKey{account, prekey.Inbox}].recs {
		out = append(out, r.DeviceID)
	}
	return out
}

// TestRecordsRefreshedInBackground: a sender's cached records of a
// contact are refreshed in the background, without a send waiting for
// them, so a device the contact adds is sealed to within the refresh
// interval; the send that follows is one round trip.
func TestRecordsRefreshedInBackground(t *testing.T) {
	_, nf := testNetwork(t)
	ctx := context.Background()
	seed := identity.NewSeed()
	alice := open(t, newHome(t), Options{Network: nf})
	alice.mu.Lock()
	alice.recordRefresh = 200 * time.Millisecond
	alice.mu.Unlock()
	bob := open(t, homeFromSeed(t, seed), Options{Network: nf})
	if _, err := alice.Send(ctx, bob.Account(), "before"); err != nil {
		t.Fatal(err)
	}
	if got := cachedDevices(alice, bob.Account()); len(got) != 1 {
		t.Fatalf("alice caches %d devices of bob, want 1", len(got))
	}
	// Bob adds a device; it publishes its records when it opens.
	bob2 := open(t, homeFromSeed(t, seed), Options{Network: nf})
	deadline := time.Now().Add(time.Minute)
	for !slices.Contains(cachedDevices(alice, bob.Account()), bob2.device.ID) {
		if time.Now().After(deadline) {
			t.Fatalf("alice's cache never learnt bob's new device (has %v)", cachedDevices(alice, bob.Account()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := alice.Send(ctx, bob.Account(), "after"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Client{bob, bob2} {
		got, err := c.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(got, func(m Message) bool { return m.Text == "after" }) {
			t.Fatalf("device %s did not get the message sent after it appeared: %+v", c.device.ID, got)
		}
	}
}

// TestRecordCacheNeverOlder: once a sender holds a contact's record, an
// answer that serves an older valid record of the same device (a member
// that lags or misbehaves; here every member does) does not replace it.
func TestRecordCacheNeverOlder(t *testing.T) {
	_, nf := testNetwork(t)
	ctx := context.Background()
	alice := open(t, newHome(t), Options{Network: nf})
	h := hook(alice)
	h.settle = 0
	bob := open(t, newHome(t), Options{Network: nf})
	if _, err := alice.Send(ctx, bob.Account(), "first"); err != nil {
		t.Fatal(err)
	}
	fresh := cachedHashes(alice, bob.Account(), prekey.Inbox)
	if len(fresh) != 1 {
		t.Fatalf("alice caches %d records of bob", len(fresh))
	}
	// An older record of bob's device, genuinely signed: made a day
	// earlier, so it is still valid, with keys bob does not hold.
	then := time.Now().Add(-24 * time.Hour)
	keys, err := prekey.NewDeviceKeys(bob.device.ID, prekey.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Cover(then); err != nil {
		t.Fatal(err)
	}
	old, err := devicerecord.Make(bob.acct, bob.device, keys, then)
	if err != nil {
		t.Fatal(err)
	}
	oldHash := rpc.MessageHash(bob.Account(), NamespaceKeys, old)
	var served atomic.Int64 // the intercept runs on the fetch's goroutines
	h.mu.Lock()
	h.intercept = func(n snapshot.Node, method string, params json.RawMessage) (int, []byte, bool) {
		var p struct {
			Pubkey    string `json:"pubkey"`
			Namespace int32  `json:"namespace"`
		}
		json.Unmarshal(params, &p)
		if method != rpc.MethodRetrieve || p.Namespace != NamespaceKeys || p.Pubkey != bob.Account().String() {
			return 0, nil, false
		}
		served.Add(1)
		b, _ := json.Marshal(rpc.RetrieveResult{Messages: []rpc.Message{{
			Hash: oldHash, Timestamp: then.UnixMilli(), Expiration: time.Now().Add(time.Hour).UnixMilli(),
			Data: base64.StdEncoding.EncodeToString(old),
		}}, T: time.Now().UnixMilli()})
		return 200, b, true
	}
	h.mu.Unlock()
	// Every use fetches (nothing is fresh enough), and the fetch finds
	// only the old record.
	fetchEachSend(alice)
	for i := range 2 {
		if _, err := alice.Send(ctx, bob.Account(), fmt.Sprint("again ", i)); err != nil {
			t.Fatal(err)
		}
	}
	if served.Load() == 0 {
		t.Fatal("the old record was never served: the test tests nothing")
	}
	if got := cachedHashes(alice, bob.Account(), prekey.Inbox); !slices.Equal(got, fresh) {
		t.Fatalf("alice caches %v after old answers, want the newer %v (old %s)", got, fresh, oldHash)
	}
	got, err := bob.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("bob got %d messages, want 3 (a message sealed to the old record cannot be opened)", len(got))
	}
}

// TestPollRepliesStaySmall: over a conversation, the bytes of a poll's
// answers stay those of what is new, not of everything in the lookback
// window.
func TestPollRepliesStaySmall(t *testing.T) {
	_, nf := testNetwork(t)
	ctx := context.Background()
	alice := open(t, newHome(t), Options{Network: nf})
	bob := open(t, newHome(t), Options{Network: nf})
	h := hook(bob)
	h.settle = 0
	body := strings.Repeat("a line of an ordinary conversation. ", 20)
	const n = 20
	var sizes []int
	for i := range n {
		if _, err := alice.Send(ctx, bob.Account(), fmt.Sprint(i, body)); err != nil {
			t.Fatal(err)
		}
		h.reset()
		got, err := bob.Poll(marked(ctx))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("poll %d: %d messages", i, len(got))
		}
		total := 0
		for _, c := range h.snapshot() {
			if c.marked && c.method == rpc.MethodRetrieve && (c.namespace == NamespaceInbox || c.namespace == NamespaceSync) {
				total += c.respBytes
			}
		}
		sizes = append(sizes, total)
	}
	t.Logf("poll answer bytes: %v", sizes)
	// Each poll carries one new message, from one or two of the members
	// asked (relaytest nodes do not replicate: a copy is on the two
	// members the client stored it to). Allow twice the most of the first
	// two polls.
	bound := 2 * max(sizes[0], sizes[1])
	for i := 2; i < n; i++ {
		if sizes[i] > bound {
			t.Fatalf("poll %d answered %d bytes, more than %d: answers grow with the conversation (%v)", i, sizes[i], bound, sizes)
		}
	}
}

// TestPollOldNode: a node from before the known list refuses the field
// (strict parsing); the poll then reads the lookback's bodies as before,
// and no message is lost.
func TestPollOldNode(t *testing.T) {
	_, nf := testNetwork(t)
	ctx := context.Background()
	alice := open(t, newHome(t), Options{Network: nf})
	bob := open(t, newHome(t), Options{Network: nf})
	h := hook(bob)
	h.settle = 0
	var refused atomic.Int64 // the intercept runs on the fetch's goroutines
	h.mu.Lock()
	h.intercept = func(n snapshot.Node, method string, params json.RawMessage) (int, []byte, bool) {
		var p map[string]json.RawMessage
		json.Unmarshal(params, &p)
		if _, ok := p["known"]; !ok || method != rpc.MethodRetrieve {
			return 0, nil, false
		}
		refused.Add(1)
		b, _ := json.Marshal(rpc.ErrorBody{Error: &rpc.Error{Code: rpc.CodeBadField, Message: `params: unknown field "known"`}, T: time.Now().UnixMilli()})
		return rpc.CodeBadField.Status(), b, true
	}
	h.mu.Unlock()
	for i := range 3 {
		text := fmt.Sprint("to an old node ", i)
		if _, err := alice.Send(ctx, bob.Account(), text); err != nil {
			t.Fatal(err)
		}
		got, err := bob.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Text != text {
			t.Fatalf("poll %d: %+v", i, got)
		}
	}
	if refused.Load() == 0 {
		t.Fatal("no poll sent a known list: the test tests nothing")
	}
}
