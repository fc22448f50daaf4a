package webpush

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"
)

// VAPIDKey is an application server's signing key (RFC 8292 §2): P-256,
// ES256. Its public half is what subscribers pass as applicationServerKey.
type VAPIDKey struct {
	priv *ecdsa.PrivateKey
}

// MaxVAPIDLifetime is the longest a VAPID JWT may be valid: RFC 8292 §2
// lets push services refuse an exp more than 24 hours ahead.
const MaxVAPIDLifetime = 24 * time.Hour

// GenerateVAPIDKey draws a new key from rand.
func GenerateVAPIDKey(rand io.Reader) (*VAPIDKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, err
	}
	return &VAPIDKey{priv: k}, nil
}

// ParseVAPIDKey reads a key from its 32-octet private scalar, the form
// [VAPIDKey.Bytes] writes.
func ParseVAPIDKey(b []byte) (*VAPIDKey, error) {
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), b)
	if err != nil {
		return nil, fmt.Errorf("%w: vapid key: %v", ErrKey, err)
	}
	return &VAPIDKey{priv: k}, nil
}

// Bytes is the private scalar, for storage.
func (k *VAPIDKey) Bytes() []byte {
	b, _ := k.priv.Bytes()
	return b
}

// PublicKey is the uncompressed public point (65 octets), the
// applicationServerKey subscribers use.
func (k *VAPIDKey) PublicKey() []byte {
	b, _ := k.priv.PublicKey.Bytes()
	return b
}

// Authorization returns the Authorization header value of RFC 8292 §3 for
// a push message to endpoint: "vapid t=JWT, k=public key", the JWT's aud
// being the endpoint's origin, exp = now+lifetime (capped at
// [MaxVAPIDLifetime]) and sub the operator's contact (a mailto: or https:
// URI, which push services may require).
func (k *VAPIDKey) Authorization(rand io.Reader, endpoint, sub string, now time.Time, lifetime time.Duration) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("webpush: endpoint %q is not an absolute URL", endpoint)
	}
	lifetime = min(lifetime, MaxVAPIDLifetime)
	claims := struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub,omitempty"`
	}{u.Scheme + "://" + u.Host, now.Add(lifetime).Unix(), sub}
	jwt, err := SignES256(rand, k.priv, claims)
	if err != nil {
		return "", err
	}
	return "vapid t=" + jwt + ", k=" + b64.EncodeToString(k.PublicKey()), nil
}

var b64 = base64.RawURLEncoding

// SignES256 returns a compact JWS (RFC 7515) of claims, JSON-encoded, with
// header {"typ":"JWT","alg":"ES256"} signed by key: the signature is r‖s,
// 32 octets each (RFC 7518 §3.4), not ASN.1. APNs provider tokens use the
// same form with a kid ([SignES256Header]).
func SignES256(rand io.Reader, key *ecdsa.PrivateKey, claims any) (string, error) {
	return SignES256Header(rand, key, map[string]string{"typ": "JWT", "alg": "ES256"}, claims)
}

// SignES256Header is [SignES256] with the header given; its alg must be
// ES256.
func SignES256Header(rand io.Reader, key *ecdsa.PrivateKey, header map[string]string, claims any) (string, error) {
	if header["alg"] != "ES256" {
		return "", fmt.Errorf("webpush: jws alg %q, want ES256", header["alg"])
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	d := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand, key, d[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig), nil
}
