package daemon

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The checks every request passes, in the order a browser-borne attack
// meets them: the Host header (DNS rebinding: a page on evil.example whose
// name now resolves to 127.0.0.1 sends Host: evil.example), then the
// credentials, then the Origin and CSRF token of requests that change
// something. None of them reads the body.

const (
	// sessionCookie is the web UI's cookie's name (see cookieName).
	sessionCookie = "hush_session"
	// loginTTL bounds a one-time login URL's life.
	loginTTL = 5 * time.Minute
	// sessionTTL bounds a UI session's life.
	sessionTTL = 24 * time.Hour
)

// sessions are the UI's one-time login tokens and cookie sessions, kept
// in memory only: a restarted daemon prints a new login URL.
type sessions struct {
	mu sync.Mutex // guards logins and live
	// logins maps the SHA-256 of a one-time token to its expiry.
	logins map[[32]byte]time.Time
	// live maps the SHA-256 of a cookie value to its session.
	live map[[32]byte]*session
}

type session struct {
	csrf    string
	expires time.Time
}

func newSessions() *sessions {
	return &sessions{logins: map[[32]byte]time.Time{}, live: map[[32]byte]*session{}}
}

func randomText() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newLogin returns a one-time login token.
func (s *sessions) newLogin() string {
	t := randomText()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logins[sha256.Sum256([]byte(t))] = time.Now().Add(loginTTL)
	return t
}

// redeem spends a login token and returns a new session's cookie value.
// Tokens are looked up by hash, so the map lookup's timing reveals
// nothing usable about a token.
func (s *sessions) redeem(token string) (cookie string, ok bool) {
	h := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, found := s.logins[h]
	delete(s.logins, h)
	if !found || time.Now().After(exp) {
		return "", false
	}
	cookie = randomText()
	s.live[sha256.Sum256([]byte(cookie))] = &session{csrf: randomText(), expires: time.Now().Add(sessionTTL)}
	return cookie, true
}

// lookup returns the session of a cookie value.
func (s *sessions) lookup(cookie string) (*session, bool) {
	h := sha256.Sum256([]byte(cookie))
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.live[h]
	if ok && time.Now().After(se.expires) {
		delete(s.live, h)
		return nil, false
	}
	return se, ok
}

// authKind says how a request authenticated.
type authKind int

const (
	authNone authKind = iota
	authKey
	authCookie
)

// hostAllowed reports whether the Host header names this daemon: on TCP a
// loopback name with the daemon's port; on a unix socket anything, since
// only local processes reach the socket and no browser page can.
func (d *Daemon) hostAllowed(host string) bool {
	if d.port == "" {
		return true
	}
	h, p, err := net.SplitHostPort(host)
	if err != nil || p != d.port {
		return false
	}
	switch strings.ToLower(h) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// originAllowed reports whether an Origin header names the daemon itself:
// the scheme http and the very host the request was sent to.
func originAllowed(r *http.Request, origin string) bool {
	return origin == "http://"+r.Host
}

// stateChanging reports whether a request may change something.
func stateChanging(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// guard wraps the API: it answers what fails a check and passes the rest
// on, with the headers every API response carries.
func (d *Daemon) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// A browser's disk cache would otherwise keep plaintext messages.
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if !d.hostAllowed(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, "bad_host", "the Host header must name the daemon's loopback address")
			return
		}
		kind, se := d.authenticate(r)
		if kind == authNone {
			writeError(w, http.StatusUnauthorized, "unauthorized", "an API key (Authorization: Bearer KEY) or a UI session is required")
			return
		}
		origin := r.Header.Get("Origin")
		events := r.URL.Path == "/api/v1/events"
		if stateChanging(r) || events {
			// A browser names the page's site; a request made for another
			// site's page is refused even when it carries the cookie
			// (SameSite=Strict keeps it out already; this holds too for
			// a same-site page on another port).
			if origin != "" && !originAllowed(r, origin) {
				writeError(w, http.StatusForbidden, "bad_origin", "cross-origin requests are refused")
				return
			}
			if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
				writeError(w, http.StatusForbidden, "bad_origin", "cross-site requests are refused")
				return
			}
		}
		if kind == authCookie && stateChanging(r) {
			got := r.Header.Get("X-CSRF-Token")
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(se.csrf)) != 1 {
				writeError(w, http.StatusForbidden, "csrf", "the X-CSRF-Token header is missing or wrong (GET /api/v1/session gives it)")
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(withSession(r.Context(), kind, se)))
	})
}

// authenticate checks the API key first (a script), then the UI cookie.
func (d *Daemon) authenticate(r *http.Request) (authKind, *session) {
	if k, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if d.keyMatches(strings.TrimSpace(k)) {
			return authKey, nil
		}
		return authNone, nil
	}
	if k := r.Header.Get("X-Hush-Key"); k != "" {
		if d.keyMatches(k) {
			return authKey, nil
		}
		return authNone, nil
	}
	if ck, err := r.Cookie(d.cookieName()); err == nil {
		if se, ok := d.auth.lookup(ck.Value); ok {
			return authCookie, se
		}
	}
	return authNone, nil
}

// handleLogin redeems a one-time login URL: it sets the session cookie
// and sends the browser on to the UI without the token in its address.
func (d *Daemon) handleLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if !d.hostAllowed(r.Host) {
		writeError(w, http.StatusMisdirectedRequest, "bad_host", "the Host header must name the daemon's loopback address")
		return
	}
	cookie, ok := d.auth.redeem(r.URL.Query().Get("token"))
	if !ok {
		writeError(w, http.StatusForbidden, "bad_login", "this login link was used already or has expired: ask the daemon for a new one")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: d.cookieName(), Value: cookie, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL / time.Second),
	})
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// cookieName is the session cookie's name: on TCP it carries the port,
// since browsers keep cookies per host and not per port, and two daemons
// on 127.0.0.1 (alice's and bob's) would otherwise replace each other's
// session in one browser.
func (d *Daemon) cookieName() string {
	if d.port == "" {
		return sessionCookie
	}
	return sessionCookie + "_" + d.port
}
