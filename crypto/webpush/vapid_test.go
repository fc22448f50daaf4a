package webpush

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestVerifyAuthorization: what Authorization makes verifies, and each
// RFC 8292 check refuses a header that breaks it.
func TestVerifyAuthorization(t *testing.T) {
	k, err := GenerateVAPIDKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateVAPIDKey(rand.Reader)
	const origin = "https://localhost:8443"
	now := time.Unix(1_800_000_000, 0)
	auth := func(k *VAPIDKey, endpoint, sub string, at time.Time, life time.Duration) string {
		h, err := k.Authorization(rand.Reader, endpoint, sub, at, life)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	good := auth(k, origin+"/push/abc", "mailto:ops@example.org", now, time.Hour)
	jwt, kk, _ := strings.Cut(strings.TrimPrefix(good, "vapid t="), ", k=")
	parts := strings.Split(jwt, ".")
	// signed makes a token with the given header and claims, signed by k.
	signed := func(hdr map[string]string, claims any) string {
		s, err := SignES256Header(rand.Reader, k.priv, hdr, claims)
		if err != nil {
			t.Fatal(err)
		}
		return "vapid t=" + s + ", k=" + kk
	}
	tests := []struct {
		name   string
		header string
		at     time.Time
		ok     bool
	}{
		{"as made", good, now, true},
		{"parameters swapped, other spacing", "vapid k=" + kk + ",t=" + jwt, now, true},
		{"scheme in capitals", "VAPID t=" + jwt + ", k=" + kk, now, true},
		{"no sub", auth(k, origin+"/x", "", now, time.Hour), now, true},
		{"empty", "", now, false},
		{"bearer scheme", "Bearer " + jwt, now, false},
		{"no k", "vapid t=" + jwt, now, false},
		{"no t", "vapid k=" + kk, now, false},
		{"k not a point", "vapid t=" + jwt + ", k=AAAA", now, false},
		{"k another key", "vapid t=" + jwt + ", k=" + b64.EncodeToString(other.PublicKey()), now, false},
		{"signed by another key", auth(other, origin+"/x", "", now, time.Hour)[:len("vapid t=")+len(jwt)] + ", k=" + kk, now, false},
		{"claims changed", "vapid t=" + parts[0] + "." + b64.EncodeToString([]byte(`{"aud":"`+origin+`","exp":1900000000}`)) + "." + parts[2] + ", k=" + kk, now, false},
		{"signature cut", "vapid t=" + parts[0] + "." + parts[1] + "." + parts[2][:20] + ", k=" + kk, now, false},
		{"two parts", "vapid t=" + parts[0] + "." + parts[1] + ", k=" + kk, now, false},
		{"wrong aud", auth(k, "https://localhost:9999/push/abc", "", now, time.Hour), now, false},
		{"aud with a path", signed(map[string]string{"alg": "ES256"}, map[string]any{"aud": origin + "/push", "exp": now.Add(time.Hour).Unix()}), now, false},
		{"expired", good, now.Add(2 * time.Hour), false},
		{"exactly at exp", good, now.Add(time.Hour), false},
		{"exp over 24 hours ahead", signed(map[string]string{"alg": "ES256"}, map[string]any{"aud": origin, "exp": now.Add(25 * time.Hour).Unix()}), now, false},
		{"no exp", signed(map[string]string{"alg": "ES256"}, map[string]any{"aud": origin}), now, false},
		{"exp a string", signed(map[string]string{"alg": "ES256"}, map[string]any{"aud": origin, "exp": "soon"}), now, false},
		{"sub not a URI", signed(map[string]string{"alg": "ES256"}, map[string]any{"aud": origin, "exp": now.Add(time.Hour).Unix(), "sub": "ops"}), now, false},
		{"alg none", "vapid t=" + b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "." + parts[2] + ", k=" + kk, now, false},
		{"huge", "vapid t=" + strings.Repeat("a", 3000) + ", k=" + kk, now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, claims, err := VerifyAuthorization(tc.header, origin, tc.at)
			if tc.ok {
				if err != nil || string(key) != string(k.PublicKey()) || claims.Aud != origin || !claims.Exp.Equal(now.Add(time.Hour)) {
					t.Fatalf("VerifyAuthorization = %x, %+v, %v", key, claims, err)
				}
				return
			}
			if !errors.Is(err, ErrVAPID) {
				t.Fatalf("err = %v, want ErrVAPID", err)
			}
		})
	}
}

// FuzzVerifyAuthorization: any header either verifies or is ErrVAPID,
// never a panic.
func FuzzVerifyAuthorization(f *testing.F) {
	k, _ := GenerateVAPIDKey(rand.Reader)
	now := time.Unix(1_800_000_000, 0)
	h, _ := k.Authorization(rand.Reader, "https://localhost:1/p", "mailto:a@b", now, time.Hour)
	f.Add(h)
	f.Add("vapid t=a.b.c, k=")
	f.Fuzz(func(t *testing.T, header string) {
		if _, _, err := VerifyAuthorization(header, "https://localhost:1", now); err != nil && !errors.Is(err, ErrVAPID) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
