package nodeapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/replay"
	"github.com/hushnet/hush/internal/replication"
	"github.com/hushnet/hush/internal/store/arrivals"
	"github.com/hushnet/hush/internal/store/sqlite"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

const testNet = "testnet"

// ownsAll is a standalone node's membership: one swarm, this node.
type ownsAll struct{ self snapshot.Node }

func (o ownsAll) Owns(identity.AccountID) bool { return true }
func (o ownsAll) SwarmOf(identity.AccountID) replication.Swarm {
	return replication.Swarm{ID: 0, Members: []snapshot.Node{o.self}}
}

// ownsNone sends every account elsewhere.
type ownsNone struct{ ownsAll }

func (ownsNone) Owns(identity.AccountID) bool { return false }
func (o ownsNone) SwarmOf(identity.AccountID) replication.Swarm {
	return replication.Swarm{ID: 0xabcdef, Members: []snapshot.Node{{Ed25519: o.self.Ed25519, Address: "203.0.113.9:443"}}}
}

// fixture is a handler over a real SQLite store with a settable clock.
type fixture struct {
	t  *testing.T
	h  *Handler
	db *sqlite.DB

	mu  sync.Mutex // guards now
	now time.Time
}

type fixtureOpt func(*Config)

func newFixture(t testing.TB, opts ...fixtureOpt) *fixture {
	return newFixtureAt(t, t.TempDir(), opts...)
}

// newFixtureAt is newFixture with the database in dir.
func newFixtureAt(t testing.TB, dir string, opts ...fixtureOpt) *fixture {
	db, err := sqlite.Open(filepath.Join(dir, "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	nodeAcct := identity.NewAccount()
	f := &fixture{db: db, now: time.UnixMilli(1_800_000_000_000)}
	// Every store goes through the hub, as in a node, so holds wake.
	hub := arrivals.New()
	cfg := Config{
		Store:      hub.Store(db),
		Arrivals:   hub,
		Clock:      f.clock,
		Membership: ownsAll{snapshot.Node{Ed25519: nodeAcct.Ed25519Public(), Address: "127.0.0.1:1"}},
		Replay:     replay.New(100_000, 2*rpc.SigTolerance+time.Second),
		Logger:     slog.New(slog.DiscardHandler),
		NetworkID:  testNet,
		Version:    "test",
		Ed25519:    nodeAcct.Ed25519Public(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	if tt, ok := t.(*testing.T); ok {
		f.t = tt
	}
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// post sends a raw body and returns the status and body.
func (f *fixture) post(body []byte) (int, []byte) {
	req := httptest.NewRequest(http.MethodPost, RPCPath, bytes.NewReader(body))
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, b
}

func reqBody(method string, params json.RawMessage) []byte {
	b, _ := json.Marshal(rpc.Request{Method: method, Params: params})
	return b
}

// sign signs params for acct at the fixture's time (plus skew).
func (f *fixture) sign(t testing.TB, acct *identity.Account, method, params string, skew time.Duration) json.RawMessage {
	t.Helper()
	p, err := nodeclient.SignDraft(acct, testNet, method, json.RawMessage(params), f.clock().Add(skew))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// call signs and sends; it decodes the body into out when given.
func (f *fixture) call(t testing.TB, acct *identity.Account, method, params string, out any) int {
	t.Helper()
	status, body := f.post(reqBody(method, f.sign(t, acct, method, params, 0)))
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s: response %q: %v", method, body, err)
		}
	}
	return status
}

// mustCall is call that fails the test unless the status is 200.
func (f *fixture) mustCall(t testing.TB, acct *identity.Account, method, params string, out any) {
	t.Helper()
	var raw json.RawMessage
	if status := f.call(t, acct, method, params, &raw); status != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", method, params, status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
	f.advance(time.Millisecond) // keep signatures of consecutive calls distinct
}

// storeMsg stores data for acct in ns and returns the hash.
func (f *fixture) storeMsg(t testing.TB, acct *identity.Account, ns int, data string, ttl time.Duration) string {
	t.Helper()
	var res rpc.StoreResult
	f.mustCall(t, acct, rpc.MethodStore, storeParams(ns, data, ttl, 0), &res)
	return res.Hash
}

func storeParams(ns int, data string, ttl time.Duration, ts int64) string {
	m := map[string]any{"namespace": ns, "data": b64(data), "ttl": ttl.Milliseconds()}
	if ts != 0 {
		m["timestamp"] = ts
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func (f *fixture) retrieveAll(t testing.TB, acct *identity.Account, ns int) []rpc.Message {
	t.Helper()
	var res rpc.RetrieveResult
	f.mustCall(t, acct, rpc.MethodRetrieve, `{"namespace":`+itoa(ns)+`}`, &res)
	return res.Messages
}
