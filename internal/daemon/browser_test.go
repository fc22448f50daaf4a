package daemon

// The browser tests' harness: one devnet of hushd processes, two daemons
// with accounts (alice and bob, each the other's contact) and one headless
// Chromium, started once for the package by the first test that asks
// (uiFixture) and stopped by TestMain. Each test opens its own tabs
// (env.page) and waits on DOM conditions, never on time.
//
// Alice's and bob's pages share the browser's default context, whose
// profile is on disk (the at-rest test reads it): their session cookies
// carry each daemon's port in their names, so they do not collide. Any
// other daemon's page gets a browser context of its own (env.pageFor).
//
// Tests share alice and bob: a test leaves them as it found them (each
// the other's unblocked contact, receipts on, unlocked) and names them by
// Account ID (env.AliceID, env.BobID), not by nickname. A test that must
// block, lock, restart or rename starts its own daemon (env.newDaemon).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hushnet/hush/client"
)

// uiWait bounds every wait for a page condition: generous, since the
// suite must pass while other work keeps both cores busy.
const uiWait = 2 * time.Minute

// uiEnv is the shared browser-test environment.
type uiEnv struct {
	// Opts reaches the devnet (for daemons a test starts itself).
	Opts client.Options
	// Alice and Bob run with accounts; AliceID and BobID are theirs.
	Alice, Bob     *Daemon
	AliceID, BobID string
	// Profile is Chromium's --user-data-dir.
	Profile string
	// Downloads is where the browser saves downloads (by GUID).
	Downloads string

	dir     string
	browser context.Context // the browser's first tab; pages are new tabs
	stops   []func()        // in reverse order at teardown
}

var (
	uiOnce   sync.Once
	uiShared *uiEnv
	uiErr    error
)

// TestMain stops the shared browser-test environment, then the shared
// devnet, after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if uiShared != nil {
		uiShared.teardown()
	}
	stopNetwork()
	os.Exit(code)
}

// chromiumPath finds the browser: $HUSH_CHROMIUM, Debian's
// /usr/bin/chromium, or chromium on the PATH.
func chromiumPath() string {
	if p := os.Getenv("HUSH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// inCI reports whether the tests run in CI, where a browser test may
// not skip.
func inCI() bool { return os.Getenv("CI") != "" || os.Getenv("HUSH_CI") != "" }

// uiFixture returns the shared environment, starting it on first use. It
// skips the test with -short, and when Chromium is missing outside CI.
func uiFixture(t testing.TB) *uiEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a devnet and a browser")
	}
	path := chromiumPath()
	if path == "" {
		if inCI() {
			t.Fatal("chromium is missing: apt-get install -y chromium (.ci/run does)")
		}
		t.Skip("chromium is missing (apt-get install -y chromium)")
	}
	uiOnce.Do(func() {
		start := time.Now()
		uiShared, uiErr = startUI(path)
		if uiErr == nil {
			t.Logf("browser-test environment up in %.1fs", time.Since(start).Seconds())
		}
	})
	if uiErr != nil {
		t.Fatalf("browser-test environment: %v", uiErr)
	}
	return uiShared
}

// startUI starts the devnet, alice's and bob's daemons and the browser.
func startUI(chromium string) (env *uiEnv, err error) {
	dir, err := os.MkdirTemp("", "hush-ui-test-")
	if err != nil {
		return nil, err
	}
	env = &uiEnv{dir: dir, Profile: filepath.Join(dir, "chromium-profile"), Downloads: filepath.Join(dir, "downloads")}
	env.stops = append(env.stops, func() { os.RemoveAll(dir) })
	defer func() {
		if err != nil {
			env.teardown()
			env = nil
		}
	}()
	if err := os.MkdirAll(env.Downloads, 0o700); err != nil {
		return env, err
	}

	// The package's devnet, shared with the end-to-end test; TestMain
	// stops it after the browser.
	dn, err := sharedNetwork()
	if err != nil {
		return env, err
	}
	env.Opts = client.Options{
		Network:       dn.Network(),
		OutboxBackoff: client.Backoff{Base: 100 * time.Millisecond, Max: time.Second},
		PollInterval:  200 * time.Millisecond,
	}

	for _, who := range []struct {
		d  **Daemon
		id *string
	}{{&env.Alice, &env.AliceID}, {&env.Bob, &env.BobID}} {
		d, err := env.runDaemon(filepath.Join(dir, fmt.Sprintf("home%d", len(env.stops))))
		if err != nil {
			return env, err
		}
		var created struct {
			AccountID string `json:"account_id"`
		}
		if err := apiCall(d, "POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, &created); err != nil {
			return env, err
		}
		if err := apiCall(d, "PATCH", "/api/v1/settings", map[string]any{"receipts": true, "media": map[string]int64{"auto_download_bytes": 10 << 20}}, nil); err != nil {
			return env, err
		}
		*who.d, *who.id = d, created.AccountID
	}
	if err := apiCall(env.Alice, "PUT", "/api/v1/contacts/"+env.BobID, map[string]string{"name": "bob"}, nil); err != nil {
		return env, err
	}
	if err := apiCall(env.Bob, "PUT", "/api/v1/contacts/"+env.AliceID, map[string]string{"name": "alice"}, nil); err != nil {
		return env, err
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(env.Profile),
		chromedp.WindowSize(1000, 800),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("force-color-profile", "srgb"),
		// Calls (ui_call_test.go): a fake microphone and camera, granted
		// without a prompt, and media that plays without a gesture.
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	env.stops = append(env.stops, cancelAlloc, cancelBrowser)
	// The first Run starts the browser; it lives as long as browser.
	if err := chromedp.Do(browser); err != nil {
		return env, fmt.Errorf("start chromium: %w", err)
	}
	env.browser = browser
	return env, nil
}

// runDaemon runs a daemon on the devnet with its home in home until the
// environment stops.
func (env *uiEnv) runDaemon(home string) (*Daemon, error) {
	cfg := Config{Home: home, Listen: "127.0.0.1:0", Options: env.Opts}
	cfg.HomeOptions = append(cfg.HomeOptions, client.InsecureTestKDF())
	d, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	env.stops = append(env.stops, func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute):
		}
	})
	for deadline := time.Now().Add(time.Minute); ; {
		if err := apiCall(d, "GET", "/api/v1/status", nil, nil); err == nil {
			return d, nil
		}
		if time.Now().After(deadline) {
			return nil, errors.New("daemon does not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// teardown stops everything startUI started, the last first.
func (env *uiEnv) teardown() {
	for i := len(env.stops) - 1; i >= 0; i-- {
		env.stops[i]()
	}
	env.stops = nil
}

// apiCall calls a daemon's API with its key, outside any test.
func apiCall(d *Daemon, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.URL()+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.Key())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// api gives test t the API helpers of helpers_test.go (mustDo, events)
// on alice's or bob's daemon ("alice", "bob").
func (env *uiEnv) api(t testing.TB, who string) *testDaemon {
	return &testDaemon{Daemon: env.daemon(t, who), t: t, hc: &http.Client{}}
}

func (env *uiEnv) daemon(t testing.TB, who string) *Daemon {
	switch who {
	case "alice":
		return env.Alice
	case "bob":
		return env.Bob
	}
	t.Fatalf("no daemon %q (alice or bob)", who)
	return nil
}

// newDaemon starts a daemon with no account on the devnet for test t
// (stopped when t ends).
func (env *uiEnv) newDaemon(t testing.TB) *testDaemon {
	return startDaemon(t, Config{Options: env.Opts})
}

// page opens a new tab logged in to alice's or bob's UI and waits until
// its first screen is shown. The tab closes when t ends.
func (env *uiEnv) page(t testing.TB, who string) context.Context {
	t.Helper()
	d := env.daemon(t, who)
	ctx, cancel := chromedp.NewContext(env.browser)
	return env.open(t, ctx, cancel, d.LoginURL())
}

// pageFor opens a tab logged in to any other daemon's UI, in a browser
// context of its own (its own cookies, in memory).
func (env *uiEnv) pageFor(t testing.TB, d *Daemon) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(env.browser, chromedp.WithNewBrowserContext())
	return env.open(t, ctx, cancel, d.LoginURL())
}

// open loads the login URL in the new tab ctx and waits for the UI.
func (env *uiEnv) open(t testing.TB, ctx context.Context, cancel context.CancelFunc, login string) context.Context {
	t.Helper()
	var mu sync.Mutex // guards ended
	ended := false
	t.Cleanup(func() {
		mu.Lock()
		ended = true
		mu.Unlock()
		cancel()
	})
	// Attach the tab first: chromedp's first use of a context must not
	// run in two goroutines at once.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	// The page's console errors and exceptions go to the test's log
	// (subscribed before the page loads).
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type != "error" && m.Type != "exception" && m.Type != "warning" {
				continue
			}
			mu.Lock()
			if !ended {
				t.Logf("browser %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line)
			}
			mu.Unlock()
		}
	}()
	if err := chromedp.Do(ctx, chromedp.Navigate(login)); err != nil {
		t.Fatalf("open %s: %v", login, err)
	}
	waitJS(t, ctx, `document.documentElement.dataset.route`)
	return ctx
}

// waitJS waits until the JavaScript expression is truthy in the page.
func waitJS(t testing.TB, ctx context.Context, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(uiWait), chromedp.WithPollingInterval(25*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s: %v; the page: %s", expr, err, pageState(ctx))
	}
}

// pageStateJS sums up what a page shows and knows, for a test that gave
// up waiting: its route, its event stream, the account's state, the
// last rows of a conversation (local ID, status, attachment states,
// text), the toasts (the errors it showed) and the start of its text.
const pageStateJS = `(() => {
	const d = document.documentElement.dataset, app = window.hushApp || {state: {}}
	const rows = [...document.querySelectorAll('#messages .msg')].slice(-8).map(e =>
		e.dataset.localId + ':' + (e.dataset.status || '-') + ':' +
		[...e.querySelectorAll('.attachment')].map(a => a.dataset.state).join(',') + ':' +
		((e.querySelector('.text') || {}).textContent || '').slice(0, 60))
	const screen = document.querySelector('#main > section') || {dataset: {}}
	return JSON.stringify({hash: location.hash, route: d.route, sse: d.sse, state: app.state.status,
		loaded: screen.dataset.loaded, rows,
		toasts: [...document.querySelectorAll('#toasts .toast')].map(e => e.textContent),
		text: (document.querySelector('main') || document.body).innerText.slice(0, 600)})
})()`

// pageState returns pageStateJS's summary of the page (or why not).
func pageState(ctx context.Context) string {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](pageStateJS))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// evalJS evaluates a JavaScript expression in the page.
func evalJS[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// do runs browser actions, failing t on an error. An action on an
// element waits for it (a click, keys): it gives up after uiWait and says
// what the page shows, rather than wait as long as the test may run.
func do(t testing.TB, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	wait, cancel := context.WithTimeout(ctx, uiWait)
	defer cancel()
	if err := chromedp.Do(wait, steps...); err != nil {
		t.Fatalf("%v; the page: %s", err, pageState(ctx))
	}
}

// goTo moves the page to a hash route and waits until its screen is
// mounted (a screen that loads data marks its section data-loaded).
func (env *uiEnv) goTo(t testing.TB, ctx context.Context, hash string) {
	t.Helper()
	name := strings.SplitN(strings.TrimPrefix(hash, "#/"), "/", 2)[0]
	evalJS[bool](t, ctx, `(window.hushApp.go(`+strconv.Quote(hash)+`), true)`)
	waitJS(t, ctx, `document.documentElement.dataset.route === `+strconv.Quote(name))
}

// waitSSE waits until the page's event stream is open.
func waitSSE(t testing.TB, ctx context.Context) {
	t.Helper()
	waitJS(t, ctx, `document.documentElement.dataset.sse === 'open'`)
}

// shot saves a screenshot of the page as docs/screenshots/NAME.png when
// HUSH_SCREENSHOTS=1 (the README shows them).
func (env *uiEnv) shot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("HUSH_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUIServesAssets checks the UI's files and headers without a browser:
// the strict CSP, no-store, nosniff, the right types, no directory
// escapes.
func TestUIServesAssets(t *testing.T) {
	td := startDaemon(t, Config{Options: client.Options{Standalone: standalone(t)}})
	cases := []struct {
		name, path string
		status     int
		typ        string
	}{
		{"index", "/ui/", 200, "text/html; charset=utf-8"},
		{"module", "/ui/js/app.js", 200, "text/javascript; charset=utf-8"},
		{"screen", "/ui/js/screens/chat.js", 200, "text/javascript; charset=utf-8"},
		{"stylesheet", "/ui/css/app.css", 200, "text/css; charset=utf-8"},
		{"missing", "/ui/js/nope.js", 404, ""},
		{"escape", "/ui/../daemon.key", 404, ""},
		{"no type", "/ui/index", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := td.do(call{method: "GET", path: tc.path, header: map[string]string{"Authorization": ""}})
			if resp.StatusCode != tc.status {
				t.Fatalf("%s: %d, want %d", tc.path, resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				return
			}
			h := resp.Header
			if h.Get("Content-Type") != tc.typ || h.Get("Cache-Control") != "no-store" ||
				h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != uiCSP {
				t.Fatalf("%s: headers %v", tc.path, h)
			}
		})
	}
	resp, _ := td.do(call{method: "GET", path: "/ui/", header: map[string]string{"Authorization": "", "Host": "evil.example:80"}})
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("a foreign Host: %d", resp.StatusCode)
	}
}
