package push

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/hushnet/hush/crypto/webpush"
)

// WebPushConfig configures the Web Push provider (RFC 8030 delivery,
// RFC 8291 encryption, RFC 8292 VAPID).
type WebPushConfig struct {
	VAPID *webpush.VAPIDKey
	// Subject is the VAPID sub claim, a mailto: or https: contact for
	// push services.
	Subject string
	// TTL is how long push services keep an undelivered message.
	TTL time.Duration
	// AllowLoopback and ExtraRoots are the test setting: loopback
	// endpoints are allowed and ExtraRoots (a test CA) is trusted. TLS is
	// always verified.
	AllowLoopback bool
	ExtraRoots    *x509.CertPool
	// Now is the clock for VAPID expiry.
	Now func() time.Time
}

// WebPush is the Web Push [Provider].
type WebPush struct {
	cfg    WebPushConfig
	client *http.Client

	mu sync.Mutex // guards vapid
	// vapid holds the Authorization header per push service origin (the
	// JWT's aud), reused until vapidRenew before it expires: an ECDSA
	// signature per push would be latency for nothing. Reuse links no
	// pushes the VAPID key (one per server, in every header) does not
	// link already. Endpoints are the subscribers' choice, so the origins
	// are bounded (maxVAPIDOrigins, then cleared wholesale).
	vapid map[string]vapidAuth
}

// vapidAuth is one origin's Authorization header and its JWT's expiry.
type vapidAuth struct {
	header string
	exp    time.Time
}

// VAPID JWT lifetime and reuse: signed for vapidLifetime (push services
// refuse more than 24 h), renewed once less than vapidRenew is left, so
// that no push carries a JWT about to expire on a clock a little ahead.
const (
	vapidLifetime   = 12 * time.Hour
	vapidRenew      = time.Hour
	maxVAPIDOrigins = 1024
)

var _ Provider = (*WebPush)(nil)

// NewWebPush returns a Web Push provider whose connections go only to
// public addresses (or loopback in the test setting).
func NewWebPush(cfg WebPushConfig) *WebPush {
	if cfg.TTL == 0 {
		cfg.TTL = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         safeDialer(cfg.AllowLoopback),
		TLSClientConfig:     rootsWith(cfg.ExtraRoots),
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 16,
	}
	return &WebPush{cfg: cfg, client: &http.Client{
		Transport: tr,
		Timeout:   30 * time.Second,
		// A redirect would be a second destination the dialer checks but
		// the subscriber never registered; push services do not redirect.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Send implements [Provider]: POST the aes128gcm-encrypted payload to the
// endpoint with TTL, Urgency and the VAPID Authorization (RFC 8030 §5).
func (w *WebPush) Send(ctx context.Context, t Target, payload []byte) error {
	if err := CheckEndpoint(t.Endpoint, w.cfg.AllowLoopback); err != nil {
		return err
	}
	ua, auth, err := webPushKeys(t.P256dh, t.Auth)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	body, err := webpush.Encrypt(rand.Reader, ua, auth, payload)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	authz, err := w.authorization(t.Endpoint)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("TTL", strconv.Itoa(int(w.cfg.TTL/time.Second)))
	// A push is a wake-up for a message the user is waiting for.
	req.Header.Set("Urgency", "high")
	req.Header.Set("Authorization", authz)
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	gone := resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone
	return classify(ProviderWebPush, resp, "", gone)
}

// authorization returns the VAPID Authorization header for endpoint,
// signed anew only when its origin has none or one near its expiry.
func (w *WebPush) authorization(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", err
	}
	origin := u.Scheme + "://" + u.Host
	now := w.cfg.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if a, ok := w.vapid[origin]; ok && now.Before(a.exp.Add(-vapidRenew)) {
		return a.header, nil
	}
	h, err := w.cfg.VAPID.Authorization(rand.Reader, endpoint, w.cfg.Subject, now, vapidLifetime)
	if err != nil {
		return "", err
	}
	if w.vapid == nil || len(w.vapid) >= maxVAPIDOrigins {
		w.vapid = make(map[string]vapidAuth)
	}
	// The JWT's exp is in whole seconds: rounding down keeps the renewal
	// on the safe side.
	w.vapid[origin] = vapidAuth{header: h, exp: now.Add(vapidLifetime).Truncate(time.Second)}
	return h, nil
}

// webPushKeys decodes a subscription's p256dh and auth (base64url, with
// or without padding, as browsers and distributors vary).
func webPushKeys(p256dh, auth string) (*ecdh.PublicKey, []byte, error) {
	pk, err := decodeB64(p256dh)
	if err != nil {
		return nil, nil, fmt.Errorf("p256dh: %v", err)
	}
	ua, err := ecdh.P256().NewPublicKey(pk)
	if err != nil {
		return nil, nil, fmt.Errorf("p256dh: %v", err)
	}
	a, err := decodeB64(auth)
	if err != nil || len(a) != webpush.AuthSize {
		return nil, nil, fmt.Errorf("auth: want %d bytes base64url", webpush.AuthSize)
	}
	return ua, a, nil
}

func decodeB64(s string) ([]byte, error) {
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.URLEncoding.DecodeString(s)
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
