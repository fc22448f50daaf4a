package rpc

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary bodies to every parser and to ParseDraft:
// each must either succeed or return an *Error with a 4xx code, and never
// panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"method":"info"}`,
		`{"method":"store","params":{"pubkey":"05","data":"aGk=","ttl":10000,"timestamp":1}}`,
		`{"method":"retrieve","params":{"pubkey":"","namespace":-1,"max_size":-5}}`,
		`{"method":"retrieve","params":{"namespace":0,"known":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]}}`,
		`{"method":"delete_all","params":{"namespace":"all","timestamp":1}}`,
		`{"method":"batch","params":{"requests":[{"method":"info"},{"method":"get_swarm","params":{"pubkey":"05"}}]}}`,
		`{"method":"expire","params":{"messages":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],"expiry":5,"shorten":true}}`,
		`[]`, `null`, `{"method":1}`, `{"method":"x","params":[1]}`,
	} {
		f.Add([]byte(s))
	}
	// Group requests, by the admin and by a member with its credential.
	admin, member := testGroup(f)
	for _, s := range []Signer{admin, member} {
		for _, r := range []Outgoing{&Store{Namespace: 11, TTL: time.Hour, Timestamp: testNow, Data: []byte("x")}, &Retrieve{Namespace: -11}, &DeleteAll{}} {
			r.Stamp(testNow)
			r.Sign("devnet", s)
			b, _ := json.Marshal(Request{Method: r.Method(), Params: r.Params()})
			f.Add(b)
		}
	}
	parsers := map[string]func(json.RawMessage) error{
		MethodStore: func(p json.RawMessage) error { _, err := ParseStore(p); return err },
		MethodRetrieve: func(p json.RawMessage) error {
			r, err := ParseRetrieve(p)
			if err == nil && !r.Unsigned {
				err = r.Auth.Verify(r.SigMessage("devnet"), nil)
			}
			return err
		},
		MethodDelete:       func(p json.RawMessage) error { _, err := ParseDelete(p); return err },
		MethodDeleteAll:    func(p json.RawMessage) error { _, err := ParseDeleteAll(p); return err },
		MethodDeleteBefore: func(p json.RawMessage) error { _, err := ParseDeleteBefore(p); return err },
		MethodExpire:       func(p json.RawMessage) error { _, err := ParseExpire(p); return err },
		MethodExpireAll:    func(p json.RawMessage) error { _, err := ParseExpireAll(p); return err },
		MethodGetExpiries:  func(p json.RawMessage) error { _, err := ParseGetExpiries(p); return err },
		MethodGetSwarm:     func(p json.RawMessage) error { _, err := ParseGetSwarm(p); return err },
		MethodInfo:         ParseInfo,
		MethodBatch:        func(p json.RawMessage) error { _, err := ParseBatch(p); return err },
	}
	check := func(t *testing.T, err error) {
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Code.Status() >= 500 {
			t.Fatalf("not a 4xx coded error: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeRequest(body)
		check(t, err)
		for _, p := range parsers {
			check(t, p(req.Params))
			check(t, p(body))
		}
		// Hand-written params go the same way, and what ParseDraft
		// returns signs and encodes.
		if d, err := ParseDraft(req.Method, req.Params, testPeer, testNow); err == nil {
			d.Sign("devnet", testAcct)
			if !json.Valid(d.Params()) {
				t.Fatalf("%s: draft params %s", req.Method, d.Params())
			}
		} else {
			check(t, err)
		}
	})
}

// FuzzRoundTrip builds a request of every kind from fuzzed field values
// (kept within what a node accepts), stamps, signs and encodes it, and
// parses it back: the parser must return what was built (a zero retrieve
// bound read as the node's default), and the signature must verify.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint8(0), int16(1), int64(1764000000000), int64(60_000), []byte("data"), uint16(2), int32(0), uint8(0), false, "devnet")
	f.Add(uint8(1), int16(7), int64(1), int64(1), []byte{}, uint16(0), int32(-5), uint8(1), true, "")
	f.Add(uint8(9), int16(-32768), int64(-1), int64(1<<62), []byte("x"), uint16(999), int32(1<<30), uint8(2), true, "standalone-0a1b2c3d")
	f.Fuzz(func(t *testing.T, kind uint8, ns16 int16, a, b int64, data []byte, n uint16, size int32, mode uint8, flag bool, network string) {
		if len(network) > 255 {
			network = network[:255]
		}
		ms := func(v int64) time.Time { return time.UnixMilli(1 + int64(uint64(v)%maxTimestampMs)) }
		ns := int32(ns16)
		var nsVar *int32
		if !flag {
			nsVar = &ns
		}
		hashes := make([]string, 1+int(n)%8)
		for i := range hashes {
			hashes[i] = MessageHash(testPeer, ns, append(data, byte(i), byte(i>>8)))
		}
		if len(data) > MaxDataSize {
			data = data[:MaxDataSize]
		}
		data = append([]byte{}, data...) // the parser returns non-nil data
		var req Outgoing
		switch kind % 11 {
		case 0:
			if !TakesDeposits(ns) {
				ns = 1
			}
			maxTTL := MaxTTLPublic
			if !IsPublicNamespace(ns) {
				maxTTL = MaxTTLPrivate
			}
			ttl := MinTTL + time.Duration(uint64(b)%uint64(maxTTL-MinTTL+time.Millisecond)).Truncate(time.Millisecond)
			req = &Store{Account: testPeer, Namespace: ns, TTL: ttl, Timestamp: ms(a), Data: data}
		case 1:
			r := &Retrieve{Namespace: ns, MaxCount: int(n) % (RetrieveMaxCount + 1), MaxSize: int(uint32(size) % (RetrieveMaxSize + 1))}
			if flag {
				r.AfterTimestamp, r.AfterHash = ms(b), hashes[0]
			}
			req = r
		case 2:
			r := PublicRetrieve(testPeer, NamespaceKeys)
			r.Timestamp, r.MaxCount, r.MaxSize = ms(a), 1+int(n)%RetrieveMaxCount, 1+int(uint32(size)%RetrieveMaxSize)
			// Not signed: check the unsigned form directly.
			if got := parseOutgoing(t, r); !reflect.DeepEqual(got, withDefaults(r)) {
				t.Fatalf("parsed %+v\nbuilt %+v", got, r)
			}
			return
		case 3:
			req = &Delete{Hashes: hashes}
		case 4:
			req = &DeleteAll{Namespace: nsVar}
		case 5:
			req = &DeleteBefore{Namespace: nsVar, Before: ms(b)}
		case 6:
			req = &Expire{Hashes: hashes, Expiry: ms(b), Mode: ExpireMode(mode % 3)}
		case 7:
			req = &ExpireAll{Namespace: nsVar, Expiry: ms(b)}
		case 8:
			req = &GetExpiries{Hashes: hashes}
		case 9:
			req = &GetSwarm{Account: testPeer}
		case 10:
			subs := []Outgoing{&Delete{Hashes: hashes[:1]}, &DeleteAll{Namespace: nsVar}, Info{}, &Retrieve{Namespace: ns, MaxCount: 1 + int(n)%RetrieveMaxCount}}
			req = &Batch{Sequence: flag, Requests: subs[:1+int(mode)%len(subs)]}
		}
		req.Stamp(ms(a))
		req.Sign(network, testAcct)
		if got := parseOutgoing(t, req); !reflect.DeepEqual(got, withDefaults(req)) {
			t.Fatalf("params %s\nparsed %+v\nbuilt  %+v", req.Params(), got, req)
		}
		checkSigned(t, req, network)
	})
}

// FuzzParseEncode parses fuzzed params with each parser and, where that
// succeeds, encodes the result and parses it again: every request a node
// accepts is one the builders can send, unchanged.
func FuzzParseEncode(f *testing.F) {
	acct, ed := testAcct.ID().String(), testAcct.Ed25519Public().String()
	sig := `"signature":"` + strings.Repeat("A", 86) + `"`
	h := MessageHash(testPeer, 0, nil)
	for _, s := range []string{
		`{"pubkey":"` + acct + `","namespace":0,"data":"aGk","ttl":10000,"timestamp":1}`,
		`{"pubkey":"` + acct + `","pubkey_ed25519":"` + ed + `",` + sig + `,"namespace":1,"data":"","ttl":10000,"timestamp":5,"sig_timestamp":6}`,
		`{"pubkey":"` + acct + `","namespace":7,"timestamp":1,"max_size":-3,"after_timestamp":2,"after_hash":"` + h + `"}`,
		`{"pubkey":"` + acct + `","pubkey_ed25519":"` + ed + `",` + sig + `,"namespace":"all","messages":["` + h + `"],"timestamp":9,"before":3,"expiry":4,"extend":true}`,
		`{"pubkey":"` + acct + `","pubkey_ed25519":"` + ed + `",` + sig + `,"messages":["` + h + `"],"timestamp":9,"expiry":4,"shorten":true,"extend":false}`,
	} {
		f.Add([]byte(s))
	}
	parsers := []func(json.RawMessage) (Outgoing, error){
		func(p json.RawMessage) (Outgoing, error) { return ParseStore(p) },
		func(p json.RawMessage) (Outgoing, error) { return ParseRetrieve(p) },
		func(p json.RawMessage) (Outgoing, error) { return ParseDelete(p) },
		func(p json.RawMessage) (Outgoing, error) { return ParseDeleteAll(p) },
		func(p json.RawMessage) (Outgoing, error) { return ParseDeleteBefore(p) },
		func(p json.RawMessage) (Outgoing, error) { return ParseExpire(p) },
		func(p json.RawMessage) (Outgoing, error) { return ParseExpireAll(p) },
		func(p json.RawMessage) (Outgoing, error) { return ParseGetExpiries(p) },
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		for _, parse := range parsers {
			r, err := parse(params)
			if err != nil {
				continue
			}
			again, err := parse(r.Params())
			if err != nil {
				t.Fatalf("%s: %s parsed, its encoding %s did not: %v", r.Method(), params, r.Params(), err)
			}
			if !reflect.DeepEqual(again, r) {
				t.Fatalf("%s: %s parsed to %+v, its encoding to %+v", r.Method(), params, r, again)
			}
		}
	})
}
