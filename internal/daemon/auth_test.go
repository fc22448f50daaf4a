package daemon

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hushnet/hush/client"
)

// TestLockedRefuses: a daemon started on an empty home serves the status
// and the calls that create, restore or unlock an account, and refuses
// everything else with 423 "locked" until one of them succeeds; after a
// lock it refuses again, and unlocks with the right passphrase only.
func TestLockedRefuses(t *testing.T) {
	td := startDaemon(t, Config{Options: client.Options{Standalone: standalone(t)}})
	var st statusJSON
	td.mustDo("GET", "/api/v1/status", nil, http.StatusOK, &st)
	if st.State != stateNoAccount || st.Daemon == nil || st.Daemon.PID != os.Getpid() {
		t.Fatalf("status %+v", st)
	}
	refused := []call{
		{method: "GET", path: "/api/v1/conversations"},
		{method: "GET", path: "/api/v1/events"},
		{method: "POST", path: "/api/v1/conversations/x/messages", body: map[string]string{"text": "hi"}},
		{method: "GET", path: "/api/v1/settings"},
		{method: "POST", path: "/api/v1/account/lock"},
		{method: "POST", path: "/api/v1/backup/export", body: map[string]string{"passphrase": testPass}},
		{method: "GET", path: "/api/v1/paths"},
	}
	checkLocked := func(t *testing.T) {
		for _, c := range refused {
			resp, b := td.do(c)
			if resp.StatusCode != http.StatusLocked || errorCode(b) != "locked" {
				t.Errorf("%s %s while locked: %d %s", c.method, c.path, resp.StatusCode, b)
			}
		}
	}
	checkLocked(t)
	resp, b := td.do(call{method: "POST", path: "/api/v1/account/unlock", body: map[string]string{"passphrase": testPass}})
	if resp.StatusCode != http.StatusConflict || errorCode(b) != "no_account" {
		t.Fatalf("unlock without an account: %d %s", resp.StatusCode, b)
	}
	var created map[string]string
	td.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, &created)
	if created["account_id"] == "" || len(strings.Fields(created["recovery_phrase"])) < 12 {
		t.Fatalf("create: %v", created)
	}
	td.mustDo("GET", "/api/v1/conversations", nil, http.StatusOK, nil)
	resp, b = td.do(call{method: "POST", path: "/api/v1/account/create", body: map[string]string{"passphrase": testPass}})
	if resp.StatusCode != http.StatusConflict || errorCode(b) != "account_exists" {
		t.Fatalf("second create: %d %s", resp.StatusCode, b)
	}
	td.mustDo("POST", "/api/v1/account/lock", nil, http.StatusOK, &st)
	if st.State != stateLocked || st.AccountID != created["account_id"] {
		t.Fatalf("after lock: %+v", st)
	}
	checkLocked(t)
	resp, b = td.do(call{method: "POST", path: "/api/v1/account/unlock", body: map[string]string{"passphrase": "wrong"}})
	if resp.StatusCode != http.StatusForbidden || errorCode(b) != "wrong_passphrase" {
		t.Fatalf("wrong passphrase: %d %s", resp.StatusCode, b)
	}
	checkLocked(t)
	td.mustDo("POST", "/api/v1/account/unlock", map[string]string{"passphrase": testPass}, http.StatusOK, &st)
	if st.State != stateUnlocked {
		t.Fatalf("after unlock: %+v", st)
	}

	// Restore, on a second daemon's home, from the phrase create gave.
	td2 := startDaemon(t, Config{Options: client.Options{Standalone: standalone(t)}})
	resp, b = td2.do(call{method: "POST", path: "/api/v1/account/restore", body: map[string]string{"recovery_phrase": "not a phrase", "passphrase": testPass}})
	if resp.StatusCode != http.StatusBadRequest || errorCode(b) != "bad_phrase" {
		t.Fatalf("restore with a bad phrase: %d %s", resp.StatusCode, b)
	}
	var restored map[string]string
	td2.mustDo("POST", "/api/v1/account/restore", map[string]string{"recovery_phrase": created["recovery_phrase"], "passphrase": testPass}, http.StatusCreated, &restored)
	if restored["account_id"] != created["account_id"] {
		t.Fatalf("restored %v, created %v", restored, created)
	}
}

// TestKeyFile: the API key is made once, 0600, and kept across restarts;
// --print-key reads the same.
func TestKeyFile(t *testing.T) {
	home := t.TempDir()
	k1, err := LoadKey(home)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(home, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi.Mode(), err)
	}
	k2, _ := LoadKey(home)
	if string(k1) != string(k2) || len(k1) != 64 {
		t.Fatalf("keys %q %q", k1, k2)
	}
}

// TestAuth: every API request needs the key or a session, names the
// daemon in its Host header, and (when it changes something, or opens
// the event stream) comes from no foreign origin. No response has CORS
// headers, and every one says no-store.
func TestAuth(t *testing.T) {
	td := unlockedDaemon(t, standalone(t), nil)
	port := td.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndex(port, ":")+1:]
	own := "http://" + td.Addr().String()
	post := func(h map[string]string) call {
		return call{method: "PATCH", path: "/api/v1/settings", body: map[string]bool{"receipts": true}, header: h}
	}
	for _, tc := range []struct {
		name   string
		c      call
		status int
		code   string
	}{
		{"no key", call{method: "GET", path: "/api/v1/conversations", header: map[string]string{"Authorization": ""}}, 401, "unauthorized"},
		{"wrong key", call{method: "GET", path: "/api/v1/conversations", header: map[string]string{"Authorization": "Bearer " + strings.Repeat("0", 64)}}, 401, "unauthorized"},
		{"not bearer", call{method: "GET", path: "/api/v1/conversations", header: map[string]string{"Authorization": "Basic " + td.Key()}}, 401, "unauthorized"},
		{"X-Hush-Key", call{method: "GET", path: "/api/v1/conversations", header: map[string]string{"Authorization": "", "X-Hush-Key": td.Key()}}, 200, ""},
		{"status needs the key too", call{method: "GET", path: "/api/v1/status", header: map[string]string{"Authorization": ""}}, 401, "unauthorized"},
		{"rebinding host", call{method: "GET", path: "/api/v1/conversations", header: map[string]string{"Host": "evil.example:" + port}}, 421, "bad_host"},
		{"host without port", call{method: "GET", path: "/api/v1/conversations", header: map[string]string{"Host": "localhost"}}, 421, "bad_host"},
		{"other port", call{method: "GET", path: "/api/v1/conversations", header: map[string]string{"Host": "127.0.0.1:1"}}, 421, "bad_host"},
		{"localhost name", call{method: "GET", path: "/api/v1/conversations", header: map[string]string{"Host": "localhost:" + port}}, 200, ""},
		{"host checked before the key", call{method: "GET", path: "/api/v1/conversations", header: map[string]string{"Host": "evil.example:" + port, "Authorization": ""}}, 421, "bad_host"},
		{"cross-origin write", post(map[string]string{"Origin": "http://evil.example"}), 403, "bad_origin"},
		{"other port's origin", post(map[string]string{"Origin": "http://127.0.0.1:1"}), 403, "bad_origin"},
		{"null origin", post(map[string]string{"Origin": "null"}), 403, "bad_origin"},
		{"cross-site fetch", post(map[string]string{"Sec-Fetch-Site": "cross-site"}), 403, "bad_origin"},
		{"own origin", post(map[string]string{"Origin": own}), 200, ""},
		{"no origin with the key", post(nil), 200, ""},
		{"cross-origin event stream", call{method: "GET", path: "/api/v1/events", header: map[string]string{"Origin": "http://evil.example"}}, 403, "bad_origin"},
		{"cross-origin read is still no CORS", call{method: "GET", path: "/api/v1/conversations", header: map[string]string{"Origin": "http://evil.example"}}, 200, ""},
		{"unknown endpoint", call{method: "GET", path: "/api/v1/nothing"}, 404, "no_endpoint"},
		{"unknown field", call{method: "PATCH", path: "/api/v1/settings", body: map[string]bool{"reciepts": true}}, 400, "bad_json"},
		{"oversize body", call{method: "PATCH", path: "/api/v1/settings", body: map[string]string{"x": strings.Repeat("a", maxJSONBody)}}, 413, "too_large"},
		{"preflight", call{method: "OPTIONS", path: "/api/v1/settings", header: map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "PATCH"}}, 404, "no_endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := td.do(tc.c)
			if resp.StatusCode != tc.status || (tc.code != "" && errorCode(b) != tc.code) {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, b, tc.status, tc.code)
			}
			for k := range resp.Header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("CORS header %s", k)
				}
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
		})
	}
}

// TestSocket: on a unix socket any Host is fine (no browser reaches it),
// and the key is still needed.
func TestSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "d.sock")
	td := startDaemon(t, Config{Socket: sock, Options: client.Options{Standalone: standalone(t)}})
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	for _, tc := range []struct {
		name   string
		key    bool
		status int
	}{{"key", true, 200}, {"no key", false, 401}} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://anything.example/api/v1/status", nil)
			if tc.key {
				req.Header.Set("Authorization", "Bearer "+td.Key())
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("%d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v %v", fi.Mode(), err)
	}
}

// TestCookieSession: the one-time login URL gives a browser an HttpOnly,
// SameSite=Strict cookie once; with it, reads work, and writes need the
// CSRF token that GET /api/v1/session gives.
func TestCookieSession(t *testing.T) {
	td := unlockedDaemon(t, standalone(t), nil)
	login := td.LoginURL()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(login)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "hush_session_"+td.port {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
		t.Fatalf("cookie %+v", ck)
	}
	// The URL works once.
	resp, err = (&http.Client{}).Get(login)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("second login: %d", resp.StatusCode)
	}
	withCookie := func(c call) call {
		h := map[string]string{"Authorization": "", "Cookie": ck.Name + "=" + ck.Value}
		for k, v := range c.header {
			h[k] = v
		}
		c.header = h
		return c
	}
	var sess map[string]string
	resp2, b := td.do(withCookie(call{method: "GET", path: "/api/v1/session"}))
	if resp2.StatusCode != 200 {
		t.Fatalf("session: %d %s", resp2.StatusCode, b)
	}
	json.Unmarshal(b, &sess)
	if sess["auth"] != "cookie" || len(sess["csrf_token"]) != 64 {
		t.Fatalf("session %v", sess)
	}
	own := "http://" + td.Addr().String()
	patch := map[string]bool{"receipts": false}
	for _, tc := range []struct {
		name   string
		c      call
		status int
		code   string
	}{
		{"read", call{method: "GET", path: "/api/v1/settings"}, 200, ""},
		{"write without token", call{method: "PATCH", path: "/api/v1/settings", body: patch, header: map[string]string{"Origin": own}}, 403, "csrf"},
		{"write with a wrong token", call{method: "PATCH", path: "/api/v1/settings", body: patch, header: map[string]string{"Origin": own, "X-CSRF-Token": strings.Repeat("0", 64)}}, 403, "csrf"},
		{"write with the token", call{method: "PATCH", path: "/api/v1/settings", body: patch, header: map[string]string{"Origin": own, "X-CSRF-Token": sess["csrf_token"]}}, 200, ""},
		{"cross-origin write with the token", call{method: "PATCH", path: "/api/v1/settings", body: patch, header: map[string]string{"Origin": "http://evil.example", "X-CSRF-Token": sess["csrf_token"]}}, 403, "bad_origin"},
		{"cookie cannot mint login URLs", call{method: "POST", path: "/api/v1/session/login-url", header: map[string]string{"Origin": own, "X-CSRF-Token": sess["csrf_token"]}}, 403, "key_required"},
		{"unknown cookie", call{method: "GET", path: "/api/v1/settings", header: map[string]string{"Cookie": td.cookieName() + "=nope"}}, 401, "unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := td.do(withCookie(tc.c))
			if resp.StatusCode != tc.status || (tc.code != "" && errorCode(b) != tc.code) {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, b, tc.status, tc.code)
			}
		})
	}
	// The key may mint a new login URL.
	var u map[string]string
	td.mustDo("POST", "/api/v1/session/login-url", nil, 200, &u)
	if pu, err := url.Parse(u["url"]); err != nil || pu.Query().Get("token") == "" {
		t.Fatalf("login url %v", u)
	}
}
