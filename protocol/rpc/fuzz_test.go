package rpc

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecode feeds arbitrary bodies to every parser: each must either
// succeed or return an *Error with a 4xx code, and never panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"method":"info"}`,
		`{"method":"store","params":{"pubkey":"05","data":"aGk=","ttl":10000,"timestamp":1}}`,
		`{"method":"retrieve","params":{"pubkey":"","namespace":-1,"max_size":-5}}`,
		`{"method":"delete_all","params":{"namespace":"all","timestamp":1}}`,
		`{"method":"batch","params":{"requests":[{"method":"info"},{"method":"get_swarm","params":{"pubkey":"05"}}]}}`,
		`{"method":"expire","params":{"messages":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],"expiry":5,"shorten":true}}`,
		`[]`, `null`, `{"method":1}`, `{"method":"x","params":[1]}`,
	} {
		f.Add([]byte(s))
	}
	parsers := map[string]func(json.RawMessage) error{
		MethodStore:        func(p json.RawMessage) error { _, err := ParseStore(p); return err },
		MethodRetrieve:     func(p json.RawMessage) error { _, err := ParseRetrieve(p); return err },
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
	})
}
