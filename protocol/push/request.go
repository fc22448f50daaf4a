package push

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/hushnet/hush/protocol/strictjson"
)

// Target is the push server's one onion endpoint: every request is a POST
// of a [Request] there, answered with an [Answer].
const Target = "/hush/push/v1"

// MaxRequestSize bounds a request's JSON; a server reads no more.
const MaxRequestSize = 8 << 10

// MaxAnswerSize bounds an answer's JSON; a client reads no more.
const MaxAnswerSize = 4 << 10

// Ops, the "op" of a [Request].
const (
	OpInfo        = "info"        // the server's VAPID key; no other field
	OpRegister    = "register"    // a new subscription, signed by its management key
	OpRenew       = "renew"       // a new expiry, signed
	OpUpdate      = "update"      // a new provider target, signed
	OpUnsubscribe = "unsubscribe" // signed
	OpNotify      = "notify"      // from a node (or the device itself): proves the notify secret
)

// Providers, the "provider" of a register or update.
const (
	ProviderWebPush = "webpush"
	ProviderAPNs    = "apns"
	ProviderFCM     = "fcm"
)

// RequestSignatureLabel starts the message a management key signs.
const RequestSignatureLabel = "hush/1 push request\x00"

// Errors of [ParseRequest], [Request.Verify] and [CheckTimestamp].
var (
	// ErrBadRequest: not a request in the one encoding [Request.Marshal]
	// writes, a field missing, extra or out of range for its op.
	ErrBadRequest = errors.New("malformed push request")
	// ErrBadRequestSignature: the management signature does not verify.
	ErrBadRequestSignature = errors.New("push request signature is not valid")
	// ErrReplay: a management request's timestamp is not newer than the
	// last accepted one for its subscription, or too far from the server's
	// clock.
	ErrReplay = errors.New("push request replayed or out of time")
)

// WebPushTarget is what a browser or a UnifiedPush distributor hands an
// application (RFC 8030 endpoint; RFC 8291 keys in unpadded base64url).
type WebPushTarget struct {
	Endpoint string `json:"endpoint"`
	P256dh   string `json:"p256dh"` // the subscriber's P-256 public key, uncompressed, 65 bytes
	Auth     string `json:"auth"`   // the 16-byte authentication secret
}

type tokenTarget struct {
	Token string `json:"token"`
}

// Request is one request to the push server. Which fields an op takes is
// fixed; ParseRequest refuses a field another op takes.
//
//	info:        Op
//	register:    SubID, SecretHash, Provider + its target, MgmtKey, Expiry, TS, Sig
//	renew:       SubID, Expiry, TS, Sig
//	update:      SubID, Provider + its target, TS, Sig
//	unsubscribe: SubID, TS, Sig
//	notify:      SubID, NotifySecret, Tag, Payload
type Request struct {
	Op           string
	SubID        [32]byte
	SecretHash   [32]byte // SHA-256 of the notify secret ([SecretHash])
	NotifySecret [32]byte
	Tag          [32]byte
	Payload      []byte // PayloadSize bytes
	Provider     string
	WebPush      *WebPushTarget // for ProviderWebPush
	APNs         string         // device token, hex, for ProviderAPNs
	FCM          string         // registration token, for ProviderFCM
	MgmtKey      ed25519.PublicKey
	Expiry       time.Time // whole milliseconds
	TS           time.Time // whole milliseconds
	Sig          []byte
}

// SecretHash is what the push server keeps of a notify secret.
func SecretHash(notifySecret [32]byte) [32]byte { return sha256.Sum256(notifySecret[:]) }

type wireRequest struct {
	Op           string         `json:"op"`
	SubID        string         `json:"sub_id,omitempty"`
	SecretHash   string         `json:"secret_hash,omitempty"`
	NotifySecret string         `json:"notify_secret,omitempty"`
	Tag          string         `json:"tag,omitempty"`
	Payload      string         `json:"payload,omitempty"`
	Provider     string         `json:"provider,omitempty"`
	WebPush      *WebPushTarget `json:"webpush,omitempty"`
	APNs         *tokenTarget   `json:"apns,omitempty"`
	FCM          *tokenTarget   `json:"fcm,omitempty"`
	MgmtKey      string         `json:"mgmt_key,omitempty"`
	ExpiryMs     int64          `json:"expiry_ms,omitempty"`
	TSMs         int64          `json:"ts_ms,omitempty"`
	Sig          string         `json:"sig,omitempty"`
}

// fields lists, per op, the fields it takes.
type fieldSet uint16

const (
	fSubID fieldSet = 1 << iota
	fSecretHash
	fNotifySecret
	fTag
	fPayload
	fTarget // provider and its target
	fMgmtKey
	fExpiry
	fTS
	fSig
)

var opFields = map[string]fieldSet{
	OpInfo:        0,
	OpRegister:    fSubID | fSecretHash | fTarget | fMgmtKey | fExpiry | fTS | fSig,
	OpRenew:       fSubID | fExpiry | fTS | fSig,
	OpUpdate:      fSubID | fTarget | fTS | fSig,
	OpUnsubscribe: fSubID | fTS | fSig,
	OpNotify:      fSubID | fNotifySecret | fTag | fPayload,
}

// Signed reports whether r's op carries a management signature.
func (r *Request) Signed() bool { return opFields[r.Op]&fSig != 0 }

func (r *Request) wire(withSig bool) wireRequest {
	f := opFields[r.Op]
	w := wireRequest{Op: r.Op}
	if f&fSubID != 0 {
		w.SubID = b64.EncodeToString(r.SubID[:])
	}
	if f&fSecretHash != 0 {
		w.SecretHash = b64.EncodeToString(r.SecretHash[:])
	}
	if f&fNotifySecret != 0 {
		w.NotifySecret = b64.EncodeToString(r.NotifySecret[:])
	}
	if f&fTag != 0 {
		w.Tag = b64.EncodeToString(r.Tag[:])
	}
	if f&fPayload != 0 {
		w.Payload = b64.EncodeToString(r.Payload)
	}
	if f&fTarget != 0 {
		w.Provider = r.Provider
		switch r.Provider {
		case ProviderWebPush:
			w.WebPush = r.WebPush
		case ProviderAPNs:
			w.APNs = &tokenTarget{r.APNs}
		case ProviderFCM:
			w.FCM = &tokenTarget{r.FCM}
		}
	}
	if f&fMgmtKey != 0 {
		w.MgmtKey = b64.EncodeToString(r.MgmtKey)
	}
	if f&fExpiry != 0 {
		w.ExpiryMs = r.Expiry.UnixMilli()
	}
	if f&fTS != 0 {
		w.TSMs = r.TS.UnixMilli()
	}
	if f&fSig != 0 && withSig {
		w.Sig = b64.EncodeToString(r.Sig)
	}
	return w
}

// Marshal returns r's JSON: one object, only the fields of r's op, keys in
// a fixed order, byte fields in unpadded base64url, no whitespace.
func (r *Request) Marshal() []byte { return marshal(r.wire(true)) }

func (r *Request) signedMessage() []byte {
	return append([]byte(RequestSignatureLabel), marshal(r.wire(false))...)
}

// SignRequest signs r with its management key. For a register it first
// sets r.MgmtKey to mgmt's public key. Set r.TS (and the rest) first.
func SignRequest(r *Request, mgmt ed25519.PrivateKey) {
	if r.Op == OpRegister {
		r.MgmtKey = mgmt.Public().(ed25519.PublicKey)
	}
	r.TS = time.UnixMilli(r.TS.UnixMilli()).UTC()
	r.Expiry = time.UnixMilli(r.Expiry.UnixMilli()).UTC()
	r.Sig = ed25519.Sign(mgmt, r.signedMessage())
}

// Verify checks r's management signature with mgmt: for a register, the
// key it carries; otherwise the one registered for r.SubID. It returns
// [ErrBadRequestSignature], and [ErrBadRequest] for an op that is not
// signed.
func (r *Request) Verify(mgmt ed25519.PublicKey) error {
	if !r.Signed() {
		return fmt.Errorf("%w: op %q is not signed", ErrBadRequest, r.Op)
	}
	if len(mgmt) != ed25519.PublicKeySize || !ed25519.Verify(mgmt, r.signedMessage(), r.Sig) {
		return ErrBadRequestSignature
	}
	return nil
}

// CheckTimestamp checks a management request's timestamp ts at the
// server's time now, given the last one accepted for its subscription
// (zero for none): ts must be newer than last and within ClockSkew of now.
// It returns [ErrReplay].
func CheckTimestamp(ts, last, now time.Time) error {
	if !ts.After(last) {
		return fmt.Errorf("%w: ts_ms %d is not after the last accepted %d", ErrReplay, ts.UnixMilli(), last.UnixMilli())
	}
	if d := ts.Sub(now); d > ClockSkew || d < -ClockSkew {
		return fmt.Errorf("%w: ts_ms is %s from the server's clock", ErrReplay, d.Round(time.Second))
	}
	return nil
}

// ParseRequest parses a request and checks its fields for its op; not its
// signature ([Request.Verify]) nor its time ([CheckTimestamp]). It returns
// [ErrBadRequest].
func ParseRequest(b []byte) (*Request, error) {
	if len(b) > MaxRequestSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadRequest, len(b), MaxRequestSize)
	}
	var w wireRequest
	if err := strictjson.Decode(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	f, ok := opFields[w.Op]
	if !ok {
		return nil, fmt.Errorf("%w: unknown op %q", ErrBadRequest, w.Op)
	}
	r := &Request{Op: w.Op}
	bad := func(field string, err error) error {
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrBadRequest, field, err)
		}
		return fmt.Errorf("%w: %s", ErrBadRequest, field)
	}
	fixed := []struct {
		has  fieldSet
		name string
		s    string
		dst  []byte
	}{
		{fSubID, "sub_id", w.SubID, r.SubID[:]},
		{fSecretHash, "secret_hash", w.SecretHash, r.SecretHash[:]},
		{fNotifySecret, "notify_secret", w.NotifySecret, r.NotifySecret[:]},
		{fTag, "tag", w.Tag, r.Tag[:]},
	}
	for _, x := range fixed {
		if f&x.has != 0 {
			if err := decodeFixed(x.s, x.dst); err != nil {
				return nil, bad(x.name, err)
			}
		}
	}
	var err error
	if f&fPayload != 0 {
		if r.Payload, err = b64.DecodeString(w.Payload); err != nil {
			return nil, bad("payload", err)
		}
		if len(r.Payload) != PayloadSize {
			return nil, bad("payload", fmt.Errorf("%d bytes, want %d", len(r.Payload), PayloadSize))
		}
	}
	if f&fTarget != 0 {
		r.Provider = w.Provider
		switch {
		case w.Provider == ProviderWebPush && w.WebPush != nil:
			r.WebPush = w.WebPush
			if err := r.WebPush.Check(); err != nil {
				return nil, bad("webpush", err)
			}
		case w.Provider == ProviderAPNs && w.APNs != nil:
			r.APNs = w.APNs.Token
			if err := CheckAPNsToken(r.APNs); err != nil {
				return nil, bad("apns", err)
			}
		case w.Provider == ProviderFCM && w.FCM != nil:
			r.FCM = w.FCM.Token
			if err := CheckFCMToken(r.FCM); err != nil {
				return nil, bad("fcm", err)
			}
		default:
			return nil, bad("provider", fmt.Errorf("%q without its target", w.Provider))
		}
	}
	if f&fMgmtKey != 0 {
		if r.MgmtKey, err = b64.DecodeString(w.MgmtKey); err != nil || len(r.MgmtKey) != ed25519.PublicKeySize {
			return nil, bad("mgmt_key", err)
		}
	}
	if f&fTS != 0 {
		if w.TSMs <= 0 || w.TSMs > maxMillis {
			return nil, bad("ts_ms", nil)
		}
		r.TS = time.UnixMilli(w.TSMs).UTC()
	}
	if f&fExpiry != 0 {
		// The expiry is bounded by the request's own time, which the server
		// checks against its clock.
		if w.ExpiryMs <= w.TSMs || w.ExpiryMs-w.TSMs > MaxLifetime.Milliseconds() {
			return nil, bad("expiry_ms", fmt.Errorf("must be after ts_ms and at most %s later", MaxLifetime))
		}
		r.Expiry = time.UnixMilli(w.ExpiryMs).UTC()
	}
	if f&fSig != 0 {
		if r.Sig, err = b64.DecodeString(w.Sig); err != nil || len(r.Sig) != ed25519.SignatureSize {
			return nil, bad("sig", err)
		}
	}
	// What is left: fields of another op, and any second spelling of the
	// same request (whitespace, key order, padding). Both show as a
	// difference from the canonical bytes.
	if !bytes.Equal(r.Marshal(), b) {
		return nil, fmt.Errorf("%w: fields not of op %q, or not in canonical form", ErrBadRequest, r.Op)
	}
	return r, nil
}

// Check checks a Web Push target's form: an https URL with a host and no
// user info or fragment, at most 2,048 bytes; a P-256 uncompressed point;
// a 16-byte auth secret; keys in unpadded base64url. Whether the host is a
// public address is the server's check, after resolution, at every send.
func (t *WebPushTarget) Check() error {
	if len(t.Endpoint) > 2048 {
		return errors.New("endpoint longer than 2048 bytes")
	}
	u, err := url.Parse(t.Endpoint)
	if err != nil {
		return errors.New("endpoint is not a URL")
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return errors.New("endpoint must be an https URL with a host, no user info and no fragment")
	}
	k, err := b64.DecodeString(t.P256dh)
	if err != nil {
		return errors.New("p256dh is not unpadded base64url")
	}
	if _, err := ecdh.P256().NewPublicKey(k); err != nil || len(k) != 65 {
		return errors.New("p256dh is not an uncompressed P-256 point")
	}
	a, err := b64.DecodeString(t.Auth)
	if err != nil || len(a) != 16 {
		return errors.New("auth is not 16 bytes of unpadded base64url")
	}
	return nil
}

// CheckAPNsToken checks an APNs device token's form: 16 to 256 lowercase
// hex digits, an even number (Apple's tokens are 32 bytes today and may
// grow).
func CheckAPNsToken(s string) error {
	if len(s) < 16 || len(s) > 256 || len(s)%2 != 0 {
		return errors.New("token must be 16 to 256 hex digits")
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return errors.New("token must be lowercase hex")
		}
	}
	return nil
}

// CheckFCMToken checks an FCM registration token's form: 1 to 1,024
// characters of A-Z a-z 0-9 - _ : (what FCM issues).
func CheckFCMToken(s string) error {
	if len(s) < 1 || len(s) > 1024 {
		return errors.New("token must be 1 to 1024 characters")
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == ':') {
			return fmt.Errorf("token has a character %q outside [A-Za-z0-9_:-]", c)
		}
	}
	return nil
}
