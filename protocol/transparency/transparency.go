package transparency

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
	"github.com/hushnet/hush/protocol/strictjson"
)

// Format is the version of the report and statement layouts.
const Format = 1

// Target is the path of a steward server's onion endpoint for its report.
const Target = "/hush/transparency/v1"

// Bounds on a document, so that a hostile server cannot make a client
// hold much.
const (
	MaxSize     = 256 << 10 // a signed report, bytes
	MaxRecords  = 256
	MaxFields   = 64
	MaxStreams  = 16
	MaxText     = 1024     // a name, a description, a field, a retention
	MaxRequests = 64 << 10 // the steward's requests text, bytes
)

// Servers are the server roles a report may name.
var Servers = []string{"node", "registry", "push", "files", "turn"}

// Record kinds.
const (
	KindTable  = "table"  // a table of the server's SQLite database
	KindFiles  = "files"  // files of its data directory
	KindState  = "state"  // records in another store (the registry's Raft log)
	KindMemory = "memory" // held only while the server runs
)

var kinds = []string{KindTable, KindFiles, KindState, KindMemory}

// Levels are the log levels a report may name (slog's, in lowercase).
var Levels = []string{"debug", "info", "warn", "error"}

// ErrInvalid is matched by every error for a document that breaks the
// format, from [ParseReport], [ParseSigned], [ParseRequest] and
// [Report.Validate].
var ErrInvalid = errors.New("transparency: invalid report")

// ErrSignature is matched by the error [Verify] returns for a report not
// signed by the expected server (wrong key, network, server or bytes).
var ErrSignature = errors.New("transparency: bad signature")

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// Report is what one server holds.
type Report struct {
	Format  int      `json:"format"`
	Server  string   `json:"server"`
	AsOf    int64    `json:"as_of_ms"` // when the state was read
	Records []Record `json:"records"`
	Logs    Logs     `json:"logs"`
}

// Record is one kind of record the server holds.
type Record struct {
	Kind        string   `json:"kind"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Count       int64    `json:"count"`
	Bytes       int64    `json:"bytes,omitempty"`
	Fields      []string `json:"fields"`
	Retention   string   `json:"retention"`
}

// Logs is what the server writes besides its state.
type Logs struct {
	Level string `json:"level"`
	// Private is debug_log_private: addresses and Account IDs may appear.
	Private bool        `json:"private"`
	Streams []LogStream `json:"streams"`
}

// LogStream is one stream of log lines or metrics.
type LogStream struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Fields are what an entry carries at the current level.
	Fields    []string `json:"fields"`
	Retention string   `json:"retention"`
}

// Record looks up a record kind by name.
func (r *Report) Record(name string) (Record, bool) {
	for _, k := range r.Records {
		if k.Name == name {
			return k, true
		}
	}
	return Record{}, false
}

func checkText(field, s string, max int, required bool) error {
	switch {
	case required && s == "":
		return invalid(field, "empty")
	case len(s) > max:
		return invalid(field, "longer than %d bytes", max)
	case !utf8.ValidString(s):
		return invalid(field, "not valid UTF-8")
	}
	// A client prints these to a terminal: no escape sequences.
	for _, c := range s {
		if c < 0x20 && c != '\n' && c != '\t' || c >= 0x7f && c < 0xa0 {
			return invalid(field, "control character %U", c)
		}
	}
	return nil
}

func checkList(field string, l []string) error {
	if l == nil {
		return invalid(field, "missing")
	}
	if len(l) > MaxFields {
		return invalid(field, "more than %d entries", MaxFields)
	}
	for i, s := range l {
		if err := checkText(fmt.Sprintf("%s[%d]", field, i), s, MaxText, true); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks r as [ParseReport] does.
func (r *Report) Validate() error {
	if r.Format != Format {
		return invalid("format", "version %d is not %d", r.Format, Format)
	}
	if !slices.Contains(Servers, r.Server) {
		return invalid("server", "unknown server %q", r.Server)
	}
	if r.AsOf < 0 {
		return invalid("as_of_ms", "negative")
	}
	if r.Records == nil {
		return invalid("records", "missing")
	}
	if len(r.Records) > MaxRecords {
		return invalid("records", "more than %d", MaxRecords)
	}
	seen := map[string]bool{}
	for i, k := range r.Records {
		f := fmt.Sprintf("records[%d]", i)
		if !slices.Contains(kinds, k.Kind) {
			return invalid(f+".kind", "unknown kind %q", k.Kind)
		}
		if err := checkText(f+".name", k.Name, MaxText, true); err != nil {
			return err
		}
		if seen[k.Kind+"\x00"+k.Name] {
			return invalid(f+".name", "%s %q listed twice", k.Kind, k.Name)
		}
		seen[k.Kind+"\x00"+k.Name] = true
		if err := checkText(f+".description", k.Description, MaxText, true); err != nil {
			return err
		}
		if k.Count < 0 || k.Bytes < 0 {
			return invalid(f, "negative count or bytes")
		}
		if err := checkList(f+".fields", k.Fields); err != nil {
			return err
		}
		if err := checkText(f+".retention", k.Retention, MaxText, true); err != nil {
			return err
		}
	}
	if !slices.Contains(Levels, r.Logs.Level) {
		return invalid("logs.level", "unknown level %q", r.Logs.Level)
	}
	if r.Logs.Streams == nil {
		return invalid("logs.streams", "missing")
	}
	if len(r.Logs.Streams) > MaxStreams {
		return invalid("logs.streams", "more than %d", MaxStreams)
	}
	for i, s := range r.Logs.Streams {
		f := fmt.Sprintf("logs.streams[%d]", i)
		if err := checkText(f+".name", s.Name, MaxText, true); err != nil {
			return err
		}
		if err := checkText(f+".description", s.Description, MaxText, true); err != nil {
			return err
		}
		if err := checkList(f+".fields", s.Fields); err != nil {
			return err
		}
		if err := checkText(f+".retention", s.Retention, MaxText, true); err != nil {
			return err
		}
	}
	return nil
}

// Marshal validates r and encodes it.
func (r *Report) Marshal() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(r)
}

// ParseReport parses and validates an unsigned report (a node's export,
// or `hushd ... transparency --json`).
func ParseReport(b []byte) (*Report, error) {
	if len(b) > MaxSize {
		return nil, invalid("report", "larger than %d bytes", MaxSize)
	}
	var r Report
	if err := strictjson.Decode(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// Period is the span the steward's requests text covers, as dates
// (YYYY-MM-DD, UTC); both empty for none.
type Period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

const dateLayout = "2006-01-02"

// Validate checks p: both dates or neither, each a real date, start not
// after end.
func (p Period) Validate() error {
	if p.Start == "" && p.End == "" {
		return nil
	}
	s, err := time.Parse(dateLayout, p.Start)
	if err != nil {
		return invalid("period.start", "not a date (YYYY-MM-DD)")
	}
	e, err := time.Parse(dateLayout, p.End)
	if err != nil {
		return invalid("period.end", "not a date (YYYY-MM-DD)")
	}
	if e.Before(s) {
		return invalid("period", "ends before it starts")
	}
	return nil
}

// Statement is what a steward server signs.
type Statement struct {
	Format    int                       `json:"format"`
	NetworkID string                    `json:"network_id"`
	Server    string                    `json:"server"`
	Key       identity.Ed25519PublicKey `json:"pubkey_ed25519"`
	Issued    int64                     `json:"issued_ms"`
	Period    Period                    `json:"period"`
	// Requests is the steward's text: requests for data received and
	// answered in the period, in its own words.
	Requests string `json:"requests"`
	Report   Report `json:"report"`
}

// Validate checks s as [ParseSigned] does.
func (s *Statement) Validate() error {
	if s.Format != Format {
		return invalid("statement.format", "version %d is not %d", s.Format, Format)
	}
	if s.NetworkID == "" || len(s.NetworkID) > 255 {
		return invalid("statement.network_id", "want 1 to 255 bytes")
	}
	if s.Server == "node" || !slices.Contains(Servers, s.Server) {
		return invalid("statement.server", "%q signs no report", s.Server)
	}
	if s.Key.IsZero() {
		return invalid("statement.pubkey_ed25519", "missing")
	}
	if s.Issued <= 0 {
		return invalid("statement.issued_ms", "not positive")
	}
	if err := s.Period.Validate(); err != nil {
		return err
	}
	if err := checkText("statement.requests", s.Requests, MaxRequests, false); err != nil {
		return err
	}
	if err := s.Report.Validate(); err != nil {
		return err
	}
	if s.Report.Server != s.Server {
		return invalid("statement.report.server", "%q in a statement of %q", s.Report.Server, s.Server)
	}
	return nil
}

// Signed is a parsed signed report. Statement is the raw bytes the
// signature covers.
type Signed struct {
	Statement
	Raw       json.RawMessage
	Signature []byte
}

type wireSigned struct {
	Statement json.RawMessage `json:"statement"`
	Signature string          `json:"signature"`
}

// signedMessage is what the signature covers.
func signedMessage(networkID string, statement []byte) []byte {
	b := make([]byte, 0, len(rpc.DomainLabel)+1+len(networkID)+32+len(statement))
	b = append(b, rpc.DomainLabel...)
	b = append(b, byte(len(networkID)))
	b = append(b, networkID...)
	b = append(b, "transparency_report"...)
	return append(b, statement...)
}

// Sign validates s and returns the signed report, signed with key, which
// must be the key s names.
func Sign(s *Statement, key ed25519.PrivateKey) ([]byte, error) {
	if identity.Ed25519PublicKeyOf(key) != s.Key {
		return nil, invalid("statement.pubkey_ed25519", "not the signing key")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(key, signedMessage(s.NetworkID, raw))
	return json.Marshal(wireSigned{Statement: raw, Signature: hex.EncodeToString(sig)})
}

// ParseSigned parses a signed report without checking its signature
// (see [Verify]).
func ParseSigned(b []byte) (*Signed, error) {
	if len(b) > MaxSize {
		return nil, invalid("signed report", "larger than %d bytes", MaxSize)
	}
	var w wireSigned
	if err := strictjson.Decode(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if w.Statement == nil || bytes.Equal(w.Statement, []byte("null")) {
		return nil, invalid("statement", "missing")
	}
	if len(w.Signature) != 2*ed25519.SignatureSize {
		return nil, invalid("signature", "want %d hex characters", 2*ed25519.SignatureSize)
	}
	sig, err := hex.DecodeString(w.Signature)
	if err != nil || hex.EncodeToString(sig) != w.Signature {
		return nil, invalid("signature", "not lowercase hex")
	}
	out := &Signed{Raw: w.Statement, Signature: sig}
	if err := strictjson.Decode(w.Statement, &out.Statement); err != nil {
		return nil, fmt.Errorf("%w: statement: %w", ErrInvalid, err)
	}
	if err := out.Statement.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// Verify parses a signed report and checks that key signed it for server
// in network networkID.
func Verify(b []byte, networkID, server string, key identity.Ed25519PublicKey) (*Signed, error) {
	s, err := ParseSigned(b)
	if err != nil {
		return nil, err
	}
	switch {
	case s.NetworkID != networkID:
		return nil, fmt.Errorf("%w: for network %q, not %q", ErrSignature, s.NetworkID, networkID)
	case s.Server != server:
		return nil, fmt.Errorf("%w: from a %s server, not %s", ErrSignature, s.Server, server)
	case s.Key != key:
		return nil, fmt.Errorf("%w: names another key than the network file's", ErrSignature)
	case !ed25519.Verify(key.Bytes(), signedMessage(networkID, s.Raw), s.Signature):
		return nil, ErrSignature
	}
	return s, nil
}

// Request is what a client sends to [Target]; there is one operation.
type Request struct {
	Op string `json:"op"`
}

// OpReport asks for the signed report.
const OpReport = "report"

// MarshalRequest is the body of a report request.
func MarshalRequest() []byte { return []byte(`{"op":"report"}`) }

// ParseRequest checks a request body.
func ParseRequest(b []byte) error {
	if len(b) > 1024 {
		return invalid("request", "too large")
	}
	var r Request
	if err := strictjson.Decode(b, &r); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if r.Op != OpReport {
		return invalid("op", "unknown operation %q", r.Op)
	}
	return nil
}
