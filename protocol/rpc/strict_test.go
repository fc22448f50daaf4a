package rpc

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestStrictBodies: every JSON the storage RPC accepts (the body, batch
// sub-requests, params) refuses what encoding/json lets through: trailing
// data, a key twice, a key that only matches case-insensitively. Errors
// name wire keys, never Go fields.
func TestStrictBodies(t *testing.T) {
	const acct = `"pubkey":"05` + "0000000000000000000000000000000000000000000000000000000000000000" + `"`
	tests := []struct {
		name     string
		body     string
		wantCode Code
		wantMsg  string // substring of the message
	}{
		{"trailing data", `{"method":"info"}xyz`, CodeBadJSON, "trailing"},
		{"trailing object", `{"method":"info"}{"method":"info"}`, CodeBadJSON, "trailing"},
		{"duplicate method", `{"method":"info","method":"store"}`, CodeBadJSON, `duplicate key "method"`},
		{"case-folded method", `{"Method":"info"}`, CodeBadField, `unknown field "Method"`},
		{"duplicate param", `{"method":"get_swarm","params":{` + acct + `,` + acct + `}}`, CodeBadJSON, `duplicate key "params.pubkey"`},
		{"case-folded param", `{"method":"get_swarm","params":{"PubKey":"05"}}`, CodeBadField, `unknown field "PubKey"`},
		{"trailing after params", `{"method":"info","params":{}} {}`, CodeBadJSON, "trailing"},
		{"duplicate in sub-request", `{"method":"batch","params":{"requests":[{"method":"info","method":"info"}]}}`, CodeBadJSON, `requests[0]`},
		{"duplicate inside namespace-or-all", `{"method":"delete_all","params":{"namespace":1,"namespace":"all"}}`, CodeBadJSON, `duplicate key "params.namespace"`},
		{"embedded Go field not named", `{"method":"store","params":{"pubkey":{}}}`, CodeBadField, `field "pubkey" must be a string`},
		{"invalid utf-8", "{\"method\":\"info\xff\"}", CodeBadJSON, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parseBody([]byte(tt.body))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("parse(%s) = %v, want a %s error", tt.body, err, tt.wantCode)
			}
			if e.Code != tt.wantCode || !strings.Contains(e.Message, tt.wantMsg) {
				t.Fatalf("parse(%s) = %v, want %s containing %q", tt.body, err, tt.wantCode, tt.wantMsg)
			}
			for _, goWord := range []string{"authFields", "Go struct", "int32", "RawMessage"} {
				if strings.Contains(e.Message, goWord) {
					t.Errorf("message %q exposes %q", e.Message, goWord)
				}
			}
		})
	}
}

// parseBody decodes a body and its params as a node does.
func parseBody(body []byte) error {
	req, err := DecodeRequest(body)
	if err != nil {
		return err
	}
	switch req.Method {
	case MethodInfo:
		return ParseInfo(req.Params)
	case MethodGetSwarm:
		_, err = ParseGetSwarm(req.Params)
	case MethodStore:
		_, err = ParseStore(req.Params)
	case MethodDeleteAll:
		_, err = ParseDeleteAll(req.Params)
	case MethodBatch:
		_, err = ParseBatch(req.Params)
	default:
		return errors.New("test: no parser for " + req.Method)
	}
	return err
}

// TestDepositNamespaces: of the namespaces divisible by 10 (public,
// Session's rule), only those with a defined use take deposits, signed or
// not; the rest are refused with a code of their own, so that a flood
// cannot spread over thousands of namespaces nobody reads.
func TestDepositNamespaces(t *testing.T) {
	const (
		pub = `"pubkey":"05` + "1111111111111111111111111111111111111111111111111111111111111111" + `"`
		sig = `,"pubkey_ed25519":"` + "2222222222222222222222222222222222222222222222222222222222222222" +
			`","signature":"` + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" + `"`
	)
	tests := []struct {
		name     string
		ns       int
		signed   bool
		wantCode Code // "" for accepted
	}{
		{"dm inbox", 0, false, ""},
		{"dm inbox signed", 0, true, ""},
		{"public 10 unsigned", 10, false, CodeBadNamespace},
		{"public 10 signed", 10, true, CodeBadNamespace},
		{"public 20", 20, false, CodeBadNamespace},
		{"public -10", -10, false, CodeBadNamespace},
		{"public 32760", 32760, false, CodeBadNamespace},
		{"owner-only 1 signed", 1, true, ""},
		{"owner-only 8 signed", 8, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := `{` + pub + `,"namespace":` + itoa(tt.ns) + `,"data":"eA==","ttl":60000,"timestamp":1700000000000`
			if tt.signed {
				p += sig
			}
			_, err := ParseStore([]byte(p + `}`))
			var e *Error
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantCode != "" && (!errors.As(err, &e) || e.Code != tt.wantCode):
				t.Fatalf("ParseStore = %v, want %s", err, tt.wantCode)
			case tt.wantCode != "" && !strings.Contains(e.Message, "namespace "+itoa(tt.ns)):
				t.Fatalf("message %q does not name the namespace", e.Message)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSignedTimestampRequired: delete, delete_before, expire and
// expire_all carry the request time they sign (hush's difference from
// Session), so a request without it is refused before any signature work.
func TestSignedTimestampRequired(t *testing.T) {
	const (
		auth = `"pubkey":"05` + "1111111111111111111111111111111111111111111111111111111111111111" + `","pubkey_ed25519":"` +
			"2222222222222222222222222222222222222222222222222222222222222222" + `","signature":"` +
			"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" + `"`
		hash = `"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"`
	)
	tests := []struct {
		name   string
		parse  func([]byte) error
		params string
	}{
		{"delete", func(b []byte) error { _, err := ParseDelete(b); return err }, `"messages":[` + hash + `]`},
		{"delete_before", func(b []byte) error { _, err := ParseDeleteBefore(b); return err }, `"before":1700000000000`},
		{"expire", func(b []byte) error { _, err := ParseExpire(b); return err }, `"messages":[` + hash + `],"expiry":1700000000000`},
		{"expire_all", func(b []byte) error { _, err := ParseExpireAll(b); return err }, `"expiry":1700000000000`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse([]byte(`{` + auth + `,` + tt.params + `}`))
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeMissingField || !strings.Contains(e.Message, "timestamp") {
				t.Fatalf("without timestamp: %v, want missing_field timestamp", err)
			}
			if err := tt.parse([]byte(`{` + auth + `,` + tt.params + `,"timestamp":1700000000500}`)); err != nil {
				t.Fatalf("with timestamp: %v", err)
			}
		})
	}
}
