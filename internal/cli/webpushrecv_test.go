package cli

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushnet/hush/crypto/webpush"
)

// TestWebPushReceiverRefusals: the receiver accepts a push that a push
// server makes as RFC 8030/8291/8292 say, and refuses every request that
// breaks one of them with the 4xx the RFCs name and a reason, reporting
// no payload for it.
func TestWebPushReceiverRefusals(t *testing.T) {
	const origin = "https://localhost:4443"
	now := time.Unix(1_800_000_000, 0)
	server, _ := webpush.GenerateVAPIDKey(rand.Reader)
	stranger, _ := webpush.GenerateVAPIDKey(rand.Reader)
	st, err := loadReceiverState(filepath.Join(t.TempDir(), "none.json"))
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := st.receiver(origin, server.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	rcv.now = func() time.Time { return now }
	var events []receiverEvent
	rcv.report = func(e receiverEvent) { events = append(events, e) }

	plaintext := []byte("an opaque hush push payload")
	body := func() []byte {
		b, err := webpush.Encrypt(rand.Reader, rcv.key.PublicKey(), rcv.auth, plaintext)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	vapid := func(k *webpush.VAPIDKey, endpoint string, at time.Time) string {
		h, err := k.Authorization(rand.Reader, endpoint, "mailto:devnet@invalid", at, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	otherKey, _ := ecdh.P256().GenerateKey(rand.Reader)
	tampered := body()
	tampered[len(tampered)-5] ^= 1

	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string // replaces the good request's headers
		body   []byte
		length int64 // Content-Length when not len(body); -1 unknown
		status int
		reason string
	}{
		{name: "a good push", status: http.StatusCreated},
		{name: "unknown subscription", path: "/push/other", status: http.StatusNotFound, reason: "no such subscription"},
		{name: "GET", method: http.MethodGet, status: http.StatusMethodNotAllowed, reason: "pushes are POST"},
		{name: "no VAPID", header: map[string]string{"Authorization": ""}, status: http.StatusUnauthorized, reason: "no VAPID"},
		{name: "bad VAPID", header: map[string]string{"Authorization": "vapid t=a.b.c, k=AAAA"}, status: http.StatusForbidden, reason: "invalid vapid"},
		{name: "bearer token", header: map[string]string{"Authorization": "Bearer abc"}, status: http.StatusForbidden, reason: "scheme"},
		{name: "wrong aud", header: map[string]string{"Authorization": vapid(server, "https://localhost:9999/push/x", now)}, status: http.StatusForbidden, reason: "aud"},
		{name: "expired", header: map[string]string{"Authorization": vapid(server, origin+"/x", now.Add(-2*time.Hour))}, status: http.StatusForbidden, reason: "expired"},
		{name: "another sender's key", header: map[string]string{"Authorization": vapid(stranger, origin+"/x", now)}, status: http.StatusForbidden, reason: "not the devnet push server's"},
		{name: "no TTL", header: map[string]string{"TTL": ""}, status: http.StatusBadRequest, reason: "TTL"},
		{name: "other content coding", header: map[string]string{"Content-Encoding": "aesgcm"}, status: http.StatusUnsupportedMediaType, reason: "aes128gcm"},
		{name: "tampered body", body: tampered, status: http.StatusBadRequest, reason: "does not decrypt"},
		{name: "body for another key", body: mustEncrypt(t, otherKey.PublicKey(), rcv.auth, plaintext), status: http.StatusBadRequest, reason: "does not decrypt"},
		{name: "empty body", body: []byte{}, status: http.StatusBadRequest, reason: "does not decrypt"},
		{name: "oversize, declared", body: make([]byte, maxPushBody+1), status: http.StatusRequestEntityTooLarge, reason: "over 4096"},
		{name: "oversize, undeclared", body: make([]byte, 3*maxPushBody), length: -1, status: http.StatusRequestEntityTooLarge, reason: "over 4096"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events = nil
			b := tc.body
			if b == nil {
				b = body()
			}
			method, path := tc.method, tc.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = rcv.path
			}
			req := httptest.NewRequest(method, origin+path, bytes.NewReader(b))
			req.ContentLength = int64(len(b))
			if tc.length != 0 {
				req.ContentLength = tc.length
			}
			h := map[string]string{"Authorization": vapid(server, origin+rcv.path, now), "TTL": "86400", "Content-Encoding": "aes128gcm", "Urgency": "high"}
			for k, v := range tc.header {
				h[k] = v
			}
			for k, v := range h {
				if v != "" {
					req.Header.Set(k, v)
				}
			}
			w := httptest.NewRecorder()
			rcv.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d (%s), want %d", w.Code, strings.TrimSpace(w.Body.String()), tc.status)
			}
			if len(events) != 1 || events[0].Status != tc.status {
				t.Fatalf("reported %+v", events)
			}
			e := events[0]
			if tc.status == http.StatusCreated {
				if !bytes.Equal(e.Payload, plaintext) || !strings.HasPrefix(w.Header().Get("Location"), origin+"/message/") {
					t.Fatalf("push %q, Location %q", e.Payload, w.Header().Get("Location"))
				}
				return
			}
			if e.Payload != nil || !strings.Contains(e.Reason, tc.reason) || !strings.Contains(w.Body.String(), tc.reason) {
				t.Fatalf("refusal %+v, body %q; want a reason with %q", e, w.Body.String(), tc.reason)
			}
		})
	}
}

func mustEncrypt(t *testing.T, ua *ecdh.PublicKey, auth, p []byte) []byte {
	t.Helper()
	b, err := webpush.Encrypt(rand.Reader, ua, auth, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWebPushReceiverState: the subscription's keys survive a restart
// (the state file, readable by its owner only), and the receiver listens
// on loopback only.
func TestWebPushReceiverState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	st, err := loadReceiverState(path)
	if err != nil {
		t.Fatal(err)
	}
	st.Listen = "127.0.0.1:4443"
	if err := st.save(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, %v", fi.Mode(), err)
	}
	again, err := loadReceiverState(path)
	if err != nil || *again != *st {
		t.Fatalf("reloaded %+v, %v; want %+v", again, err, st)
	}
	a, _ := st.receiver("https://localhost:4443", nil)
	b, _ := again.receiver("https://localhost:4443", nil)
	if a.endpoint() != b.endpoint() || a.p256dh() != b.p256dh() {
		t.Fatal("a restart changed the subscription")
	}

	for _, tc := range []struct {
		addr, origin string
	}{
		{"127.0.0.1:0", "https://localhost:"},
		{"localhost:0", "https://localhost:"},
		{"127.0.0.2:0", "https://127.0.0.2:"},
		{"0.0.0.0:0", ""},
		{"192.168.1.1:0", ""},
		{"example.net:0", ""},
		{"nonsense", ""},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			ln, origin, err := listenLoopback(tc.addr)
			if tc.origin == "" {
				if err == nil {
					ln.Close()
					t.Fatalf("listened on %s", tc.addr)
				}
				return
			}
			if err != nil {
				if strings.Contains(err.Error(), "assign requested address") {
					t.Skip(err) // no 127.0.0.2 here
				}
				t.Fatal(err)
			}
			defer ln.Close()
			if want := tc.origin + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port); origin != want {
				t.Fatalf("origin %s, want %s", origin, want)
			}
		})
	}
}

// TestWebPushReceiverCommandLine: the printed line names --home when the
// receiver had one (quoted for a shell), and --network only when the
// account's commands would not find the devnet without it.
func TestWebPushReceiverCommandLine(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("HUSH_NETWORK", "")
	st, _ := loadReceiverState(filepath.Join(t.TempDir(), "s.json"))
	rcv, err := st.receiver("https://localhost:4443", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "my devnet")
	tail := " notifications push --network '" + dir + "/network.json' --webpush https://localhost:4443" + st.Path + " --p256dh " + rcv.p256dh() + " --auth " + st.Auth
	a := &app{}
	if got, want := a.subscribeCommand(rcv, receiverInfo{dir: dir}), "hush"+tail; got != want {
		t.Errorf("without --home:\n got %s\nwant %s", got, want)
	}
	a.home = "/homes/bob's"
	if got, want := a.subscribeCommand(rcv, receiverInfo{dir: dir}), `hush --home '/homes/bob'\''s'`+tail; got != want {
		t.Errorf("with --home:\n got %s\nwant %s", got, want)
	}
	t.Setenv("HUSH_NETWORK", filepath.Join(dir, "network.json"))
	if got := a.subscribeCommand(rcv, receiverInfo{dir: dir}); strings.Contains(got, "--network") {
		t.Errorf("HUSH_NETWORK names the devnet, yet: %s", got)
	}
}
