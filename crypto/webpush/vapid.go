package webpush

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"strings"
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

// ErrVAPID is returned by [VerifyAuthorization] for an Authorization
// value that is not a valid VAPID authorization for the origin and time
// given; the wrapped text says which check failed.
var ErrVAPID = errors.New("webpush: invalid vapid authorization")

// VAPIDClaims are the claims of a verified VAPID token.
type VAPIDClaims struct {
	// Aud is the push resource's origin the token was made for.
	Aud string
	// Exp is when the token stops being valid.
	Exp time.Time
	// Sub is the sender's contact, if it gave one.
	Sub string
}

// maxVAPIDHeader bounds the Authorization value VerifyAuthorization
// reads: a real one is about 250 octets.
const maxVAPIDHeader = 2048

// VerifyAuthorization is the push service's side of
// [VAPIDKey.Authorization] (RFC 8292 §3–4): header must be
// "vapid t=JWT, k=KEY" (parameters in any order), KEY an uncompressed
// P-256 point, the JWT a compact JWS with alg ES256 signed by KEY
// (r‖s, RFC 7518 §3.4), its aud exactly origin (scheme://host[:port] of
// the push resource), its exp after now and at most [MaxVAPIDLifetime]
// after it, and its sub, if present, a mailto: or https: URI. It returns
// KEY, which the caller compares with the application server key the
// subscription was made with, and the claims. Every failure is ErrVAPID.
// The older "WebPush" scheme with a Crypto-Key header (drafts before RFC
// 8292) is not accepted.
func VerifyAuthorization(header, origin string, now time.Time) (key []byte, claims VAPIDClaims, err error) {
	bad := func(format string, args ...any) ([]byte, VAPIDClaims, error) {
		return nil, VAPIDClaims{}, fmt.Errorf("%w: %s", ErrVAPID, fmt.Sprintf(format, args...))
	}
	if len(header) > maxVAPIDHeader {
		return bad("longer than %d octets", maxVAPIDHeader)
	}
	scheme, params, _ := strings.Cut(strings.TrimSpace(header), " ")
	if !strings.EqualFold(scheme, "vapid") {
		return bad("scheme is not vapid")
	}
	var t, k string
	for p := range strings.SplitSeq(params, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "t":
			t = strings.TrimSpace(val)
		case "k":
			k = strings.TrimSpace(val)
		}
	}
	if t == "" || k == "" {
		return bad("t= or k= missing")
	}
	key, err = b64.DecodeString(strings.TrimRight(k, "="))
	if err != nil {
		return bad("k is not base64url")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), key)
	if err != nil {
		return bad("k is not a P-256 public key")
	}
	parts := strings.Split(t, ".")
	if len(parts) != 3 {
		return bad("t is not a compact JWS")
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if h, err := b64.DecodeString(parts[0]); err != nil || json.Unmarshal(h, &hdr) != nil {
		return bad("jwt header does not decode")
	}
	if hdr.Alg != "ES256" {
		return bad("jwt alg %q, want ES256", hdr.Alg)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return bad("jwt signature is not 64 octets of base64url")
	}
	d := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return bad("jwt signature does not verify under k")
	}
	// Claims are read only once the signature holds: until then they
	// are anyone's words.
	var c struct {
		Aud *string  `json:"aud"`
		Exp *float64 `json:"exp"`
		Sub *string  `json:"sub"`
	}
	if b, err := b64.DecodeString(parts[1]); err != nil || json.Unmarshal(b, &c) != nil {
		return bad("jwt claims do not decode")
	}
	switch {
	case c.Aud == nil || *c.Aud != origin:
		return bad("aud is not this push service's origin %s", origin)
	case c.Exp == nil || *c.Exp < 0 || *c.Exp > 1e11:
		return bad("no exp, or not a time")
	}
	exp := time.Unix(int64(*c.Exp), 0)
	if !exp.After(now) {
		return bad("expired at %s", exp.UTC().Format(time.RFC3339))
	}
	if exp.After(now.Add(MaxVAPIDLifetime)) {
		return bad("exp %s is more than %s ahead", exp.UTC().Format(time.RFC3339), MaxVAPIDLifetime)
	}
	claims = VAPIDClaims{Aud: *c.Aud, Exp: exp}
	if c.Sub != nil {
		if !strings.HasPrefix(*c.Sub, "mailto:") && !strings.HasPrefix(*c.Sub, "https:") {
			return bad("sub is not a mailto: or https: URI")
		}
		claims.Sub = *c.Sub
	}
	return key, claims, nil
}
