package turn

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// TestVectors: Password matches HMAC-SHA1 vectors computed outside Go
// (testdata/vectors.json says how), and each username parses.
func TestVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Credentials []struct {
			SecretHex string `json:"secret_hex"`
			Username  string `json:"username"`
			Password  string `json:"password"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal(b, &v); err != nil || len(v.Credentials) == 0 {
		t.Fatal(err)
	}
	for _, c := range v.Credentials {
		t.Run(c.Username, func(t *testing.T) {
			secret, _ := hex.DecodeString(c.SecretHex)
			if got := Password(secret, c.Username); got != c.Password {
				t.Errorf("Password = %s, want %s", got, c.Password)
			}
			if _, err := ParseUsername(c.Username); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestPionAgrees: a credential pion/turn's TURN REST helper makes is the
// one Password computes, so pion's client and our server agree.
func TestPionAgrees(t *testing.T) {
	user, pass, err := pionturn.GenerateLongTermTURNRESTCredentials("shared", "AAECAwQFBgcICQoLDA0ODw", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := Password([]byte("shared"), user); got != pass {
		t.Fatalf("Password(%q) = %s, pion says %s", user, got, pass)
	}
	if _, err := ParseUsername(user); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	exp := time.Unix(1767225600, 0)
	u := Username(exp, bytes.Repeat([]byte{7}, RandomSize))
	c := &Credential{Username: u, Password: Password([]byte("s"), u), Expires: exp}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseAnswer(http.StatusOK, b)
	if err != nil || *got != *c {
		t.Fatalf("ParseAnswer = %+v, %v; want %+v", got, err, c)
	}
	if err := ParseRequest(MarshalRequest()); err != nil {
		t.Fatal(err)
	}
	st, eb, err := MarshalError(&Error{Code: CodeRateLimited, Message: "slow down", RetryAfter: 1500 * time.Millisecond})
	if err != nil || st != http.StatusTooManyRequests {
		t.Fatal(st, err)
	}
	_, err = ParseAnswer(st, eb)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrRateLimited) || e.RetryAfter != 1500*time.Millisecond || e.Message != "slow down" {
		t.Fatalf("error answer: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	exp := time.Unix(1767225600, 0)
	u := Username(exp, make([]byte, RandomSize))
	p := Password([]byte("s"), u)
	good := `{"username":"` + u + `","password":"` + p + `","expires":1767225600}`
	answers := []struct{ name, body string }{
		{"extra key", strings.Replace(good, `{`, `{"x":1,`, 1)},
		{"repeated key", strings.Replace(good, `{`, `{"expires":1,`, 1)},
		{"case key", strings.Replace(good, `"username"`, `"Username"`, 1)},
		{"no password", `{"username":"` + u + `","expires":1767225600}`},
		{"expiry mismatch", strings.Replace(good, `"expires":1767225600`, `"expires":1767225601`, 1)},
		{"short password", strings.Replace(good, p, "AAAA", 1)},
		{"username without colon", strings.Replace(good, u, "1767225600", 1)},
		{"username leading zero", strings.ReplaceAll(good, "1767225600", "01767225600")},
		{"username short random", strings.Replace(good, u, "1767225600:AAAA", 1)},
		{"trailing", good + "{}"},
		{"not json", "{"},
	}
	for _, a := range answers {
		t.Run(a.name, func(t *testing.T) {
			if _, err := ParseAnswer(http.StatusOK, []byte(a.body)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseAnswer(%s) = %v, want ErrMalformed", a.body, err)
			}
		})
	}
	for _, r := range []string{`{}`, `{"op":"report"}`, `{"op":"credential","x":1}`, `{"op":"credential"}{}`, `[]`} {
		if err := ParseRequest([]byte(r)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseRequest(%s) = %v", r, err)
		}
	}
	// An error whose code does not match its status.
	if _, err := ParseAnswer(http.StatusBadRequest, []byte(`{"error":"rate_limited"}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("mismatched error: %v", err)
	}
}

// cut splits a parsed username into its parts (tests).
func cut(u string) (string, []byte, bool) {
	i := strings.IndexByte(u, ':')
	if i < 0 {
		return "", nil, false
	}
	r, err := base64RawURL(u[i+1:])
	return u[:i], r, err == nil
}

func base64RawURL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
