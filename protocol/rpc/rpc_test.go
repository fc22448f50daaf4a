package rpc

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
)

// TestMessageHashSession checks the hash against session-storage-server's
// own vector (unit_test/service_node.cpp, "service nodes - message hashing").
func TestMessageHashSession(t *testing.T) {
	var id identity.AccountID
	hex.Decode(id[:], []byte("05ffba630924aa1224bb930dde21c0d11bf004608f2812217f8ac812d6c7e3ad48"))
	data, err := base64.StdEncoding.DecodeString("CAES1gIKA1BVVBIPL2FwaS92MS9tZXNzYWdlGrsCCAYovfqZv4YvQq8CVwutUBbhRzZw80TvR6uTYMKg9DSag" +
		"rtpeEpY31L7VxawfS8aSya0SiDa4J025SkjP13YX8g5pxgQ8Z6hgfNArMqr/tSijJ9miVKVDJ63YWE85O8kyW" +
		"F8tdtZR5j0Vxb+JH5U8Rg1bp7ftKk3OSf7JJMcrUUrDnctQHe540zJ2OTDJ03DfubkX5NmKqEu5nhXGxeeDv3" +
		"mTiL63fjtCvZYcikfjf6Nh1AX++HTgJ9SGoEIMastGUorFrmmXb2sbjHxNiJn0Radj/VzcA9VxYwBW5+AbGQ2" +
		"d9+vvm7X+8vh+jIenJfjxf+8CWER+9adNfb4YUH07I+godNCV0O0J05gzqfKdT7J8MBZzFBtKrbk8oCagPpTs" +
		"q/wZyYFKFKKD+q+zh704dYBILvs5yXUA96pIAA=")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := MessageHash(id, 0, data), "4sMyAuaZlMwww3oFvfhazfw7ASx/7TDtO+TVc8aAjHs"; got != want {
		t.Fatalf("hash = %s, want %s", got, want)
	}
	if !ValidHash(MessageHash(id, 0, data)) {
		t.Fatal("own hash not valid")
	}
	if MessageHash(id, 1, data) == MessageHash(id, 0, data) || MessageHash(id, -1, data) == MessageHash(id, 1, data) {
		t.Fatal("namespace does not change the hash")
	}
}

func TestSigStrings(t *testing.T) {
	ts := time.UnixMilli(1700000000123)
	st := time.UnixMilli(1700000000999) // a request's signed time
	ns5, ns0 := int32(5), int32(0)
	h := []string{strings.Repeat("A", 43), strings.Repeat("B", 43)}
	pre := "hush/1\x07testnet"
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"store ns0", SigStore("testnet", 0, ts), pre + "store1700000000123"},
		{"store ns-12", SigStore("testnet", -12, ts), pre + "store-121700000000123"},
		{"retrieve ns5", SigRetrieve("testnet", 5, ts), pre + "retrieve51700000000123"},
		// hush's own format for the methods Session signs without a
		// request time: "method:" sig timestamp ":" fields, ':' between.
		{"delete", SigDelete("testnet", st, h), pre + "delete:1700000000999:" + h[0] + h[1]},
		{"delete_all all", SigDeleteAll("testnet", nil, ts), pre + "delete_allall1700000000123"},
		{"delete_all 0", SigDeleteAll("testnet", &ns0, ts), pre + "delete_all1700000000123"},
		{"delete_before 5", SigDeleteBefore("testnet", st, &ns5, ts), pre + "delete_before:1700000000999:5:1700000000123"},
		{"delete_before 0", SigDeleteBefore("testnet", st, &ns0, ts), pre + "delete_before:1700000000999:0:1700000000123"},
		{"delete_before all", SigDeleteBefore("testnet", st, nil, ts), pre + "delete_before:1700000000999:all:1700000000123"},
		{"expire shorten", SigExpire("testnet", st, ExpireShorten, ts, h[:1]), pre + "expire:1700000000999:shorten:1700000000123:" + h[0]},
		{"expire plain", SigExpire("testnet", st, ExpireAny, ts, h[:1]), pre + "expire:1700000000999::1700000000123:" + h[0]},
		{"expire_all all", SigExpireAll("testnet", st, nil, ts), pre + "expire_all:1700000000999:all:1700000000123"},
		{"expire_all 0", SigExpireAll("testnet", st, &ns0, ts), pre + "expire_all:1700000000999:0:1700000000123"},
		{"get_expiries", SigGetExpiries("testnet", ts, h), pre + "get_expiries1700000000123" + h[0] + h[1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
	if string(SigStore("a", 0, ts)) == string(SigStore("b", 0, ts)) {
		t.Fatal("network ID not in signed string")
	}
}

// signedParams builds valid params for acct, as a client would.
func signedParams(acct *identity.Account, extra map[string]any, msg []byte) json.RawMessage {
	m := map[string]any{
		"pubkey":         acct.ID().String(),
		"pubkey_ed25519": acct.Ed25519Public().String(),
		"signature":      base64.StdEncoding.EncodeToString(acct.Sign(msg)),
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return b
}

func codeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestParseStore(t *testing.T) {
	acct, other := identity.NewAccount(), identity.NewAccount()
	ts := time.UnixMilli(1700000000000)
	sig := SigStore("n", 3, ts)
	data := base64.StdEncoding.EncodeToString([]byte("hello"))
	big := base64.StdEncoding.EncodeToString(make([]byte, MaxDataSize+1))
	max := base64.StdEncoding.EncodeToString(make([]byte, MaxDataSize))
	base := map[string]any{"namespace": 3, "data": data, "ttl": 60000, "timestamp": ts.UnixMilli()}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name   string
		params json.RawMessage
		want   Code
	}{
		{"signed ok", signedParams(acct, with(), sig), ""},
		{"signature over other bytes", signedParams(acct, with(), SigStore("n", 3, ts.Add(time.Millisecond))), CodeBadSignature},
		{"signed for another network", signedParams(acct, with(), SigStore("m", 3, ts)), CodeBadSignature},
		{"small-order ed key", signedParams(acct, with("pubkey_ed25519", "0100000000000000000000000000000000000000000000000000000000000000"), sig), CodeBadPubkey},
		{"public unsigned ok", json.RawMessage(fmt.Sprintf(`{"pubkey":%q,"data":%q,"ttl":10000,"timestamp":1}`, acct.ID(), data)), ""},
		{"max data", signedParams(acct, with("data", max), sig), ""},
		{"private unsigned", json.RawMessage(fmt.Sprintf(`{"pubkey":%q,"namespace":3,"data":%q,"ttl":10000,"timestamp":1}`, acct.ID(), data)), CodeMissingField},
		{"not an object", json.RawMessage(`[1]`), CodeBadJSON},
		{"malformed", json.RawMessage(`{"pubkey":`), CodeBadJSON},
		{"trailing", json.RawMessage(`{} {}`), CodeBadJSON},
		{"unknown field", signedParams(acct, with("bogus", 1), sig), CodeBadField},
		{"ttl string", signedParams(acct, with("ttl", "60000"), sig), CodeBadField},
		{"ttl too short", signedParams(acct, with("ttl", 9999), sig), CodeBadTTL},
		{"ttl 30d private ok", signedParams(acct, with("ttl", int64(MaxTTLPrivate/time.Millisecond)), sig), ""},
		{"ttl 30d public", signedParams(acct, with("namespace", 0, "ttl", int64(MaxTTLPrivate/time.Millisecond)), SigStore("n", 0, ts)), CodeBadTTL},
		{"ttl missing", signedParams(acct, with("ttl", nil), sig), CodeMissingField},
		{"data missing", signedParams(acct, with("data", nil), sig), CodeMissingField},
		{"bad base64", signedParams(acct, with("data", "!!!"), sig), CodeBadBase64},
		{"data too big", signedParams(acct, with("data", big), sig), CodeTooLarge},
		{"namespace out of range", signedParams(acct, with("namespace", 40000), sig), CodeBadField},
		{"namespace beyond int32", signedParams(acct, with("namespace", 1<<40), sig), CodeBadField},
		{"timestamp negative", signedParams(acct, with("timestamp", -1), sig), CodeBadField},
		{"bad pubkey", signedParams(acct, with("pubkey", "05zz"), sig), CodeBadPubkey},
		{"other's ed key", signedParams(acct, with("pubkey_ed25519", other.Ed25519Public().String()), sig), CodeKeyMismatch},
		{"pubkey not 05", signedParams(acct, with("pubkey", "04"+acct.ID().String()[2:]), sig), CodeBadPubkey},
		{"bad ed key", signedParams(acct, with("pubkey_ed25519", strings.Repeat("g", 64)), sig), CodeBadPubkey},
		{"ed key missing", signedParams(acct, with("pubkey_ed25519", nil), sig), CodeMissingField},
		{"short signature", signedParams(acct, with("signature", "AAAA"), sig), CodeBadField},
		{"signature not base64", signedParams(acct, with("signature", "*"), sig), CodeBadBase64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseStore(tt.params)
			if err == nil && r.Auth != nil {
				err = r.Auth.Verify(r.SigMessage("n"), nil)
			}
			if got := codeOf(err); got != tt.want {
				t.Fatalf("code = %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestStoreCheckTime(t *testing.T) {
	now := time.UnixMilli(1700000000000)
	tests := []struct {
		name      string
		ts, sigTS time.Duration
		ttl       time.Duration
		signed    bool
		want      Code
	}{
		{"now", 0, 0, time.Minute, true, ""},
		{"deposit 10s ahead", 10 * time.Second, 0, time.Minute, false, ""},
		{"deposit 11s ahead", 11 * time.Second, 0, time.Minute, false, CodeBadTimestamp},
		{"already expired", -time.Hour, 0, time.Minute, false, CodeBadTimestamp},
		{"sig 60s behind", 0, -60 * time.Second, time.Minute, true, ""},
		{"sig 61s behind", 0, -61 * time.Second, time.Minute, true, CodeClockSkew},
		{"sig 61s ahead", 0, 61 * time.Second, time.Minute, true, CodeClockSkew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Store{Timestamp: now.Add(tt.ts), TTL: tt.ttl, SigTimestamp: now.Add(tt.sigTS)}
			if tt.signed {
				r.Auth = &Auth{}
			}
			if got := codeOf(r.CheckTime(now)); got != tt.want {
				t.Fatalf("code = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseRetrieveLimits(t *testing.T) {
	acct := identity.NewAccount()
	ts := time.UnixMilli(1700000000000)
	sig := SigRetrieve("n", 0, ts)
	tests := []struct {
		name              string
		extra             map[string]any
		wantCount, wantSz int
		want              Code
	}{
		{"defaults", nil, RetrieveMaxCount, RetrieveMaxSize / 5, ""},
		{"count only", map[string]any{"max_count": 7}, 7, RetrieveMaxSize, ""},
		{"size -1", map[string]any{"max_size": -1}, RetrieveMaxCount, RetrieveMaxSize, ""},
		{"size huge", map[string]any{"max_size": 1 << 40}, RetrieveMaxCount, RetrieveMaxSize, ""},
		{"size min int", map[string]any{"max_size": -(1 << 62)}, RetrieveMaxCount, 1, ""},
		{"negative count", map[string]any{"max_count": -1}, 0, 0, CodeBadField},
		{"half cursor", map[string]any{"after_timestamp": 5}, 0, 0, CodeMissingField},
		{"bad cursor hash", map[string]any{"after_timestamp": 5, "after_hash": "x"}, 0, 0, CodeBadField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := map[string]any{"timestamp": ts.UnixMilli()}
			for k, v := range tt.extra {
				extra[k] = v
			}
			r, err := ParseRetrieve(signedParams(acct, extra, sig))
			if got := codeOf(err); got != tt.want {
				t.Fatalf("code = %q (%v), want %q", got, err, tt.want)
			}
			if err != nil {
				return
			}
			if r.MaxCount != tt.wantCount || r.MaxSize != tt.wantSz {
				t.Fatalf("count, size = %d, %d; want %d, %d", r.MaxCount, r.MaxSize, tt.wantCount, tt.wantSz)
			}
			if err := r.Auth.Verify(r.SigMessage("n"), nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseBatch(t *testing.T) {
	sub := `{"method":"info"}`
	many := "[" + strings.TrimSuffix(strings.Repeat(sub+",", MaxBatch+1), ",") + "]"
	tests := []struct {
		name, params string
		want         Code
	}{
		{"ok", `{"requests":[` + sub + `]}`, ""},
		{"empty", `{"requests":[]}`, CodeBadField},
		{"missing", `{}`, CodeMissingField},
		{"too many", `{"requests":` + many + `}`, CodeTooLarge},
		{"nested", `{"requests":[{"method":"batch","params":{}}]}`, CodeUnknownMethod},
		{"sub not object", `{"requests":[3]}`, CodeBadJSON},
		{"sub no method", `{"requests":[{"params":{}}]}`, CodeMissingField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBatch(json.RawMessage(tt.params))
			if got := codeOf(err); got != tt.want {
				t.Fatalf("code = %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestNamespaceVar(t *testing.T) {
	tests := []struct {
		name, raw string
		all       bool
		ns        int32
		want      Code
	}{
		{"omitted", ``, false, 0, ""},
		{"all", `"all"`, true, 0, ""},
		{"number", `-7`, false, -7, ""},
		{"other string", `"some"`, false, 0, CodeBadField},
		{"out of range", `70000`, false, 0, CodeBadField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, err := parseNamespaceVar(json.RawMessage(tt.raw))
			if got := codeOf(err); got != tt.want {
				t.Fatalf("code = %q, want %q", got, tt.want)
			}
			if err == nil && ((ns == nil) != tt.all || (ns != nil && *ns != tt.ns)) {
				t.Fatalf("ns = %v", ns)
			}
		})
	}
}

func TestCodeStatusIs4xxForClientErrors(t *testing.T) {
	for _, c := range []Code{CodeBadJSON, CodeMissingField, CodeBadField, CodeBadBase64, CodeBadPubkey, CodeTooLarge,
		CodeUnknownMethod, CodeKeyMismatch, CodeBadSignature, CodeReplayed, CodeClockSkew, CodeBadTimestamp, CodeBadTTL,
		CodeWrongSwarm, CodeRateLimited, CodeQuota, CodeMethodNotPost} {
		if s := c.Status(); s < 400 || s > 499 {
			t.Errorf("%s → %d", c, s)
		}
	}
}

// TestParseRetrieveWait: wait is whole milliseconds, 0…MaxWait; anything
// else is a clear bad_field, and a valid one survives Params and
// ParseDraft unchanged.
func TestParseRetrieveWait(t *testing.T) {
	acct := identity.NewAccount()
	ts := time.UnixMilli(1700000000000)
	sig := SigRetrieve("n", 0, ts)
	tests := []struct {
		name string
		wait any
		want time.Duration
		code Code
	}{
		{"absent", nil, 0, ""},
		{"zero", 0, 0, ""},
		{"one ms", 1, time.Millisecond, ""},
		{"max", MaxWait.Milliseconds(), MaxWait, ""},
		{"past max", MaxWait.Milliseconds() + 1, 0, CodeBadField},
		{"huge", int64(1) << 62, 0, CodeBadField},
		{"negative", -1, 0, CodeBadField},
		{"fraction", 1.5, 0, CodeBadField},
		{"string", "1000", 0, CodeBadField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := map[string]any{"timestamp": ts.UnixMilli()}
			if tt.wait != nil {
				extra["wait"] = tt.wait
			}
			r, err := ParseRetrieve(signedParams(acct, extra, sig))
			if got := codeOf(err); got != tt.code {
				if tt.code == CodeBadField && got == CodeBadJSON {
					return // a wrong JSON type is refused as the decoder words it
				}
				t.Fatalf("code = %q (%v), want %q", got, err, tt.code)
			}
			if err != nil {
				return
			}
			if r.Wait != tt.want {
				t.Fatalf("wait = %v, want %v", r.Wait, tt.want)
			}
			again, err := ParseRetrieve(r.Params())
			if err != nil || again.Wait != tt.want {
				t.Fatalf("after Params: %v, %v; want wait %v", again, err, tt.want)
			}
			draft, err := ParseDraft(MethodRetrieve, r.Params(), acct.ID(), ts)
			if err != nil || draft.(*Retrieve).Wait != tt.want {
				t.Fatalf("draft: %v, %v; want wait %v", draft, err, tt.want)
			}
		})
	}
}

func TestHoldFullIsRetryable(t *testing.T) {
	if s := CodeHoldFull.Status(); s != 503 {
		t.Fatalf("hold_full → %d, want 503", s)
	}
}

// TestParseRetrieveKnown: known is a list of at most MaxKnown message
// hashes; anything else is refused with a 4xx code, and a valid list
// survives Params and ParseDraft unchanged.
func TestParseRetrieveKnown(t *testing.T) {
	acct := identity.NewAccount()
	ts := time.UnixMilli(1700000000000)
	sig := SigRetrieve("n", 0, ts)
	h := MessageHash(acct.ID(), 0, []byte("seen"))
	many := make([]string, MaxKnown)
	for i := range many {
		many[i] = MessageHash(acct.ID(), 0, fmt.Append(nil, i))
	}
	tests := []struct {
		name  string
		known any
		want  int
		code  Code
	}{
		{"absent", nil, 0, ""},
		{"empty", []string{}, 0, ""},
		{"one", []string{h}, 1, ""},
		{"max", many, MaxKnown, ""},
		{"past max", append(slices.Clone(many), h), 0, CodeTooLarge},
		{"not a hash", []string{"abc"}, 0, CodeBadField},
		{"padded hash", []string{h + "="}, 0, CodeBadField},
		{"not a list", h, 0, CodeBadField},
		{"numbers", []int{1}, 0, CodeBadField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := map[string]any{"timestamp": ts.UnixMilli()}
			if tt.known != nil {
				extra["known"] = tt.known
			}
			r, err := ParseRetrieve(signedParams(acct, extra, sig))
			if got := codeOf(err); got != tt.code {
				if tt.code == CodeBadField && got == CodeBadJSON {
					return // a wrong JSON type is refused as the decoder words it
				}
				t.Fatalf("code = %q (%v), want %q", got, err, tt.code)
			}
			if err != nil {
				return
			}
			if len(r.Known) != tt.want {
				t.Fatalf("known = %d hashes, want %d", len(r.Known), tt.want)
			}
			again, err := ParseRetrieve(r.Params())
			if err != nil || !slices.Equal(again.Known, r.Known) {
				t.Fatalf("after Params: %v, %v", again, err)
			}
			draft, err := ParseDraft(MethodRetrieve, r.Params(), acct.ID(), ts)
			if err != nil || !slices.Equal(draft.(*Retrieve).Known, r.Known) {
				t.Fatalf("draft: %v, %v", draft, err)
			}
		})
	}
}
