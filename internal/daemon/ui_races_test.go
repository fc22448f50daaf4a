package daemon

// Browser tests of the UI's races with its own event stream: an API
// answer that comes back after events newer than it, a screen's load
// that an event overtakes, overlapping loads whose answers come back out
// of order. Each holds one answer in the page (holdAnswer) until the
// race's other side has happened, so the order is forced, not hoped for.

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hushnet/hush/client"
)

// holdAnswer makes the page hold the answer of its next fetch with this
// method whose URL matches the regular expression re: the request goes
// out and its answer comes in (the daemon's state is read then), but
// the page gets it only when the test calls window.__release().
// window.__held is true once the answer is in and held;
// window.__consumed once the page has read the held answer's body.
func holdAnswer(t testing.TB, ctx context.Context, method, re string) {
	t.Helper()
	evalJS[bool](t, ctx, `(() => {
		const real = window.fetch, re = new RegExp(`+jsq(re)+`)
		window.__held = false
		window.__consumed = false
		window.fetch = async (url, init) => {
			const resp = await real(url, init)
			if (!window.__held && ((init && init.method) || 'GET') === `+jsq(method)+` && re.test(String(url))) {
				window.fetch = real
				window.__held = true
				await new Promise(r => { window.__release = r })
				const json = resp.json.bind(resp)
				resp.json = async () => { const v = await json(); window.__consumed = true; return v }
			}
			return resp
		}
		return true })()`)
}

// TestUISendAnswerAfterReceipt: the answer to a send comes back after the
// recipient's delivery receipt (the send waits for the swarm's
// confirmations; the receipt may be quicker). The row shows delivered:
// the older answer does not take the receipt back, and the receipt's
// event is not lost because the row was not drawn yet.
func TestUISendAnswerAfterReceipt(t *testing.T) {
	env := uiFixture(t)
	alice := env.page(t, "alice")
	waitSSE(t, alice)
	env.goTo(t, alice, "#/chat/"+env.BobID)
	text := uniqueText("answered after its receipt")
	evalJS[bool](t, alice, `(window.__receipt = false, window.hushApp.on('status', m => {
		if (m.text === `+jsq(text)+` && (m.status === 'delivered' || m.status === 'read')) window.__receipt = true }), true)`)
	holdAnswer(t, alice, "POST", "/conversations/"+env.BobID+"/messages$")
	do(t, alice, chromedp.SendKeys(chromedp.ID("compose"), text), chromedp.Click(chromedp.ID("send")))
	waitJS(t, alice, `window.__held && window.__receipt`)
	evalJS[bool](t, alice, `(window.__release(), true)`)
	// The send is over on the page once the composer is cleared and
	// enabled again (after the answer's row was drawn).
	waitJS(t, alice, `window.__consumed && !document.getElementById('send').disabled && document.getElementById('compose').value === ''`)
	row := `[...document.querySelectorAll('#messages .msg.out')].find(e => e.querySelector('.text') && e.querySelector('.text').textContent === ` + jsq(text) + `)`
	if got := evalJS[string](t, alice, `(`+row+` || {dataset: {status: 'no row'}}).dataset.status`); got != "delivered" && got != "read" {
		t.Fatalf("the row shows %q after its receipt came; the page: %s", got, pageState(alice))
	}
}

// TestUIChatLoadKeepsLiveMessage: a message arrives (its event is shown)
// while the conversation's first page of messages is on its way, read
// before the message was stored. The older page does not wipe it.
func TestUIChatLoadKeepsLiveMessage(t *testing.T) {
	env := uiFixture(t)
	bob := env.page(t, "bob")
	waitSSE(t, bob)
	env.goTo(t, bob, "#/chats")
	text := uniqueText("arrived during the load")
	evalJS[bool](t, bob, `(window.__got = false, window.hushApp.on('message', m => { if (m.text === `+jsq(text)+`) window.__got = true }), true)`)
	holdAnswer(t, bob, "GET", "/conversations/"+env.AliceID+`/messages\?limit=50$`)
	evalJS[bool](t, bob, `(window.hushApp.go(`+jsq("#/chat/"+env.AliceID)+`), true)`)
	waitJS(t, bob, `window.__held`)
	env.api(t, "alice").mustDo("POST", "/api/v1/conversations/"+env.BobID+"/messages", map[string]string{"text": text}, http.StatusCreated, nil)
	waitJS(t, bob, `window.__got`)
	evalJS[bool](t, bob, `(window.__release(), true)`)
	// The route is marked once the screen's load is over.
	waitJS(t, bob, `window.__consumed && document.documentElement.dataset.route === 'chat'`)
	if !evalJS[bool](t, bob, hasText("#messages .msg.in .text", text)) {
		t.Fatalf("the message that came during the load is gone; the page: %s", pageState(bob))
	}
}

// TestUIChatsNewestLoadWins: the chat list reads itself again on every
// event; two reads overlap and the older one's answer comes back last.
// The list shows the newer.
func TestUIChatsNewestLoadWins(t *testing.T) {
	env := uiFixture(t)
	aliceAPI := env.api(t, "alice")
	bob := env.page(t, "bob")
	waitSSE(t, bob)
	env.goTo(t, bob, "#/chats")
	waitJS(t, bob, `document.getElementById('chat-list').parentNode.dataset.loaded`)
	first, second := uniqueText("older read"), uniqueText("newer read")
	row := `document.querySelector('#chat-list li[data-peer=` + jsq(env.AliceID) + `] .last')`
	holdAnswer(t, bob, "GET", `/api/v1/conversations$`)
	aliceAPI.mustDo("POST", "/api/v1/conversations/"+env.BobID+"/messages", map[string]string{"text": first}, http.StatusCreated, nil)
	waitJS(t, bob, `window.__held`)
	aliceAPI.mustDo("POST", "/api/v1/conversations/"+env.BobID+"/messages", map[string]string{"text": second}, http.StatusCreated, nil)
	waitJS(t, bob, row+` && `+row+`.textContent.endsWith(`+jsq(second)+`)`)
	evalJS[bool](t, bob, `(window.__release(), true)`)
	waitJS(t, bob, `window.__consumed`)
	if !evalJS[bool](t, bob, row+`.textContent.endsWith(`+jsq(second)+`)`) {
		t.Fatalf("the list went back to the older read; the page: %s", pageState(bob))
	}
}

// TestUIConfirmSurvivesRedraw: "Unsend" acts on its second press; an
// event that draws the row again between the presses (here bob's
// reaction) keeps the button armed, so the second press unsends.
func TestUIConfirmSurvivesRedraw(t *testing.T) {
	env := uiFixture(t)
	bobAPI := env.api(t, "bob")
	alice := env.page(t, "alice")
	waitSSE(t, alice)
	env.goTo(t, alice, "#/chat/"+env.BobID)
	text := uniqueText("unsent after a redraw")
	env.api(t, "alice").mustDo("POST", "/api/v1/conversations/"+env.BobID+"/messages", map[string]string{"text": text}, http.StatusCreated, nil)
	row := `[...document.querySelectorAll('#messages .msg.out')].find(e => e.querySelector('.text') && e.querySelector('.text').textContent === ` + jsq(text) + `)`
	waitJS(t, alice, row+` && `+row+`.querySelector('button.unsend')`)
	// Pressed in the page, found and clicked in one step: a receipt's
	// event may draw the row again between a lookup and a click from
	// outside ("Could not find node with given id").
	evalJS[bool](t, alice, `(`+row+`.querySelector('button.unsend').click(), true)`)
	waitJS(t, alice, row+`.querySelector('button.unsend').dataset.armed === 'true'`)
	evalJS[bool](t, alice, `(window.__row = `+row+`, true)`)

	// Bob reacts: alice's page draws the row again with the reaction.
	var local int64
	waitUntil(t, "bob has the message", func() bool {
		var page struct {
			Messages []struct {
				LocalID int64  `json:"local_id"`
				Text    string `json:"text"`
			} `json:"messages"`
		}
		bobAPI.mustDo("GET", "/api/v1/conversations/"+env.AliceID+"/messages?limit=50", nil, http.StatusOK, &page)
		for _, m := range page.Messages {
			if m.Text == text {
				local = m.LocalID
			}
		}
		return local != 0
	})
	bobAPI.mustDo("POST", "/api/v1/messages/"+strconv.FormatInt(local, 10)+"/reactions", map[string]any{"emoji": "👍"}, http.StatusOK, nil)
	waitJS(t, alice, row+` !== window.__row && `+row+`.querySelector('.reaction')`)
	if !evalJS[bool](t, alice, row+`.querySelector('button.unsend').dataset.armed === 'true'`) {
		t.Fatalf("the redraw disarmed Unsend; the page: %s", pageState(alice))
	}
	// Pressed in the page, found and clicked in one step: a receipt's
	// event may draw the row again between a lookup and a click from
	// outside ("Could not find node with given id").
	evalJS[bool](t, alice, `(`+row+`.querySelector('button.unsend').click(), true)`)
	waitJS(t, alice, `!(`+row+`)`)
}

// TestUIFlagClickBeforeState: a conversation's Archive button is pressed
// while the page still reads the flags; the older read does not show
// the button unpressed after the press's answer.
func TestUIFlagClickBeforeState(t *testing.T) {
	env := uiFixture(t)
	bobAPI := env.api(t, "bob")
	t.Cleanup(func() {
		bobAPI.do(call{method: "PUT", path: "/api/v1/conversations/" + env.AliceID + "/flags", body: map[string]bool{"archived": false}})
	})
	// A conversation to archive (the suite's first test may run this).
	env.api(t, "alice").mustDo("POST", "/api/v1/conversations/"+env.BobID+"/messages", map[string]string{"text": uniqueText("to archive")}, http.StatusCreated, nil)
	waitUntil(t, "bob's conversation with alice", func() bool {
		resp, _ := bobAPI.do(call{method: "GET", path: "/api/v1/conversations/" + env.AliceID})
		return resp.StatusCode == http.StatusOK
	})
	bob := env.page(t, "bob")
	waitSSE(t, bob)
	env.goTo(t, bob, "#/chats")
	// window.__put follows the press's PUT (started, answered).
	evalJS[bool](t, bob, `(() => {
		const inner = window.fetch
		window.fetch = async (url, init) => {
			const put = !!init && init.method === 'PUT' && /\/flags$/.test(String(url))
			if (put) window.__put = 'started'
			const r = await inner(url, init)
			if (put) window.__put = 'answered'
			return r
		}
		return true })()`)
	holdAnswer(t, bob, "GET", "/conversations/"+env.AliceID+"/flags$")
	evalJS[bool](t, bob, `(window.hushApp.go(`+jsq("#/chat/"+env.AliceID)+`), true)`)
	waitJS(t, bob, `window.__held && document.documentElement.dataset.route === 'chat'`)
	do(t, bob, chromedp.Click(chromedp.ID("flag-archive")))
	// A page that sends the press at once: its answer comes first, then
	// the read started before it.
	if evalJS[bool](t, bob, `!!window.__put`) {
		waitJS(t, bob, `window.__put === 'answered'`)
	}
	evalJS[bool](t, bob, `(window.__release(), true)`)
	waitJS(t, bob, `window.__consumed && [...document.querySelectorAll('#toasts .toast')].some(e => e.textContent === 'Archive: on.')`)
	if got := evalJS[string](t, bob, `document.getElementById('flag-archive').getAttribute('aria-pressed')`); got != "true" {
		t.Fatalf("Archive shows aria-pressed %s after it was pressed; the page: %s", got, pageState(bob))
	}
	var f map[string]bool
	bobAPI.mustDo("GET", "/api/v1/conversations/"+env.AliceID+"/flags", nil, http.StatusOK, &f)
	if !f["archived"] {
		t.Fatalf("flags after the press: %v", f)
	}
}

// TestUIRenameSurvivesReload: the contacts screen draws its lists again
// on events (a request comes in) while alice types a nickname: what she
// typed stays, with the focus, and the keys after it complete it.
func TestUIRenameSurvivesReload(t *testing.T) {
	env := uiFixture(t)
	aliceAPI := env.api(t, "alice")
	carol, carolID := stranger(t, env)
	t.Cleanup(func() {
		// The others' tests name bob "bob" and find no request.
		aliceAPI.do(call{method: "PUT", path: "/api/v1/contacts/" + env.BobID, body: map[string]string{"name": "bob"}})
		aliceAPI.do(call{method: "DELETE", path: "/api/v1/requests/" + carolID})
	})
	page := env.page(t, "alice")
	waitSSE(t, page)
	env.screen(t, page, "#/contacts")
	input := `document.getElementById(` + jsq("contact-name-"+env.BobID) + `)`
	name := "Bobby " + uniqueText("")[1:5]
	evalJS[bool](t, page, `(`+input+`.value = '', true)`)
	do(t, page, chromedp.SendKeys(chromedp.ID("contact-name-"+env.BobID), name[:3]))
	loads := evalJS[int](t, page, `Number(document.querySelector('section.screen-contacts').dataset.loaded)`)
	carol.mustDo("POST", "/api/v1/conversations/"+env.AliceID+"/messages", map[string]string{"text": uniqueText("hello alice")}, http.StatusCreated, nil)
	waitJS(t, page, `document.querySelector('.request[data-peer="`+carolID+`"]') && Number(document.querySelector('section.screen-contacts').dataset.loaded) > `+strconv.Itoa(loads))
	if got := evalJS[string](t, page, input+`.value + (document.activeElement === `+input+` ? ' (focused)' : '')`); got != name[:3]+" (focused)" {
		t.Fatalf("after the redraw the nickname field holds %q, want %q focused; the page: %s", got, name[:3], pageState(page))
	}
	do(t, page, chromedp.SendKeys(chromedp.ID("contact-name-"+env.BobID), name[3:]),
		chromedp.Click(chromedp.CSS(`.contact[data-id="`+env.BobID+`"] form.rename button[type=submit]`)))
	waitJS(t, page, `document.querySelector('.contact[data-id="`+env.BobID+`"] .contact-name').textContent === `+jsq(name))
}

// TestUIReadWhileReading: a message comes in while the page's "mark
// read" for the one before is still on its way; the page marks the new
// one read too once the first is done (it skipped it as busy, and
// nothing asked again: the sender never saw it read).
func TestUIReadWhileReading(t *testing.T) {
	env := uiFixture(t)
	aliceAPI := env.api(t, "alice")
	bob := env.page(t, "bob")
	waitSSE(t, bob)
	env.goTo(t, bob, "#/chat/"+env.AliceID)
	// window.__reads counts the page's requests to mark the chat read.
	evalJS[bool](t, bob, `(() => {
		const inner = window.fetch
		window.__reads = 0
		window.fetch = (url, init) => {
			if (init && init.method === 'POST' && /\/read$/.test(String(url))) window.__reads++
			return inner(url, init)
		}
		return true })()`)
	holdAnswer(t, bob, "POST", "/conversations/"+env.AliceID+"/read$")
	first, second := uniqueText("read first"), uniqueText("read second")
	aliceAPI.mustDo("POST", "/api/v1/conversations/"+env.BobID+"/messages", map[string]string{"text": first}, http.StatusCreated, nil)
	waitJS(t, bob, `window.__held`)
	var sent client.Message
	aliceAPI.mustDo("POST", "/api/v1/conversations/"+env.BobID+"/messages", map[string]string{"text": second}, http.StatusCreated, &sent)
	waitJS(t, bob, hasText("#messages .msg.in .text", second))
	evalJS[bool](t, bob, `(window.__release(), true)`)
	waitJS(t, bob, `window.__consumed`)
	if n := evalJS[int](t, bob, `window.__reads`); n < 2 {
		t.Fatalf("the page asked to mark the chat read %d time(s): the second message stays unread; the page: %s", n, pageState(bob))
	}
	waitUntil(t, "alice's second message read", func() bool {
		var m client.Message
		aliceAPI.mustDo("GET", "/api/v1/messages/"+strconv.FormatInt(sent.ID, 10), nil, http.StatusOK, &m)
		return m.Status == "read"
	})
}
