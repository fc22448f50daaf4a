package daemon

// Browser tests of the web UI's chat screens (issue 19, part A), on the
// shared environment of browser_test.go: onboarding, the chat list, the
// conversation (live messages, status, typing, timer, unsend, delete),
// attachments, the own Account ID, hostile content, a keyboard-only flow.

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"rsc.io/qr"

	"github.com/hushnet/hush/client"
)

// jsq quotes a Go string as a JavaScript string literal.
func jsq(s string) string { return strconv.Quote(s) }

// hasText is a page expression: some element matching sel has exactly text.
func hasText(sel, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%s)].some(e => e.textContent === %s)`, jsq(sel), jsq(text))
}

// TestUIOnboarding: creating an account shows its phrase once, asks for
// two of its words, and lands on the chats; restoring from that phrase on
// another daemon recovers the same Account ID; a locked daemon's page
// asks for the passphrase and unlocks.
func TestUIOnboarding(t *testing.T) {
	env := uiFixture(t)
	first := env.newDaemon(t)
	p := env.pageFor(t, first.Daemon)
	waitJS(t, p, `document.documentElement.dataset.route === 'onboarding'`)
	env.shot(t, p, "onboarding")
	do(t, p,
		chromedp.Click(chromedp.ID("onb-create")),
		chromedp.SendKeys(chromedp.ID("create-pass"), "a long passphrase"),
		chromedp.SendKeys(chromedp.ID("create-pass2"), "a long passphrase"),
		chromedp.Click(chromedp.ID("create-submit")),
		chromedp.WaitVisible(chromedp.ID("phrase")))
	phrase := evalJS[string](t, p, `document.getElementById('phrase').textContent`)
	shown := evalJS[string](t, p, `document.getElementById('onb-account').textContent`)
	if n := len(strings.Fields(phrase)); n != 13 {
		t.Fatalf("the phrase has %d words: %q", n, phrase)
	}
	env.shot(t, p, "onboarding-phrase")
	if evalJS[bool](t, p, `document.getElementById('phrase-next').disabled`) != true {
		t.Fatal("Continue is enabled before the phrase is acknowledged")
	}
	do(t, p, chromedp.Click(chromedp.ID("phrase-ack")), chromedp.Click(chromedp.ID("phrase-next")),
		chromedp.WaitVisible(chromedp.ID("confirm-submit")))
	// A wrong word is refused; the right ones finish.
	positions := evalJS[[]int](t, p, `[...document.querySelectorAll('input[data-word]')].map(e => Number(e.dataset.word))`)
	words := strings.Fields(phrase)
	do(t, p,
		chromedp.SendKeys(chromedp.ID("confirm-"+strconv.Itoa(positions[0])), "wrong"),
		chromedp.Click(chromedp.ID("confirm-submit")))
	waitJS(t, p, `document.querySelector('.error[role=alert]').textContent.includes('not the words')`)
	evalJS[bool](t, p, `(document.getElementById('confirm-`+strconv.Itoa(positions[0])+`').value = '', true)`)
	for _, pos := range positions {
		do(t, p, chromedp.SendKeys(chromedp.ID("confirm-"+strconv.Itoa(pos)), words[pos-1]))
	}
	do(t, p, chromedp.Click(chromedp.ID("confirm-submit")))
	waitJS(t, p, `document.documentElement.dataset.route === 'chats'`)
	var st statusJSON
	first.mustDo("GET", "/api/v1/status", nil, http.StatusOK, &st)
	if st.State != stateUnlocked || st.AccountID != shown {
		t.Fatalf("status %+v, the page showed %s", st, shown)
	}
	// The phrase is gone from the page for good.
	if evalJS[bool](t, p, `document.body.textContent.includes(`+jsq(words[0]+" "+words[1])+`)`) {
		t.Fatal("the phrase is still in the page")
	}

	second := env.newDaemon(t)
	q := env.pageFor(t, second.Daemon)
	waitJS(t, q, `document.documentElement.dataset.route === 'onboarding'`)
	do(t, q,
		chromedp.Click(chromedp.ID("onb-restore")),
		chromedp.SendKeys(chromedp.ID("restore-phrase"), phrase),
		chromedp.SendKeys(chromedp.ID("restore-pass"), "another passphrase"),
		chromedp.SendKeys(chromedp.ID("restore-pass2"), "another passphrase"),
		chromedp.Click(chromedp.ID("restore-submit")))
	waitJS(t, q, `document.documentElement.dataset.route === 'chats'`)
	second.mustDo("GET", "/api/v1/status", nil, http.StatusOK, &st)
	if st.AccountID != shown {
		t.Fatalf("restored %s, created %s", st.AccountID, shown)
	}
	env.goTo(t, q, "#/account")
	waitJS(t, q, hasText("#own-id", shown))

	// Locked from elsewhere: the page follows and unlocks.
	waitSSE(t, q)
	second.mustDo("POST", "/api/v1/account/lock", nil, http.StatusOK, nil)
	waitJS(t, q, `document.documentElement.dataset.route === 'unlock'`)
	env.shot(t, q, "unlock")
	do(t, q, chromedp.SendKeys(chromedp.ID("unlock-pass"), "wrong"), chromedp.Click(chromedp.ID("unlock-submit")))
	waitJS(t, q, `document.querySelector('.error[role=alert]').textContent.includes('Wrong passphrase')`)
	evalJS[bool](t, q, `(document.getElementById('unlock-pass').value = '', true)`)
	do(t, q, chromedp.SendKeys(chromedp.ID("unlock-pass"), "another passphrase"), chromedp.Click(chromedp.ID("unlock-submit")))
	waitJS(t, q, `document.documentElement.dataset.route === 'chats'`)
	waitSSE(t, q)
}

// TestUIConversation: bob's chat list and open conversation follow
// alice's messages live (last message, unread count, typing, status
// marks) without a reload; the disappearing timer, unsend and delete work
// from the page.
func TestUIConversation(t *testing.T) {
	env := uiFixture(t)
	aliceAPI := env.api(t, "alice")
	bob := env.page(t, "bob")
	waitSSE(t, bob)
	evalJS[bool](t, bob, `(window.__sameLoad = true)`)
	env.goTo(t, bob, "#/chats")

	// The chat list: a message from alice comes in with its unread count.
	first := "chat list " + strconv.Itoa(rand.IntN(1e6))
	aliceAPI.mustDo("POST", "/api/v1/conversations/"+env.BobID+"/messages", map[string]string{"text": first}, http.StatusCreated, nil)
	row := fmt.Sprintf(`document.querySelector('#chat-list li[data-peer=%s]')`, jsq(env.AliceID))
	waitJS(t, bob, row+` && `+row+`.querySelector('.last').textContent === `+jsq(first)+` && Number(`+row+`.querySelector('.badge').textContent) >= 1`)
	// Named by bob's nickname for her.
	var contacts []map[string]any
	env.api(t, "bob").mustDo("GET", "/api/v1/contacts", nil, http.StatusOK, &contacts)
	nick := ""
	for _, c := range contacts {
		if c["id"] == env.AliceID {
			nick, _ = c["name"].(string)
		}
	}
	if name := evalJS[string](t, bob, row+`.querySelector('.name').textContent`); name != nick || nick == "" {
		t.Fatalf("the row is named %q, bob calls alice %q", name, nick)
	}
	env.shot(t, bob, "chats")

	// The conversation: opening it marks it read.
	do(t, bob, chromedp.Click(chromedp.CSS(`#chat-list li[data-peer="`+env.AliceID+`"] a`)))
	waitJS(t, bob, `document.documentElement.dataset.route === 'chat'`)
	waitJS(t, bob, hasText("#messages .msg.in .text", first))

	alice := env.page(t, "alice")
	waitSSE(t, alice)
	env.goTo(t, alice, "#/chat/"+env.BobID)
	waitJS(t, alice, `document.querySelector('#messages .msg.out .status[data-status=read], #messages .msg.in')`)

	// Typing shows on bob's page while alice composes. Her page says
	// "stopped" 5 s after the last key: on a loaded machine both can
	// reach bob's page before a poll of it sees the first, so the page
	// records every text the indicator shows.
	evalJS[bool](t, bob, `(() => {
		const el = document.getElementById('typing'); window.__typingShown = false
		new MutationObserver(() => { if (el.textContent.includes('is typing')) window.__typingShown = true })
			.observe(el, {childList: true, characterData: true, subtree: true})
		return true })()`)
	text := "hello bob from the UI <b>not bold</b>"
	do(t, alice, chromedp.SendKeys(chromedp.ID("compose"), text))
	waitJS(t, bob, `window.__typingShown`)
	do(t, alice, chromedp.Click(chromedp.ID("send")))
	waitJS(t, bob, hasText("#messages .msg.in .text", text))
	waitJS(t, bob, `document.getElementById('typing').textContent === ''`)
	if !evalJS[bool](t, bob, `window.__sameLoad === true && !document.querySelector('#messages b')`) {
		t.Fatal("bob's page was reloaded, or the text became markup")
	}
	// Delivered, then read since bob's page has it open.
	out := fmt.Sprintf(`[...document.querySelectorAll('#messages .msg.out')].find(e => e.querySelector('.text') && e.querySelector('.text').textContent === %s)`, jsq(text))
	waitJS(t, alice, out+` && `+out+`.dataset.status === 'read'`)
	env.shot(t, alice, "conversation")

	// 400 px wide and dark: nothing overflows sideways.
	do(t, alice, chromedp.EmulateViewport(400, 800), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}))
	waitJS(t, alice, `matchMedia('(prefers-color-scheme: dark)').matches && innerWidth === 400`)
	if w := evalJS[int](t, alice, `document.documentElement.scrollWidth`); w > 400 {
		t.Fatalf("at 400 px the page is %d px wide", w)
	}
	env.shot(t, alice, "conversation-narrow-dark")
	do(t, alice, chromedp.ResetViewport())

	// The timer: set on alice's page, the API has it.
	evalJS[bool](t, alice, `(() => { const s = document.getElementById('timer'); s.value = '2'; s.dispatchEvent(new Event('change')); return true })()`)
	timerIs := func(mode string, after time.Duration) {
		t.Helper()
		deadline := time.Now().Add(uiWait)
		for {
			var tm client.Timer
			aliceAPI.mustDo("GET", "/api/v1/conversations/"+env.BobID+"/timer", nil, http.StatusOK, &tm)
			if tm.Mode == mode && tm.After == after {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timer %+v, want %s %v; the page: %s", tm, mode, after, pageState(alice))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	timerIs("after-read", time.Hour)
	// Off again, before the test ends (the tab closes with it): the
	// shared fixture's conversation has no timer.
	evalJS[bool](t, alice, `(() => { const s = document.getElementById('timer'); s.value = '0'; s.dispatchEvent(new Event('change')); return true })()`)
	timerIs("off", 0)

	// Unsend: two presses on alice's page; bob's page drops it.
	do(t, alice,
		chromedp.Click(chromedp.JSPath(out+`.querySelector('button.unsend')`)),
		chromedp.Click(chromedp.JSPath(out+`.querySelector('button.unsend')`)))
	waitJS(t, alice, `!(`+out+`)`)
	waitJS(t, bob, `!`+hasText("#messages .msg.in .text", text))

	// Delete for me: bob's copy of the first message goes, alice keeps hers.
	// (A row without text, a voice note of another test, has no .text.)
	in := fmt.Sprintf(`[...document.querySelectorAll('#messages .msg.in')].find(e => e.querySelector('.text') && e.querySelector('.text').textContent === %s)`, jsq(first))
	do(t, bob,
		chromedp.Click(chromedp.JSPath(in+`.querySelector('button.delete')`)),
		chromedp.Click(chromedp.JSPath(in+`.querySelector('button.delete')`)))
	waitJS(t, bob, `!(`+in+`)`)
	waitJS(t, alice, hasText("#messages .msg.out .text", first))
}

// testImage is a PNG of about w×h pixels of noise (so it does not
// compress: several upload pieces).
func testImage(t testing.TB, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
	}
	for x := range w {
		img.Set(x, h/2, color.Black)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestUIAttachment: alice attaches a photo on her page, sees the upload
// progress, and bob's page shows its thumbnail and a download link.
func TestUIAttachment(t *testing.T) {
	env := uiFixture(t)
	file := filepath.Join(t.TempDir(), "hike photo.png")
	if err := os.WriteFile(file, testImage(t, 300, 300), 0o600); err != nil {
		t.Fatal(err)
	}
	bob := env.page(t, "bob")
	waitSSE(t, bob)
	env.goTo(t, bob, "#/chat/"+env.AliceID)
	alice := env.page(t, "alice")
	waitSSE(t, alice)
	env.goTo(t, alice, "#/chat/"+env.BobID)
	// Record what the page shows of the upload: the bar's values and the
	// transfer events it gets.
	evalJS[bool](t, alice, `(() => {
		window.__bars = []; window.__ups = []
		new MutationObserver(() => {
			const p = document.getElementById('upload-progress')
			if (p) window.__bars.push(p.value + '/' + p.max)
		}).observe(document.getElementById('uploads'), {subtree: true, childList: true, attributes: true})
		window.hushApp.on('transfer', t => { if (t.up) window.__ups.push(t) })
		return true })()`)
	caption := "from the hike " + strconv.Itoa(rand.IntN(1e6))
	do(t, alice,
		chromedp.SetUploadFiles(chromedp.ID("files"), []string{file}),
		chromedp.SendKeys(chromedp.ID("compose"), caption),
		chromedp.Click(chromedp.ID("send")))
	waitJS(t, alice, hasText("#messages .msg.out .text", caption))
	waitJS(t, alice, `window.__ups.some(t => t.total > 0 && t.done === t.total)`)
	if bars := evalJS[[]string](t, alice, `window.__bars`); len(bars) == 0 {
		t.Fatal("no upload progress was shown")
	} else {
		t.Logf("upload bar: %v", bars)
	}
	msg := fmt.Sprintf(`[...document.querySelectorAll('#messages .msg.in')].find(e => e.querySelector('.text') && e.querySelector('.text').textContent === %s)`, jsq(caption))
	// The thumbnail decodes (an <img> the daemon served) and the file is
	// a download link named as sent.
	waitJS(t, bob, msg+` && `+msg+`.querySelector('img.thumb') && `+msg+`.querySelector('img.thumb').complete && `+msg+`.querySelector('img.thumb').naturalWidth > 0`)
	waitJS(t, bob, msg+`.querySelector('a.file[download]') && `+msg+`.querySelector('a.file').getAttribute('download') === 'hike photo.png'`)
	env.shot(t, bob, "attachment")
}

// TestUIHostileContent: markup in a message, in a file name and in an SVG
// file renders as text or downloads, and runs nothing (window.__pwned
// stays undefined on both pages).
func TestUIHostileContent(t *testing.T) {
	env := uiFixture(t)
	bob := env.page(t, "bob")
	waitSSE(t, bob)
	env.goTo(t, bob, "#/chat/"+env.AliceID)
	alice := env.page(t, "alice")
	waitSSE(t, alice)
	env.goTo(t, alice, "#/chat/"+env.BobID)

	text := `<img src=x onerror="window.__pwned='img'"><script>window.__pwned='script'</script>` + strconv.Itoa(rand.IntN(1e6))
	do(t, alice, chromedp.SendKeys(chromedp.ID("compose"), text), chromedp.Click(chromedp.ID("send")))
	waitJS(t, bob, hasText("#messages .msg.in .text", text))

	// An SVG with script, under a name that is markup, sent by a script.
	svg := `<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned='svg'"><script>window.__pwned='svgscript'</script><rect width="10" height="10"/></svg>`
	name := `<img src=x onerror=window.__pwned='name'>.svg`
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	drawing := "a drawing " + strconv.Itoa(rand.IntN(1e6))
	mw.WriteField("text", drawing)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{`form-data; name="file"; filename="` + strings.ReplaceAll(name, `"`, `\"`) + `"`}
	h["Content-Type"] = []string{"image/svg+xml"}
	w, _ := mw.CreatePart(h)
	w.Write([]byte(svg))
	mw.Close()
	resp, b := env.api(t, "alice").do(call{method: "POST", path: "/api/v1/conversations/" + env.BobID + "/messages", body: body.Bytes(),
		header: map[string]string{"Content-Type": mw.FormDataContentType()}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("send the SVG: %d %s", resp.StatusCode, b)
	}
	row := fmt.Sprintf(`[...document.querySelectorAll('#messages .msg.in')].find(e => e.querySelector('.text') && e.querySelector('.text').textContent === %s)`, jsq(drawing))
	link := `(` + row + ` || document.createElement('li')).querySelector('a.file[download]')`
	waitJS(t, bob, hasText("#messages .msg.in .text", drawing))
	waitJS(t, bob, link+` && `+link+`.getAttribute('download') === `+jsq(name))
	if !evalJS[bool](t, bob, link+`.textContent.startsWith(`+jsq(name)+`)`) {
		t.Fatal("the file name is not shown as text")
	}
	env.shot(t, bob, "hostile-content")

	// A click downloads it; the page stays where it is.
	progress := chromedp.Events(bob, browser.DownloadProgress)
	do(t, bob, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: env.Downloads, EventsEnabled: ptrTo(true),
		})
		return err
	}), chromedp.Click(chromedp.JSPath(link)))
	var guid string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			guid = ev.GUID
			break
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the download was canceled")
		}
	}
	got, err := os.ReadFile(filepath.Join(env.Downloads, guid))
	if err != nil || string(got) != svg {
		t.Fatalf("downloaded %q, %v", got, err)
	}
	// Nothing ran anywhere, and no element came from the markup.
	for _, p := range []context.Context{alice, bob} {
		if v := evalJS[string](t, p, `String(window.__pwned) + ' ' + document.querySelectorAll('#messages script, #messages img:not(.thumb), #messages svg').length + ' ' + location.pathname`); v != "undefined 0 /ui/" {
			t.Fatalf("page state %q", v)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestUIKeyboardOnly: with the keyboard alone (Tab, Space, Enter and
// typing) a newcomer creates an account, opens a conversation by Account
// ID and sends a message.
func TestUIKeyboardOnly(t *testing.T) {
	env := uiFixture(t)
	d := env.newDaemon(t)
	p := env.pageFor(t, d.Daemon)
	waitJS(t, p, `document.documentElement.dataset.route === 'onboarding'`)
	keys := func(k string) { do(t, p, chromedp.KeyEvent(k)) }
	focused := func(want string) {
		t.Helper()
		waitJS(t, p, `document.activeElement && document.activeElement.matches(`+jsq(want)+`)`)
	}
	keys(kb.Tab)
	focused("#onb-create")
	keys(kb.Enter)
	keys(kb.Tab)
	focused("#create-pass")
	keys("a long passphrase")
	keys(kb.Tab)
	focused("#create-pass2")
	keys("a long passphrase" + kb.Enter)
	waitJS(t, p, `document.getElementById('phrase')`)
	words := strings.Fields(evalJS[string](t, p, `document.getElementById('phrase').textContent`))
	keys(kb.Tab)
	focused("#phrase-ack")
	keys(" ")
	keys(kb.Tab)
	focused("#phrase-next")
	keys(kb.Enter)
	for i := 0; i < 2; i++ {
		keys(kb.Tab)
		focused("input[data-word]")
		pos := evalJS[int](t, p, `Number(document.activeElement.dataset.word)`)
		keys(words[pos-1])
	}
	keys(kb.Enter)
	waitJS(t, p, `document.documentElement.dataset.route === 'chats'`)
	keys(kb.Tab)
	focused("#new-chat")
	keys(kb.Enter)
	focused("#new-id")
	keys(env.BobID)
	keys(kb.Tab)
	focused("#new-name")
	keys("bob")
	keys(kb.Tab)
	focused("#new-submit")
	keys(kb.Enter)
	waitJS(t, p, `document.documentElement.dataset.route === 'chat'`)
	focused("#compose")
	text := "typed without a mouse " + strconv.Itoa(rand.IntN(1e6))
	keys(text + kb.Enter)
	waitJS(t, p, hasText("#messages .msg.out .text", text))
	// It reached bob (a request there: bob does not know this account).
	var st statusJSON
	d.mustDo("GET", "/api/v1/status", nil, http.StatusOK, &st)
	s := env.api(t, "bob")
	deadline := time.Now().Add(uiWait)
	for {
		var reqs []map[string]any
		s.mustDo("GET", "/api/v1/requests", nil, http.StatusOK, &reqs)
		found := false
		for _, r := range reqs {
			found = found || r["peer"] == st.AccountID
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob has no request from %s: %v", st.AccountID, reqs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUIAccountQR: the own Account ID page shows the ID as text and the
// QR code the daemon draws (loaded under the page's CSP).
func TestUIAccountQR(t *testing.T) {
	env := uiFixture(t)
	p := env.page(t, "alice")
	env.goTo(t, p, "#/account")
	waitJS(t, p, hasText("#own-id", env.AliceID))
	waitJS(t, p, `document.getElementById('own-qr').complete && document.getElementById('own-qr').naturalWidth > 0`)
	env.shot(t, p, "account-id")
	resp, b := env.api(t, "alice").do(call{method: "GET", path: "/api/v1/account/qr.svg"})
	want, _ := qrSVG(env.AliceID)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" || !bytes.Equal(b, want) ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("qr.svg: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestQRSVG checks the drawing: a square SVG whose modules are those of
// the QR code.
func TestQRSVG(t *testing.T) {
	svg, err := qrSVG("05" + strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	code, _ := qr.Encode("05"+strings.Repeat("ab", 32), qr.M)
	black := 0
	for y := range code.Size {
		for x := range code.Size {
			if code.Black(x, y) {
				black++
			}
		}
	}
	n := code.Size + 8
	s := string(svg)
	if !strings.HasPrefix(s, fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d"`, n, n)) || !strings.HasSuffix(s, "</svg>") ||
		strings.Count(s, "h1v1h-1z") != black {
		t.Fatalf("svg %.200s…", s)
	}
}

// uiAssetBytes is the page weight: every file the UI ships.
func uiAssetBytes(t testing.TB) int {
	n := 0
	err := fs.WalkDir(uiFiles, "ui", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(uiFiles, path)
			n += len(b)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// BenchmarkUISend measures the time from the send click on alice's page
// to the message on bob's page, against an API send to the event on an
// event stream, in the same run; with the page weight and the first
// render time.
//
//	go test -run '^$' -bench BenchmarkUISend -benchtime 20x ./internal/daemon
func BenchmarkUISend(b *testing.B) {
	env := uiFixture(b)
	bob := env.page(b, "bob")
	waitSSE(b, bob)
	env.goTo(b, bob, "#/chat/"+env.AliceID)
	alice := env.page(b, "alice")
	waitSSE(b, alice)
	first := evalJS[float64](b, alice, `window.__firstRender`)
	dcl := evalJS[float64](b, alice, `performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd`)
	env.goTo(b, alice, "#/chat/"+env.BobID)
	// Both pages stamp times on the same clock (the machine's): alice's
	// at the click, bob's when the row appears.
	evalJS[bool](b, alice, `(document.getElementById('send').addEventListener('click', () => { window.__clickAt = performance.timeOrigin + performance.now() }, true), true)`)
	evalJS[bool](b, bob, `(window.__seen = {}, new MutationObserver(() => {
		for (const e of document.querySelectorAll('#messages .msg.in .text')) if (!window.__seen[e.textContent]) window.__seen[e.textContent] = performance.timeOrigin + performance.now()
	}).observe(document.getElementById('messages'), {childList: true, subtree: true}), true)`)
	bobEvents := env.api(b, "bob").events()
	var ui, api, same time.Duration
	b.ResetTimer()
	for i := range b.N {
		text := fmt.Sprintf("bench ui %d %d", i, rand.IntN(1e9))
		do(b, alice, chromedp.SendKeys(chromedp.ID("compose"), text), chromedp.Click(chromedp.ID("send")))
		// The same message on bob's event stream, on the same clock.
		bobEvents.waitFor("message", messageMatch(text))
		streamAt := float64(time.Now().UnixMicro()) / 1000
		waitJS(b, bob, `window.__seen[`+jsq(text)+`]`)
		clickAt := evalJS[float64](b, alice, `window.__clickAt`)
		ms := evalJS[float64](b, bob, `window.__seen[`+jsq(text)+`]`) - clickAt
		ui += time.Duration(ms * float64(time.Millisecond))
		same += time.Duration((streamAt - clickAt) * float64(time.Millisecond))

		// The send's answer may come after the recipient has the message
		// (it waits for the swarm's confirmations): time the event alone,
		// as the page's time is.
		text = fmt.Sprintf("bench api %d %d", i, rand.IntN(1e9))
		start := time.Now()
		sent := make(chan error, 1)
		go func() {
			sent <- apiCall(env.Alice, "POST", "/api/v1/conversations/"+env.BobID+"/messages", map[string]string{"text": text}, nil)
		}()
		bobEvents.waitFor("message", messageMatch(text))
		api += time.Since(start)
		if err := <-sent; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// A warm load: the tab and its renderer exist already.
	do(b, alice, chromedp.Reload())
	waitJS(b, alice, `window.__firstRender`)
	warm := evalJS[float64](b, alice, `window.__firstRender`)
	b.ReportMetric(float64(ui.Milliseconds())/float64(b.N), "ui-ms/op")
	b.ReportMetric(float64(api.Milliseconds())/float64(b.N), "api-ms/op")
	b.ReportMetric(float64(ui)/float64(api), "ui/api")
	// The page against a script's event stream for the very same message:
	// what the UI itself adds, without the network's variance.
	b.ReportMetric(float64(ui)/float64(same), "ui/stream-same-msg")
	b.ReportMetric(float64(uiAssetBytes(b)), "asset-bytes")
	b.ReportMetric(first, "first-render-ms")
	b.ReportMetric(dcl, "dom-loaded-ms")
	b.ReportMetric(warm, "warm-render-ms")
}
