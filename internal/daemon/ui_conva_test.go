package daemon

// Browser tests of issue 22's replies, reactions and search in the web UI,
// on the shared environment of browser_test.go.

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestUIRepliesReactionsSearch: bob replies to alice's message from his
// page (the quote shows on both sides, and alice's click on it takes her
// to the original); alice reacts from the keyboard through the emoji
// picker (both pages show it with its count, and a click takes it back);
// the search screen finds both texts and links to the chat; axe finds no
// serious violation with a quote, a reaction and the open picker on the
// page, nor on the search screen.
func TestUIRepliesReactionsSearch(t *testing.T) {
	env := uiFixture(t)
	aliceAPI := env.api(t, "alice")
	original := uniqueText("where shall we meet")
	reply := uniqueText("at the station")
	atRestTexts = append(atRestTexts, original, reply)
	aliceAPI.mustDo("POST", "/api/v1/conversations/"+env.BobID+"/messages", map[string]string{"text": original}, http.StatusCreated, nil)

	bob := env.page(t, "bob")
	waitSSE(t, bob)
	env.goTo(t, bob, "#/chat/"+env.AliceID)
	row := func(sel, text string) string {
		return fmt.Sprintf(`[...document.querySelectorAll(%s)].find(e => e.querySelector('.text') && e.querySelector('.text').textContent === %s)`, jsq(sel), jsq(text))
	}
	in := row("#messages .msg.in", original)
	waitJS(t, bob, in)
	do(t, bob, chromedp.Click(chromedp.JSPath(in+`.querySelector('button.reply')`)))
	waitJS(t, bob, `document.getElementById('reply-bar') && !document.getElementById('reply-bar').hidden && document.getElementById('reply-bar').textContent.includes(`+jsq(original)+`)`)
	do(t, bob, chromedp.SendKeys(chromedp.ID("compose"), reply), chromedp.Click(chromedp.ID("send")))
	out := row("#messages .msg.out", reply)
	waitJS(t, bob, out+` && `+out+`.querySelector('.quote .quote-text').textContent === `+jsq(original))
	waitJS(t, bob, `document.getElementById('reply-bar').hidden`)

	alice := env.page(t, "alice")
	waitSSE(t, alice)
	env.goTo(t, alice, "#/chat/"+env.BobID)
	rin := row("#messages .msg.in", reply)
	waitJS(t, alice, rin+` && `+rin+`.querySelector('button.quote')`)
	orig := row("#messages .msg.out", original)
	do(t, alice, chromedp.Click(chromedp.JSPath(rin+`.querySelector('button.quote')`)))
	waitJS(t, alice, `document.activeElement === `+orig)

	// React from the keyboard: focus React, Enter opens the picker with
	// the first emoji focused, ArrowRight moves to ❤️, Enter picks it.
	evalJS[bool](t, alice, `(`+rin+`.querySelector('button.react').focus(), true)`)
	do(t, alice, chromedp.KeyEvent(kb.Enter))
	waitJS(t, alice, `document.activeElement && document.activeElement.dataset.emoji === '👍'`)
	if axe := os.Getenv("HUSH_AXE_JS"); axe != "" {
		for _, v := range runAxe(t, alice, axeSource(t)) {
			t.Errorf("chat with a quote and the picker: %s %s (%s): %s", v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "; "))
		}
	}
	// Bob reacts meanwhile: the event draws alice's row again, with a
	// reaction button more before React. The open picker and its focus
	// move over to the new row (chat.js focusKeeper), so the keys go on.
	var page messagePage
	env.api(t, "bob").mustDo("GET", "/api/v1/conversations/"+env.AliceID+"/messages?limit=50", nil, http.StatusOK, &page)
	var bobsReply int64
	for _, m := range page.Messages {
		if m.Text == reply {
			bobsReply = m.ID
		}
	}
	env.api(t, "bob").mustDo("POST", fmt.Sprintf("/api/v1/messages/%d/reactions", bobsReply), map[string]string{"emoji": "👍"}, http.StatusOK, nil)
	waitJS(t, alice, rin+` && `+rin+`.querySelector('.reaction[data-emoji="👍"]') && `+rin+`.querySelector('.picker') && document.activeElement.dataset.emoji === '👍'`)
	do(t, alice, chromedp.KeyEvent(kb.ArrowRight))
	waitJS(t, alice, `document.activeElement.dataset.emoji === '❤️'`)
	do(t, alice, chromedp.KeyEvent(kb.Enter))
	heart := func(r string) string {
		return r + ` && ` + r + `.querySelector('.reaction[data-emoji="❤️"][data-count="1"]')`
	}
	waitJS(t, alice, heart(rin)+` && `+rin+`.querySelector('.reaction[data-emoji="❤️"]').getAttribute('aria-pressed') === 'true'`)
	waitJS(t, alice, `!document.querySelector('.picker') && document.activeElement === `+rin+`.querySelector('button.react')`)
	waitJS(t, bob, heart(out))
	env.shot(t, alice, "conversation-reply-reaction")
	if axe := os.Getenv("HUSH_AXE_JS"); axe != "" {
		for _, v := range runAxe(t, alice, axeSource(t)) {
			t.Errorf("chat with a reaction: %s %s (%s): %s", v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "; "))
		}
	}
	// A click on her own reaction takes it back, on both pages.
	do(t, alice, chromedp.Click(chromedp.JSPath(rin+`.querySelector('.reaction[data-emoji="❤️"]')`)))
	waitJS(t, alice, rin+` && !`+rin+`.querySelector('.reaction[data-emoji="❤️"]')`)
	waitJS(t, bob, out+` && !`+out+`.querySelector('.reaction[data-emoji="❤️"]')`)

	// Search: both texts, any case, with a link to the chat.
	env.goTo(t, alice, "#/search")
	word := strings.ToUpper(original[:len(original)-3])
	do(t, alice, chromedp.SendKeys(chromedp.ID("search-q"), word), chromedp.Click(chromedp.ID("search-go")))
	waitJS(t, alice, hasText("#search-results .text", original))
	waitJS(t, alice, `(document.getElementById('search-status') || {textContent: ''}).textContent.includes('found')`)
	env.shot(t, alice, "search")
	if axe := os.Getenv("HUSH_AXE_JS"); axe != "" {
		for _, v := range runAxe(t, alice, axeSource(t)) {
			t.Errorf("search: %s %s (%s): %s", v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "; "))
		}
	}
	do(t, alice, chromedp.Click(chromedp.JSPath(`[...document.querySelectorAll('#search-results li')].find(e => e.querySelector('.text').textContent === `+jsq(original)+`).querySelector('a.chat-link')`)))
	waitJS(t, alice, `document.documentElement.dataset.route === 'chat'`)
	waitJS(t, alice, hasText("#messages .msg .text", reply))
}
