package daemon

// Accessibility and at-rest tests of the web UI (issue 19): axe-core finds
// no serious or critical violation on any screen, in the light and the
// dark theme, and no screen is wider than 400 px; after the browser tests,
// Chromium's profile holds no message text.
//
// axe-core comes from npm (.ci/run installs a pinned version into a cache
// outside the repository); HUSH_AXE_JS names its axe.min.js. Without it
// the test skips, except in CI, where it fails.

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// axeSource returns axe-core's script, skipping t (failing it in CI)
// when it is missing.
func axeSource(t testing.TB) string {
	t.Helper()
	path := os.Getenv("HUSH_AXE_JS")
	if path == "" {
		if inCI() {
			t.Fatal("HUSH_AXE_JS is not set: .ci/run installs axe-core with npm and sets it")
		}
		t.Skip("HUSH_AXE_JS is not set (npm install --prefix ~/.cache/hush-axe axe-core; HUSH_AXE_JS=~/.cache/hush-axe/node_modules/axe-core/axe.min.js)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("axe-core: %v", err)
	}
	return string(b)
}

// axeViolation is one rule axe found broken, with the elements.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// runAxe runs axe-core on the page (injecting it first if needed) and
// returns the serious and critical violations.
func runAxe(t testing.TB, ctx context.Context, axe string) []axeViolation {
	t.Helper()
	if !evalJS[bool](t, ctx, `typeof window.axe === 'object'`) {
		// Through the DevTools protocol, which the page's CSP does not
		// govern: the UI itself never loads a script from elsewhere.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](axe+"\n;0")); err != nil {
			t.Fatalf("inject axe-core: %v", err)
		}
	}
	raw := evalJS[string](t, ctx, `axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
			id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)}))))`)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe result %s: %v", raw, err)
	}
	return vs
}

// darkTheme switches the page's prefers-color-scheme.
func darkTheme(t testing.TB, ctx context.Context, dark bool) {
	t.Helper()
	scheme := "light"
	if dark {
		scheme = "dark"
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
		t.Fatal(err)
	}
}

// viewport sets the page's width (height 900).
func viewport(t testing.TB, ctx context.Context, width int64) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
		t.Fatal(err)
	}
}

// showScreen moves the page to hash and waits until the screen is up and
// shows no "Loading…".
func (env *uiEnv) showScreen(t testing.TB, ctx context.Context, hash string) {
	t.Helper()
	env.goTo(t, ctx, hash)
	waitJS(t, ctx, `!document.querySelector('main').innerText.includes('Loading…')`)
}

// TestUIAccessibility runs axe-core on every screen of an unlocked
// account (alice's, with a conversation), on onboarding and on unlock, in
// both themes, and checks that no screen is wider than a 400 px window.
func TestUIAccessibility(t *testing.T) {
	env := uiFixture(t)
	axe := axeSource(t)
	alice := env.api(t, "alice")
	text := uniqueText("accessibility check")
	atRestTexts = append(atRestTexts, text)
	alice.mustDo("POST", "/api/v1/conversations/"+env.BobID+"/messages", map[string]string{"text": text}, http.StatusCreated, nil)

	check := func(t *testing.T, ctx context.Context, where string) {
		t.Helper()
		for _, dark := range []bool{false, true} {
			darkTheme(t, ctx, dark)
			for _, v := range runAxe(t, ctx, axe) {
				t.Errorf("%s (dark %v): %s %s (%s): %s", where, dark, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "; "))
			}
		}
		darkTheme(t, ctx, false)
	}

	// A group of alice's alone (no invitation reaches bob), with a
	// message, for the group screens.
	var g struct {
		ID string `json:"id"`
	}
	alice.mustDo("POST", "/api/v1/groups", map[string]any{"name": "a11y group", "members": []string{}}, http.StatusCreated, &g)
	t.Cleanup(func() { alice.do(call{method: "DELETE", path: "/api/v1/groups/" + g.ID}) })
	alice.mustDo("POST", "/api/v1/conversations/"+g.ID+"/messages", map[string]string{"text": uniqueText("group check")}, http.StatusCreated, nil)

	page := env.page(t, "alice")
	screens := []struct{ hash, name string }{
		{"#/chats", "chats"}, {"#/chat/" + env.BobID, "chat"}, {"#/new", "new"}, {"#/account", "account"},
		{"#/settings", "settings"}, {"#/path", "path"}, {"#/contacts", "contacts"}, {"#/devices", "devices"}, {"#/storage", "storage"},
		{"#/newgroup", "newgroup"}, {"#/chat/" + g.ID, "group chat"}, {"#/group/" + g.ID, "group"},
	}
	for _, s := range screens {
		t.Run(s.name, func(t *testing.T) {
			viewport(t, page, 1000)
			env.showScreen(t, page, s.hash)
			check(t, page, s.name)
			// Usable at 400 px: nothing pushes the page wider.
			viewport(t, page, 400)
			if w := evalJS[int](t, page, `document.documentElement.scrollWidth`); w > 400 {
				t.Errorf("%s is %d px wide in a 400 px window", s.name, w)
			}
		})
	}

	// A daemon with no account shows onboarding; locked, unlock.
	td := env.newDaemon(t)
	fresh := env.pageFor(t, td.Daemon)
	t.Run("onboarding", func(t *testing.T) {
		waitJS(t, fresh, `document.documentElement.dataset.route === 'onboarding'`)
		check(t, fresh, "onboarding")
	})
	td.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, nil)
	td.mustDo("POST", "/api/v1/account/lock", nil, http.StatusOK, nil)
	t.Run("unlock", func(t *testing.T) {
		do(t, fresh, chromedp.Reload())
		waitJS(t, fresh, `document.documentElement.dataset.route === 'unlock'`)
		check(t, fresh, "unlock")
	})
}

// profileHolds returns the files under dir whose bytes hold text, as
// UTF-8 or as UTF-16 (Chromium keeps some strings in UTF-16), and how
// many files it read.
func profileHolds(t testing.TB, dir, text string) (found []string, files int) {
	t.Helper()
	u8 := []byte(text)
	var u16 []byte
	for _, r := range utf16.Encode([]rune(text)) {
		u16 = append(u16, byte(r), byte(r>>8))
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a file Chromium removed meanwhile
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		files++
		if bytes.Contains(b, u8) || bytes.Contains(b, u16) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found, files
}
