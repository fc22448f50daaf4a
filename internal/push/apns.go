package push

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hushnet/hush/crypto/webpush"
)

// APNsConfig configures the APNs provider (Apple's "Sending notification
// requests to APNs" and "Establishing a token-based connection to APNs").
type APNsConfig struct {
	// BaseURL is https://api.push.apple.com (or api.sandbox...), or a
	// stand-in's.
	BaseURL string
	// TeamID and KeyID name the provider token's signing key (the iss
	// claim and the kid header); Key is that P-256 key (the .p8 file).
	TeamID, KeyID string
	Key           *ecdsa.PrivateKey
	// Topic is the app's bundle ID (apns-topic).
	Topic string
	// PushType is "alert" (default: a visible notification whose
	// notification service extension, woken by mutable-content, opens the
	// payload) or "background" (a silent wake-up, priority 5 as Apple
	// requires).
	PushType string
	// ExtraRoots is the test setting's CA.
	ExtraRoots *x509.CertPool
	Now        func() time.Time
}

// APNs is the APNs [Provider]: HTTP/2 POST /3/device/{token} with an ES256
// provider token.
type APNs struct {
	cfg    APNsConfig
	client *http.Client

	mu sync.Mutex // guards token and tokenAt
	// token is reused for up to apnsTokenAge: APNs refuses tokens older
	// than an hour and throttles ones renewed more often than every 20
	// minutes (TooManyProviderTokenUpdates).
	token   string
	tokenAt time.Time
}

var _ Provider = (*APNs)(nil)

const apnsTokenAge = 40 * time.Minute

// NewAPNs returns an APNs provider.
func NewAPNs(cfg APNsConfig) (*APNs, error) {
	if cfg.Key == nil || cfg.TeamID == "" || cfg.KeyID == "" || cfg.Topic == "" || cfg.BaseURL == "" {
		return nil, fmt.Errorf("push: apns needs base_url, team_id, key_id, key and topic")
	}
	switch cfg.PushType {
	case "":
		cfg.PushType = "alert"
	case "alert", "background":
	default:
		return nil, fmt.Errorf("push: apns push type %q: want alert or background", cfg.PushType)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tr := &http.Transport{
		Proxy:               nil,
		TLSClientConfig:     rootsWith(cfg.ExtraRoots),
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     5 * time.Minute,
	}
	return &APNs{cfg: cfg, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

func (a *APNs) providerToken() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.Now()
	if a.token != "" && now.Sub(a.tokenAt) < apnsTokenAge {
		return a.token, nil
	}
	tok, err := webpush.SignES256Header(rand.Reader, a.cfg.Key,
		map[string]string{"alg": "ES256", "kid": a.cfg.KeyID},
		struct {
			Iss string `json:"iss"`
			Iat int64  `json:"iat"`
		}{a.cfg.TeamID, now.Unix()})
	if err != nil {
		return "", err
	}
	a.token, a.tokenAt = tok, now
	return tok, nil
}

// Send implements [Provider].
func (a *APNs) Send(ctx context.Context, t Target, payload []byte) error {
	if !validToken(t.Token, 200) {
		return fmt.Errorf("%w: apns token", ErrRejected)
	}
	tok, err := a.providerToken()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	aps := map[string]any{}
	prio := "10"
	if a.cfg.PushType == "alert" {
		// The alert text is generic: the payload is sealed, and the
		// extension replaces the text after opening it.
		aps["alert"] = map[string]string{"title": "hush", "body": "New message"}
		aps["mutable-content"] = 1
	} else {
		aps["content-available"] = 1
		prio = "5"
	}
	body, _ := json.Marshal(map[string]any{"aps": aps, "hush": base64.RawURLEncoding.EncodeToString(payload)})
	u := strings.TrimSuffix(a.cfg.BaseURL, "/") + "/3/device/" + t.Token
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	req.Header.Set("authorization", "bearer "+tok)
	req.Header.Set("apns-push-type", a.cfg.PushType)
	req.Header.Set("apns-topic", a.cfg.Topic)
	req.Header.Set("apns-priority", prio)
	req.Header.Set("apns-expiration", fmt.Sprint(a.cfg.Now().Add(24*time.Hour).Unix()))
	req.Header.Set("content-type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var r struct{ Reason string }
	json.Unmarshal(b, &r)
	// 410: the token is no longer active for the topic; 400 BadDeviceToken
	// and DeviceTokenNotForTopic are as final.
	gone := resp.StatusCode == http.StatusGone || r.Reason == "Unregistered" ||
		r.Reason == "BadDeviceToken" || r.Reason == "DeviceTokenNotForTopic"
	if r.Reason == "ExpiredProviderToken" {
		a.mu.Lock()
		a.token = ""
		a.mu.Unlock()
	}
	return classify(ProviderAPNs, resp, r.Reason, gone)
}

// validToken reports whether tok is 1..max printable ASCII without
// separators, so that it cannot change a URL path or a JSON string.
func validToken(tok string, max int) bool {
	if tok == "" || len(tok) > max {
		return false
	}
	for _, c := range []byte(tok) {
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == ':' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}
