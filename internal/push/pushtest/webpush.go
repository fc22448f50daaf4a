package pushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// WebPushReceiver is a push service and user agent in one: it hands out
// subscriptions (endpoint, p256dh, auth) as a browser or UnifiedPush
// distributor would, accepts push messages to them as RFC 8030 §5
// describes, checks the VAPID authorization (RFC 8292) and decrypts the
// body with the subscription's keys (RFC 8291, RFC 8188) as the user
// agent does. Every accepted push is sent on Pushes; every refused request
// on Refused with the reason.
type WebPushReceiver struct {
	// URL is the origin (https://localhost:port).
	URL     string
	Pushes  chan Push
	Refused chan string

	conns atomic.Int64 // connections opened to it

	mu    sync.Mutex // guards subs, vapid
	subs  map[string]*webPushSub
	vapid []byte
}

// Push is one delivered message.
type Push struct {
	// Endpoint is the subscription it was sent to.
	Endpoint string
	// Payload is the decrypted message (for APNs and FCM, the decoded
	// "hush" field).
	Payload []byte
	Header  http.Header
}

// WebPushSubscription is what a user agent hands an application.
type WebPushSubscription struct {
	Endpoint, P256dh, Auth string
}

type webPushSub struct {
	key  *ecdh.PrivateKey
	auth []byte
	gone bool
}

// StartWebPush starts a receiver with a certificate of ca.
func StartWebPush(t testing.TB, ca *CA) *WebPushReceiver {
	t.Helper()
	r := &WebPushReceiver{Pushes: make(chan Push, 256), Refused: make(chan string, 256), subs: map[string]*webPushSub{}}
	s := serveTLS(t, ca, r, &r.conns)
	// Endpoints name localhost rather than 127.0.0.1, as real ones name
	// hosts: a privacy test can then look for IP addresses in what the
	// push server keeps without finding the endpoints it must keep.
	r.URL = strings.Replace(s.URL, "127.0.0.1", "localhost", 1)
	return r
}

// Subscribe makes a new subscription with fresh keys.
func (r *WebPushReceiver) Subscribe(t testing.TB) WebPushSubscription {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	id := make([]byte, 16)
	rand.Read(id)
	path := "/push/" + b64.EncodeToString(id)
	r.mu.Lock()
	r.subs[path] = &webPushSub{key: k, auth: auth}
	r.mu.Unlock()
	return WebPushSubscription{Endpoint: r.URL + path, P256dh: b64.EncodeToString(k.PublicKey().Bytes()), Auth: b64.EncodeToString(auth)}
}

// ExpectVAPID makes the receiver refuse pushes whose VAPID key (k=) is
// not pub, as a push service does for a subscription made with an
// applicationServerKey.
func (r *WebPushReceiver) ExpectVAPID(pub []byte) {
	r.mu.Lock()
	r.vapid = bytes.Clone(pub)
	r.mu.Unlock()
}

// Unsubscribe makes later pushes to endpoint answer 410 Gone.
func (r *WebPushReceiver) Unsubscribe(endpoint string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.subs[strings.TrimPrefix(endpoint, r.URL)]; s != nil {
		s.gone = true
	}
}

func (r *WebPushReceiver) refuse(w http.ResponseWriter, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	select {
	case r.Refused <- msg:
	default:
	}
	http.Error(w, msg, status)
}

func (r *WebPushReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	sub, vapid := r.subs[req.URL.Path], r.vapid
	r.mu.Unlock()
	switch {
	case sub == nil:
		r.refuse(w, http.StatusNotFound, "no such subscription")
		return
	case sub.gone:
		r.refuse(w, http.StatusGone, "unsubscribed")
		return
	case req.Method != http.MethodPost:
		r.refuse(w, http.StatusMethodNotAllowed, "method %s", req.Method)
		return
	}
	// RFC 8030 §5.2: TTL is required.
	if ttl, err := strconv.Atoi(req.Header.Get("TTL")); err != nil || ttl < 0 {
		r.refuse(w, http.StatusBadRequest, "TTL header %q", req.Header.Get("TTL"))
		return
	}
	// RFC 8030 §5.3.
	switch u := req.Header.Get("Urgency"); u {
	case "", "very-low", "low", "normal", "high":
	default:
		r.refuse(w, http.StatusBadRequest, "Urgency %q", u)
		return
	}
	// RFC 8291 §4: the aes128gcm content coding.
	if ce := req.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		r.refuse(w, http.StatusUnsupportedMediaType, "Content-Encoding %q", ce)
		return
	}
	if err := r.checkVAPID(req.Header.Get("Authorization"), vapid); err != nil {
		r.refuse(w, http.StatusForbidden, "vapid: %v", err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 4097))
	if err != nil {
		r.refuse(w, http.StatusBadRequest, "body: %v", err)
		return
	}
	// RFC 8030 §7.2: services must accept 4096 octets; more is 413.
	if len(body) > 4096 {
		r.refuse(w, http.StatusRequestEntityTooLarge, "body over 4096 octets")
		return
	}
	p, err := decryptRFC8291(sub.key, sub.auth, body)
	if err != nil {
		r.refuse(w, http.StatusBadRequest, "decrypt: %v", err)
		return
	}
	select {
	case r.Pushes <- Push{Endpoint: r.URL + req.URL.Path, Payload: p, Header: req.Header.Clone()}:
	default:
	}
	w.Header().Set("Location", r.URL+"/message/"+strconv.FormatInt(time.Now().UnixNano(), 36))
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID verifies an RFC 8292 §3 "vapid t=JWT, k=key" header: the
// JWT is ES256 under k, its aud is this service's origin, exp is in the
// future and at most 24 hours away, and sub is a mailto: or https: URI.
func (r *WebPushReceiver) checkVAPID(h string, want []byte) error {
	scheme, params, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "vapid") {
		return fmt.Errorf("authorization scheme %q", scheme)
	}
	var t, k string
	for _, p := range strings.Split(params, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch name {
		case "t":
			t = val
		case "k":
			k = val
		}
	}
	kb, err := b64.DecodeString(k)
	if err != nil {
		return errors.New("k is not base64url")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), kb)
	if err != nil {
		return fmt.Errorf("k: %v", err)
	}
	if want != nil && !bytes.Equal(kb, want) {
		return errors.New("k is not the subscription's application server key")
	}
	j, err := verifyJWT(t, "ES256", pub)
	if err != nil {
		return err
	}
	if aud, _ := j.claims["aud"].(string); aud != r.URL {
		return fmt.Errorf("aud %q, want %q", aud, r.URL)
	}
	exp, ok := j.num("exp")
	now := time.Now().Unix()
	if !ok || exp <= now || exp > now+24*3600 {
		return fmt.Errorf("exp %d not within 24 hours of now", exp)
	}
	if sub, _ := j.claims["sub"].(string); !strings.HasPrefix(sub, "mailto:") && !strings.HasPrefix(sub, "https:") {
		return fmt.Errorf("sub %q", sub)
	}
	return nil
}

// decryptRFC8291 is the user agent's decryption, step by step from
// RFC 8291 §3.4 and RFC 8188 §2: header salt(16) rs(4) idlen(1) keyid
// (the sender's P-256 key), one record.
func decryptRFC8291(ua *ecdh.PrivateKey, auth, body []byte) ([]byte, error) {
	if len(body) < 21+65+17 {
		return nil, errors.New("too short")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 {
		return nil, fmt.Errorf("keyid of %d octets, want a P-256 point", idlen)
	}
	record := body[21+65:]
	if uint32(len(record)) > rs {
		return nil, errors.New("more than one record")
	}
	as, err := ecdh.P256().NewPublicKey(body[21 : 21+65])
	if err != nil {
		return nil, err
	}
	secret, err := ua.ECDH(as)
	if err != nil {
		return nil, err
	}
	prkKey, _ := hkdf.Extract(sha256.New, secret, auth)
	ikm, _ := hkdf.Expand(sha256.New, prkKey, "WebPush: info\x00"+string(ua.PublicKey().Bytes())+string(as.Bytes()), 32)
	prk, _ := hkdf.Extract(sha256.New, ikm, salt)
	cek, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	blk, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(blk)
	p, err := gcm.Open(nil, nonce, record, nil)
	if err != nil {
		return nil, errors.New("record does not authenticate")
	}
	// The last non-zero octet is the delimiter; 2 for the last record.
	i := len(p) - 1
	for i >= 0 && p[i] == 0 {
		i--
	}
	if i < 0 || p[i] != 2 {
		return nil, errors.New("bad padding delimiter")
	}
	return p[:i], nil
}

// Conns is how many connections clients have opened to the stand-in, so
// that tests can tell that a provider reuses its connections.
func (x *WebPushReceiver) Conns() int64 { return x.conns.Load() }
