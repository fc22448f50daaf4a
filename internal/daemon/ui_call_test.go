package daemon

// Browser tests of calls in the web UI (issue 20, part 3), on the shared
// environment of browser_test.go, whose Chromium has a fake microphone
// and camera (a beep and a test pattern) granted without a prompt:
// the settings' warnings before calls turn on, a call between two pages
// (ringing, answer, connected, audio flowing, mute, hang-up), with axe on
// each call view when axe-core is at hand.

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/client/callrtc"
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

// TestUICallBetweenPages: alice's page makes a video call to bob's
// (direct mode, so the loopback devnet needs no relay): bob's page rings
// wherever it is, he answers with video, both connections reach
// "connected", each page's getStats shows inbound audio from the other's
// fake microphone and each shows the other's camera, the timer runs, mute
// and camera off are pressed buttons; alice hangs up and bob's page says
// so.
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
	do(t, alice, chromedp.Click(chromedp.ID("call-start-video")))
	waitJS(t, alice, callState("outgoing"))
	env.shot(t, alice, "call-outgoing")
	axeIfAvailable(t, alice, "outgoing call")

	// Bob's page moves to the ringing view by itself.
	waitJS(t, bob, callState("incoming"))
	waitJS(t, bob, `document.getElementById('call-accept') && document.getElementById('call-decline')`)
	env.shot(t, bob, "call-incoming")
	axeIfAvailable(t, bob, "incoming call")
	do(t, bob, chromedp.Click(chromedp.ID("call-accept-video")))

	waitJS(t, alice, connected)
	waitJS(t, bob, connected)
	t.Logf("inbound audio packets: alice %d, bob %d", waitInboundAudio(t, alice, "alice"), waitInboundAudio(t, bob, "bob"))
	waitJS(t, alice, `/\d\d:\d\d/.test(document.getElementById('call-timer').textContent)`)
	for _, p := range []context.Context{alice, bob} {
		waitJS(t, p, `!document.getElementById('call-remote').hidden && document.getElementById('call-remote').videoWidth > 0`)
	}
	env.shot(t, alice, "call-active")
	axeIfAvailable(t, alice, "in call")

	do(t, alice, chromedp.Click(chromedp.ID("call-mute")))
	waitJS(t, alice, `document.getElementById('call-mute').getAttribute('aria-pressed') === 'true'`)
	do(t, alice, chromedp.Click(chromedp.ID("call-camera")))
	waitJS(t, alice, `document.getElementById('call-camera').getAttribute('aria-pressed') === 'true'`)
	do(t, alice, chromedp.Click(chromedp.ID("call-hangup")))
	waitJS(t, alice, callState("ended"))
	waitJS(t, bob, callState("ended"))
	waitJS(t, bob, `document.getElementById('call-back')`)
	axeIfAvailable(t, bob, "ended call")
}

// TestUICallPion is the browser test: alice's page calls a
// headless peer that runs pion (client/callrtc, the CLI's engine) on the
// devnet in relay-only mode, through the devnet's TURN server. The page's
// connection reaches "connected", its getStats shows inbound audio (the
// peer sends a 440 Hz tone), pion receives the browser's audio, and both
// sides' selected candidate pairs are relay to relay.
func TestUICallPion(t *testing.T) {
	env := uiFixture(t)
	aliceAPI := env.api(t, "alice")
	peer, peerID := stranger(t, env)
	aliceAPI.mustDo("PUT", "/api/v1/contacts/"+peerID, map[string]string{"name": uniqueText("pion")}, http.StatusOK, nil)
	t.Cleanup(func() { aliceAPI.do(call{method: "POST", path: "/api/v1/contacts/" + peerID + "/block"}) })
	peer.mustDo("PUT", "/api/v1/contacts/"+env.AliceID, map[string]string{"name": "alice"}, http.StatusOK, nil)
	callMode(t, aliceAPI, client.CallsRelay)
	callMode(t, peer, client.CallsRelay)
	// Without a TURN server in the devnet nothing can connect: say so
	// plainly rather than time out.
	var ice iceJSON
	aliceAPI.mustDo("GET", "/api/v1/calls/ice-servers", nil, http.StatusOK, &ice)
	if len(ice.ICEServers) == 0 || ice.ICETransportPolicy != "relay" {
		t.Fatalf("ICE servers %+v", ice)
	}

	// The pion side: the peer daemon's own client, answered by callrtc
	// when it rings.
	c, release := peer.client()
	if c == nil {
		t.Fatal("the peer's daemon is locked")
	}
	defer release()
	ring := peer.events()
	ctx, cancel := context.WithTimeout(context.Background(), uiWait)
	defer cancel()
	type answered struct {
		s   *callrtc.Session
		err error
	}
	got := make(chan answered, 1)
	go func() {
		var in client.Call
		json.Unmarshal(ring.waitFor("call", callMatch("", client.CallIncoming)), &in)
		s, err := callrtc.Answer(ctx, c, in.ID, callrtc.Options{Audio: callrtc.Tone(440, 60, 0.5)})
		got <- answered{s, err}
	}()

	page := env.page(t, "alice")
	waitSSE(t, page)
	env.screen(t, page, "#/chat/"+peerID)
	clicked := time.Now()
	do(t, page, chromedp.Click(chromedp.ID("call-start")))
	waitJS(t, page, callState("outgoing"))
	var sess *callrtc.Session
	select {
	case a := <-got:
		if a.err != nil {
			t.Fatalf("pion's answer: %v", a.err)
		}
		sess = a.s
	case <-ctx.Done():
		t.Fatal("the pion side never rang")
	}
	defer sess.Close()

	waitJS(t, page, connected)
	setup := time.Since(clicked)
	packets := waitInboundAudio(t, page, "the browser")
	heard := time.Since(clicked)
	select {
	case <-sess.Flowing():
	case <-sess.Done():
		t.Fatalf("the pion side ended: %v", sess.Err())
	case <-ctx.Done():
		t.Fatal("pion received no audio from the browser")
	}
	var pair struct{ Local, Remote string }
	eventually(t, "the browser's selected pair", func() bool {
		pair = evalJS[struct{ Local, Remote string }](t, page,
			`import('/ui/js/screens/call.js').then(m => m.selectedPair()).then(p => p ? {Local: p.local || '', Remote: p.remote || ''} : {Local: '', Remote: ''})`)
		return pair.Local != ""
	})
	if pair.Local != "relay" || pair.Remote != "relay" {
		t.Errorf("the browser's selected pair is %s → %s, want relay → relay", pair.Local, pair.Remote)
	}
	var pp callrtc.CandidatePair
	eventually(t, "pion's selected pair", func() bool {
		var ok bool
		pp, ok = sess.SelectedPair()
		return ok
	})
	if pp.Local != "relay" || pp.Remote != "relay" {
		t.Errorf("pion's selected pair is %s → %s, want relay → relay", pp.Local, pp.Remote)
	}
	// Figures only (polled, so each is an upper bound by a poll).
	t.Logf("click → connected %v, → inbound audio in getStats %v; browser inbound audio packets %d; pairs: browser %s→%s, pion %s→%s",
		setup.Round(time.Millisecond), heard.Round(time.Millisecond), packets, pair.Local, pair.Remote, pp.Local, pp.Remote)

	do(t, page, chromedp.Click(chromedp.ID("call-hangup")))
	waitJS(t, page, callState("ended"))
	select {
	case <-sess.Done():
	case <-ctx.Done():
		t.Fatal("the pion side did not see the hang-up")
	}
}
