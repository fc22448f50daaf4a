package nodeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
)

// heldCall is a retrieve running in the background.
type heldCall struct {
	cancel context.CancelFunc
	done   chan struct{}
	status int
	body   []byte
}

// postAsync sends body with a cancellable context and returns at once.
func (f *fixture) postAsync(body []byte) *heldCall {
	ctx, cancel := context.WithCancel(context.Background())
	c := &heldCall{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, RPCPath, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		c.status = rec.Code
		c.body, _ = io.ReadAll(rec.Result().Body)
	}()
	return c
}

// wait returns the call's answer once it has one; a minute is a hang on
// any machine.
func (c *heldCall) wait(t testing.TB) (int, []byte) {
	t.Helper()
	select {
	case <-c.done:
		return c.status, c.body
	case <-time.After(time.Minute):
		t.Fatal("held retrieve never answered")
		return 0, nil
	}
}

// waitHeld waits until the handler holds n retrieves; calls must not
// answer meanwhile.
func (f *fixture) waitHeld(t testing.TB, n int, calls ...*heldCall) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for f.h.holds.held() != n {
		for _, c := range calls {
			select {
			case <-c.done:
				t.Fatalf("answered instead of held: %d %s", c.status, c.body)
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("handler holds %d retrieves, want %d", f.h.holds.held(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// retrieveWait is a signed retrieve of ns with wait (ms) set after
// signing, as a client does: wait is not covered by the signature.
func (f *fixture) retrieveWait(t testing.TB, acct *identity.Account, ns int, wait any) []byte {
	t.Helper()
	p := mutate(t, f.sign(t, acct, rpc.MethodRetrieve, `{"namespace":`+itoa(ns)+`}`, 0), func(m map[string]any) { m["wait"] = wait })
	f.advance(time.Millisecond)
	return reqBody(rpc.MethodRetrieve, p)
}

// messages waits for the call's answer, which must be a retrieve's.
func (c *heldCall) messages(t testing.TB) []rpc.Message {
	t.Helper()
	status, body := c.wait(t)
	var res rpc.RetrieveResult
	if status != http.StatusOK || json.Unmarshal(body, &res) != nil || res.Messages == nil {
		t.Fatalf("retrieve: status %d: %.300s", status, body)
	}
	return res.Messages
}

func TestHoldAnswers(t *testing.T) {
	tests := []struct {
		name string
		// before runs before the retrieve, during while it is held (nil:
		// the retrieve must answer without being held).
		before, during func(t *testing.T, f *fixture, acct *identity.Account)
		wait           int64
		want           int // messages answered
	}{
		{name: "messages after the cursor answer at once", wait: rpc.MaxWait.Milliseconds(), want: 1,
			before: func(t *testing.T, f *fixture, acct *identity.Account) { f.storeMsg(t, acct, 0, "waiting", time.Hour) }},
		{name: "a store by the owner wakes the hold", wait: rpc.MaxWait.Milliseconds(), want: 1,
			during: func(t *testing.T, f *fixture, acct *identity.Account) { f.storeMsg(t, acct, 0, "new", time.Hour) }},
		{name: "a public deposit wakes the hold", wait: rpc.MaxWait.Milliseconds(), want: 1,
			during: func(t *testing.T, f *fixture, acct *identity.Account) {
				sender := identity.NewAccount()
				params := fmt.Sprintf(`{"pubkey":%q,"namespace":0,"data":%q,"ttl":60000,"timestamp":%d}`, acct.ID(), b64("hi"), f.clock().UnixMilli())
				if status, body := f.post(reqBody(rpc.MethodStore, json.RawMessage(params))); status != http.StatusOK {
					t.Fatalf("deposit by %s: %d %s", sender.ID(), status, body)
				}
			}},
		{name: "a store in another namespace leaves it held until its end", wait: 300, want: 0,
			during: func(t *testing.T, f *fixture, acct *identity.Account) { f.storeMsg(t, acct, 1, "elsewhere", time.Hour) }},
		{name: "an empty wait ends empty, no error", wait: 300, want: 0,
			during: func(t *testing.T, f *fixture, acct *identity.Account) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			acct := identity.NewAccount()
			if tc.before != nil {
				tc.before(t, f, acct)
			}
			call := f.postAsync(f.retrieveWait(t, acct, 0, tc.wait))
			if tc.during != nil {
				f.waitHeld(t, 1, call)
				tc.during(t, f, acct)
			}
			if got := call.messages(t); len(got) != tc.want {
				t.Fatalf("%d messages, want %d", len(got), tc.want)
			}
			f.waitHeld(t, 0)
		})
	}
}

func TestHoldBounds(t *testing.T) {
	alice, bob, carol := identity.NewAccount(), identity.NewAccount(), identity.NewAccount()
	publicRead := func(t testing.TB, f *fixture, acct *identity.Account) []byte {
		return reqBody(rpc.MethodRetrieve, json.RawMessage(fmt.Sprintf(`{"pubkey":%q,"namespace":%d,"timestamp":%d,"wait":25000}`, acct.ID(), rpc.NamespaceKeys, f.clock().UnixMilli())))
	}
	signed := func(t testing.TB, f *fixture, acct *identity.Account) []byte {
		return f.retrieveWait(t, acct, 0, rpc.MaxWait.Milliseconds())
	}
	type hold struct {
		acct *identity.Account
		req  func(testing.TB, *fixture, *identity.Account) []byte
	}
	tests := []struct {
		name           string
		node, perAcct  int
		held           []hold // all held
		refused        hold   // answered hold_full
		stillHeldAfter hold   // one more that is held after refused
	}{
		{name: "per account", node: 10, perAcct: 2,
			held:           []hold{{alice, signed}, {alice, signed}},
			refused:        hold{alice, signed},
			stillHeldAfter: hold{bob, signed}},
		{name: "per account counts unsigned public reads apart from the owner's", node: 10, perAcct: 2,
			held:           []hold{{alice, publicRead}, {alice, publicRead}},
			refused:        hold{alice, publicRead},
			stillHeldAfter: hold{alice, signed}},
		{name: "per node", node: 3, perAcct: 2,
			held:    []hold{{alice, signed}, {bob, signed}, {carol, publicRead}},
			refused: hold{alice, signed}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.MaxHeld, c.MaxHeldPerAccount = tc.node, tc.perAcct })
			kept := f.storeMsg(t, carol, 3, "kept", time.Hour)
			var calls []*heldCall
			for i, h := range tc.held {
				calls = append(calls, f.postAsync(h.req(t, f, h.acct)))
				f.waitHeld(t, i+1, calls...)
			}
			status, body := f.post(tc.refused.req(t, f, tc.refused.acct))
			var e rpc.ErrorBody
			if err := json.Unmarshal(body, &e); err != nil || status != http.StatusServiceUnavailable || e.Error == nil ||
				e.Error.Code != rpc.CodeHoldFull || e.RetryAfterMs <= 0 {
				t.Fatalf("past the bound: %d %s, want 503 hold_full with retry_after_ms", status, body)
			}
			if tc.stillHeldAfter.acct != nil {
				calls = append(calls, f.postAsync(tc.stillHeldAfter.req(t, f, tc.stillHeldAfter.acct)))
				f.waitHeld(t, len(tc.held)+1, calls...)
			}
			// Ordinary requests are untouched by a full hold: a retrieve
			// without wait and a store still work.
			if msgs := f.retrieveAll(t, carol, 3); len(msgs) != 1 || msgs[0].Hash != kept {
				t.Fatalf("plain retrieve while holds are full: %+v", msgs)
			}
			f.storeMsg(t, alice, 0, "wakes alice", time.Hour)
			for _, c := range calls {
				c.cancel()
				c.wait(t)
			}
			f.waitHeld(t, 0)
		})
	}
}

func TestHoldBadInput(t *testing.T) {
	acct := identity.NewAccount()
	tests := []struct {
		name   string
		body   func(f *fixture) []byte
		status int
		code   rpc.Code
	}{
		{"wait negative", func(f *fixture) []byte { return f.retrieveWait(t, acct, 0, -1) }, 400, rpc.CodeBadField},
		{"wait over the maximum", func(f *fixture) []byte { return f.retrieveWait(t, acct, 0, rpc.MaxWait.Milliseconds()+1) }, 400, rpc.CodeBadField},
		{"wait huge", func(f *fixture) []byte { return f.retrieveWait(t, acct, 0, 1e300) }, 400, rpc.CodeBadField},
		{"wait not a number", func(f *fixture) []byte { return f.retrieveWait(t, acct, 0, "1000") }, 400, rpc.CodeBadField},
		{"wait fractional", func(f *fixture) []byte { return f.retrieveWait(t, acct, 0, 1.5) }, 400, rpc.CodeBadField},
		{"wait with a forged signature", func(f *fixture) []byte {
			p := mutate(t, f.sign(t, acct, rpc.MethodRetrieve, `{"namespace":0}`, 0), func(m map[string]any) {
				m["wait"] = 25000
				m["signature"] = b64(string(acct.Sign([]byte("something else"))))
			})
			return reqBody(rpc.MethodRetrieve, p)
		}, 401, rpc.CodeBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			status, body := f.post(tc.body(f))
			if status != tc.status || errCode(t, body) != tc.code {
				t.Fatalf("status %d code %q, want %d %q: %.200s", status, errCode(t, body), tc.status, tc.code, body)
			}
			if n := f.h.holds.held(); n != 0 {
				t.Fatalf("%d held after bad input", n)
			}
		})
	}
	// A batch runs its sub-requests together: one of them cannot hold the
	// others' answers.
	for _, method := range []string{rpc.MethodBatch, rpc.MethodSequence} {
		t.Run("wait in a "+method, func(t *testing.T) {
			f := newFixture(t)
			var res rpc.BatchResult
			f.mustCall(t, acct, method, `{"requests":[{"method":"retrieve","params":{"namespace":0,"wait":1000}}]}`, &res)
			if len(res.Results) != 1 || res.Results[0].Code != 400 || errCode(t, res.Results[0].Body) != rpc.CodeBadField {
				t.Fatalf("sub-request with wait: %+v", res.Results)
			}
		})
	}
}

func TestHoldStop(t *testing.T) {
	f := newFixture(t)
	acct := identity.NewAccount()
	call := f.postAsync(f.retrieveWait(t, acct, 0, rpc.MaxWait.Milliseconds()))
	f.waitHeld(t, 1)
	f.h.StopHolding()
	if got := call.messages(t); len(got) != 0 {
		t.Fatalf("%d messages at shutdown", len(got))
	}
	// Once stopped, a wait is answered at once, as a plain retrieve.
	late := f.postAsync(f.retrieveWait(t, acct, 0, rpc.MaxWait.Milliseconds()))
	if got := late.messages(t); len(got) != 0 {
		t.Fatalf("%d messages after shutdown", len(got))
	}
	f.h.StopHolding() // idempotent
}
