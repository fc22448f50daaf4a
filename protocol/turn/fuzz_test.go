package turn

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// FuzzParseAnswer: ParseAnswer never panics, refuses with ErrMalformed
// or an *Error only, and an accepted credential encodes back to itself.
func FuzzParseAnswer(f *testing.F) {
	exp := time.Unix(1767225600, 0)
	u := Username(exp, make([]byte, RandomSize))
	c := &Credential{Username: u, Password: Password([]byte("s"), u), Expires: exp}
	b, _ := c.Marshal()
	f.Add(http.StatusOK, b)
	_, eb, _ := MarshalError(&Error{Code: CodeRateLimited, RetryAfter: time.Second})
	f.Add(http.StatusTooManyRequests, eb)
	f.Add(http.StatusOK, []byte(`{"username":null}`))
	f.Fuzz(func(t *testing.T, status int, b []byte) {
		c, err := ParseAnswer(status, b)
		if err != nil {
			var e *Error
			if !errors.Is(err, ErrMalformed) && !errors.As(err, &e) {
				t.Fatalf("error %v is neither ErrMalformed nor *Error", err)
			}
			return
		}
		again, err := c.Marshal()
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", b, err)
		}
		c2, err := ParseAnswer(http.StatusOK, again)
		if err != nil || *c2 != *c {
			t.Fatalf("round trip: %+v %v, want %+v", c2, err, c)
		}
	})
}

// FuzzParseRequest: ParseRequest never panics and accepts only the one
// request.
func FuzzParseRequest(f *testing.F) {
	f.Add(MarshalRequest())
	f.Add([]byte(`{"op":"credential","op":"credential"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := ParseRequest(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v is not ErrMalformed", err)
		}
	})
}

// FuzzParseUsername: ParseUsername never panics and accepts only
// usernames Username could have built.
func FuzzParseUsername(f *testing.F) {
	f.Add(Username(time.Unix(1767225600, 0), make([]byte, RandomSize)))
	f.Add("1:")
	f.Fuzz(func(t *testing.T, u string) {
		exp, err := ParseUsername(u)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
			return
		}
		_, random, _ := cut(u)
		if Username(exp, random) != u {
			t.Fatalf("%q accepted but Username gives %q", u, Username(exp, random))
		}
	})
}
