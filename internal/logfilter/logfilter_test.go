package logfilter

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	acct := "05" + strings.Repeat("ab", 32)
	tests := []struct{ name, in, want string }{
		{"tls handshake", "http: TLS handshake error from 127.0.0.1:54321: EOF", "http: TLS handshake error from [address]: EOF"},
		{"ipv6", "read tcp [::1]:443->[fe80::1%eth0]:5555: reset", "read tcp [address]->[address]: reset"},
		{"bare ip", "dial 10.0.0.7 refused", "dial [address] refused"},
		{"account", "account " + acct + " full", "account [account] full"},
		{"version kept", "hushd 0.1.0-dev", "hushd 0.1.0-dev"},
		{"nothing", "stored", "stored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	var b bytes.Buffer
	l := slog.New(Handler(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}), "listen"))
	l.With("peer", "1.2.3.4:5").Debug("from 127.0.0.1:99", "err", errors.New("dial 10.1.1.1:80"), "listen", "127.0.0.1:7000",
		slog.Group("g", "a", "8.8.8.8"))
	out := b.String()
	for _, leak := range []string{"1.2.3.4", "127.0.0.1:99", "10.1.1.1", "8.8.8.8"} {
		if strings.Contains(out, leak) {
			t.Errorf("%s in %s", leak, out)
		}
	}
	if !strings.Contains(out, "listen=127.0.0.1:7000") {
		t.Errorf("kept attribute redacted: %s", out)
	}
	b.Reset()
	ErrorLog(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}), true).Print("from 127.0.0.1:1")
	if !strings.Contains(b.String(), "127.0.0.1:1") {
		t.Errorf("private mode redacted: %s", b.String())
	}
}
