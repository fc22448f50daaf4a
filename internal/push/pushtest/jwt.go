package pushtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// jws is a parsed compact JWS (RFC 7515 §7.1) whose signature has been
// checked.
type jws struct {
	header map[string]any
	claims map[string]any
}

var b64 = base64.RawURLEncoding

// verifyJWT splits token, checks its alg is alg and its signature with
// pub (ES256: r‖s of 32 octets each, RFC 7518 §3.4; RS256: PKCS#1 v1.5,
// §3.3) and returns its header and claims.
func verifyJWT(token, alg string, pub crypto.PublicKey) (*jws, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("jwt: not three parts")
	}
	var j jws
	h, err := b64.DecodeString(parts[0])
	if err != nil || json.Unmarshal(h, &j.header) != nil {
		return nil, errors.New("jwt: bad header")
	}
	c, err := b64.DecodeString(parts[1])
	if err != nil || json.Unmarshal(c, &j.claims) != nil {
		return nil, errors.New("jwt: bad claims")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("jwt: bad signature encoding")
	}
	if j.header["alg"] != alg {
		return nil, fmt.Errorf("jwt: alg %v, want %s", j.header["alg"], alg)
	}
	d := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if len(sig) != 64 || !ecdsa.Verify(k, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return nil, errors.New("jwt: ES256 signature does not verify")
		}
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) != nil {
			return nil, errors.New("jwt: RS256 signature does not verify")
		}
	default:
		return nil, errors.New("jwt: unknown key type")
	}
	return &j, nil
}

// num reads a numeric claim.
func (j *jws) num(name string) (int64, bool) {
	f, ok := j.claims[name].(float64)
	return int64(f), ok
}
