package transparency

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hushnet/hush/identity"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

func testKey() ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)) }

func testReport() Report {
	return Report{
		Format: Format, Server: "files", AsOf: 1764979200000,
		Records: []Record{
			{Kind: KindTable, Name: "blobs", Description: "one row per blob", Count: 2, Fields: []string{"id", "size", "expires_ms", "token_hash"}, Retention: "until the blob expires"},
			{Kind: KindFiles, Name: "blobs/ab/cd/<id>", Description: "blob bytes", Count: 2, Bytes: 4096, Fields: []string{"encrypted bytes"}, Retention: "until the blob expires"},
			{Kind: KindMemory, Name: "replay cache", Description: "ephemeral keys of recent onion layers", Count: 0, Fields: []string{"ephemeral key"}, Retention: "one minute"},
		},
		Logs: Logs{Level: "info", Streams: []LogStream{{Name: "stderr", Description: "text log", Fields: []string{"time", "level", "msg"}, Retention: "as the operator's journal keeps it"}}},
	}
}

func testStatement() *Statement {
	return &Statement{
		Format: Format, NetworkID: "devnet", Server: "files", Key: identity.Ed25519PublicKeyOf(testKey()),
		Issued: 1764979200123, Period: Period{Start: "2026-10-01", End: "2026-12-31"},
		Requests: "No requests received.\nNone answered.", Report: testReport(),
	}
}

type vectors struct {
	Seed     string          `json:"seed_hex"`
	Report   json.RawMessage `json:"report"`
	Signed   string          `json:"signed"`
	Request  string          `json:"request"`
	Invalid  []string        `json:"invalid_reports"`
	Tampered []string        `json:"tampered_signed"`
}

// invalidReports are reports ParseReport must refuse, one rule each.
var invalidReports = map[string]string{
	"unknown key":     `{"format":1,"server":"files","as_of_ms":0,"records":[],"logs":{"level":"info","private":false,"streams":[]},"extra":1}`,
	"duplicate key":   `{"format":1,"format":1,"server":"files","as_of_ms":0,"records":[],"logs":{"level":"info","private":false,"streams":[]}}`,
	"bad format":      `{"format":2,"server":"files","as_of_ms":0,"records":[],"logs":{"level":"info","private":false,"streams":[]}}`,
	"unknown server":  `{"format":1,"server":"mail","as_of_ms":0,"records":[],"logs":{"level":"info","private":false,"streams":[]}}`,
	"records null":    `{"format":1,"server":"files","as_of_ms":0,"records":null,"logs":{"level":"info","private":false,"streams":[]}}`,
	"unknown kind":    `{"format":1,"server":"files","as_of_ms":0,"records":[{"kind":"cloud","name":"x","description":"d","count":1,"fields":[],"retention":"r"}],"logs":{"level":"info","private":false,"streams":[]}}`,
	"negative count":  `{"format":1,"server":"files","as_of_ms":0,"records":[{"kind":"table","name":"x","description":"d","count":-1,"fields":[],"retention":"r"}],"logs":{"level":"info","private":false,"streams":[]}}`,
	"no retention":    `{"format":1,"server":"files","as_of_ms":0,"records":[{"kind":"table","name":"x","description":"d","count":1,"fields":[],"retention":""}],"logs":{"level":"info","private":false,"streams":[]}}`,
	"twice":           `{"format":1,"server":"files","as_of_ms":0,"records":[{"kind":"table","name":"x","description":"d","count":1,"fields":[],"retention":"r"},{"kind":"table","name":"x","description":"d","count":1,"fields":[],"retention":"r"}],"logs":{"level":"info","private":false,"streams":[]}}`,
	"escape sequence": `{"format":1,"server":"files","as_of_ms":0,"records":[{"kind":"table","name":"\u001b[2J","description":"d","count":1,"fields":[],"retention":"r"}],"logs":{"level":"info","private":false,"streams":[]}}`,
	"unknown level":   `{"format":1,"server":"files","as_of_ms":0,"records":[],"logs":{"level":"trace","private":false,"streams":[]}}`,
	"wrong type":      `{"format":"1","server":"files","as_of_ms":0,"records":[],"logs":{"level":"info","private":false,"streams":[]}}`,
	"trailing":        `{"format":1,"server":"files","as_of_ms":0,"records":[],"logs":{"level":"info","private":false,"streams":[]}} {}`,
}

// tamper returns signed reports that must fail Verify: each changes one
// thing of good.
func tamper(t *testing.T, good []byte) []string {
	var w map[string]json.RawMessage
	if err := json.Unmarshal(good, &w); err != nil {
		t.Fatal(err)
	}
	stmt := string(w["statement"])
	sig := string(w["signature"])
	mk := func(st, sg string) string { return `{"statement":` + st + `,"signature":` + sg + `}` }
	flipped := []byte(sig)
	flipped[5] ^= 1 // a hex digit stays a hex digit: '0'..'9' and 'a'..'f' flip within
	if !strings.ContainsRune("0123456789abcdef", rune(flipped[5])) {
		flipped[5] ^= 1
		flipped[6] ^= 1
	}
	return []string{
		mk(strings.Replace(stmt, `"count":2`, `"count":1`, 1), sig),       // a count lowered
		mk(strings.Replace(stmt, `No requests`, `Nine requests`, 1), sig), // the steward's text
		mk(stmt, string(flipped)),
		mk(strings.Replace(stmt, `{"format":1,`, `{ "format":1,`, 1), sig), // even whitespace counts
	}
}

func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	r := testReport()
	rb, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := Sign(testStatement(), testKey())
	if err != nil {
		t.Fatal(err)
	}
	want := vectors{Seed: hex.EncodeToString(testKey().Seed()), Report: rb, Signed: string(signed), Request: string(MarshalRequest())}
	for _, name := range sortedKeys(invalidReports) {
		want.Invalid = append(want.Invalid, invalidReports[name])
	}
	want.Tampered = tamper(t, signed)
	if *update {
		b, _ := json.MarshalIndent(want, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got vectors
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	wb, _ := json.Marshal(want)
	gb, _ := json.Marshal(got)
	if !bytes.Equal(wb, gb) {
		t.Fatalf("vectors differ from what the code makes (run with -update if the format changed on purpose):\n%s\n%s", gb, wb)
	}
	if _, err := ParseReport(got.Report); err != nil {
		t.Fatal(err)
	}
	key := identity.Ed25519PublicKeyOf(testKey())
	s, err := Verify([]byte(got.Signed), "devnet", "files", key)
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != testStatement().Requests || s.Report.Records[0].Count != 2 {
		t.Fatalf("verified statement %+v", s.Statement)
	}
	if err := ParseRequest([]byte(got.Request)); err != nil {
		t.Fatal(err)
	}
	for i, b := range got.Invalid {
		if _, err := ParseReport([]byte(b)); !errors.Is(err, ErrInvalid) {
			t.Errorf("invalid report %d: %v", i, err)
		}
	}
	for i, b := range got.Tampered {
		if _, err := Verify([]byte(b), "devnet", "files", key); err == nil {
			t.Errorf("tampered report %d verified", i)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func TestVerify(t *testing.T) {
	key := identity.Ed25519PublicKeyOf(testKey())
	other := identity.Ed25519PublicKeyOf(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32)))
	signed, err := Sign(testStatement(), testKey())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		network, server  string
		key              identity.Ed25519PublicKey
		wantErr, wantSig bool
	}{
		{name: "good", network: "devnet", server: "files", key: key},
		{name: "other network", network: "mainnet", server: "files", key: key, wantErr: true, wantSig: true},
		{name: "other server", network: "devnet", server: "push", key: key, wantErr: true, wantSig: true},
		{name: "other key", network: "devnet", server: "files", key: other, wantErr: true, wantSig: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(signed, tt.network, tt.server, tt.key)
			if (err != nil) != tt.wantErr || tt.wantSig && !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Statement)
	}{
		{"other key", func(s *Statement) { s.Key = identity.Ed25519PublicKeyOf(ed25519.NewKeyFromSeed(make([]byte, 32))) }},
		{"node", func(s *Statement) { s.Server, s.Report.Server = "node", "node" }},
		{"server mismatch", func(s *Statement) { s.Report.Server = "push" }},
		{"half a period", func(s *Statement) { s.Period.End = "" }},
		{"period backwards", func(s *Statement) { s.Period = Period{Start: "2026-12-31", End: "2026-10-01"} }},
		{"not a date", func(s *Statement) { s.Period.Start = "2026-13-01" }},
		{"no network", func(s *Statement) { s.NetworkID = "" }},
		{"not issued", func(s *Statement) { s.Issued = 0 }},
		{"long requests", func(s *Statement) { s.Requests = strings.Repeat("x", MaxRequests+1) }},
		{"escape in requests", func(s *Statement) { s.Requests = "\x1b]0;owned\x07" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testStatement()
			tt.change(s)
			if _, err := Sign(s, testKey()); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Sign: %v", err)
			}
		})
	}
}

func TestText(t *testing.T) {
	b, err := Sign(testStatement(), testKey())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSigned(b)
	if err != nil {
		t.Fatal(err)
	}
	out := s.Text()
	for _, want := range []string{"files server", "period 2026-10-01 to 2026-12-31", "No requests received.", "table blobs: 2", "kept: one minute", "logs at level info"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

// FuzzParseSigned: whatever parses re-validates, and a statement that
// parses signs and verifies again after re-encoding.
func FuzzParseSigned(f *testing.F) {
	b, _ := Sign(testStatement(), testKey())
	f.Add(b)
	rb, _ := json.Marshal(testReport())
	f.Add(rb)
	for _, s := range invalidReports {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := ParseSigned(b); err == nil {
			if err := s.Statement.Validate(); err != nil {
				t.Fatalf("parsed but invalid: %v", err)
			}
		}
		if r, err := ParseReport(b); err == nil {
			again, err := r.Marshal()
			if err != nil {
				t.Fatalf("parsed report does not marshal: %v", err)
			}
			if _, err := ParseReport(again); err != nil {
				t.Fatalf("re-encoded report does not parse: %v", err)
			}
		}
		_ = ParseRequest(b)
	})
}
