package onion

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Kind says what a node must do with a peeled layer.
type Kind int

const (
	// KindInvalid is the zero Kind: the layer decrypted but its instruction
	// did not parse (see [ErrBadInstruction]).
	KindInvalid Kind = iota
	// KindRelay: send [Layer.NextFrame] to the node [Instruction.Next].
	KindRelay
	// KindDestination: this node is the destination; [Layer.Inner] is the
	// request body (a storage RPC, or the steward server's own request).
	KindDestination
	// KindServer: send [Layer.NextFrame] to the steward server named by
	// [Instruction.Server], if the node's allow-list has it.
	KindServer
)

func (k Kind) String() string {
	switch k {
	case KindRelay:
		return "relay"
	case KindDestination:
		return "destination"
	case KindServer:
		return "server"
	}
	return "invalid"
}

// Instruction is the control part of a peeled layer. Only the fields of its
// Kind are set.
type Instruction struct {
	Kind Kind

	// Next is the Ed25519 identity of the next node (KindRelay).
	Next ed25519.PublicKey
	// NextEphemeral is the client's ephemeral key for the next layer, which
	// the node puts into the next frame (KindRelay, KindServer). A relay
	// layer has either it or NextSession.
	NextEphemeral *ecdh.PublicKey
	// NextSession and NextCounter (KindRelay) make the next frame a
	// session frame of the next node's session (docs/onion.md).
	NextSession *SessionID
	NextCounter uint64
	// NewSession (KindRelay, in a full frame at hop 0 or 1) asks this
	// node to open a session under this ID ([Layer.OpenedSession]).
	NewSession *SessionID
	// Headers are request headers for the destination (KindDestination).
	// Empty for storage RPCs.
	Headers map[string]string
	// Server is where to forward (KindServer).
	Server ServerTarget
	// Hold (KindRelay, KindDestination) is how long the client asks this
	// node to keep the request open beyond its ordinary time-out: a
	// long-poll (fast mode). Zero is an ordinary request; otherwise a whole
	// number of milliseconds from 1 ms to [MaxHold]. A relay caps it by its
	// own limit; the destination holds only a retrieve whose wait fits it.
	Hold time.Duration
}

// MaxHold is the longest hold a layer may ask for: the storage RPC's
// longest retrieve wait (rpc.MaxWait, 25 s) plus room for the round trip.
const MaxHold = 30 * time.Second

// ServerTarget names a steward server (file server, push server) that the
// last node forwards to. Its shape is checked here; whether the node may
// reach it (an allow-list of hosts and targets) is the node's decision.
type ServerTarget struct {
	Host     string // lowercase DNS name or IP literal
	Port     uint16 // 1–65535
	Protocol string // "http" or "https"
	Target   string // absolute path, no query or fragment
	Method   string // GET, POST, PUT or DELETE
}

// Limits on instruction fields, generous for real use and small enough that
// a hostile client cannot make a node store much.
const (
	maxHeaders     = 32
	maxHeaderName  = 64
	maxHeaderValue = 1024
	maxTarget      = 512
	maxHost        = 253
)

// The wire shapes, one per kind (field order is the encoding order).
type (
	wireRelay struct {
		Counter      *uint64 `json:"counter,omitempty"`
		Destination  *string `json:"destination"`
		EphemeralKey *string `json:"ephemeral_key,omitempty"`
		Hold         *int64  `json:"hold,omitempty"`
		NewSession   *string `json:"new_session,omitempty"`
		Session      *string `json:"session,omitempty"`
	}
	wireDestination struct {
		Headers *map[string]string `json:"headers"`
		Hold    *int64             `json:"hold,omitempty"`
	}
	wireServer struct {
		EphemeralKey *string `json:"ephemeral_key"`
		Host         *string `json:"host"`
		Method       *string `json:"method"`
		Port         *uint16 `json:"port"`
		Protocol     *string `json:"protocol"`
		Target       *string `json:"target"`
	}
)

// Keys are sorted, as encoding/json writes the wire structs' fields in
// their order; "hold" is optional on the first two, so it sorts last
// there. A relay object names its next hop's key either by
// "ephemeral_key" or by "counter" and "session", and may add "hold" and
// "new_session".
var (
	keysRelay        = []string{"destination", "ephemeral_key"}
	keysRelaySession = []string{"counter", "destination", "session"}
	keysDestination  = []string{"headers"}
	keysServer       = []string{"ephemeral_key", "host", "method", "port", "protocol", "target"}
)

func badInstruction(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadInstruction, fmt.Sprintf(format, a...))
}

// marshal validates in and returns its wire JSON.
func (in *Instruction) marshal() ([]byte, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var v any
	switch in.Kind {
	case KindRelay:
		d := hex.EncodeToString(in.Next)
		w := wireRelay{Destination: &d, Hold: holdMillis(in.Hold)}
		if in.NextSession != nil {
			c, sid := in.NextCounter, in.NextSession.String()
			w.Counter, w.Session = &c, &sid
		} else {
			e := hex.EncodeToString(in.NextEphemeral.Bytes())
			w.EphemeralKey = &e
		}
		if in.NewSession != nil {
			ns := in.NewSession.String()
			w.NewSession = &ns
		}
		v = w
	case KindDestination:
		h := in.Headers
		if h == nil {
			h = map[string]string{}
		}
		v = wireDestination{&h, holdMillis(in.Hold)}
	case KindServer:
		s := in.Server
		e := hex.EncodeToString(in.NextEphemeral.Bytes())
		v = wireServer{&e, &s.Host, &s.Method, &s.Port, &s.Protocol, &s.Target}
	}
	return json.Marshal(v)
}

// holdMillis is the wire form of a valid hold: nil (no key) for zero.
func holdMillis(d time.Duration) *int64 {
	if d == 0 {
		return nil
	}
	return ptr(d.Milliseconds())
}

// checkHold accepts zero or whole milliseconds from 1 ms to MaxHold, so
// that every valid hold has exactly one wire form.
func checkHold(d time.Duration) error {
	if d != 0 && (d < time.Millisecond || d > MaxHold || d%time.Millisecond != 0) {
		return badInstruction("hold %v: want whole milliseconds from 1 ms to %v", d, MaxHold)
	}
	return nil
}

func (in *Instruction) validate() error {
	if in.Kind != KindRelay && in.Kind != KindDestination && in.Hold != 0 {
		return badInstruction("hold on a %v layer", in.Kind)
	}
	if err := checkHold(in.Hold); err != nil {
		return err
	}
	if in.Kind != KindRelay && (in.NextSession != nil || in.NewSession != nil || in.NextCounter != 0) {
		return badInstruction("session members on a %v layer", in.Kind)
	}
	switch in.Kind {
	case KindRelay:
		if len(in.Next) != ed25519.PublicKeySize {
			return badInstruction("next node key is %d bytes", len(in.Next))
		}
		if in.NextSession != nil {
			if in.NextEphemeral != nil {
				return badInstruction("both a next ephemeral key and a next session")
			}
			if err := checkCounter(in.NextCounter); err != nil {
				return badInstruction("%v", err)
			}
			return nil
		}
		if in.NextCounter != 0 {
			return badInstruction("a counter without a session")
		}
		return checkX25519(in.NextEphemeral)
	case KindDestination:
		return checkHeaders(in.Headers)
	case KindServer:
		if err := checkX25519(in.NextEphemeral); err != nil {
			return err
		}
		return in.Server.validate()
	}
	return badInstruction("kind %d", in.Kind)
}

func checkX25519(k *ecdh.PublicKey) error {
	if k == nil || k.Curve() != ecdh.X25519() {
		return badInstruction("missing x25519 key")
	}
	return nil
}

// parseInstruction reads a layer's control object. The kind follows from
// which keys are present, as in Session's process_inner_request
// (session-storage-server oxenss/rpc/onion_processing.cpp), but every kind
// must carry exactly its own keys: Session's defaults for a missing port or
// protocol, and its tolerance of extra keys, are not kept.
// keys are obj's top-level keys from objectKeys.
func parseInstruction(obj []byte, keys []string) (Instruction, error) {
	exactly := func(want []string) error {
		got := slices.Sorted(slices.Values(keys))
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			return badInstruction("keys %q, want %q", got, want)
		}
		return nil
	}
	// holdable is exactly for the kinds that may carry "hold" (which
	// sorts after their other keys).
	holdable := func(want []string) error {
		if slices.Contains(keys, "hold") {
			want = append(slices.Clip(want), "hold")
		}
		return exactly(want)
	}
	// hold reads the optional "hold" member: null, fractions, exponents,
	// strings and out-of-range numbers are refused (json.Unmarshal into an
	// int64 already refuses all but the range).
	hold := func(ms *int64) (time.Duration, error) {
		if !slices.Contains(keys, "hold") {
			return 0, nil
		}
		if ms == nil || *ms < 1 || *ms > MaxHold.Milliseconds() {
			return 0, badInstruction("hold must be an integer from 1 to %d (milliseconds)", MaxHold.Milliseconds())
		}
		return time.Duration(*ms) * time.Millisecond, nil
	}
	var in Instruction
	switch {
	case slices.Contains(keys, "headers"):
		var w wireDestination
		if err := holdable(keysDestination); err != nil {
			return in, err
		}
		if err := json.Unmarshal(obj, &w); err != nil || w.Headers == nil {
			return in, badInstruction("headers must be an object of strings and hold an integer")
		}
		h, err := hold(w.Hold)
		if err != nil {
			return in, err
		}
		in = Instruction{Kind: KindDestination, Headers: *w.Headers, Hold: h}
	case slices.Contains(keys, "host"):
		var w wireServer
		if err := exactly(keysServer); err != nil {
			return in, err
		}
		if err := json.Unmarshal(obj, &w); err != nil {
			return in, badInstruction("server fields: %v", err)
		}
		if w.EphemeralKey == nil || w.Host == nil || w.Method == nil || w.Port == nil || w.Protocol == nil || w.Target == nil {
			return in, badInstruction("null server field")
		}
		eph, err := parseX25519Hex(*w.EphemeralKey)
		if err != nil {
			return in, fmt.Errorf("%w: %w", ErrBadInstruction, err)
		}
		in = Instruction{Kind: KindServer, NextEphemeral: eph, Server: ServerTarget{
			Host: *w.Host, Port: *w.Port, Protocol: *w.Protocol, Target: *w.Target, Method: *w.Method,
		}}
	case slices.Contains(keys, "destination"):
		var w wireRelay
		want := keysRelay
		if slices.Contains(keys, "session") {
			want = keysRelaySession
		}
		if slices.Contains(keys, "new_session") {
			want = append(slices.Clip(want), "new_session")
		}
		if err := holdable(want); err != nil {
			return in, err
		}
		if err := json.Unmarshal(obj, &w); err != nil || w.Destination == nil {
			return in, badInstruction("relay fields must be strings, counter and hold integers")
		}
		h, err := hold(w.Hold)
		if err != nil {
			return in, err
		}
		next, err := parseHex32(*w.Destination)
		if err != nil {
			return in, fmt.Errorf("%w: destination: %w", ErrBadInstruction, err)
		}
		in = Instruction{Kind: KindRelay, Next: ed25519.PublicKey(next), Hold: h}
		if slices.Contains(keys, "session") {
			if w.Session == nil || w.Counter == nil {
				return in, badInstruction("null session or counter")
			}
			id, err := parseSessionID(*w.Session)
			if err != nil {
				return in, badInstruction("session: %v", err)
			}
			in.NextSession, in.NextCounter = &id, *w.Counter
		} else {
			if w.EphemeralKey == nil {
				return in, badInstruction("null ephemeral_key")
			}
			eph, err := parseX25519Hex(*w.EphemeralKey)
			if err != nil {
				return in, fmt.Errorf("%w: %w", ErrBadInstruction, err)
			}
			in.NextEphemeral = eph
		}
		if slices.Contains(keys, "new_session") {
			if w.NewSession == nil {
				return in, badInstruction("null new_session")
			}
			id, err := parseSessionID(*w.NewSession)
			if err != nil {
				return in, badInstruction("new_session: %v", err)
			}
			in.NewSession = &id
		}
	default:
		return in, badInstruction("no headers, host or destination key")
	}
	if err := in.validate(); err != nil {
		return Instruction{}, err
	}
	return in, nil
}

// parseHex32 decodes exactly 64 lowercase hex digits (DESIGN.md §3: keys
// are lowercase hex; one spelling per key keeps replay caches and logs honest).
func parseHex32(s string) ([]byte, error) {
	if len(s) != 64 || strings.ToLower(s) != s {
		return nil, fmt.Errorf("not 64 lowercase hex digits (%d characters)", len(s))
	}
	return hex.DecodeString(s)
}

func parseX25519Hex(s string) (*ecdh.PublicKey, error) {
	b, err := parseHex32(s)
	if err != nil {
		return nil, fmt.Errorf("ephemeral_key: %w", err)
	}
	return ecdh.X25519().NewPublicKey(b)
}

func (s *ServerTarget) validate() error {
	if err := checkHost(s.Host); err != nil {
		return err
	}
	if s.Port == 0 {
		return badInstruction("port 0")
	}
	if s.Protocol != "http" && s.Protocol != "https" {
		return badInstruction("protocol %q", s.Protocol)
	}
	switch s.Method {
	case "GET", "POST", "PUT", "DELETE":
	default:
		return badInstruction("method %q", s.Method)
	}
	return checkTarget(s.Target)
}

func checkHost(h string) error {
	if len(h) == 0 || len(h) > maxHost {
		return badInstruction("host of %d bytes", len(h))
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		if a, err := netip.ParseAddr(h[1 : len(h)-1]); err == nil && a.Is6() && a.Zone() == "" {
			return nil
		}
		return badInstruction("host %q", h)
	}
	if a, err := netip.ParseAddr(h); err == nil && a.Is4() {
		return nil
	}
	for _, label := range strings.Split(h, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return badInstruction("host %q", h)
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return badInstruction("host %q", h)
			}
		}
	}
	return nil
}

// checkTarget accepts an absolute path of RFC 3986 path characters with no
// query or fragment (Session's is_onion_url_target_allowed also refuses '?')
// and no dot segments, so the allow-list sees the path the server will serve.
func checkTarget(t string) error {
	if len(t) == 0 || len(t) > maxTarget || t[0] != '/' {
		return badInstruction("target must be an absolute path of at most %d bytes", maxTarget)
	}
	for _, c := range []byte(t) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("-._~%!$&'()*+,;=:@/", c) >= 0
		if !ok {
			return badInstruction("target has byte %q", c)
		}
	}
	for _, seg := range strings.Split(t, "/") {
		if seg == "." || seg == ".." {
			return badInstruction("target has a dot segment")
		}
	}
	return nil
}

func checkHeaders(h map[string]string) error {
	if len(h) > maxHeaders {
		return badInstruction("%d headers", len(h))
	}
	for k, v := range h {
		if len(k) == 0 || len(k) > maxHeaderName || len(v) > maxHeaderValue {
			return badInstruction("header %q too long or empty", k)
		}
		for _, c := range []byte(k) { // RFC 9110 token
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
				return badInstruction("header name %q", k)
			}
		}
		for _, c := range []byte(v) {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return badInstruction("control byte in header %q", k)
			}
		}
	}
	return nil
}
