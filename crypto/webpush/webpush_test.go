package webpush

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"
)

type vectors struct {
	RFC8188 []struct {
		Name, Plaintext, IKM, Salt, KeyID, PRK, CEK, Nonce, Encoded string
		RS                                                          uint32
		Records                                                     []string
	} `json:"rfc8188"`
	RFC8291 struct {
		Plaintext  string
		ASPublic   string `json:"as_public"`
		ASPrivate  string `json:"as_private"`
		UAPublic   string `json:"ua_public"`
		UAPrivate  string `json:"ua_private"`
		Salt       string
		AuthSecret string `json:"auth_secret"`
		CEK, Nonce string
		Encoded    string
	} `json:"rfc8291"`
}

func load(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/rfc_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func dec(t testing.TB, s string) []byte {
	t.Helper()
	b, err := b64.DecodeString(s)
	if err != nil {
		t.Fatalf("base64 %q: %v", s, err)
	}
	return b
}

// TestRFC8188Vectors encodes and decodes the RFC 8188 §3 examples, and
// checks the published intermediate values where the RFC gives them.
func TestRFC8188Vectors(t *testing.T) {
	for _, v := range load(t).RFC8188 {
		t.Run(v.Name, func(t *testing.T) {
			ikm, salt := dec(t, v.IKM), dec(t, v.Salt)
			if v.PRK != "" {
				prk, _ := hkdf.Extract(sha256.New, ikm, salt)
				if !bytes.Equal(prk, dec(t, v.PRK)) {
					t.Errorf("prk %x", prk)
				}
				cek, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
				nonce, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
				if !bytes.Equal(cek, dec(t, v.CEK)) || !bytes.Equal(nonce, dec(t, v.Nonce)) {
					t.Errorf("cek %x nonce %x", cek, nonce)
				}
			}
			var recs [][]byte
			for _, r := range v.Records {
				recs = append(recs, []byte(r))
			}
			got, err := EncryptRecords(ikm, salt, []byte(v.KeyID), v.RS, recs)
			if err != nil {
				t.Fatal(err)
			}
			if want := dec(t, v.Encoded); !bytes.Equal(got, want) {
				t.Fatalf("encoded\n got %s\nwant %s", b64.EncodeToString(got), v.Encoded)
			}
			p, kid, err := DecryptContent(ikm, dec(t, v.Encoded))
			if err != nil || string(p) != v.Plaintext || string(kid) != v.KeyID {
				t.Fatalf("decrypt: %q %q %v", p, kid, err)
			}
		})
	}
}

// TestRFC8291Vector reproduces the RFC 8291 §5 example body from its keys
// and salt, and opens it with the user agent's key.
func TestRFC8291Vector(t *testing.T) {
	v := load(t).RFC8291
	as, err := ecdh.P256().NewPrivateKey(dec(t, v.ASPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(as.PublicKey().Bytes(), dec(t, v.ASPublic)) {
		t.Fatal("as_public does not match as_private")
	}
	ua, err := ecdh.P256().NewPrivateKey(dec(t, v.UAPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ua.PublicKey().Bytes(), dec(t, v.UAPublic)) {
		t.Fatal("ua_public does not match ua_private")
	}
	auth := dec(t, v.AuthSecret)
	got, err := EncryptWith(as, dec(t, v.Salt), ua.PublicKey(), auth, []byte(v.Plaintext))
	if err != nil {
		t.Fatal(err)
	}
	if b64.EncodeToString(got) != v.Encoded {
		t.Fatalf("encoded\n got %s\nwant %s", b64.EncodeToString(got), v.Encoded)
	}
	// The intermediate CEK and nonce (Appendix A).
	secret, _ := as.ECDH(ua.PublicKey())
	ikm, _ := webPushIKM(secret, auth, ua.PublicKey().Bytes(), as.PublicKey().Bytes())
	prk, _ := hkdf.Extract(sha256.New, ikm, dec(t, v.Salt))
	cek, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if !bytes.Equal(cek, dec(t, v.CEK)) || !bytes.Equal(nonce, dec(t, v.Nonce)) {
		t.Errorf("cek %x nonce %x", cek, nonce)
	}
	p, err := Decrypt(ua, auth, dec(t, v.Encoded))
	if err != nil || string(p) != v.Plaintext {
		t.Fatalf("decrypt: %q %v", p, err)
	}
}

func TestDecryptRejects(t *testing.T) {
	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, AuthSize)
	rand.Read(auth)
	body, err := Encrypt(rand.Reader, ua.PublicKey(), auth, []byte("wake up"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte { b := bytes.Clone(body); b[i] ^= 1; return b }
	otherAuth := bytes.Clone(auth)
	otherAuth[0] ^= 1
	tests := []struct {
		name string
		auth []byte
		body []byte
		want error
	}{
		{"empty", auth, nil, ErrMalformed},
		{"header only", auth, body[:86], ErrMalformed},
		{"truncated tag", auth, body[:len(body)-1], ErrAuth},
		{"flipped ciphertext", auth, flip(len(body) - 20), ErrAuth},
		{"flipped salt", auth, flip(0), ErrAuth},
		{"other auth", otherAuth, body, ErrAuth},
		{"short auth", auth[:15], body, ErrKey},
		{"bad key id length", auth, flip(20), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decrypt(ua, tc.auth, tc.body); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := Encrypt(rand.Reader, ua.PublicKey(), auth, make([]byte, MaxPlaintext+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize: %v", err)
	}
	if b, err := Encrypt(rand.Reader, ua.PublicKey(), auth, make([]byte, MaxPlaintext)); err != nil || len(b) != RecordSize {
		t.Fatalf("max size: %d %v", len(b), err)
	}
}

// TestVAPID checks the header against RFC 8292 §2–3 with its own parsing:
// the JWT's header and claims, the ES256 signature by the key k names.
func TestVAPID(t *testing.T) {
	k, err := GenerateVAPIDKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseVAPIDKey(k.Bytes())
	if err != nil || !bytes.Equal(again.PublicKey(), k.PublicKey()) {
		t.Fatalf("round trip: %v", err)
	}
	now := time.Unix(1_800_000_000, 0)
	h, err := k.Authorization(rand.Reader, "https://push.example.net:8443/p/abc?x=1", "mailto:ops@example.org", now, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rest, ok := strings.CutPrefix(h, "vapid t=")
	jwt, kk, ok2 := strings.Cut(rest, ", k=")
	if !ok || !ok2 || kk != b64.EncodeToString(k.PublicKey()) {
		t.Fatalf("header %q", h)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("jwt %q", jwt)
	}
	var hdr map[string]string
	var claims map[string]any
	json.Unmarshal(dec(t, parts[0]), &hdr)
	json.Unmarshal(dec(t, parts[1]), &claims)
	if hdr["alg"] != "ES256" || hdr["typ"] != "JWT" {
		t.Errorf("jwt header %v", hdr)
	}
	if claims["aud"] != "https://push.example.net:8443" || claims["sub"] != "mailto:ops@example.org" ||
		claims["exp"] != float64(now.Add(MaxVAPIDLifetime).Unix()) {
		t.Errorf("claims %v", claims)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), dec(t, kk))
	if err != nil {
		t.Fatal(err)
	}
	sig := dec(t, parts[2])
	d := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("signature does not verify")
	}
}

// FuzzDecryptContent feeds arbitrary bodies to DecryptContent: it must
// never panic, and anything it accepts re-encodes (as one record) to a
// body it accepts with the same plaintext.
func FuzzDecryptContent(f *testing.F) {
	v := vectors{}
	b, _ := os.ReadFile("testdata/rfc_vectors.json")
	json.Unmarshal(b, &v)
	for _, x := range v.RFC8188 {
		f.Add(dec(f, x.IKM), dec(f, x.Encoded))
	}
	f.Fuzz(func(t *testing.T, ikm, body []byte) {
		p, kid, err := DecryptContent(ikm, body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrAuth) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		again, err := EncryptRecords(ikm, body[:16], kid, uint32(len(p)+17), [][]byte{p})
		if err != nil {
			t.Fatal(err)
		}
		if p2, _, err := DecryptContent(ikm, again); err != nil || !bytes.Equal(p, p2) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
