package pushtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// APNs is a stand-in for Apple's APNs provider API, from "Sending
// notification requests to APNs" and "Establishing a token-based
// connection to APNs": HTTP/2 only, POST /3/device/{token}, a provider
// token (JWT, ES256, kid = key ID, iss = team ID, iat within the last
// hour) in "authorization: bearer", apns-topic equal to the app's bundle
// ID, apns-push-type alert or background with the payload and priority
// each requires (background: content-available and priority 5), a JSON
// body of at most 4096 bytes with an aps dictionary. Errors answer with
// {"reason": ...}; a token made inactive by [APNs.Unregister] answers 410
// Unregistered.
type APNs struct {
	URL string
	// Team, KeyID and Key are the provider key the push server must sign
	// with (Key is its private half, handed to the server's config).
	Team, KeyID, Topic string
	Key                *ecdsa.PrivateKey
	Pushes             chan Push
	Refused            chan string

	conns atomic.Int64 // connections opened to it

	mu     sync.Mutex      // guards tokens
	tokens map[string]bool // device token → active
}

// StartAPNs starts an APNs stand-in for topic, with a fresh provider key.
func StartAPNs(t testing.TB, ca *CA, topic string) *APNs {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := &APNs{Team: "HUSHTEAM01", KeyID: "HUSHKEY001", Topic: topic, Key: key,
		Pushes: make(chan Push, 256), Refused: make(chan string, 256), tokens: map[string]bool{}}
	a.URL = serveTLS(t, ca, a, &a.conns).URL
	return a
}

// DeviceToken registers a new device and returns its token (64 hex
// digits, as APNs gives apps).
func (a *APNs) DeviceToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	a.mu.Lock()
	a.tokens[tok] = true
	a.mu.Unlock()
	return tok
}

// Unregister makes tok inactive: later pushes answer 410.
func (a *APNs) Unregister(tok string) {
	a.mu.Lock()
	a.tokens[tok] = false
	a.mu.Unlock()
}

func (a *APNs) refuse(w http.ResponseWriter, status int, reason, detail string) {
	select {
	case a.Refused <- reason + ": " + detail:
	default:
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"reason": reason}
	if status == http.StatusGone {
		body["timestamp"] = time.Now().UnixMilli()
	}
	json.NewEncoder(w).Encode(body)
}

func (a *APNs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 {
		a.refuse(w, http.StatusBadRequest, "BadRequest", "APNs speaks HTTP/2 only")
		return
	}
	if r.Method != http.MethodPost {
		a.refuse(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
		return
	}
	tok, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
	if !ok {
		a.refuse(w, http.StatusNotFound, "BadPath", r.URL.Path)
		return
	}
	// Provider token.
	bearer, ok := strings.CutPrefix(r.Header.Get("authorization"), "bearer ")
	if !ok {
		a.refuse(w, http.StatusForbidden, "MissingProviderToken", "")
		return
	}
	j, err := verifyJWT(bearer, "ES256", &a.Key.PublicKey)
	if err != nil {
		a.refuse(w, http.StatusForbidden, "InvalidProviderToken", err.Error())
		return
	}
	iat, _ := j.num("iat")
	if j.header["kid"] != a.KeyID || j.claims["iss"] != a.Team {
		a.refuse(w, http.StatusForbidden, "InvalidProviderToken", fmt.Sprintf("kid %v iss %v", j.header["kid"], j.claims["iss"]))
		return
	}
	if now := time.Now().Unix(); iat < now-3600 || iat > now+60 {
		a.refuse(w, http.StatusForbidden, "ExpiredProviderToken", fmt.Sprint(iat))
		return
	}
	// Headers.
	if topic := r.Header.Get("apns-topic"); topic == "" {
		a.refuse(w, http.StatusBadRequest, "MissingTopic", "")
		return
	} else if topic != a.Topic {
		a.refuse(w, http.StatusBadRequest, "BadTopic", topic)
		return
	}
	pushType, prio := r.Header.Get("apns-push-type"), r.Header.Get("apns-priority")
	switch {
	case pushType != "alert" && pushType != "background":
		a.refuse(w, http.StatusBadRequest, "InvalidPushType", pushType)
		return
	case prio != "" && prio != "10" && prio != "5" && prio != "1",
		pushType == "background" && prio != "5":
		a.refuse(w, http.StatusBadRequest, "BadPriority", prio)
		return
	}
	if e := r.Header.Get("apns-expiration"); e != "" && strings.Trim(e, "0123456789") != "" {
		a.refuse(w, http.StatusBadRequest, "BadExpirationDate", e)
		return
	}
	// Payload.
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4097))
	if len(body) > 4096 {
		a.refuse(w, http.StatusRequestEntityTooLarge, "PayloadTooLarge", "")
		return
	}
	var p struct {
		APS  map[string]any `json:"aps"`
		Hush string         `json:"hush"`
	}
	if json.Unmarshal(body, &p) != nil || p.APS == nil {
		a.refuse(w, http.StatusBadRequest, "PayloadEmpty", "no aps dictionary")
		return
	}
	switch pushType {
	case "alert":
		if p.APS["alert"] == nil || p.APS["mutable-content"] != float64(1) {
			a.refuse(w, http.StatusBadRequest, "BadPayload", "alert push needs alert and mutable-content 1")
			return
		}
	case "background":
		if p.APS["content-available"] != float64(1) || p.APS["alert"] != nil {
			a.refuse(w, http.StatusBadRequest, "BadPayload", "background push needs content-available 1 and no alert")
			return
		}
	}
	payload, err := base64.RawURLEncoding.DecodeString(p.Hush)
	if err != nil {
		a.refuse(w, http.StatusBadRequest, "BadPayload", "hush field")
		return
	}
	a.mu.Lock()
	active, known := a.tokens[tok]
	a.mu.Unlock()
	switch {
	case !known:
		a.refuse(w, http.StatusBadRequest, "BadDeviceToken", "")
		return
	case !active:
		a.refuse(w, http.StatusGone, "Unregistered", "")
		return
	}
	select {
	case a.Pushes <- Push{Endpoint: tok, Payload: payload, Header: r.Header.Clone()}:
	default:
	}
	w.Header().Set("apns-id", "00000000-0000-4000-8000-000000000000")
	w.WriteHeader(http.StatusOK)
}

// Conns is how many connections clients have opened to the stand-in, so
// that tests can tell that a provider reuses its connections.
func (x *APNs) Conns() int64 { return x.conns.Load() }
