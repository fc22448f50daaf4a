package daemon

// Browser tests of calls in the web UI (issue 20, part 3), on the shared
// environment of browser_test.go, whose Chromium has a fake microphone
// and camera (a beep and a test pattern) granted without a prompt:
// the settings' warnings before calls turn on, a call between two pages
// (ringing, answer, connected, audio flowing, mute, hang-up), with axe on
// each call view when axe-core is at hand.

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hushnet/hush/client"
)

// callMode sets a daemon's call mode through the API and puts it back to
// off when t ends (the shared alice and bob are left as found).
func callMode(t testing.TB, td *testDaemon, mode client.CallMode) {
	t.Helper()
	td.mustDo("PATCH", "/api/v1/settings", map[string]string{"calls_mode": string(mode)}, http.StatusOK, nil)
	t.Cleanup(func() {
		// Any call left ringing ends with the mode.
		var calls []client.Call
		td.mustDo("GET", "/api/v1/calls", nil, http.StatusOK, &calls)
		for _, c := range calls {
			td.do(call{method: "POST", path: "/api/v1/calls/" + c.ID + "/end", body: map[string]string{"reason": "hangup"}})
		}
		td.mustDo("PATCH", "/api/v1/settings", map[string]string{"calls_mode": "off"}, http.StatusOK, nil)
	})
}

// callState is a page expression: the call screen is shown in state st.
func callState(st string) string {
	return `document.documentElement.dataset.route === 'call' && document.querySelector('section.screen-call') && ` +
		`document.querySelector('section.screen-call').dataset.state === ` + jsq(st)
}

// connected is a page expression: the call's peer connection is up.
const connected = `document.querySelector('section.screen-call') && document.querySelector('section.screen-call').dataset.connection === 'connected'`

// inboundAudio is a page expression (a promise): the call's inbound
// audio packets so far, from the peer connection's getStats.
const inboundAudio = `import('/ui/js/screens/call.js').then(m => m.inboundAudio()).then(s => s.packets)`

// waitInboundAudio waits until the page's call has received audio.
func waitInboundAudio(t testing.TB, ctx context.Context, who string) int {
	t.Helper()
	var n int
	eventually(t, who+" receives audio", func() bool {
		n = evalJS[int](t, ctx, inboundAudio)
		return n > 0
	})
	return n
}

// axeIfAvailable runs axe-core on the page when HUSH_AXE_JS names it (in
// CI it must): the call views only exist during a call, so the screens'
// accessibility test cannot reach them.
func axeIfAvailable(t testing.TB, ctx context.Context, where string) {
	t.Helper()
	if os.Getenv("HUSH_AXE_JS") == "" && !inCI() {
		t.Logf("%s: HUSH_AXE_JS is not set, no axe check", where)
		return
	}
	axe := axeSource(t)
	for _, dark := range []bool{false, true} {
		darkTheme(t, ctx, dark)
		for _, v := range runAxe(t, ctx, axe) {
			t.Errorf("%s (dark %v): %s %s (%s): %s", where, dark, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "; "))
		}
	}
	darkTheme(t, ctx, false)
}

// TestUICallSettings: the calls toggle shows the warning in plain words
// and changes nothing until confirmed; cancel leaves calls off; direct
// mode is a second choice with its own warning; turning off needs no
// confirmation.
func TestUICallSettings(t *testing.T) {
	env := uiFixture(t)
	td, _ := stranger(t, env)
	page := env.pageFor(t, td.Daemon)
	env.screen(t, page, "#/settings")
	mode := func() client.CallMode {
		var s settingsJSON
		td.mustDo("GET", "/api/v1/settings", nil, http.StatusOK, &s)
		return s.CallsMode
	}
	saved := func(n int) string {
		return `Number(document.querySelector('section.screen-settings').dataset.saved || 0) >= ` + strconv.Itoa(n)
	}
	warningShows := func(text string) string {
		return `document.getElementById('set-calls-warning') && document.getElementById('set-calls-warning').textContent === ` + jsq(text) +
			` && !document.getElementById('set-calls-confirm-box').hidden`
	}
	if evalJS[bool](t, page, `document.getElementById('set-calls').checked || !!document.getElementById('set-calls-direct')`) {
		t.Fatal("calls are on, or direct is offered, before anything was chosen")
	}
	do(t, page, chromedp.Click(chromedp.ID("set-calls")))
	waitJS(t, page, warningShows(client.CallsWarning))
	if m := mode(); m != client.CallsOff {
		t.Fatalf("calls are %q before the warning was confirmed", m)
	}
	// The confirm button has the focus, described by the warning.
	waitJS(t, page, `document.activeElement && document.activeElement.id === 'set-calls-confirm'`)
	env.shot(t, page, "settings-calls-warning")
	do(t, page, chromedp.Click(chromedp.ID("set-calls-cancel")))
	waitJS(t, page, `!document.getElementById('set-calls').checked && !document.getElementById('set-calls-warning')`)
	if m := mode(); m != client.CallsOff {
		t.Fatalf("calls are %q after cancel", m)
	}

	do(t, page, chromedp.Click(chromedp.ID("set-calls")))
	waitJS(t, page, warningShows(client.CallsWarning))
	do(t, page, chromedp.Click(chromedp.ID("set-calls-confirm")))
	waitJS(t, page, saved(1))
	waitJS(t, page, `document.getElementById('set-calls').checked && document.getElementById('set-calls-direct') && !document.getElementById('set-calls-direct').checked`)
	if m := mode(); m != client.CallsRelay {
		t.Fatalf("calls are %q after confirming, want relay", m)
	}

	do(t, page, chromedp.Click(chromedp.ID("set-calls-direct")))
	waitJS(t, page, warningShows(client.CallsDirectWarning))
	if m := mode(); m != client.CallsRelay {
		t.Fatalf("calls are %q before the direct warning was confirmed", m)
	}
	do(t, page, chromedp.Click(chromedp.ID("set-calls-confirm")))
	waitJS(t, page, saved(2))
	waitJS(t, page, `document.getElementById('set-calls-direct').checked`)
	if m := mode(); m != client.CallsDirect {
		t.Fatalf("calls are %q, want direct", m)
	}
	axeIfAvailable(t, page, "settings with calls on")

	do(t, page, chromedp.Click(chromedp.ID("set-calls")))
	waitJS(t, page, saved(3))
	waitJS(t, page, `!document.getElementById('set-calls').checked && !document.getElementById('set-calls-direct')`)
	if m := mode(); m != client.CallsOff {
		t.Fatalf("calls are %q after turning them off", m)
	}
}

// TestUICallBetweenPages: alice's page calls bob's (direct mode, so the
// loopback devnet needs no relay): bob's page rings wherever it is, he
// answers, both connections reach "connected", each page's getStats shows
// inbound audio from the other's fake microphone, the timer runs, mute is
// a pressed button; alice hangs up and bob's page says so.
func TestUICallBetweenPages(t *testing.T) {
	env := uiFixture(t)
	aliceAPI, bobAPI := env.api(t, "alice"), env.api(t, "bob")
	callMode(t, aliceAPI, client.CallsDirect)
	callMode(t, bobAPI, client.CallsDirect)

	alice, bob := env.page(t, "alice"), env.page(t, "bob")
	waitSSE(t, alice)
	waitSSE(t, bob)
	env.goTo(t, bob, "#/chats")
	env.screen(t, alice, "#/chat/"+env.BobID)
	do(t, alice, chromedp.Click(chromedp.ID("call-start")))
	waitJS(t, alice, callState("outgoing"))
	env.shot(t, alice, "call-outgoing")
	axeIfAvailable(t, alice, "outgoing call")

	// Bob's page moves to the ringing view by itself.
	waitJS(t, bob, callState("incoming"))
	waitJS(t, bob, `document.getElementById('call-accept') && document.getElementById('call-decline')`)
	env.shot(t, bob, "call-incoming")
	axeIfAvailable(t, bob, "incoming call")
	do(t, bob, chromedp.Click(chromedp.ID("call-accept")))

	waitJS(t, alice, connected)
	waitJS(t, bob, connected)
	t.Logf("inbound audio packets: alice %d, bob %d", waitInboundAudio(t, alice, "alice"), waitInboundAudio(t, bob, "bob"))
	waitJS(t, alice, `/\d\d:\d\d/.test(document.getElementById('call-timer').textContent)`)
	env.shot(t, alice, "call-active")
	axeIfAvailable(t, alice, "in call")

	do(t, alice, chromedp.Click(chromedp.ID("call-mute")))
	waitJS(t, alice, `document.getElementById('call-mute').getAttribute('aria-pressed') === 'true'`)
	do(t, alice, chromedp.Click(chromedp.ID("call-hangup")))
	waitJS(t, alice, callState("ended"))
	waitJS(t, bob, callState("ended"))
	waitJS(t, bob, `document.getElementById('call-back')`)
	axeIfAvailable(t, bob, "ended call")
}
