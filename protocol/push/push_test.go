package push

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/rpc"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

// now is a fixed test time.
var now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func fill(b byte) (k [32]byte) {
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func account(b byte) *identity.Account {
	var s identity.Seed
	for i := range s {
		s[i] = b + byte(i)
	}
	return identity.FromSeed(s)
}

// serverKey is a valid X25519 public key (an account's).
func serverKey() [32]byte { return account(9).ID().PubKey() }

func mgmtKey() ed25519.PrivateKey { k := fill(0x40); return ed25519.NewKeyFromSeed(k[:]) }

func testRecord(t testing.TB) (*Record, *identity.Account) {
	t.Helper()
	acct := account(1)
	r := &Record{Server: serverKey(), SubID: fill(2), NotifySecret: fill(3), EncKey: fill(4), Namespaces: []int32{2, 0}, Expiry: now.Add(MaxLifetime)}
	if err := SignRecord(r, acct); err != nil {
		t.Fatal(err)
	}
	return r, acct
}

func TestRecordRoundTrip(t *testing.T) {
	r, acct := testRecord(t)
	got, err := ParseRecord(r.Marshal(), acct.ID(), now)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Marshal(), r.Marshal()) || got.SubID != r.SubID || got.EncKey != r.EncKey || !got.Expiry.Equal(r.Expiry) || len(got.Namespaces) != 2 || got.Namespaces[0] != 0 {
		t.Fatalf("round trip: %+v, want %+v", got, r)
	}
}

func TestParseRecordRefuses(t *testing.T) {
	r, acct := testRecord(t)
	good := string(r.Marshal())
	resign := func(f func(*Record)) string {
		c := *r
		c.Namespaces = append([]int32(nil), r.Namespaces...)
		f(&c)
		c.Sig = acct.Sign(c.signedMessage())
		return string(c.Marshal())
	}
	tests := []struct {
		name string
		data string
		acct identity.AccountID
		now  time.Time
		want error
	}{
		{"empty", "", acct.ID(), now, ErrBadRecord},
		{"not json", "hello", acct.ID(), now, ErrBadRecord},
		{"whitespace", " " + good, acct.ID(), now, ErrBadRecord},
		{"unknown key", strings.Replace(good, `{"v":1,`, `{"v":1,"x":1,`, 1), acct.ID(), now, ErrBadRecord},
		{"duplicate key", strings.Replace(good, `{"v":1,`, `{"v":1,"v":1,`, 1), acct.ID(), now, ErrBadRecord},
		{"version", strings.Replace(good, `{"v":1,`, `{"v":2,`, 1), acct.ID(), now, ErrBadRecord},
		{"key order", strings.Replace(strings.Replace(good, `{"v":1,`, `{`, 1), `"}`, `","v":1}`, 1), acct.ID(), now, ErrBadRecord},
		{"padded base64", strings.Replace(good, `","sub_id"`, `=","sub_id"`, 1), acct.ID(), now, ErrBadRecord},
		{"no namespaces", resign(func(c *Record) { c.Namespaces = []int32{} }), acct.ID(), now, ErrBadRecord},
		{"too many namespaces", resign(func(c *Record) { c.Namespaces = []int32{0, 1, 2, 3, 5, 6, 7, 8, 9} }), acct.ID(), now, ErrBadRecord},
		{"namespace 4", resign(func(c *Record) { c.Namespaces = []int32{0, 4} }), acct.ID(), now, ErrBadRecord},
		{"namespaces unsorted", resign(func(c *Record) { c.Namespaces = []int32{2, 0} }), acct.ID(), now, ErrBadRecord},
		{"namespaces repeated", resign(func(c *Record) { c.Namespaces = []int32{0, 0} }), acct.ID(), now, ErrBadRecord},
		{"namespace out of range", resign(func(c *Record) { c.Namespaces = []int32{40000} }), acct.ID(), now, ErrBadRecord},
		{"low-order server key", resign(func(c *Record) { c.Server = [32]byte{} }), acct.ID(), now, ErrBadRecord},
		{"expiry too far", resign(func(c *Record) { c.Expiry = now.Add(MaxLifetime + ClockSkew + time.Second) }), acct.ID(), now, ErrBadRecord},
		{"negative expiry", resign(func(c *Record) { c.Expiry = time.UnixMilli(-5) }), acct.ID(), now, ErrBadRecord},
		{"expired", good, acct.ID(), r.Expiry, ErrExpired},
		{"another account", good, account(7).ID(), now, ErrBadSignature},
		{"forged", resign(func(c *Record) { c.Ed25519 = account(7).Ed25519Public() }), account(7).ID(), now, ErrBadSignature},
		{"changed after signing", strings.Replace(good, `"namespaces":[0,2]`, `"namespaces":[0,3]`, 1), acct.ID(), now, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRecord([]byte(tt.data), tt.acct, tt.now)
			t.Log(err)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseRecord: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignRecordRefuses(t *testing.T) {
	r := &Record{Server: serverKey(), Namespaces: []int32{Namespace}, Expiry: now}
	if err := SignRecord(r, account(1)); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("SignRecord: %v", err)
	}
}

func TestPayload(t *testing.T) {
	key := fill(5)
	hash := rpc.MessageHash(account(1).ID(), 0, []byte("hello"))
	tests := []struct {
		name string
		in   Inner
		want Inner
		err  error
	}{
		{"one", Inner{0, hash, 1}, Inner{0, hash, 1}, nil},
		{"negative namespace", Inner{-10, hash, 3}, Inner{-10, hash, 3}, nil},
		{"count clamped", Inner{2, hash, 1 << 40}, Inner{2, hash, MaxCount}, nil},
		{"no count", Inner{0, hash, 0}, Inner{}, ErrBadPayload},
		{"bad hash", Inner{0, "abc", 1}, Inner{}, ErrBadPayload},
		{"bad namespace", Inner{1 << 20, hash, 1}, Inner{}, ErrBadPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want.Count > MaxCount || strings.HasPrefix(tt.name, "count") && ^uint(0)>>32 == 0 {
				t.Skip("32-bit int")
			}
			b, err := SealPayload(key, tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("SealPayload: %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if len(b) != PayloadSize {
				t.Fatalf("%d bytes, want %d", len(b), PayloadSize)
			}
			got, err := OpenPayload(key, b)
			if err != nil || got != tt.want {
				t.Fatalf("OpenPayload: %+v, %v; want %+v", got, err, tt.want)
			}
			if _, err := OpenPayload(fill(6), b); !errors.Is(err, ErrBadPayload) {
				t.Fatalf("wrong key: %v", err)
			}
			b[len(b)-1] ^= 1
			if _, err := OpenPayload(key, b); !errors.Is(err, ErrBadPayload) {
				t.Fatalf("flipped bit: %v", err)
			}
			if _, err := OpenPayload(key, b[:len(b)-1]); !errors.Is(err, ErrBadPayload) {
				t.Fatalf("short: %v", err)
			}
		})
	}
	if PayloadSize != 296 {
		t.Fatalf("PayloadSize %d", PayloadSize)
	}
}

func TestTagDiffers(t *testing.T) {
	a, b := Tag(fill(1), "x"), Tag(fill(1), "y")
	if a == b || a != Tag(fill(1), "x") || a == Tag(fill(2), "x") {
		t.Fatal("tag does not depend on exactly key and hash")
	}
}

// testRequests returns one signed request of each op.
func testRequests() map[string]*Request {
	ts := now
	m := mgmtKey()
	rs := map[string]*Request{
		OpInfo:         {Op: OpInfo},
		OpRegister:     {Op: OpRegister, SubID: fill(2), SecretHash: SecretHash(fill(3)), Provider: ProviderWebPush, WebPush: testWebPush(), Expiry: ts.Add(MaxLifetime), TS: ts},
		OpRenew:        {Op: OpRenew, SubID: fill(2), Expiry: ts.Add(time.Hour), TS: ts},
		OpUpdate:       {Op: OpUpdate, SubID: fill(2), Provider: ProviderAPNs, APNs: strings.Repeat("ab", 32), TS: ts},
		OpUnsubscribe:  {Op: OpUnsubscribe, SubID: fill(2), TS: ts},
		OpNotify:       {Op: OpNotify, SubID: fill(2), NotifySecret: fill(3), Tag: Tag(fill(4), "h"), Payload: bytes.Repeat([]byte{7}, PayloadSize)},
		"register-fcm": {Op: OpRegister, SubID: fill(8), SecretHash: SecretHash(fill(3)), Provider: ProviderFCM, FCM: "dXk:APA91b-_x", Expiry: ts.Add(time.Hour), TS: ts},
	}
	for _, r := range rs {
		if r.Signed() {
			SignRequest(r, m)
		}
	}
	return rs
}

func testWebPush() *WebPushTarget {
	// RFC 8291 Appendix A's user agent keys.
	return &WebPushTarget{
		Endpoint: "https://push.example.net/push/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV?a=1&b=2",
		P256dh:   "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
		Auth:     "BTBZMqHH6r4Tts7J_aSIgg",
	}
}

func TestRequestRoundTrip(t *testing.T) {
	for name, r := range testRequests() {
		t.Run(name, func(t *testing.T) {
			b := r.Marshal()
			got, err := ParseRequest(b)
			if err != nil {
				t.Fatalf("ParseRequest(%s): %v", b, err)
			}
			if !bytes.Equal(got.Marshal(), b) {
				t.Fatalf("re-encodes to %s", got.Marshal())
			}
			if r.Signed() {
				if err := got.Verify(mgmtKey().Public().(ed25519.PublicKey)); err != nil {
					t.Fatal(err)
				}
				other := fill(0x41)
				if err := got.Verify(ed25519.NewKeyFromSeed(other[:]).Public().(ed25519.PublicKey)); !errors.Is(err, ErrBadRequestSignature) {
					t.Fatalf("other key: %v", err)
				}
			} else if err := got.Verify(mgmtKey().Public().(ed25519.PublicKey)); !errors.Is(err, ErrBadRequest) {
				t.Fatalf("Verify of an unsigned op: %v", err)
			}
		})
	}
}

func TestParseRequestRefuses(t *testing.T) {
	rs := testRequests()
	reg := string(rs[OpRegister].Marshal())
	notify := string(rs[OpNotify].Marshal())
	renew := string(rs[OpRenew].Marshal())
	m := mgmtKey()
	signed := func(r Request) string { SignRequest(&r, m); return string(r.Marshal()) }
	base := *rs[OpRegister]
	withWP := func(f func(*WebPushTarget)) string {
		r := base
		wp := *r.WebPush
		f(&wp)
		r.WebPush = &wp
		return signed(r)
	}
	tests := []struct{ name, data string }{
		{"empty", ""},
		{"array", "[]"},
		{"unknown op", `{"op":"delete"}`},
		{"info with sub_id", `{"op":"info","sub_id":"` + b64.EncodeToString(make([]byte, 32)) + `"}`},
		{"notify with ts", strings.Replace(notify, `}`, `,"ts_ms":5}`, 1)},
		{"notify short payload", strings.Replace(notify, `"payload":"`, `"payload":"AAAA`, 1)},
		{"notify no secret", strings.Replace(notify, `"notify_secret"`, `"notify_secreT"`, 1)},
		{"case-folded key", strings.Replace(reg, `"op"`, `"OP"`, 1)},
		{"register without target", strings.Replace(reg, `"provider":"webpush"`, `"provider":"apns"`, 1)},
		{"register http endpoint", withWP(func(w *WebPushTarget) { w.Endpoint = "http://push.example.net/x" })},
		{"register endpoint user", withWP(func(w *WebPushTarget) { w.Endpoint = "https://u:p@push.example.net/x" })},
		{"register endpoint fragment", withWP(func(w *WebPushTarget) { w.Endpoint = "https://push.example.net/x#f" })},
		{"register bad p256dh", withWP(func(w *WebPushTarget) { w.P256dh = b64.EncodeToString(make([]byte, 65)) })},
		{"register padded auth", withWP(func(w *WebPushTarget) { w.Auth += "==" })},
		{"register short auth", withWP(func(w *WebPushTarget) { w.Auth = "AAAA" })},
		{"register expiry too far", func() string { r := base; r.Expiry = r.TS.Add(MaxLifetime + time.Millisecond); return signed(r) }()},
		{"register expiry before ts", func() string { r := base; r.Expiry = r.TS; return signed(r) }()},
		{"apns uppercase", func() string {
			r := base
			r.Provider, r.WebPush, r.APNs = ProviderAPNs, nil, strings.Repeat("AB", 32)
			return signed(r)
		}()},
		{"fcm bad char", func() string { r := base; r.Provider, r.WebPush, r.FCM = ProviderFCM, nil, "a b"; return signed(r) }()},
		{"two targets", strings.Replace(reg, `"mgmt_key"`, `"fcm":{"token":"x"},"mgmt_key"`, 1)},
		{"renew short sig", strings.Replace(renew, `"sig":"`, `"sig":"AAAA`, 1)[:len(renew)-10] + `"}`},
		{"renew whitespace", strings.Replace(renew, `,`, `, `, 1)},
		{"too large", `{"op":"info"` + strings.Repeat(" ", MaxRequestSize) + `}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(tt.data))
			t.Log(err)
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("ParseRequest(%s) = %+v, %v; want ErrBadRequest", tt.data, r, err)
			}
		})
	}
}

func TestRequestSignatureCoversFields(t *testing.T) {
	r := testRequests()[OpRenew]
	r.Expiry = r.Expiry.Add(time.Millisecond)
	got, err := ParseRequest(r.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(mgmtKey().Public().(ed25519.PublicKey)); !errors.Is(err, ErrBadRequestSignature) {
		t.Fatalf("changed expiry verifies: %v", err)
	}
}

func TestCheckTimestamp(t *testing.T) {
	tests := []struct {
		name     string
		ts, last time.Time
		wantErr  bool
	}{
		{"first", now, time.Time{}, false},
		{"newer", now, now.Add(-time.Millisecond), false},
		{"same as last (a replay)", now, now, true},
		{"older", now.Add(-time.Second), now, true},
		{"too old", now.Add(-ClockSkew - time.Second), time.Time{}, true},
		{"too new", now.Add(ClockSkew + time.Second), time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTimestamp(tt.ts, tt.last, now)
			if (err != nil) != tt.wantErr || err != nil && !errors.Is(err, ErrReplay) {
				t.Fatalf("CheckTimestamp: %v", err)
			}
		})
	}
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		name string
		data string
		code string
		bad  bool
	}{
		{"ok", `{"ok":true,"vapid_public_key":"x"}`, "", false},
		{"error", `{"error":"rate_limited","message":"slow down","retry_after_ms":1500}`, CodeRateLimited, false},
		{"both", `{"ok":true,"error":"gone"}`, "", true},
		{"neither", `{}`, "", true},
		{"unknown code", `{"error":"teapot"}`, "", true},
		{"unknown key", `{"ok":true,"extra":1}`, "", true},
		{"negative retry", `{"error":"rate_limited","retry_after_ms":-1}`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAnswer([]byte(tt.data))
			if tt.bad {
				if !errors.Is(err, ErrBadAnswer) {
					t.Fatalf("ParseAnswer: %+v, %v", a, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var pe *Error
			if tt.code == "" {
				if a.Err() != nil {
					t.Fatal(a.Err())
				}
			} else if !errors.As(a.Err(), &pe) || pe.Code != tt.code || pe.RetryAfter != 1500*time.Millisecond {
				t.Fatalf("Err: %v", a.Err())
			}
			if b, err := ParseAnswer(a.Marshal()); err != nil || *b != *a {
				t.Fatalf("round trip: %+v, %v", b, err)
			}
		})
	}
	for code, st := range codeStatus {
		if Status(code) != st || st < 400 {
			t.Fatalf("Status(%s)", code)
		}
	}
}

// vectors is testdata/vectors.json: fixed inputs and the bytes they make,
// so that another implementation (the push server, a node in another
// language) can check its encoding.
type vectors struct {
	AccountSeed   string            `json:"account_seed_hex"`
	MgmtSeed      string            `json:"mgmt_seed_hex"`
	NowMs         int64             `json:"now_ms"`
	Record        string            `json:"record"`
	EncKey        string            `json:"enc_key_hex"`
	TagHash       string            `json:"tag_message_hash"`
	Tag           string            `json:"tag_hex"`
	Payload       string            `json:"payload_base64url"`
	PayloadInner  Inner             `json:"payload_inner"`
	Requests      map[string]string `json:"requests"`
	NotifySecret  string            `json:"notify_secret_hex"`
	SecretHashHex string            `json:"secret_hash_hex"`
}

func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	r, acct := testRecord(t)
	seed := acct.Seed()
	ms := mgmtKey().Seed()
	key := fill(4)
	hash := rpc.MessageHash(acct.ID(), 0, []byte("vector"))
	tag := Tag(key, hash)
	want := vectors{
		AccountSeed: hex.EncodeToString(seed[:]), MgmtSeed: hex.EncodeToString(ms), NowMs: now.UnixMilli(),
		Record: string(r.Marshal()), EncKey: hex.EncodeToString(key[:]), TagHash: hash, Tag: hex.EncodeToString(tag[:]),
		PayloadInner: Inner{0, hash, 3}, Requests: map[string]string{},
	}
	ns := fill(3)
	want.NotifySecret = hex.EncodeToString(ns[:])
	sh := SecretHash(fill(3))
	want.SecretHashHex = hex.EncodeToString(sh[:])
	for name, rq := range testRequests() {
		want.Requests[name] = string(rq.Marshal())
	}
	if *update {
		p, err := SealPayload(key, want.PayloadInner)
		if err != nil {
			t.Fatal(err)
		}
		want.Payload = base64.RawURLEncoding.EncodeToString(p)
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
	want.Payload = got.Payload // random nonce: checked by opening it
	wb, _ := json.Marshal(want)
	gb, _ := json.Marshal(got)
	if !bytes.Equal(wb, gb) {
		t.Fatalf("vectors differ from what the code makes (run with -update if the format changed on purpose):\n%s\n%s", gb, wb)
	}
	if _, err := ParseRecord([]byte(got.Record), acct.ID(), now); err != nil {
		t.Fatal(err)
	}
	p, err := base64.RawURLEncoding.DecodeString(got.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if in, err := OpenPayload(key, p); err != nil || in != got.PayloadInner {
		t.Fatalf("payload vector opens to %+v, %v", in, err)
	}
	for name, s := range got.Requests {
		if _, err := ParseRequest([]byte(s)); err != nil {
			t.Fatalf("request %s: %v", name, err)
		}
	}
}

// keySigner is a bare Ed25519 key as a GroupSigner (a member key).
type keySigner struct{ priv ed25519.PrivateKey }

func (k keySigner) Ed25519Public() identity.Ed25519PublicKey {
	return identity.Ed25519PublicKeyOf(k.priv)
}
func (k keySigner) Sign(m []byte) []byte { return ed25519.Sign(k.priv, m) }

// groupID returns a random 03 ID (no key check needed here).
func groupID() identity.AccountID {
	var id identity.AccountID
	id[0] = 0x03
	_, priv, _ := ed25519.GenerateKey(nil)
	copy(id[1:], identity.Ed25519PublicKeyOf(priv).Bytes())
	return id
}

// TestGroupRecord: a record signed by a member key for a group parses for
// that group only: not for another group, not as an account's record,
// and an account's record does not parse as a group's.
func TestGroupRecord(t *testing.T) {
	now := time.Now()
	_, priv, _ := ed25519.GenerateKey(nil)
	member := keySigner{priv}
	g, other := groupID(), groupID()
	r := &Record{Namespaces: []int32{11}, Expiry: now.Add(time.Hour)}
	r.Server[0] = 9
	if err := SignGroupRecord(r, g, member); err != nil {
		t.Fatal(err)
	}
	got, err := ParseRecord(r.Marshal(), g, now)
	if err != nil || !got.Ed25519.Equal(member.Ed25519Public()) {
		t.Fatalf("the group's own record: %v", err)
	}
	if _, err := ParseRecord(r.Marshal(), other, now); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("for another group: %v, want %v", err, ErrBadSignature)
	}
	acct := identity.NewAccount()
	if _, err := ParseRecord(r.Marshal(), acct.ID(), now); err == nil {
		t.Fatal("a group's record parsed as an account's")
	}
	ar := &Record{Namespaces: []int32{0}, Expiry: now.Add(time.Hour)}
	ar.Server[0] = 9
	if err := SignRecord(ar, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRecord(ar.Marshal(), g, now); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("an account's record as a group's: %v, want %v", err, ErrBadSignature)
	}
	if err := SignGroupRecord(&Record{Namespaces: []int32{11}, Expiry: now.Add(time.Hour)}, acct.ID(), member); err == nil {
		t.Fatal("SignGroupRecord took an account's ID")
	}
}
