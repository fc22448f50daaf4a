package rpc

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

var (
	testAcct = identity.FromSeed(identity.Seed{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10})
	testPeer = identity.FromSeed(identity.Seed{2}).ID()
	testNow  = time.UnixMilli(1764000000000)
)

// withDefaults returns r with a zero retrieve bound replaced by what a
// node reads it as (see [ParseRetrieve]): a builder leaves both to the node.
func withDefaults(r Outgoing) Outgoing {
	rr, ok := r.(*Retrieve)
	if !ok {
		return r
	}
	c := *rr
	if c.MaxCount == 0 && c.MaxSize == 0 {
		c.MaxSize = RetrieveMaxSize / 5
	}
	if c.MaxCount == 0 {
		c.MaxCount = RetrieveMaxCount
	}
	if c.MaxSize == 0 {
		c.MaxSize = RetrieveMaxSize
	}
	return &c
}

// parseOutgoing parses r's params with the parser of r's method, for the
// round-trip checks.
func parseOutgoing(t testing.TB, r Outgoing) any {
	t.Helper()
	p := r.Params()
	var (
		got any
		err error
	)
	switch r := r.(type) {
	case *Store:
		got, err = ParseStore(p)
	case *Retrieve:
		got, err = ParseRetrieve(p)
	case *Delete:
		got, err = ParseDelete(p)
	case *DeleteAll:
		got, err = ParseDeleteAll(p)
	case *DeleteBefore:
		got, err = ParseDeleteBefore(p)
	case *Expire:
		got, err = ParseExpire(p)
	case *ExpireAll:
		got, err = ParseExpireAll(p)
	case *GetExpiries:
		got, err = ParseGetExpiries(p)
	case *GetSwarm:
		var id identity.AccountID
		id, err = ParseGetSwarm(p)
		got = &GetSwarm{Account: id}
	case Info:
		got, err = Info{}, ParseInfo(p)
	case *Batch:
		var subs []Request
		subs, err = ParseBatch(p)
		b := &Batch{Sequence: r.Method() == MethodSequence}
		for i, s := range subs {
			if s.Method != r.Requests[i].Method() {
				t.Fatalf("requests[%d]: method %q", i, s.Method)
			}
			// Each sub-request parses back to itself on its own.
			b.Requests = append(b.Requests, r.Requests[i])
			if sub := parseOutgoing(t, r.Requests[i]); !reflect.DeepEqual(sub, withDefaults(r.Requests[i])) {
				t.Fatalf("requests[%d]: parsed %+v, built %+v", i, sub, r.Requests[i])
			}
		}
		got = b
	default:
		t.Fatalf("no parser for %T", r)
	}
	if err != nil {
		t.Fatalf("%s params %s: %v", r.Method(), p, err)
	}
	return got
}

// TestRequestVectors checks that the builders send exactly the params the
// client sent before requests were typed (testdata/requests.json, written
// by that code): same keys, same order, same values, same signatures.
func TestRequestVectors(t *testing.T) {
	h1 := MessageHash(testAcct.ID(), 0, []byte("hello"))
	h2 := MessageHash(testAcct.ID(), 1, []byte("note"))
	data := []byte("sealed envelope bytes")
	deposit := time.UnixMilli(1763999999000)
	cursor := time.UnixMilli(1763999990000)
	public := func(after time.Time, afterHash string) Outgoing {
		r := PublicRetrieve(testPeer, NamespaceKeys)
		r.Timestamp, r.MaxSize, r.AfterTimestamp, r.AfterHash = testNow, 1<<20, after, afterHash
		return r
	}
	tests := []struct {
		name   string
		req    Outgoing
		signed bool
	}{
		{"store public", &Store{Account: testPeer, Namespace: 0, TTL: MaxTTLPublic, Timestamp: deposit, Data: data}, false},
		{"store owner-only", &Store{Namespace: NamespaceSyncKeys, TTL: MaxTTLPrivate, Timestamp: deposit, Data: data}, true},
		{"retrieve first page", &Retrieve{Namespace: 0, MaxSize: 1 << 20}, true},
		{"retrieve after cursor", &Retrieve{Namespace: 1, MaxSize: 1 << 20, AfterTimestamp: cursor, AfterHash: h2}, true},
		{"retrieve public", public(time.Time{}, ""), false},
		{"retrieve public after cursor", public(cursor, h1), false},
		{"delete", &Delete{Hashes: []string{h1, h2}}, true},
		{"delete_all all", &DeleteAll{}, true},
		{"expire shorten", &Expire{Hashes: []string{h1, h2}, Expiry: time.UnixMilli(1764000600000), Mode: ExpireShorten}, true},
		// Written by the builder that introduced known (issue 23).
		{"retrieve known", &Retrieve{Namespace: 0, MaxSize: 1 << 20, AfterTimestamp: cursor, AfterHash: h1, Known: []string{h1, h2}}, true},
	}
	b, err := os.ReadFile(filepath.Join("testdata", "requests.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want []struct{ Name, Method, Params string }
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(tests) {
		t.Fatalf("%d vectors, %d tests", len(want), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if want[i].Name != tt.name {
				t.Fatalf("vector %d is %q", i, want[i].Name)
			}
			if tt.signed {
				tt.req.Stamp(testNow)
				tt.req.Sign("devnet", testAcct)
			}
			if tt.req.Method() != want[i].Method {
				t.Fatalf("method %q, want %q", tt.req.Method(), want[i].Method)
			}
			if got := string(tt.req.Params()); got != want[i].Params {
				t.Fatalf("params\n got  %s\n want %s", got, want[i].Params)
			}
			if got := parseOutgoing(t, tt.req); !reflect.DeepEqual(got, withDefaults(tt.req)) {
				t.Fatalf("parsed %+v, built %+v", got, tt.req)
			}
		})
	}
}

// TestRoundTrip builds, signs and encodes one request of each kind and
// parses it back: the parser must return what was built, and the
// signature must verify over the string the node checks.
func TestRoundTrip(t *testing.T) {
	h := MessageHash(testAcct.ID(), 0, []byte("hello"))
	ns := int32(-7)
	expiry := testNow.Add(time.Hour)
	tests := []struct {
		name string
		req  Outgoing
	}{
		{"store public", &Store{Namespace: 0, TTL: time.Hour, Timestamp: testNow, Data: []byte("x")}},
		{"store owner-only", &Store{Namespace: 1, TTL: MaxTTLPrivate, Timestamp: testNow, Data: []byte{}}},
		{"retrieve", &Retrieve{Namespace: 3, MaxCount: 16, MaxSize: 1000}},
		{"retrieve cursor", &Retrieve{Namespace: ns, MaxCount: RetrieveMaxCount, MaxSize: RetrieveMaxSize, AfterTimestamp: testNow, AfterHash: h}},
		{"delete", &Delete{Hashes: []string{h}}},
		{"delete_all all", &DeleteAll{}},
		{"delete_all ns", &DeleteAll{Namespace: &ns}},
		{"delete_before", &DeleteBefore{Namespace: &ns, Before: testNow}},
		{"delete_before all", &DeleteBefore{Before: testNow}},
		{"expire", &Expire{Hashes: []string{h}, Expiry: expiry}},
		{"expire extend", &Expire{Hashes: []string{h}, Expiry: expiry, Mode: ExpireExtend}},
		{"expire_all", &ExpireAll{Namespace: &ns, Expiry: expiry}},
		{"expire_all all", &ExpireAll{Expiry: expiry}},
		{"get_expiries", &GetExpiries{Hashes: []string{h, h}}},
		{"get_swarm", &GetSwarm{Account: testPeer}},
		{"info", Info{}},
		{"batch", &Batch{Requests: []Outgoing{&Retrieve{Namespace: 1, MaxCount: 1, MaxSize: 1}, Info{}, &Delete{Hashes: []string{h}}}}},
		{"sequence", &Batch{Sequence: true, Requests: []Outgoing{&DeleteAll{}, &GetSwarm{Account: testPeer}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Stamp(testNow)
			tt.req.Sign("devnet", testAcct)
			got := parseOutgoing(t, tt.req)
			if !reflect.DeepEqual(got, tt.req) {
				t.Fatalf("parsed %+v\nbuilt %+v", got, tt.req)
			}
			checkSigned(t, tt.req, "devnet")
		})
	}
}

// checkSigned verifies r's signature for networkID, where r carries one,
// as a node would.
func checkSigned(t testing.TB, r Outgoing, networkID string) {
	t.Helper()
	var (
		a   *Auth
		msg []byte
	)
	switch r := r.(type) {
	case interface{ SigMessage(string) []byte }:
		msg = r.SigMessage(networkID)
		a = reflect.ValueOf(r).Elem().FieldByName("Auth").Interface().(*Auth)
	case *Batch:
		for _, s := range r.Requests {
			checkSigned(t, s, networkID)
		}
		return
	default:
		return
	}
	if a == nil || a.Signature == nil {
		if st, ok := r.(*Store); ok && IsPublicNamespace(st.Namespace) {
			return // a public deposit is sent unsigned
		}
		t.Fatalf("%s: not signed", r.Method())
	}
	if err := a.Verify(msg, nil); err != nil {
		t.Fatalf("%s: %v", r.Method(), err)
	}
}

// TestBatchStamp checks that a batch's sub-requests are signed at distinct
// times.
func TestBatchStamp(t *testing.T) {
	b := &Batch{Requests: []Outgoing{&Retrieve{}, Info{}, &Retrieve{}}}
	b.Stamp(testNow)
	if a, c := b.Requests[0].(*Retrieve).Timestamp, b.Requests[2].(*Retrieve).Timestamp; !a.Equal(testNow) || c.Sub(a) != 2*time.Millisecond {
		t.Fatalf("sub-requests stamped at %v and %v", a, c)
	}
}

// TestParseDraft covers hand-written params: what they mean, what is
// filled in, and what is refused before anything is signed.
func TestParseDraft(t *testing.T) {
	h := MessageHash(testAcct.ID(), 0, []byte("hello"))
	acct := testAcct.ID()
	before := time.UnixMilli(1763000000000)
	zero := int32(0)
	tests := []struct {
		name, method, params string
		want                 Outgoing
		code                 Code
	}{
		{name: "info", method: MethodInfo, params: ``, want: Info{}},
		{name: "get_swarm own", method: MethodGetSwarm, params: `{}`, want: &GetSwarm{Account: acct}},
		{name: "get_swarm other", method: MethodGetSwarm, params: `{"pubkey":"` + testPeer.String() + `"}`, want: &GetSwarm{Account: testPeer}},
		{name: "store", method: MethodStore, params: `{"namespace":1,"ttl":60000,"data":"eA=="}`,
			want: &Store{Account: acct, Namespace: 1, TTL: time.Minute, Data: []byte("x"), Timestamp: testNow, SigTimestamp: testNow}},
		{name: "store out of range ttl passes", method: MethodStore, params: `{"ttl":1,"data":"eA","timestamp":1763000000000,"pubkey":"` + testPeer.String() + `"}`,
			want: &Store{Account: acct, TTL: time.Millisecond, Data: []byte("x"), Timestamp: before, SigTimestamp: testNow}},
		{name: "retrieve", method: MethodRetrieve, params: `null`, want: &Retrieve{Timestamp: testNow}},
		{name: "retrieve cursor", method: MethodRetrieve, params: `{"namespace":2,"max_count":16,"max_size":-5,"after_timestamp":1763000000000,"after_hash":"` + h + `"}`,
			want: &Retrieve{Namespace: 2, MaxCount: 16, MaxSize: -5, AfterTimestamp: before, AfterHash: h, Timestamp: testNow}},
		{name: "delete", method: MethodDelete, params: `{"messages":["` + h + `"],"timestamp":1763000000000}`, want: &Delete{Hashes: []string{h}, Timestamp: before}},
		{name: "delete_all default", method: MethodDeleteAll, params: `{}`, want: &DeleteAll{Namespace: &zero, Timestamp: testNow}},
		{name: "delete_all all", method: MethodDeleteAll, params: `{"namespace":"all"}`, want: &DeleteAll{Timestamp: testNow}},
		{name: "delete_before", method: MethodDeleteBefore, params: `{}`, want: &DeleteBefore{Namespace: &zero, Before: testNow, Timestamp: testNow}},
		{name: "expire", method: MethodExpire, params: `{"messages":["` + h + `"],"expiry":1763000000000,"extend":true}`,
			want: &Expire{Hashes: []string{h}, Expiry: before, Mode: ExpireExtend, Timestamp: testNow}},
		{name: "expire_all", method: MethodExpireAll, params: `{"expiry":1763000000000}`, want: &ExpireAll{Namespace: &zero, Expiry: before, Timestamp: testNow}},
		{name: "get_expiries", method: MethodGetExpiries, params: `{"messages":[]}`, want: &GetExpiries{Hashes: []string{}, Timestamp: testNow}},
		{name: "batch", method: MethodBatch, params: `{"requests":[{"method":"retrieve"},{"method":"info","params":{}}]}`,
			want: &Batch{Requests: []Outgoing{&Retrieve{Timestamp: testNow}, Info{}}}},
		{name: "sequence stamps in order", method: MethodSequence, params: `{"requests":[{"method":"info"},{"method":"delete","params":{"messages":[]}}]}`,
			want: &Batch{Sequence: true, Requests: []Outgoing{Info{}, &Delete{Hashes: []string{}, Timestamp: testNow.Add(time.Millisecond)}}}},
		{name: "unknown method", method: "frobnicate", params: `{}`, code: CodeUnknownMethod},
		{name: "unknown field", method: MethodRetrieve, params: `{"namspace":1}`, code: CodeBadField},
		{name: "field of another method", method: MethodRetrieve, params: `{"ttl":1}`, code: CodeBadField},
		{name: "not an object", method: MethodRetrieve, params: `[1]`, code: CodeBadJSON},
		{name: "wrong type", method: MethodRetrieve, params: `{"max_count":"x"}`, code: CodeBadField},
		{name: "store without ttl", method: MethodStore, params: `{"data":"eA=="}`, code: CodeMissingField},
		{name: "store data not base64", method: MethodStore, params: `{"ttl":60000,"data":"%%"}`, code: CodeBadBase64},
		{name: "store namespace all", method: MethodStore, params: `{"namespace":"all","ttl":60000,"data":"eA=="}`, code: CodeBadField},
		{name: "half a cursor", method: MethodRetrieve, params: `{"after_hash":"` + h + `"}`, code: CodeMissingField},
		{name: "expire without expiry", method: MethodExpire, params: `{"messages":[]}`, code: CodeMissingField},
		{name: "expire_all without expiry", method: MethodExpireAll, params: `{}`, code: CodeMissingField},
		{name: "shorten and extend", method: MethodExpire, params: `{"expiry":1,"shorten":true,"extend":true}`, code: CodeBadField},
		{name: "nested batch", method: MethodBatch, params: `{"requests":[{"method":"batch"}]}`, code: CodeUnknownMethod},
		{name: "bad sub-request", method: MethodBatch, params: `{"requests":[{"method":"info"},{"method":"store","params":{}}]}`, code: CodeMissingField},
		{name: "batch too long", method: MethodBatch, params: `{"requests":[` + repeatJSON(`{"method":"info"}`, MaxBatch+1) + `]}`, code: CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDraft(tt.method, json.RawMessage(tt.params), acct, testNow)
			if tt.code != "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != tt.code {
					t.Fatalf("err = %v, want code %s", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func repeatJSON(s string, n int) string {
	out := s
	for range n - 1 {
		out += "," + s
	}
	return out
}
