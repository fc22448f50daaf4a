package client

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/internal/node/nodetest"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

// holdSpy is a HoldTransport that counts long-polls, can refuse them with
// hold_full, and can alter their answers (a misbehaving member that lies
// only when it holds).
type holdSpy struct {
	HoldTransport
	calls, inflight atomic.Int64

	mu sync.Mutex // guards the fields below
	// full is how many more long-polls per namespace to answer hold_full,
	// with retryAfter.
	full       map[int32]int
	retryAfter time.Duration
	// fullAt is when each namespace's last hold_full (the spy's or a
	// node's) was answered, with its retry_after_ms; gaps the times from
	// it to the next long-poll of that namespace, with that retry.
	fullAt map[int32]fullAnswer
	gaps   []fullAnswer
	// alter, when set, rewrites the answers of long-polls.
	alter func(ns int32, res *rpc.RetrieveResult)
}

// fullAnswer is a hold_full: when, or how long until the next hold, and
// the retry it asked for.
type fullAnswer struct {
	at    time.Time
	gap   time.Duration
	retry time.Duration
}

func newHoldSpy() *holdSpy {
	return &holdSpy{HoldTransport: NewDirectTransport(), full: map[int32]int{}, fullAt: map[int32]fullAnswer{}}
}

func (s *holdSpy) DoHold(ctx context.Context, n snapshot.Node, body []byte, hold time.Duration) (int, []byte, error) {
	s.calls.Add(1)
	var req struct {
		Params struct {
			Namespace int32 `json:"namespace"`
			Wait      int64 `json:"wait"`
		} `json:"params"`
	}
	json.Unmarshal(body, &req)
	ns := req.Params.Namespace
	s.mu.Lock()
	if f, ok := s.fullAt[ns]; ok {
		f.gap = time.Since(f.at)
		s.gaps = append(s.gaps, f)
		delete(s.fullAt, ns)
	}
	if s.full[ns] > 0 {
		s.full[ns]--
		s.fullAt[ns] = fullAnswer{at: time.Now(), retry: s.retryAfter}
		s.mu.Unlock()
		b, _ := json.Marshal(rpc.ErrorBody{Error: &rpc.Error{Code: rpc.CodeHoldFull, Message: "full"}, RetryAfterMs: s.retryAfter.Milliseconds()})
		return rpc.CodeHoldFull.Status(), b, nil
	}
	alter := s.alter
	s.mu.Unlock()
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	status, resp, err := s.HoldTransport.DoHold(ctx, n, body, hold)
	var eb rpc.ErrorBody
	if status == rpc.CodeHoldFull.Status() && json.Unmarshal(resp, &eb) == nil && eb.Error != nil && eb.Error.Code == rpc.CodeHoldFull {
		s.mu.Lock()
		s.fullAt[ns] = fullAnswer{at: time.Now(), retry: time.Duration(eb.RetryAfterMs) * time.Millisecond}
		s.mu.Unlock()
	}
	if err != nil || status != http.StatusOK || alter == nil || req.Params.Wait == 0 {
		return status, resp, err
	}
	var res rpc.RetrieveResult
	if json.Unmarshal(resp, &res) != nil {
		return status, resp, err
	}
	alter(ns, &res)
	b, _ := json.Marshal(res)
	return status, b, nil
}

// waitFor waits until cond holds, or fails the test after a generous
// deadline (not an assertion on speed).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// follow runs c's Receive until the test ends and collects the texts it
// reports, with how often each was reported.
type follower struct {
	mu  sync.Mutex
	got map[string]int
}

func follow(t *testing.T, c *Client) *follower {
	t.Helper()
	f := &follower{got: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Receive(ctx, func(ms []Message) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, m := range ms {
				if !m.Outgoing {
					f.got[m.Text]++
				}
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return f
}

func (f *follower) count(text string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got[text]
}

func (f *follower) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, k := range f.got {
		n += k
	}
	return n
}

// TestFastReceive: in fast mode, messages sent while the receiver's loop
// holds a retrieve on its (standalone) node arrive through the long-poll,
// with no safety-net poll in the test's time, each exactly once.
func TestFastReceive(t *testing.T) {
	nd := startStandalone(t)
	spy := newHoldSpy()
	alice := open(t, newHome(t), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd, Transport: spy, SafetyNetInterval: time.Hour})
	ctx := context.Background()
	if st, err := bob.Notifications(); err != nil || st.Mode != NotifyFast {
		t.Fatalf("bob's notifications = %+v, %v; want fast (the default)", st, err)
	}
	f := follow(t, bob)
	const n = 5
	for i := range n {
		// Both namespaces' long-polls are held before each send.
		waitFor(t, "both long-polls held", func() bool { return spy.inflight.Load() == 2 })
		text := fmt.Sprintf("held %d", i)
		if _, err := alice.Send(ctx, bob.Account(), text); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "message "+text, func() bool { return f.count(text) > 0 })
	}
	// Each long-poll answers once per message at most (its wake-up) and
	// once per wait's end: nothing polls in a loop.
	if calls := spy.calls.Load(); calls > 4*n+2 {
		t.Errorf("%d long-polls for %d messages; the loop spins", calls, n)
	}
	got, err := bob.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("the poll after the long-polls stored %d messages again", len(got))
	}
	for i := range n {
		if k := f.count(fmt.Sprintf("held %d", i)); k != 1 {
			t.Errorf("message %d reported %d times, want once", i, k)
		}
	}
}

// TestFastHoldFull: a member that answers a long-poll with hold_full is
// not held again before its retry_after_ms; the message still arrives.
func TestFastHoldFull(t *testing.T) {
	nd := startStandalone(t)
	spy := newHoldSpy()
	const retryAfter = 700 * time.Millisecond
	spy.retryAfter = retryAfter
	spy.full[NamespaceInbox], spy.full[NamespaceSync] = 2, 2
	alice := open(t, newHome(t), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd, Transport: spy, SafetyNetInterval: time.Hour})
	f := follow(t, bob)
	waitFor(t, "both long-polls held after the refusals", func() bool { return spy.inflight.Load() == 2 })
	if _, err := alice.Send(context.Background(), bob.Account(), "after full"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message", func() bool { return f.count("after full") == 1 })
	spy.mu.Lock()
	defer spy.mu.Unlock()
	if len(spy.gaps) != 4 {
		t.Fatalf("%d long-polls after a hold_full, want 4", len(spy.gaps))
	}
	checkGaps(t, spy.gaps)
}

// checkGaps fails unless every hold after a hold_full waited its retry.
func checkGaps(t *testing.T, gaps []fullAnswer) {
	t.Helper()
	for _, g := range gaps {
		if g.gap < g.retry {
			t.Errorf("held again %v after hold_full with retry_after_ms %d", g.gap, g.retry.Milliseconds())
		}
	}
}

// TestFastHoldFullNode: a real node that holds one retrieve per account
// answers the second long-poll (of the other namespace) hold_full with a
// retry_after_ms of a few seconds; the client waits that long before each
// new try, and the message still arrives exactly once (here by the
// safety-net poll, scaled down, if the inbox never gets the slot).
func TestFastHoldFullNode(t *testing.T) {
	cfg := nodetest.Standalone(t)
	cfg.MaxHeldPerAccount = 1
	nd := nodetest.Start(t, cfg)
	sn := &snapshot.Node{Address: nd.Addr().String(), Ed25519: nd.Identity().Ed25519Public()}
	spy := newHoldSpy()
	alice := open(t, newHome(t), Options{Standalone: sn})
	bob := open(t, newHome(t), Options{Standalone: sn, Transport: spy, SafetyNetInterval: 2 * time.Second})
	f := follow(t, bob)
	waitFor(t, "two long-polls refused and tried again", func() bool {
		spy.mu.Lock()
		defer spy.mu.Unlock()
		return len(spy.gaps) >= 2
	})
	if _, err := alice.Send(context.Background(), bob.Account(), "one slot"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message", func() bool { return f.count("one slot") == 1 })
	spy.mu.Lock()
	defer spy.mu.Unlock()
	for _, g := range spy.gaps {
		if g.retry < time.Second {
			t.Errorf("the node asked for a retry after %v, want seconds", g.retry)
		}
	}
	checkGaps(t, spy.gaps)
	if k := f.count("one slot"); k != 1 {
		t.Errorf("reported %d times, want once", k)
	}
}

// TestFastMisbehavingHold: a held answer that fails a check is rejected
// as a poll's is: the member is named, nothing of the answer that failed
// is stored, and the message arrives once the member answers honestly.
func TestFastMisbehavingHold(t *testing.T) {
	garble := func(_ int32, res *rpc.RetrieveResult) {
		for i := range res.Messages {
			data := make([]byte, 64)
			rand.Read(data)
			res.Messages[i].Data = base64.StdEncoding.EncodeToString(data)
		}
	}
	future := func(_ int32, res *rpc.RetrieveResult) {
		for i := range res.Messages {
			res.Messages[i].Timestamp = time.Now().Add(365 * 24 * time.Hour).UnixMilli()
		}
	}
	for _, tt := range []struct {
		name, reason string
		alter        func(*holdSpy) func(int32, *rpc.RetrieveResult)
	}{
		{"garbage", "does not match its hash", func(*holdSpy) func(int32, *rpc.RetrieveResult) { return garble }},
		{"future", "dated in the future", func(*holdSpy) func(int32, *rpc.RetrieveResult) { return future }},
		{"behind the position", "before the position", func(s *holdSpy) func(int32, *rpc.RetrieveResult) {
			// Each answer also carries the first message it ever served
			// (a replay from behind the position asked for).
			var first []rpc.Message
			return func(ns int32, res *rpc.RetrieveResult) {
				if ns != NamespaceInbox {
					return
				}
				if first == nil && len(res.Messages) > 0 {
					first = res.Messages[:1:1]
					return
				}
				res.Messages = append(slices.Clone(first), res.Messages...)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nd := startStandalone(t)
			spy := newHoldSpy()
			alice := open(t, newHome(t), Options{Standalone: nd})
			bob := open(t, newHome(t), Options{Standalone: nd, Transport: spy, SafetyNetInterval: time.Hour})
			ctx := context.Background()
			if tt.name == "behind the position" {
				// A first message the liar will replay.
				spy.mu.Lock()
				spy.alter = tt.alter(spy)
				spy.mu.Unlock()
				f := follow(t, bob)
				waitFor(t, "both long-polls held", func() bool { return spy.inflight.Load() == 2 })
				if _, err := alice.Send(ctx, bob.Account(), "first"); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the first message", func() bool { return f.count("first") == 1 })
				waitFor(t, "both long-polls held", func() bool { return spy.inflight.Load() == 2 })
				if _, err := alice.Send(ctx, bob.Account(), "second"); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the member named", func() bool { return namesBad(bob, tt.reason) })
				waitFor(t, "the second message", func() bool { return f.count("second") == 1 })
				if k := f.count("first"); k != 1 {
					t.Errorf("the replayed message was reported %d times, want once", k)
				}
				return
			}
			spy.mu.Lock()
			spy.alter = tt.alter(spy)
			spy.mu.Unlock()
			f := follow(t, bob)
			waitFor(t, "both long-polls held", func() bool { return spy.inflight.Load() == 2 })
			if _, err := alice.Send(ctx, bob.Account(), "lied about"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the member named", func() bool { return namesBad(bob, tt.reason) })
			if k := f.total(); k != 0 {
				t.Errorf("%d messages reported from a misbehaving answer", k)
			}
			if d := bob.Stats().Dropped; d != 0 {
				t.Errorf("%d messages of a misbehaving answer were opened and dropped", d)
			}
			spy.mu.Lock()
			spy.alter = nil
			spy.mu.Unlock()
			waitFor(t, "the message from an honest answer", func() bool { return f.count("lied about") == 1 })
		})
	}
}

// namesBad reports whether c names a bad node for a reason containing why.
func namesBad(c *Client, why string) bool {
	for _, b := range c.BadNodes() {
		if strings.Contains(b.Reason, why) {
			return true
		}
	}
	return false
}

// TestNotificationSetting: the mode defaults to fast, is kept in the home
// (per device), refuses unknown modes, and explains itself; a transport
// JSON names are snake_case.
func TestNotificationSetting(t *testing.T) {
	home := newHome(t)
	c := open(t, home, Options{})
	st, err := c.Notifications()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != NotifyFast {
		t.Errorf("new home: %+v, want fast", st)
	}
	if err := c.SetNotifications("push"); !errors.Is(err, ErrBadNotificationMode) {
		t.Errorf("SetNotifications(push) = %v, want ErrBadNotificationMode", err)
	}
	if err := c.SetNotifications(NotifySlow); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c = open(t, home, Options{})
	st, err = c.Notifications()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != NotifySlow || !strings.Contains(st.Explanation, "nothing new") {
		t.Errorf("after reopening: %+v, want slow, explained", st)
	}
	c.SetNotifications(NotifyFast)
	st, _ = c.Notifications()
	for _, want := range []string{"guard", "timing", "Account ID", "IP address", "coarser"} {
		if !strings.Contains(st.Explanation, want) {
			t.Errorf("fast mode's explanation does not mention %q: %s", want, st.Explanation)
		}
	}
	b, _ := json.Marshal(st)
	if !strings.Contains(string(b), `"mode":"fast"`) || !strings.Contains(string(b), `"explanation":`) {
		t.Errorf("JSON %s", b)
	}
}

// TestSlowModeReceive: in slow mode Receive polls and never long-polls.
func TestSlowModeReceive(t *testing.T) {
	nd := startStandalone(t)
	spy := newHoldSpy()
	alice := open(t, newHome(t), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd, Transport: spy, PollInterval: 20 * time.Millisecond})
	if err := bob.SetNotifications(NotifySlow); err != nil {
		t.Fatal(err)
	}
	f := follow(t, bob)
	if _, err := alice.Send(context.Background(), bob.Account(), "polled"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the message", func() bool { return f.count("polled") == 1 })
	if k := spy.calls.Load(); k != 0 {
		t.Errorf("%d long-polls in slow mode", k)
	}
}

// TestHeldAnswerIsNoClockSample: a held answer's "t" is when the node
// answered, at the end of a wait of unknown length, not halfway through
// the round trip; taking it as a clock sample would move the network
// clock by up to half the wait (12.5 s) and mark honest members as having
// wrong clocks. Here the spy dates held answers 40 s ahead: the network
// clock must not follow.
func TestHeldAnswerIsNoClockSample(t *testing.T) {
	nd := startStandalone(t)
	spy := newHoldSpy()
	spy.alter = func(_ int32, res *rpc.RetrieveResult) { res.T += (40 * time.Second).Milliseconds() }
	bob := open(t, newHome(t), Options{Standalone: nd, Transport: spy, SafetyNetInterval: time.Hour, HoldWait: 100 * time.Millisecond})
	follow(t, bob)
	waitFor(t, "several held answers", func() bool { return spy.calls.Load() >= 6 })
	if off := bob.netc.Offset(); off > 5*time.Second || off < -5*time.Second {
		t.Fatalf("network clock offset %v after held answers dated 40 s ahead; want it untouched by them", off)
	}
}
