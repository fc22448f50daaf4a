package push

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// FCMConfig configures the FCM HTTP v1 provider (Firebase's "Authorize
// send requests" and the projects.messages.send reference).
type FCMConfig struct {
	// BaseURL is https://fcm.googleapis.com, or a stand-in's.
	BaseURL   string
	ProjectID string
	// ClientEmail and Key are the service account's (client_email and
	// private_key of its JSON key file); TokenURL its token_uri, where
	// the signed assertion is exchanged for an OAuth2 bearer token.
	ClientEmail string
	Key         *rsa.PrivateKey
	TokenURL    string
	ExtraRoots  *x509.CertPool
	Now         func() time.Time
}

// fcmScope is the OAuth2 scope for sending messages.
const fcmScope = "https://www.googleapis.com/auth/firebase.messaging"

// FCM is the FCM HTTP v1 [Provider].
type FCM struct {
	cfg    FCMConfig
	client *http.Client

	mu sync.Mutex // guards bearer and bearerExp
	// bearer is the access token from TokenURL, renewed a few minutes
	// before it expires.
	bearer    string
	bearerExp time.Time
}

var _ Provider = (*FCM)(nil)

// NewFCM returns an FCM provider.
func NewFCM(cfg FCMConfig) (*FCM, error) {
	if cfg.Key == nil || cfg.ClientEmail == "" || cfg.ProjectID == "" || cfg.BaseURL == "" || cfg.TokenURL == "" {
		return nil, fmt.Errorf("push: fcm needs base_url, token_url, project_id, client_email and key")
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
	return &FCM{cfg: cfg, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

// ServiceAccount is the part of a Google service-account key file FCM
// needs.
type ServiceAccount struct {
	ProjectID   string `json:"project_id"`
	ClientEmail string `json:"client_email"`
	PrivateKey  string `json:"private_key"`
	TokenURI    string `json:"token_uri"`
}

// ParseServiceAccount reads a service-account JSON key file and its RSA
// key (PKCS#8 PEM).
func ParseServiceAccount(b []byte) (*ServiceAccount, *rsa.PrivateKey, error) {
	var sa ServiceAccount
	if err := json.Unmarshal(b, &sa); err != nil {
		return nil, nil, fmt.Errorf("push: service account: %w", err)
	}
	blk, _ := pem.Decode([]byte(sa.PrivateKey))
	if blk == nil {
		return nil, nil, errors.New("push: service account: private_key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("push: service account: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New("push: service account: private_key is not RSA")
	}
	return &sa, rk, nil
}

// accessToken returns a bearer, exchanging a fresh RS256 assertion
// (RFC 7523) at the token URL when the last one is near its end.
func (f *FCM) accessToken(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.cfg.Now()
	if f.bearer != "" && now.Before(f.bearerExp.Add(-5*time.Minute)) {
		return f.bearer, nil
	}
	assertion, err := signRS256(f.cfg.Key, map[string]any{
		"iss": f.cfg.ClientEmail, "scope": fcmScope, "aud": f.cfg.TokenURL,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: token: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var t struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &t) != nil || t.AccessToken == "" || !strings.EqualFold(t.TokenType, "bearer") {
		return "", &ProviderError{Provider: ProviderFCM, Status: resp.StatusCode, Reason: "token exchange", Err: ErrUnavailable}
	}
	f.bearer, f.bearerExp = t.AccessToken, now.Add(time.Duration(t.ExpiresIn)*time.Second)
	return f.bearer, nil
}

// Send implements [Provider]: the payload goes as a data field (strings
// only in FCM), base64url.
func (f *FCM) Send(ctx context.Context, t Target, payload []byte) error {
	if !validToken(t.Token, 4096) {
		return fmt.Errorf("%w: fcm token", ErrRejected)
	}
	bearer, err := f.accessToken(ctx)
	if err != nil {
		return err
	}
	msg := map[string]any{"message": map[string]any{
		"token":   t.Token,
		"data":    map[string]string{"hush": base64.RawURLEncoding.EncodeToString(payload)},
		"android": map[string]any{"priority": "HIGH", "ttl": "86400s"},
	}}
	body, _ := json.Marshal(msg)
	u := strings.TrimSuffix(f.cfg.BaseURL, "/") + "/v1/projects/" + url.PathEscape(f.cfg.ProjectID) + "/messages:send"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var e struct {
		Error struct {
			Status  string
			Details []struct {
				ErrorCode string `json:"errorCode"`
			}
		}
	}
	json.Unmarshal(b, &e)
	reason := e.Error.Status
	gone := resp.StatusCode == http.StatusNotFound
	for _, d := range e.Error.Details {
		if d.ErrorCode != "" {
			reason = d.ErrorCode
		}
		gone = gone || d.ErrorCode == "UNREGISTERED"
	}
	if resp.StatusCode == http.StatusUnauthorized {
		f.mu.Lock()
		f.bearer = ""
		f.mu.Unlock()
	}
	return classify(ProviderFCM, resp, reason, gone)
}

// signRS256 returns a compact JWS of claims signed with RSASSA-PKCS1-v1_5
// SHA-256 (RFC 7518 §3.3), the form Google's token endpoint takes.
func signRS256(key *rsa.PrivateKey, claims any) (string, error) {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	d := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		return "", err
	}
	return input + "." + enc.EncodeToString(sig), nil
}
