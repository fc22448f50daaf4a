package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/envelope"
)

// testSDP is a minimal offer: what checkSDP needs, not a real session.
const testSDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:0 PCMU/8000\r\n"

const (
	hostCand  = "candidate:1 1 udp 2130706431 192.0.2.7 50000 typ host"
	srflxCand = "candidate:2 1 udp 1694498815 198.51.100.7 50001 typ srflx raddr 192.0.2.7 rport 50000"
	relayCand = "candidate:3 1 udp 16777215 203.0.113.9 60000 typ relay raddr 198.51.100.7 rport 50001"
)

// befriend makes a and b accepted contacts of each other, with each
// other's device records at hand.
func befriend(t *testing.T, a, b *Client) {
	t.Helper()
	ctx := context.Background()
	for _, p := range [][2]*Client{{a, b}, {b, a}} {
		if err := p[0].Accept(p[1].Account()); err != nil {
			t.Fatal(err)
		}
		if _, err := p[0].Send(ctx, p[1].Account(), "hi"); err != nil {
			t.Fatal(err)
		}
	}
	mustSync(t, a)
	mustSync(t, b)
}

func callsOn(t *testing.T, mode CallMode, cs ...*Client) {
	t.Helper()
	for _, c := range cs {
		if err := c.SetCallMode(mode); err != nil {
			t.Fatal(err)
		}
	}
}

// waitCall polls c until an EventCall on ch satisfies ok, and returns it.
// The deadline is generous: it only bounds a broken test.
func waitCall(t *testing.T, c *Client, ch <-chan Event, ok func(Event) bool) Event {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		for _, e := range ofKind(drain(ch), EventCall) {
			if ok(e) {
				return e
			}
		}
		if _, err := c.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no such call event")
	return Event{}
}

func ended(id, reason string) func(Event) bool {
	return func(e Event) bool { return e.Call.ID == id && e.Call.State == CallEnded && e.Call.EndReason == reason }
}

func ringing(e Event) bool { return e.Call.State == CallIncoming }

// pollNoRing polls c and fails if a call rings there.
func pollNoRing(t *testing.T, c *Client, ch <-chan Event) []Event {
	t.Helper()
	if _, err := c.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	es := ofKind(drain(ch), EventCall)
	for _, e := range es {
		if ringing(e) {
			t.Fatalf("a call rang: %+v", *e.Call)
		}
	}
	return es
}

// TestCallSettings: SetCalls and SetCallMode are two views of one setting.
func TestCallSettings(t *testing.T) {
	c := open(t, newHome(t), Options{})
	for _, tc := range []struct {
		set  func() error
		mode CallMode
		on   bool
	}{
		{func() error { return nil }, CallsOff, false},
		{func() error { return c.SetCalls(true) }, CallsRelay, true},
		{func() error { return c.SetCallMode(CallsDirect) }, CallsDirect, true},
		{func() error { return c.SetCalls(false) }, CallsOff, false},
		{func() error { return c.SetCallMode(CallsRelay) }, CallsRelay, true},
	} {
		if err := tc.set(); err != nil {
			t.Fatal(err)
		}
		m, err := c.CallMode()
		on, err2 := c.Calls()
		if err != nil || err2 != nil || m != tc.mode || on != tc.on {
			t.Fatalf("mode %q on %v (%v %v), want %q %v", m, on, err, err2, tc.mode, tc.on)
		}
	}
	if err := c.SetCallMode("loud"); !errors.Is(err, ErrBadCallMode) {
		t.Fatalf("SetCallMode(loud) = %v", err)
	}
}

// TestCallRules: who rings and who does not, and how a call ends when it
// is not answered.
func TestCallRules(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	// The ring timeout, scaled down from 60 s: the caller's ends its call
	// (unavailable); the callee's is generous, since it counts from the
	// pre-offer's signed time and the test polls when it can.
	alice := open(t, newHome(t), Options{Standalone: nd, CallTimeout: 300 * time.Millisecond})
	bob := open(t, newHome(t), Options{Standalone: nd, CallTimeout: 3 * time.Second})
	carol := open(t, newHome(t), Options{Standalone: nd, CallTimeout: time.Minute})
	befriend(t, alice, bob)
	befriend(t, carol, bob)
	aev, astop := alice.Subscribe(64)
	defer astop()
	bev, bstop := bob.Subscribe(64)
	defer bstop()

	t.Run("calls off: no ring, caller sees unavailable", func(t *testing.T) {
		callsOn(t, CallsOff, bob)
		if _, err := alice.StartCall(ctx, bob.Account()); !errors.Is(err, ErrCallsOff) {
			t.Fatalf("StartCall with calls off = %v", err)
		}
		callsOn(t, CallsRelay, alice)
		call, err := alice.StartCall(ctx, bob.Account())
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.SendCallOffer(ctx, call.ID, testSDP); err != nil {
			t.Fatal(err)
		}
		if es := pollNoRing(t, bob, bev); len(es) != 0 {
			t.Fatalf("calls off, yet events: %+v", es)
		}
		waitCall(t, alice, aev, ended(call.ID, EndUnavailable))
		if got, _ := alice.Call(call.ID); got.State != CallEnded || got.EndReason != EndUnavailable {
			t.Fatalf("alice's call %+v", got)
		}
		if a := alice.ActiveCalls(); len(a) != 0 {
			t.Fatalf("active calls after the end: %+v", a)
		}
	})

	t.Run("unanswered call ends at the timeout", func(t *testing.T) {
		callsOn(t, CallsRelay, bob)
		call, err := alice.StartCall(ctx, bob.Account())
		if err != nil {
			t.Fatal(err)
		}
		// bob's call ends as a missed one, whether it rang first or
		// arrived too late to ring.
		e := waitCall(t, bob, bev, ended(call.ID, EndTimeout))
		if !e.Call.Incoming {
			t.Fatalf("bob's call %+v", *e.Call)
		}
	})

	t.Run("blocked caller never rings", func(t *testing.T) {
		if err := bob.Block(alice.Account()); err != nil {
			t.Fatal(err)
		}
		defer bob.Unblock(alice.Account())
		call, err := alice.StartCall(ctx, bob.Account())
		if err != nil {
			t.Fatal(err)
		}
		if es := pollNoRing(t, bob, bev); len(es) != 0 {
			t.Fatalf("a blocked caller raised events: %+v", es)
		}
		waitCall(t, alice, aev, ended(call.ID, EndUnavailable))
		if _, err := bob.StartCall(ctx, alice.Account()); !errors.Is(err, ErrBlocked) {
			t.Fatalf("calling a blocked account = %v", err)
		}
	})

	t.Run("stranger's call is a request", func(t *testing.T) {
		dave := open(t, newHome(t), Options{Standalone: nd})
		callsOn(t, CallsRelay, dave)
		if _, err := dave.Send(ctx, bob.Account(), "hello?"); err != nil {
			t.Fatal(err)
		}
		call, err := dave.StartCall(ctx, bob.Account())
		if err != nil {
			t.Fatal(err)
		}
		es := pollNoRing(t, bob, bev)
		if len(es) != 1 || es[0].Call.ID != call.ID || es[0].Call.EndReason != CallsRequest {
			t.Fatalf("a stranger's call: %+v", es)
		}
	})

	t.Run("busy", func(t *testing.T) {
		callsOn(t, CallsRelay, carol)
		first, err := carol.StartCall(ctx, bob.Account())
		if err != nil {
			t.Fatal(err)
		}
		waitCall(t, bob, bev, func(e Event) bool { return e.Call.ID == first.ID && ringing(e) })
		if _, err := bob.StartCall(ctx, alice.Account()); !errors.Is(err, ErrInCall) {
			t.Fatalf("a second call while one rings = %v", err)
		}
		second, err := alice.StartCall(ctx, bob.Account())
		if err != nil {
			t.Fatal(err)
		}
		waitCall(t, bob, bev, func(e Event) bool { return e.Call.ID == second.ID && e.Call.EndReason == EndBusy })
		// bob's END(busy) may not reach alice before her 300 ms timer.
		waitCall(t, alice, aev, func(e Event) bool {
			return e.Call.ID == second.ID && (e.Call.EndReason == EndBusy || e.Call.EndReason == EndUnavailable)
		})
		if err := bob.EndCall(ctx, first.ID, ""); err != nil {
			t.Fatal(err)
		}
		cev, cstop := carol.Subscribe(16)
		defer cstop()
		waitCall(t, carol, cev, ended(first.ID, EndDeclined))
	})
}

// TestCallAnswerElsewhere: both of bob's devices ring; answering on one
// stops the other, and the caller gets the answer.
func TestCallAnswerElsewhere(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	seed := identity.NewSeed()
	alice := open(t, newHome(t), Options{Standalone: nd})
	b1 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	befriend(t, alice, b1)
	b2 := open(t, homeFromSeed(t, seed), Options{Standalone: nd})
	mustSync(t, b2)
	mustSync(t, b1)
	fetchEachSend(alice)
	fetchEachSend(b1)
	callsOn(t, CallsRelay, alice, b1, b2)
	aev, astop := alice.Subscribe(64)
	defer astop()
	ev1, stop1 := b1.Subscribe(64)
	defer stop1()
	ev2, stop2 := b2.Subscribe(64)
	defer stop2()

	call, err := alice.StartCall(ctx, b1.Account())
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.SendCallOffer(ctx, call.ID, testSDP); err != nil {
		t.Fatal(err)
	}
	waitCall(t, b1, ev1, func(e Event) bool { return e.CallSignal != nil && e.CallSignal.Type == "offer" })
	waitCall(t, b2, ev2, ringing)
	if err := b1.AnswerCall(ctx, call.ID, testSDP); err != nil {
		t.Fatal(err)
	}
	waitCall(t, b2, ev2, ended(call.ID, EndAnsweredElsewhere))
	e := waitCall(t, alice, aev, func(e Event) bool { return e.CallSignal != nil && e.CallSignal.Type == "answer" })
	if e.Call.State != CallConnecting {
		t.Fatalf("alice's call after the answer: %+v", *e.Call)
	}
	if err := b1.CallConnected(call.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := b1.Call(call.ID); got.State != CallActive {
		t.Fatalf("b1's call %+v", got)
	}
	if err := alice.EndCall(ctx, call.ID, ""); err != nil {
		t.Fatal(err)
	}
	waitCall(t, b1, ev1, ended(call.ID, EndHangup))
}

// TestCallBadInput: malformed SDP or candidates are dropped, counted, and
// end the call cleanly on both sides; a stranger's signal for someone
// else's call changes nothing; a replayed signal is ignored; in relay
// mode no host or srflx candidate leaves or enters, and a relay
// candidate's related address is cleared.
func TestCallBadInput(t *testing.T) {
	nd := startStandalone(t)
	ctx := context.Background()
	alice := open(t, newHome(t), Options{Standalone: nd})
	bob := open(t, newHome(t), Options{Standalone: nd})
	mallory := open(t, newHome(t), Options{Standalone: nd})
	befriend(t, alice, bob)
	callsOn(t, CallsRelay, alice, bob, mallory)
	aev, astop := alice.Subscribe(64)
	defer astop()
	bev, bstop := bob.Subscribe(64)
	defer bstop()

	start := func(t *testing.T) (Call, []byte) {
		t.Helper()
		call, err := alice.StartCall(ctx, bob.Account())
		if err != nil {
			t.Fatal(err)
		}
		waitCall(t, bob, bev, func(e Event) bool { return e.Call.ID == call.ID && ringing(e) })
		uuid, _ := hex.DecodeString(call.ID)
		return call, uuid
	}

	for _, tc := range []struct {
		name string
		msg  func(uuid []byte) *envelope.CallMessage
	}{
		{"malformed SDP", func(u []byte) *envelope.CallMessage {
			return &envelope.CallMessage{Type: envelope.CallMessage_TYPE_OFFER, CallUuid: u, Sdp: "v=0\r\nthis is no SDP"}
		}},
		{"malformed candidate", func(u []byte) *envelope.CallMessage {
			return &envelope.CallMessage{Type: envelope.CallMessage_TYPE_ICE_CANDIDATES, CallUuid: u,
				Candidates: []*envelope.CallMessage_IceCandidate{{Candidate: "candidate:1 1 udp x 1.2.3.4 5 typ relay"}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			call, uuid := start(t)
			before := bob.MalformedCallMessages()
			if err := alice.sendCall(ctx, bob.Account(), tc.msg(uuid)); err != nil {
				t.Fatal(err)
			}
			waitCall(t, bob, bev, func(e Event) bool { return e.Call.ID == call.ID && e.Call.EndReason == EndFailed })
			if bob.MalformedCallMessages() != before+1 {
				t.Fatalf("malformed count %d, was %d", bob.MalformedCallMessages(), before)
			}
			waitCall(t, alice, aev, func(e Event) bool { return e.Call.ID == call.ID && e.Call.EndReason == EndHangup })
		})
	}

	t.Run("stranger", func(t *testing.T) {
		call, uuid := start(t)
		for _, m := range []*envelope.CallMessage{
			{Type: envelope.CallMessage_TYPE_END, CallUuid: uuid},
			{Type: envelope.CallMessage_TYPE_OFFER, CallUuid: uuid, Sdp: testSDP},
		} {
			if err := mallory.sendCall(ctx, bob.Account(), m); err != nil {
				t.Fatal(err)
			}
			if err := mallory.sendCall(ctx, alice.Account(), &envelope.CallMessage{Type: envelope.CallMessage_TYPE_ANSWER, CallUuid: uuid, Sdp: testSDP}); err != nil {
				t.Fatal(err)
			}
		}
		pollNoRing(t, alice, aev)
		for _, e := range pollNoRing(t, bob, bev) {
			if e.Call.ID == call.ID {
				t.Fatalf("mallory's signal moved bob's call: %+v", *e.Call)
			}
		}
		for _, c := range []*Client{alice, bob} {
			if got, _ := c.Call(call.ID); got.State == CallEnded || got.State == CallConnecting {
				t.Fatalf("mallory's signal moved the call: %+v", got)
			}
		}
		if err := alice.EndCall(ctx, call.ID, ""); err != nil {
			t.Fatal(err)
		}
		waitCall(t, bob, bev, func(e Event) bool { return e.Call.ID == call.ID && e.Call.State == CallEnded })
	})

	t.Run("replay", func(t *testing.T) {
		// One content (one message ID) sealed twice: two deposits of
		// different bytes carrying the same signal.
		uuid := make([]byte, envelope.CallUUIDSize)
		rand.Read(uuid)
		mid := make([]byte, envelope.MessageIDSize)
		rand.Read(mid)
		encoded, err := envelope.MarshalContent(&envelope.Content{
			MessageId: mid, SentAtMs: uint64(alice.now().UnixMilli()),
			Body: &envelope.Content_Call{Call: &envelope.CallMessage{Type: envelope.CallMessage_TYPE_PRE_OFFER, CallUuid: uuid}},
		})
		if err != nil {
			t.Fatal(err)
		}
		deposit := func() {
			env, err := alice.seal.seal(ctx, bob.Account(), envelope.Pad(encoded), envelope.CoarseTimestamp(alice.now()))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := alice.store(ctx, bob.Account(), NamespaceInbox, callTTL, env.data); err != nil {
				t.Fatal(err)
			}
		}
		deposit()
		id := hex.EncodeToString(uuid)
		waitCall(t, bob, bev, func(e Event) bool { return e.Call.ID == id && ringing(e) })
		if err := bob.EndCall(ctx, id, EndDeclined); err != nil {
			t.Fatal(err)
		}
		drain(bev)
		bob.calls.mu.Lock()
		delete(bob.calls.calls, id) // only the seen message ID can stop it now
		bob.calls.mu.Unlock()
		deposit()
		if es := pollNoRing(t, bob, bev); len(es) != 0 {
			t.Fatalf("a replayed pre-offer raised %+v", es)
		}
	})

	t.Run("relay only", func(t *testing.T) {
		call, _ := start(t)
		if err := alice.SendCallCandidates(ctx, call.ID, []ICECandidate{{Candidate: hostCand}, {Candidate: srflxCand}, {Candidate: relayCand}, {Candidate: ""}}); err != nil {
			t.Fatal(err)
		}
		e := waitCall(t, bob, bev, func(e Event) bool { return e.CallSignal != nil && e.CallSignal.Type == "candidates" })
		if got := e.CallSignal.Candidates; len(got) != 1 || !strings.Contains(got[0].Candidate, "typ relay raddr 0.0.0.0 rport 0") {
			t.Fatalf("bob got %+v", got)
		}
		// A direct-mode sender's host candidates do not reach a relay-only
		// receiver's engine.
		callsOn(t, CallsDirect, alice)
		defer callsOn(t, CallsRelay, alice)
		if err := alice.SendCallCandidates(ctx, call.ID, []ICECandidate{{Candidate: hostCand}, {Candidate: srflxCand}}); err != nil {
			t.Fatal(err)
		}
		for _, e := range pollNoRing(t, bob, bev) {
			if e.CallSignal != nil {
				t.Fatalf("bob's engine got %+v", *e.CallSignal)
			}
		}
		if err := alice.SendCallCandidates(ctx, call.ID, []ICECandidate{{Candidate: "typ relay"}}); !errors.Is(err, ErrBadCallSignal) {
			t.Fatalf("a malformed candidate sent: %v", err)
		}
		alice.EndCall(ctx, call.ID, "")
	})
}

// TestCheckSDP: relay-only mode strips what could carry an address.
func TestCheckSDP(t *testing.T) {
	sdp := testSDP + "a=" + hostCand + "\r\na=" + relayCand + "\r\n"
	for _, tc := range []struct {
		name      string
		in        string
		relayOnly bool
		want      []string
		not       []string
		err       bool
	}{
		{"relay only", sdp, true, []string{"typ relay raddr 0.0.0.0 rport 0"}, []string{"typ host", "198.51.100.7"}, false},
		{"direct", sdp, false, []string{"typ host", "typ relay raddr 198.51.100.7"}, nil, false},
		{"LF endings", strings.ReplaceAll(testSDP, "\r\n", "\n"), true, []string{"m=audio"}, nil, false},
		{"no v=0", "o=x\r\nm=audio 9 x 0\r\n", true, nil, nil, true},
		{"no media", "v=0\r\ns=-\r\n", true, nil, nil, true},
		{"bad line", testSDP + "garbage\r\n", true, nil, nil, true},
		{"bad candidate", testSDP + "a=candidate:x\r\n", false, nil, nil, true},
		{"NUL", testSDP + "a=x\x00\r\n", false, nil, nil, true},
		{"too long", testSDP + strings.Repeat("a=x\r\n", maxSDP/5), false, nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := checkSDP(tc.in, tc.relayOnly)
			if (err != nil) != tc.err || err != nil && !errors.Is(err, ErrBadCallSignal) {
				t.Fatalf("err %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in %q", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("%q left in %q", n, got)
				}
			}
		})
	}
}

// FuzzCallSignal: no input makes the parsers of untrusted call bytes
// panic, and what they accept in relay-only mode carries relay
// candidates only, with no related address.
func FuzzCallSignal(f *testing.F) {
	for _, s := range []string{testSDP, hostCand, srflxCand, relayCand, testSDP + "a=" + relayCand + "\r\n", "v=0\nm=\na=candidate:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if typ, err := parseCandidateType(s); err == nil {
			if out, ok, err := relayCandidate(s); err != nil || ok != (typ == "relay") {
				t.Fatalf("relayCandidate(%q) = %q %v %v", s, out, ok, err)
			} else if ok {
				if typ2, err := parseCandidateType(out); err != nil || typ2 != "relay" {
					t.Fatalf("rewritten %q does not parse: %v", out, err)
				}
			}
		}
		out, err := checkSDP(s, true)
		if err != nil {
			return
		}
		for _, l := range strings.Split(out, "\r\n") {
			if !strings.HasPrefix(l, "a=candidate:") {
				continue
			}
			f, err := candidateFields(l[2:])
			if err != nil || f[7] != "relay" {
				t.Fatalf("relay-only SDP kept %q", l)
			}
			for i := 8; i < len(f); i += 2 {
				if f[i] == "raddr" && f[i+1] != "0.0.0.0" {
					t.Fatalf("relay-only SDP kept a related address: %q", l)
				}
			}
		}
		if again, err := checkSDP(out, true); err != nil || again != out {
			t.Fatalf("checkSDP is not idempotent: %q → %q (%v)", out, again, err)
		}
	})
}
