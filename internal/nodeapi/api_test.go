package nodeapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/nodeclient"
	"github.com/hushnet/hush/internal/ratelimit"
	"github.com/hushnet/hush/internal/store/sqlite"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/snapshot"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
func itoa(n int) string   { return strconv.Itoa(n) }

func mutate(t testing.TB, p json.RawMessage, fn func(m map[string]any)) json.RawMessage {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	b, _ := json.Marshal(m)
	return b
}

func errCode(t testing.TB, body []byte) rpc.Code {
	t.Helper()
	var e rpc.ErrorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil {
		return ""
	}
	if e.T == 0 {
		t.Errorf("error body without node time: %s", body)
	}
	return e.Error.Code
}

// signedMethod describes how to call one signed method for the auth table.
type signedMethod struct {
	method string
	// params returns unsigned params touching the stored message hash.
	params func(f *fixture, hash string) string
	// timestamped: the signed time is the request time, so ±61 s of skew
	// at signing must be refused as clock skew.
	timestamped bool
	// stale returns params whose signed time is unacceptable, for methods
	// whose signed time is a parameter.
	stale func(f *fixture, hash string) string
}

func signedMethods() []signedMethod {
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	return []signedMethod{
		{method: rpc.MethodStore, timestamped: true, params: func(f *fixture, _ string) string {
			return storeParams(1, "owner-only note", time.Hour, 0)
		}},
		{method: rpc.MethodRetrieve, timestamped: true, params: func(*fixture, string) string { return `{"namespace":1}` }},
		{method: rpc.MethodDelete, timestamped: true, params: func(_ *fixture, h string) string { return `{"messages":["` + h + `"]}` }},
		{method: rpc.MethodDeleteAll, timestamped: true, params: func(*fixture, string) string { return `{"namespace":"all"}` }},
		{method: rpc.MethodDeleteBefore, timestamped: true, params: func(f *fixture, _ string) string { return `{"namespace":1,"before":` + ms(f.clock()) + `}` },
			stale: func(f *fixture, _ string) string {
				return `{"namespace":1,"before":` + ms(f.clock().Add(61*time.Second)) + `}`
			}},
		{method: rpc.MethodExpire, timestamped: true, params: func(f *fixture, h string) string {
			return `{"messages":["` + h + `"],"expiry":` + ms(f.clock().Add(time.Minute)) + `,"shorten":true}`
		}, stale: func(f *fixture, h string) string {
			return `{"messages":["` + h + `"],"expiry":` + ms(f.clock().Add(-61*time.Second)) + `}`
		}},
		{method: rpc.MethodExpireAll, timestamped: true, params: func(f *fixture, _ string) string {
			return `{"namespace":1,"expiry":` + ms(f.clock().Add(time.Minute)) + `}`
		},
			stale: func(f *fixture, _ string) string { return `{"expiry":` + ms(f.clock().Add(-2*time.Minute)) + `}` }},
		{method: rpc.MethodGetExpiries, timestamped: true, params: func(_ *fixture, h string) string { return `{"messages":["` + h + `"]}` }},
	}
}

// TestAuth runs every authentication failure against every signed method,
// and checks that a refused request changed nothing.
func TestAuth(t *testing.T) {
	owner, other := identity.NewAccount(), identity.NewAccount()
	type authCase struct {
		name   string
		build  func(t *testing.T, f *fixture, m signedMethod, hash string) json.RawMessage
		status int
		code   rpc.Code
		skip   func(m signedMethod) bool
	}
	signAs := func(t *testing.T, f *fixture, acct *identity.Account, net string, m signedMethod, hash string, skew time.Duration) json.RawMessage {
		p, err := nodeclient.SignDraft(acct, net, m.method, json.RawMessage(m.params(f, hash)), f.clock().Add(skew))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []authCase{
		{name: "valid", status: 200, build: func(t *testing.T, f *fixture, m signedMethod, h string) json.RawMessage {
			return signAs(t, f, owner, testNet, m, h, 0)
		}},
		{name: "signature over other bytes", status: 401, code: rpc.CodeBadSignature, build: func(t *testing.T, f *fixture, m signedMethod, h string) json.RawMessage {
			return mutate(t, signAs(t, f, owner, testNet, m, h, 0), func(p map[string]any) {
				p["signature"] = base64.StdEncoding.EncodeToString(owner.Sign([]byte("something else")))
			})
		}},
		{name: "signed by another account", status: 401, code: rpc.CodeBadSignature, build: func(t *testing.T, f *fixture, m signedMethod, h string) json.RawMessage {
			return mutate(t, signAs(t, f, other, testNet, m, h, 0), func(p map[string]any) {
				p["pubkey"], p["pubkey_ed25519"] = owner.ID().String(), owner.Ed25519Public().String()
			})
		}},
		{name: "pubkey_ed25519 of another account", status: 401, code: rpc.CodeKeyMismatch, build: func(t *testing.T, f *fixture, m signedMethod, h string) json.RawMessage {
			return mutate(t, signAs(t, f, other, testNet, m, h, 0), func(p map[string]any) { p["pubkey"] = owner.ID().String() })
		}},
		{name: "signed for another network", status: 401, code: rpc.CodeBadSignature, build: func(t *testing.T, f *fixture, m signedMethod, h string) json.RawMessage {
			return signAs(t, f, owner, "othernet", m, h, 0)
		}},
		{name: "missing signature", status: 400, code: rpc.CodeMissingField, build: func(t *testing.T, f *fixture, m signedMethod, h string) json.RawMessage {
			return mutate(t, signAs(t, f, owner, testNet, m, h, 0), func(p map[string]any) { delete(p, "signature") })
		}},
		{name: "missing pubkey_ed25519", status: 400, code: rpc.CodeMissingField, build: func(t *testing.T, f *fixture, m signedMethod, h string) json.RawMessage {
			return mutate(t, signAs(t, f, owner, testNet, m, h, 0), func(p map[string]any) { delete(p, "pubkey_ed25519") })
		}},
		{name: "signature not base64", status: 400, code: rpc.CodeBadBase64, build: func(t *testing.T, f *fixture, m signedMethod, h string) json.RawMessage {
			return mutate(t, signAs(t, f, owner, testNet, m, h, 0), func(p map[string]any) { p["signature"] = "%%%" })
		}},
		{name: "timestamp 61s behind", status: 406, code: rpc.CodeClockSkew, skip: func(m signedMethod) bool { return !m.timestamped },
			build: func(t *testing.T, f *fixture, m signedMethod, h string) json.RawMessage {
				return signAs(t, f, owner, testNet, m, h, -61*time.Second)
			}},
		{name: "timestamp 61s ahead", status: 406, code: rpc.CodeClockSkew, skip: func(m signedMethod) bool { return !m.timestamped },
			build: func(t *testing.T, f *fixture, m signedMethod, h string) json.RawMessage {
				return signAs(t, f, owner, testNet, m, h, 61*time.Second)
			}},
		{name: "stale signed time", status: 406, code: rpc.CodeClockSkew, skip: func(m signedMethod) bool { return m.stale == nil },
			build: func(t *testing.T, f *fixture, m signedMethod, h string) json.RawMessage {
				p, err := nodeclient.SignDraft(owner, testNet, m.method, json.RawMessage(m.stale(f, h)), f.clock())
				if err != nil {
					t.Fatal(err)
				}
				return p
			}},
	}
	for _, m := range signedMethods() {
		for _, c := range cases {
			if c.skip != nil && c.skip(m) {
				continue
			}
			t.Run(m.method+"/"+c.name, func(t *testing.T) {
				f := newFixture(t)
				h := f.storeMsg(t, owner, 1, "kept", time.Hour)
				status, body := f.post(reqBody(m.method, c.build(t, f, m, h)))
				if status != c.status || errCode(t, body) != c.code {
					t.Fatalf("status %d code %q, want %d %q: %s", status, errCode(t, body), c.status, c.code, body)
				}
				if c.status != 200 {
					msgs := f.retrieveAll(t, owner, 1)
					if len(msgs) != 1 || msgs[0].Hash != h || msgs[0].Expiration != msgs[0].Timestamp+time.Hour.Milliseconds() {
						t.Fatalf("refused request changed the store: %+v", msgs)
					}
				}
			})
		}
		t.Run(m.method+"/replayed", func(t *testing.T) {
			f := newFixture(t)
			h := f.storeMsg(t, owner, 1, "kept", time.Hour)
			body := reqBody(m.method, f.sign(t, owner, m.method, m.params(f, h), 0))
			if status, b := f.post(body); status != 200 {
				t.Fatalf("first: %d %s", status, b)
			}
			f.advance(5 * time.Second) // still inside the signature window
			if status, b := f.post(body); status != 401 || errCode(t, b) != rpc.CodeReplayed {
				t.Fatalf("replay: %d %s", status, b)
			}
			// Past the replay cache's window, the signed time refuses it:
			// every signed method signs its request time (issue 13: a
			// captured delete was accepted again after 121 s).
			f.advance(2*rpc.SigTolerance + 5*time.Second)
			if status, b := f.post(body); status != 406 || errCode(t, b) != rpc.CodeClockSkew {
				t.Fatalf("replay after the cache window: %d %s", status, b)
			}
		})
	}
}

func TestStoreRetrieve(t *testing.T) {
	f := newFixture(t)
	acct := identity.NewAccount()
	var first, dup rpc.StoreResult
	f.mustCall(t, acct, rpc.MethodStore, storeParams(0, "hello", time.Hour, 0), &first)
	if want := rpc.MessageHash(acct.ID(), 0, []byte("hello")); first.Hash != want || first.Already {
		t.Fatalf("store: %+v, want hash %s", first, want)
	}
	if first.T != f.clock().Add(-time.Millisecond).UnixMilli() {
		t.Fatalf("t = %d, want the node clock", first.T)
	}
	f.mustCall(t, acct, rpc.MethodStore, storeParams(0, "hello", time.Hour, 0), &dup)
	if dup.Hash != first.Hash || !dup.Already {
		t.Fatalf("duplicate store: %+v", dup)
	}
	msgs := f.retrieveAll(t, acct, 0)
	if len(msgs) != 1 || msgs[0].Data != b64("hello") || msgs[0].Hash != first.Hash {
		t.Fatalf("retrieve: %+v", msgs)
	}
	if got := f.retrieveAll(t, acct, 10); len(got) != 0 {
		t.Fatalf("other namespace sees %d messages", len(got))
	}
	if got := f.retrieveAll(t, identity.NewAccount(), 0); len(got) != 0 {
		t.Fatalf("another account sees %d messages", len(got))
	}
}

// TestPublicDeposit: anyone may deposit without a signature into a public
// namespace (divisible by 10) that has a defined use, the DM inbox 0; other
// public namespaces take no deposits, nor does an owner-only one unsigned.
func TestPublicDeposit(t *testing.T) {
	f := newFixture(t)
	acct := identity.NewAccount()
	for _, tt := range []struct {
		name   string
		ns     int
		status int
		code   rpc.Code
	}{{"dm inbox", 0, 200, ""}, {"public 20", 20, 400, rpc.CodeBadNamespace}, {"public -10", -10, 400, rpc.CodeBadNamespace}, {"owner-only 3", 3, 400, rpc.CodeMissingField}} {
		t.Run(tt.name, func(t *testing.T) {
			p := fmt.Sprintf(`{"pubkey":%q,"namespace":%d,"data":%q,"ttl":60000,"timestamp":%d}`, acct.ID(), tt.ns, b64("x"), f.clock().UnixMilli())
			if status, b := f.post(reqBody(rpc.MethodStore, json.RawMessage(p))); status != tt.status || (tt.code != "" && errCode(t, b) != tt.code) {
				t.Fatalf("status %d: %s", status, b)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	acct := identity.NewAccount()
	f := newFixture(t)
	kept := f.storeMsg(t, acct, 0, "kept", time.Hour)
	now := f.clock().UnixMilli()
	pub := func(extra string) []byte {
		return []byte(fmt.Sprintf(`{"method":"store","params":{"pubkey":%q,"data":%q,"ttl":60000,"timestamp":%d%s}}`, acct.ID(), b64("x"), now, extra))
	}
	tests := []struct {
		name   string
		body   []byte
		status int
		code   rpc.Code
	}{
		{"empty body", nil, 400, rpc.CodeMissingField},
		{"malformed JSON", []byte(`{"method":`), 400, rpc.CodeBadJSON},
		{"array", []byte(`[]`), 400, rpc.CodeBadJSON},
		{"method not string", []byte(`{"method":5}`), 400, rpc.CodeBadField},
		{"unknown method", []byte(`{"method":"drop_tables"}`), 400, rpc.CodeUnknownMethod},
		{"unknown top field", []byte(`{"method":"info","x":1}`), 400, rpc.CodeBadField},
		{"missing params", []byte(`{"method":"store"}`), 400, rpc.CodeMissingField},
		{"params wrong type", []byte(`{"method":"store","params":"x"}`), 400, rpc.CodeBadJSON},
		{"ttl wrong type", []byte(`{"method":"store","params":{"pubkey":"` + acct.ID().String() + `","ttl":"1"}}`), 400, rpc.CodeBadField},
		{"bad base64", []byte(fmt.Sprintf(`{"method":"store","params":{"pubkey":%q,"data":"@@","ttl":60000,"timestamp":%d}}`, acct.ID(), now)), 400, rpc.CodeBadBase64},
		{"ttl too short", []byte(fmt.Sprintf(`{"method":"store","params":{"pubkey":%q,"data":"eA==","ttl":9999,"timestamp":%d}}`, acct.ID(), now)), 400, rpc.CodeBadTTL},
		{"ttl 15 days public", []byte(fmt.Sprintf(`{"method":"store","params":{"pubkey":%q,"data":"eA==","ttl":%d,"timestamp":%d}}`, acct.ID(), (15 * 24 * time.Hour).Milliseconds(), now)), 400, rpc.CodeBadTTL},
		{"deposit 11s in the future", []byte(fmt.Sprintf(`{"method":"store","params":{"pubkey":%q,"data":"eA==","ttl":60000,"timestamp":%d}}`, acct.ID(), now+11000)), 406, rpc.CodeBadTimestamp},
		{"pubkey not 05", []byte(`{"method":"get_swarm","params":{"pubkey":"04` + strings.Repeat("ab", 32) + `"}}`), 400, rpc.CodeBadPubkey},
		{"data too large", []byte(fmt.Sprintf(`{"method":"store","params":{"pubkey":%q,"data":%q,"ttl":60000,"timestamp":%d}}`, acct.ID(), base64.StdEncoding.EncodeToString(make([]byte, rpc.MaxDataSize+1)), now)), 413, rpc.CodeTooLarge},
		{"body too large", append([]byte(`{"method":"info","params":{"x":"`), make([]byte, rpc.MaxBodySize)...), 413, rpc.CodeTooLarge},
		{"nested batch", []byte(`{"method":"batch","params":{"requests":[{"method":"sequence","params":{}}]}}`), 400, rpc.CodeUnknownMethod},
		{"unknown field", pub(`,"extra":1`), 400, rpc.CodeBadField},
		{"trailing data", []byte(`{"method":"info"}xyz`), 400, rpc.CodeBadJSON},
		{"duplicate method", []byte(`{"method":"info","method":"drop_tables"}`), 400, rpc.CodeBadJSON},
		{"duplicate param", pub(`,"ttl":70000`), 400, rpc.CodeBadJSON},
		{"case-folded key", []byte(`{"Method":"info"}`), 400, rpc.CodeBadField},
		{"duplicate in a sub-request", []byte(`{"method":"batch","params":{"requests":[{"method":"info","params":{},"params":{}}]}}`), 400, rpc.CodeBadJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.post(tt.body)
			if status != tt.status || errCode(t, body) != tt.code {
				t.Fatalf("status %d code %q, want %d %q: %.200s", status, errCode(t, body), tt.status, tt.code, body)
			}
		})
	}
	if msgs := f.retrieveAll(t, acct, 0); len(msgs) != 1 || msgs[0].Hash != kept {
		t.Fatalf("bad input changed the store: %+v", msgs)
	}
}

func TestHTTPMethodAndHealth(t *testing.T) {
	f := newFixture(t)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, RPCPath, nil))
	if rec.Code != 405 || rec.Header().Get("Allow") != "POST" {
		t.Fatalf("GET rpc: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != 200 {
		t.Fatalf("healthz: %d", rec.Code)
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Limiter = ratelimit.New(3, 1, 0) })
	send := func(remote string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, RPCPath, strings.NewReader(`{"method":"info"}`))
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		return rec
	}
	for i := range 3 {
		if rec := send("198.51.100.7:5000"); rec.Code != 200 {
			t.Fatalf("request %d: %d", i, rec.Code)
		}
	}
	rec := send("198.51.100.7:5001")
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" || errCode(t, rec.Body.Bytes()) != rpc.CodeRateLimited {
		t.Fatalf("over limit: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if rec := send("198.51.100.8:5000"); rec.Code != 200 {
		t.Fatalf("other client limited: %d", rec.Code)
	}
}

func TestWrongSwarm(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Membership = ownsNone{ownsAll{snapshot.Node{Ed25519: c.Ed25519}}} })
	acct := identity.NewAccount()
	var body rpc.ErrorBody
	status := f.call(t, acct, rpc.MethodStore, storeParams(0, "x", time.Hour, 0), &body)
	if status != 421 || body.Error.Code != rpc.CodeWrongSwarm || body.Swarm == nil || body.Swarm.SwarmID != "0000000000abcdef" || body.Swarm.Members[0].Address != "203.0.113.9:443" {
		t.Fatalf("status %d %+v %+v", status, body.Error, body.Swarm)
	}
	var sw rpc.SwarmResult
	if status := f.call(t, acct, rpc.MethodGetSwarm, `{}`, &sw); status != 200 || sw.SwarmID != "0000000000abcdef" {
		t.Fatalf("get_swarm: %d %+v", status, sw)
	}
}

func TestInfoAndGetSwarm(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.X25519 = [32]byte{1, 2, 3} })
	var info rpc.InfoResult
	f.mustCall(t, nil, rpc.MethodInfo, `{}`, &info)
	if info.NetworkID != testNet || info.PubkeyEd25519 != f.h.cfg.Ed25519.String() || !strings.HasPrefix(info.PubkeyX25519, "010203") || info.Version != "test" || info.T == 0 {
		t.Fatalf("info: %+v", info)
	}
	if info.Messages != nil {
		t.Fatalf("info publishes a message count without PublicStats: %d", *info.Messages)
	}
	var sw rpc.SwarmResult
	f.mustCall(t, identity.NewAccount(), rpc.MethodGetSwarm, `{}`, &sw)
	if len(sw.Members) != 1 || sw.Members[0].PubkeyEd25519 != info.PubkeyEd25519 || sw.Members[0].Address != "127.0.0.1:1" {
		t.Fatalf("get_swarm: %+v", sw)
	}
}

// TestInfoPublicStats: only a node that opts in reports its total message
// count (a devnet, so `hush devnet status` can show swarms converging).
func TestInfoPublicStats(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.PublicStats = true })
	acct := identity.NewAccount()
	for i := range 3 {
		var res rpc.StoreResult
		f.mustCall(t, acct, rpc.MethodStore, storeParams(0, "m"+itoa(i), time.Hour, f.clock().UnixMilli()), &res)
	}
	var info rpc.InfoResult
	f.mustCall(t, nil, rpc.MethodInfo, `{}`, &info)
	if info.Messages == nil || *info.Messages != 3 {
		t.Fatalf("info.messages = %v, want 3", info.Messages)
	}
}

// TestPaging checks the (timestamp, hash) order and that a cursor from one
// page continues exactly where it stopped.
func TestPaging(t *testing.T) {
	f := newFixture(t)
	acct := identity.NewAccount()
	base := f.clock().UnixMilli()
	type key struct {
		ts   int64
		hash string
	}
	var want []key
	for i := range 7 {
		ts := base - int64(i%3)*1000 // several messages share a timestamp
		var res rpc.StoreResult
		f.mustCall(t, acct, rpc.MethodStore, storeParams(0, "m"+itoa(i), time.Hour, ts), &res)
		want = append(want, key{ts, res.Hash})
	}
	slices.SortFunc(want, func(a, b key) int {
		if a.ts != b.ts {
			return int(a.ts - b.ts)
		}
		return strings.Compare(a.hash, b.hash)
	})
	var got []key
	cursor := ""
	for page := 0; ; page++ {
		var res rpc.RetrieveResult
		f.mustCall(t, acct, rpc.MethodRetrieve, `{"max_count":3`+cursor+`}`, &res)
		for _, m := range res.Messages {
			got = append(got, key{m.Timestamp, m.Hash})
		}
		if !res.More {
			break
		}
		last := res.Messages[len(res.Messages)-1]
		cursor = fmt.Sprintf(`,"after_timestamp":%d,"after_hash":%q`, last.Timestamp, last.Hash)
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged order\n got %v\nwant %v", got, want)
	}
}

func TestDeleteAndExpire(t *testing.T) {
	owner, other := identity.NewAccount(), identity.NewAccount()
	t.Run("delete own, not others'", func(t *testing.T) {
		f := newFixture(t)
		h := f.storeMsg(t, owner, 0, "a", time.Hour)
		var res rpc.DeleteResult
		f.mustCall(t, other, rpc.MethodDelete, `{"messages":["`+h+`"]}`, &res)
		if len(res.Deleted) != 0 || len(f.retrieveAll(t, owner, 0)) != 1 {
			t.Fatalf("another account deleted %v", res.Deleted)
		}
		f.mustCall(t, owner, rpc.MethodDelete, `{"messages":["`+h+`"]}`, &res)
		if !slices.Equal(res.Deleted, []string{h}) || len(f.retrieveAll(t, owner, 0)) != 0 {
			t.Fatalf("delete: %v", res.Deleted)
		}
	})
	t.Run("delete_all spares later deposits", func(t *testing.T) {
		f := newFixture(t)
		old := f.storeMsg(t, owner, 0, "old", time.Hour)
		var later rpc.StoreResult
		f.mustCall(t, owner, rpc.MethodStore, storeParams(0, "later", time.Hour, f.clock().Add(5*time.Second).UnixMilli()), &later)
		var res rpc.DeleteResult
		f.mustCall(t, owner, rpc.MethodDeleteAll, `{}`, &res)
		msgs := f.retrieveAll(t, owner, 0)
		if !slices.Equal(res.Deleted, []string{old}) || len(msgs) != 1 || msgs[0].Hash != later.Hash {
			t.Fatalf("deleted %v, left %+v", res.Deleted, msgs)
		}
	})
	t.Run("delete_before one namespace", func(t *testing.T) {
		f := newFixture(t)
		a := f.storeMsg(t, owner, 0, "a", time.Hour)
		f.storeMsg(t, owner, 1, "b", time.Hour)
		var res rpc.DeleteResult
		f.mustCall(t, owner, rpc.MethodDeleteBefore, fmt.Sprintf(`{"namespace":0,"before":%d}`, f.clock().UnixMilli()), &res)
		if !slices.Equal(res.Deleted, []string{a}) || len(f.retrieveAll(t, owner, 1)) != 1 {
			t.Fatalf("deleted %v", res.Deleted)
		}
	})
	t.Run("delete_before includes the message stamped at before", func(t *testing.T) {
		f := newFixture(t)
		ts := f.clock().Add(-time.Second).UnixMilli()
		var at, after rpc.StoreResult
		f.mustCall(t, owner, rpc.MethodStore, storeParams(0, "at", time.Hour, ts), &at)
		f.mustCall(t, owner, rpc.MethodStore, storeParams(0, "after", time.Hour, ts+1), &after)
		var res rpc.DeleteResult
		f.mustCall(t, owner, rpc.MethodDeleteBefore, fmt.Sprintf(`{"namespace":0,"before":%d}`, ts), &res)
		if msgs := f.retrieveAll(t, owner, 0); !slices.Equal(res.Deleted, []string{at.Hash}) || len(msgs) != 1 || msgs[0].Hash != after.Hash {
			t.Fatalf("deleted %v, left %+v", res.Deleted, msgs)
		}
	})
	t.Run("expire shorten, extend, get_expiries", func(t *testing.T) {
		f := newFixture(t)
		h := f.storeMsg(t, owner, 0, "a", time.Hour)
		exp0 := f.retrieveAll(t, owner, 0)[0].Expiration
		var res rpc.ExpireResult
		f.mustCall(t, owner, rpc.MethodExpire, fmt.Sprintf(`{"messages":[%q],"expiry":%d,"extend":true}`, h, exp0-1000), &res)
		if res.Updated[h] != exp0 {
			t.Fatalf("extend moved expiry earlier: %v", res.Updated)
		}
		f.mustCall(t, owner, rpc.MethodExpire, fmt.Sprintf(`{"messages":[%q],"expiry":%d,"shorten":true}`, h, exp0-1000), &res)
		if res.Updated[h] != exp0-1000 {
			t.Fatalf("shorten: %v", res.Updated)
		}
		var ex rpc.ExpiriesResult
		f.mustCall(t, owner, rpc.MethodGetExpiries, fmt.Sprintf(`{"messages":[%q]}`, h), &ex)
		if ex.Expiries[h] != exp0-1000 {
			t.Fatalf("get_expiries: %v", ex.Expiries)
		}
		var byOther rpc.ExpireResult
		f.mustCall(t, other, rpc.MethodExpire, fmt.Sprintf(`{"messages":[%q],"expiry":%d}`, h, f.clock().UnixMilli()), &byOther)
		if len(byOther.Updated) != 0 {
			t.Fatalf("another account changed the expiry: %v", byOther.Updated)
		}
	})
}

// TestExpiryWithClock: a message is not returned once the node clock
// passes its expiry, and expire_all can bring that time forward.
func TestExpiryWithClock(t *testing.T) {
	f := newFixture(t)
	acct := identity.NewAccount()
	f.storeMsg(t, acct, 0, "short", 10*time.Second)
	f.storeMsg(t, acct, 0, "long", time.Hour)
	f.advance(9 * time.Second)
	if n := len(f.retrieveAll(t, acct, 0)); n != 2 {
		t.Fatalf("before expiry: %d messages", n)
	}
	f.advance(2 * time.Second)
	msgs := f.retrieveAll(t, acct, 0)
	if len(msgs) != 1 || msgs[0].Data != b64("long") {
		t.Fatalf("after expiry: %+v", msgs)
	}
	var res rpc.ExpireResult
	f.mustCall(t, acct, rpc.MethodExpireAll, fmt.Sprintf(`{"expiry":%d}`, f.clock().Add(time.Minute).UnixMilli()), &res)
	f.advance(61 * time.Second)
	if n := len(f.retrieveAll(t, acct, 0)); n != 0 {
		t.Fatalf("after expire_all: %d messages", n)
	}
}

func TestBatchAndSequence(t *testing.T) {
	f := newFixture(t)
	acct := identity.NewAccount()
	var b rpc.BatchResult
	f.mustCall(t, acct, rpc.MethodBatch, `{"requests":[
		{"method":"store","params":{"namespace":0,"data":"`+b64("one")+`","ttl":60000}},
		{"method":"store","params":{"namespace":1,"data":"`+b64("two")+`","ttl":60000}},
		{"method":"retrieve","params":{"namespace":5}},
		{"method":"info"}]}`, &b)
	if len(b.Results) != 4 {
		t.Fatalf("%d results", len(b.Results))
	}
	for i, r := range b.Results {
		if r.Code != 200 {
			t.Fatalf("sub %d: %d %s", i, r.Code, r.Body)
		}
	}
	var s rpc.BatchResult
	f.mustCall(t, acct, rpc.MethodSequence, `{"requests":[
		{"method":"retrieve","params":{"namespace":1}},
		{"method":"store","params":{"namespace":1,"data":"`+b64("x")+`","ttl":1}},
		{"method":"info"}]}`, &s)
	if len(s.Results) != 2 || s.Results[0].Code != 200 || s.Results[1].Code != 400 {
		t.Fatalf("sequence did not stop at the failure: %+v", s.Results)
	}
	var got rpc.RetrieveResult
	json.Unmarshal(s.Results[0].Body, &got)
	if len(got.Messages) != 1 || got.Messages[0].Data != b64("two") {
		t.Fatalf("sequence retrieve: %+v", got)
	}
}

// TestConcurrent stores and retrieves from many goroutines at once; run
// with -race.
func TestConcurrent(t *testing.T) {
	f := newFixture(t)
	const workers, each = 16, 15
	var wg sync.WaitGroup
	accts := make([]*identity.Account, workers)
	for w := range workers {
		accts[w] = identity.NewAccount()
		wg.Go(func() {
			for i := range each {
				now := f.clock().Add(time.Duration(i) * time.Millisecond)
				p, _ := nodeclient.SignDraft(accts[w], testNet, rpc.MethodStore, json.RawMessage(storeParams(1, fmt.Sprintf("w%d-%d", w, i), time.Hour, 0)), now)
				if status, b := f.post(reqBody(rpc.MethodStore, p)); status != 200 {
					t.Errorf("store: %d %s", status, b)
					return
				}
				p, _ = nodeclient.SignDraft(accts[w], testNet, rpc.MethodRetrieve, json.RawMessage(`{"namespace":1}`), now)
				status, b := f.post(reqBody(rpc.MethodRetrieve, p))
				var res rpc.RetrieveResult
				if status != 200 || json.Unmarshal(b, &res) != nil || len(res.Messages) != i+1 {
					t.Errorf("retrieve after %d stores: %d %s", i+1, status, b)
					return
				}
			}
		})
	}
	wg.Wait()
	f.advance(time.Second) // past the workers' signing times
	for _, a := range accts {
		if n := len(f.retrieveAll(t, a, 1)); n != each {
			t.Fatalf("account holds %d messages, want %d", n, each)
		}
	}
}

// TestFloodPublicInbox: a flood into one public inbox keeps the node
// answering under either store policy: evicting the oldest messages, or
// refusing with a 4xx quota error while keeping what is stored.
func TestFloodPublicInbox(t *testing.T) {
	for _, tt := range []struct {
		name   string
		policy sqlite.FloodPolicy
		status int
	}{{"evict oldest", sqlite.EvictOldest, 200}, {"refuse", sqlite.Refuse, 403}} {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sqlite.Open(filepath.Join(t.TempDir(), "flood.db"), sqlite.WithPublicQuota(0, 5), sqlite.WithFloodPolicy(tt.policy))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			f := newFixture(t, func(c *Config) { c.Store = db })
			f.db = db
			victim := identity.NewAccount()
			var last int
			for i := range 12 {
				p := fmt.Sprintf(`{"pubkey":%q,"data":%q,"ttl":60000,"timestamp":%d}`, victim.ID(), b64(fmt.Sprint("spam ", i)), f.clock().UnixMilli()+int64(i))
				var body []byte
				last, body = f.post(reqBody(rpc.MethodStore, json.RawMessage(p)))
				if last != 200 && (last != tt.status || errCode(t, body) != rpc.CodeQuota) {
					t.Fatalf("deposit %d: %d %s", i, last, body)
				}
			}
			if last != tt.status {
				t.Fatalf("last deposit: %d, want %d", last, tt.status)
			}
			msgs := f.retrieveAll(t, victim, 0)
			if len(msgs) != 5 {
				t.Fatalf("inbox holds %d messages, want the quota of 5", len(msgs))
			}
			wantFirst := b64("spam 0")
			if tt.policy == sqlite.EvictOldest {
				wantFirst = b64("spam 7")
			}
			if msgs[0].Data != wantFirst {
				t.Fatalf("oldest kept message %s, want %s", msgs[0].Data, wantFirst)
			}
		})
	}
}

// TestStoreDuplicate: re-storing a deleted message answers deleted:true
// (not already:true, which would claim it is retrievable), and a
// duplicate with a longer ttl extends the expiry, as Session's store does.
func TestStoreDuplicate(t *testing.T) {
	owner := identity.NewAccount()
	type reply struct {
		Hash    string `json:"hash"`
		Already bool   `json:"already"`
		Deleted bool   `json:"deleted"`
	}
	t.Run("deleted", func(t *testing.T) {
		f := newFixture(t)
		h := f.storeMsg(t, owner, 0, "gone", time.Hour)
		f.mustCall(t, owner, rpc.MethodDelete, fmt.Sprintf(`{"messages":[%q]}`, h), nil)
		var r reply
		f.mustCall(t, owner, rpc.MethodStore, storeParams(0, "gone", time.Hour, 0), &r)
		if r.Hash != h || !r.Deleted || r.Already {
			t.Fatalf("re-store of a deleted message answered %+v, want deleted", r)
		}
		if msgs := f.retrieveAll(t, owner, 0); len(msgs) != 0 {
			t.Fatalf("deleted message retrievable: %+v", msgs)
		}
	})
	t.Run("longer ttl extends", func(t *testing.T) {
		f := newFixture(t)
		ts := f.clock().UnixMilli()
		var r reply
		f.mustCall(t, owner, rpc.MethodStore, storeParams(0, "m", time.Hour, ts), &r)
		f.mustCall(t, owner, rpc.MethodStore, storeParams(0, "m", 2*time.Hour, ts), &r)
		if !r.Already || r.Deleted {
			t.Fatalf("duplicate answered %+v", r)
		}
		if msgs := f.retrieveAll(t, owner, 0); len(msgs) != 1 || msgs[0].Expiration != ts+(2*time.Hour).Milliseconds() {
			t.Fatalf("after a longer duplicate: %+v, want expiration %d", msgs, ts+(2*time.Hour).Milliseconds())
		}
		f.mustCall(t, owner, rpc.MethodStore, storeParams(0, "m", time.Minute, ts), &r)
		if msgs := f.retrieveAll(t, owner, 0); msgs[0].Expiration != ts+(2*time.Hour).Milliseconds() {
			t.Fatalf("a shorter duplicate moved the expiry: %+v", msgs)
		}
	})
}

// TestExpireCappedByNamespaceTTL: the owner may extend a message's expiry,
// but not past its deposit time plus the longest TTL of its namespace
// (14 days for the public DM inbox, 30 days owner-only).
func TestExpireCappedByNamespaceTTL(t *testing.T) {
	owner := identity.NewAccount()
	for _, tt := range []struct {
		name  string
		ns    int
		limit time.Duration
	}{{"public inbox", 0, rpc.MaxTTLPublic}, {"owner-only", 1, rpc.MaxTTLPrivate}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ts := f.clock().UnixMilli()
			var st rpc.StoreResult
			f.mustCall(t, owner, rpc.MethodStore, storeParams(tt.ns, "m", time.Hour, ts), &st)
			var res rpc.ExpireResult
			f.mustCall(t, owner, rpc.MethodExpire, fmt.Sprintf(`{"messages":[%q],"expiry":%d,"extend":true}`, st.Hash, ts+(40*24*time.Hour).Milliseconds()), &res)
			if want := ts + tt.limit.Milliseconds(); res.Updated[st.Hash] != want {
				t.Fatalf("extended to %d, want the namespace's limit %d", res.Updated[st.Hash], want)
			}
			f.mustCall(t, owner, rpc.MethodExpireAll, fmt.Sprintf(`{"namespace":%d,"expiry":%d}`, tt.ns, ts+(40*24*time.Hour).Milliseconds()), &res)
			if msgs := f.retrieveAll(t, owner, tt.ns); msgs[0].Expiration != ts+tt.limit.Milliseconds() {
				t.Fatalf("expiry %d after expire_all, want %d", msgs[0].Expiration, ts+tt.limit.Milliseconds())
			}
		})
	}
}

// TestRetrieveKnown: a retrieve's known list leaves those messages out of
// the answer, and the answer pages over the rest as if they were not
// there: every unknown message comes back exactly once, pages stay within
// max_count, and a page of nothing but known messages does not end the
// paging early.
func TestRetrieveKnown(t *testing.T) {
	f := newFixture(t)
	acct := identity.NewAccount()
	base := f.clock().UnixMilli()
	var all []string
	for i := range 12 {
		var res rpc.StoreResult
		f.mustCall(t, acct, rpc.MethodStore, storeParams(0, "m"+itoa(i), time.Hour, base-int64(12-i)*10), &res)
		all = append(all, res.Hash)
	}
	tests := []struct {
		name     string
		known    []int // indexes into all, in deposit order
		maxCount int
	}{
		{"none known", nil, 4},
		{"all known", []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 4},
		{"first page known", []int{0, 1, 2, 3, 4, 5}, 3},
		{"every other", []int{0, 2, 4, 6, 8, 10}, 2},
		{"last known", []int{11}, 5},
		{"known not stored", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			known := []string{}
			skip := map[string]bool{}
			for _, i := range tt.known {
				known = append(known, all[i])
				skip[all[i]] = true
			}
			if tt.name == "known not stored" {
				known = append(known, rpc.MessageHash(acct.ID(), 0, []byte("never stored")))
			}
			var want []string
			for _, h := range all {
				if !skip[h] {
					want = append(want, h)
				}
			}
			kb, _ := json.Marshal(known)
			var got []string
			cursor := ""
			for page := 0; ; page++ {
				var res rpc.RetrieveResult
				p := fmt.Sprintf(`{"known":%s`, kb)
				if tt.maxCount > 0 {
					p += fmt.Sprintf(`,"max_count":%d`, tt.maxCount)
				}
				f.mustCall(t, acct, rpc.MethodRetrieve, p+cursor+`}`, &res)
				if tt.maxCount > 0 && len(res.Messages) > tt.maxCount {
					t.Fatalf("page of %d messages, max_count %d", len(res.Messages), tt.maxCount)
				}
				for _, m := range res.Messages {
					if skip[m.Hash] {
						t.Fatalf("known message %s in the answer", m.Hash)
					}
					got = append(got, m.Hash)
				}
				if !res.More {
					break
				}
				if len(res.Messages) == 0 {
					t.Fatal("more with an empty page")
				}
				last := res.Messages[len(res.Messages)-1]
				cursor = fmt.Sprintf(`,"after_timestamp":%d,"after_hash":%q`, last.Timestamp, last.Hash)
				if page > len(all) {
					t.Fatal("paging does not end")
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %d messages %v, want %d %v", len(got), got, len(want), want)
			}
		})
	}
	// Malformed lists are the parser's (protocol/rpc); one reaches the
	// node as a 4xx.
	if st := f.call(t, acct, rpc.MethodRetrieve, `{"known":["nope"]}`, nil); st != 400 {
		t.Fatalf("a malformed known list answered %d", st)
	}
}
