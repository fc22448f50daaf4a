package daemon

// Browser tests of the web UI's settings, path, contacts, devices and
// storage screens (issue 19, part B), one assertion per screen, on the
// shared environment of browser_test.go. Each waits on DOM conditions
// with generous deadlines; none measures time.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/hushnet/hush/client"
)

// atRestTexts are message texts the browser tests showed in a page; the
// at-rest test looks for each in Chromium's profile.
var atRestTexts []string

// screen moves the page to hash and waits until the screen shows what
// it read from the API (its section's data-loaded).
func (env *uiEnv) screen(t testing.TB, ctx context.Context, hash string) {
	t.Helper()
	env.goTo(t, ctx, hash)
	name := strings.SplitN(strings.TrimPrefix(hash, "#/"), "/", 2)[0]
	waitJS(t, ctx, `document.querySelector('main section.screen-`+name+`[data-loaded]')`)
}

// eventually polls cond until it holds, failing t after uiWait.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(uiWait); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stranger starts a daemon on the devnet with a fresh account that is
// nobody's contact, and returns it with its Account ID.
func stranger(t testing.TB, env *uiEnv) (*testDaemon, string) {
	t.Helper()
	td := env.newDaemon(t)
	var created struct {
		AccountID string `json:"account_id"`
	}
	td.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, &created)
	return td, created.AccountID
}

func uniqueText(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + " " + hex.EncodeToString(b)
}

// TestUIRequests: two strangers write to alice; on her contacts screen
// she accepts one request and blocks the other.
func TestUIRequests(t *testing.T) {
	env := uiFixture(t)
	alice := env.api(t, "alice")
	carol, carolID := stranger(t, env)
	dave, daveID := stranger(t, env)
	carolText, daveText := uniqueText("a request from carol"), uniqueText("a request from dave")
	atRestTexts = append(atRestTexts, carolText, daveText)
	carol.mustDo("POST", "/api/v1/conversations/"+env.AliceID+"/messages", map[string]string{"text": carolText}, http.StatusCreated, nil)
	dave.mustDo("POST", "/api/v1/conversations/"+env.AliceID+"/messages", map[string]string{"text": daveText}, http.StatusCreated, nil)

	page := env.page(t, "alice")
	waitSSE(t, page)
	env.screen(t, page, "#/contacts")
	req := func(id string) string { return `document.querySelector('.request[data-peer="` + id + `"]')` }
	// The requests come in through the event stream while the screen is open.
	waitJS(t, page, req(carolID)+` && `+req(daveID)+` && `+req(carolID)+`.querySelector('.preview').textContent === `+strconv.Quote(carolText))
	env.shot(t, page, "requests")

	do(t, page, chromedp.Click(chromedp.CSS(`.request[data-peer="`+carolID+`"] button.accept`)))
	waitJS(t, page, `!`+req(carolID)+` && document.querySelector('.contact[data-id="`+carolID+`"]')`)
	do(t, page, chromedp.Click(chromedp.CSS(`.request[data-peer="`+daveID+`"] button.block`)))
	waitJS(t, page, `!`+req(daveID))

	var rs []client.Request
	alice.mustDo("GET", "/api/v1/requests", nil, http.StatusOK, &rs)
	for _, r := range rs {
		if id := r.Peer.String(); id == carolID || id == daveID {
			t.Fatalf("still a request: %s", id)
		}
	}
	var cs []client.Contact
	alice.mustDo("GET", "/api/v1/contacts", nil, http.StatusOK, &cs)
	blocked := map[string]bool{}
	for _, c := range cs {
		blocked[c.Account.String()] = c.Blocked
	}
	if b, ok := blocked[carolID]; !ok || b {
		t.Fatalf("carol accepted: known %v, blocked %v", ok, b)
	}
	if !blocked[daveID] {
		t.Fatal("dave is not blocked")
	}
}

// TestUIContactsRename: alice renames bob on her contacts screen; the
// nickname is the home's.
func TestUIContactsRename(t *testing.T) {
	env := uiFixture(t)
	page := env.page(t, "alice")
	env.screen(t, page, "#/contacts")
	sel := `.contact[data-id="` + env.BobID + `"]`
	name := "Bobby " + uniqueText("")[1:5]
	evalJS[bool](t, page, `(document.querySelector('`+sel+` input.rename-input').value = '', true)`)
	do(t, page,
		chromedp.SendKeys(chromedp.CSS(sel+` input.rename-input`), name),
		chromedp.Click(chromedp.CSS(sel+` form.rename button[type=submit]`)))
	waitJS(t, page, `document.querySelector('`+sel+` .contact-name').textContent === `+strconv.Quote(name))
	env.shot(t, page, "contacts")
	var cs []client.Contact
	env.api(t, "alice").mustDo("GET", "/api/v1/contacts", nil, http.StatusOK, &cs)
	for _, c := range cs {
		if c.Account.String() == env.BobID && c.Nickname != name {
			t.Fatalf("bob's nickname %q, want %q", c.Nickname, name)
		}
	}
	// The others' tests name bob "bob": give the name back.
	env.api(t, "alice").mustDo("PUT", "/api/v1/contacts/"+env.BobID, map[string]string{"name": "bob"}, http.StatusOK, nil)
}

// TestUISettingsPersist: settings chosen on the screen survive a restart
// of the daemon (a daemon of this test on the devnet, with its own home).
func TestUISettingsPersist(t *testing.T) {
	env := uiFixture(t)
	td, _ := stranger(t, env)
	home := td.cfg.Home
	page := env.pageFor(t, td.Daemon)
	env.screen(t, page, "#/settings")
	saved := func(n int) string {
		return `Number(document.querySelector('section.screen-settings').dataset.saved || 0) >= ` + strconv.Itoa(n)
	}
	do(t, page, chromedp.Click(chromedp.ID("set-notification_content-name_only")))
	waitJS(t, page, saved(1))
	do(t, page, chromedp.Click(chromedp.ID("set-notification_mode-slow")))
	waitJS(t, page, saved(2))
	// By keyboard: Space toggles the focused checkbox, and the focus
	// stays on it though the screen is drawn again from the answer.
	do(t, page, chromedp.Focus(chromedp.ID("set-receipts")), chromedp.KeyEvent(" "))
	waitJS(t, page, saved(3))
	waitJS(t, page, `document.activeElement && document.activeElement.id === 'set-receipts' && document.activeElement.checked`)
	// Calls turn on only once the warning was shown and confirmed.
	do(t, page, chromedp.Click(chromedp.ID("set-calls")))
	waitJS(t, page, `document.getElementById('set-calls-warning') && document.getElementById('set-calls-warning').textContent.includes('IP address')`)
	do(t, page, chromedp.Click(chromedp.ID("set-calls-confirm")))
	waitJS(t, page, saved(4))
	// Selects and the number field save on their change event.
	change := func(id, value string) string {
		return `(() => { const e = document.getElementById(` + strconv.Quote(id) + `); e.value = ` + strconv.Quote(value) +
			`; e.dispatchEvent(new Event('change', {bubbles: true})); return true })()`
	}
	evalJS[bool](t, page, change("set-timer-mode", "after-read"))
	waitJS(t, page, saved(5))
	evalJS[bool](t, page, change("set-timer-after", "3600"))
	waitJS(t, page, saved(6))
	evalJS[bool](t, page, change("set-autodl", "5"))
	waitJS(t, page, saved(7))
	env.shot(t, page, "settings")

	do(t, page, chromedp.Navigate("about:blank")) // its event stream would knock on the stopped daemon
	td.stop()
	td2 := startDaemon(t, Config{Home: home, Options: env.Opts})
	td2.mustDo("POST", "/api/v1/account/unlock", map[string]string{"passphrase": testPass}, http.StatusOK, nil)
	var s settingsJSON
	td2.mustDo("GET", "/api/v1/settings", nil, http.StatusOK, &s)
	if s.NotificationContent != client.NotifyNameOnly || s.Notifications.Mode != client.NotifySlow || !s.Receipts || !s.Calls ||
		s.DefaultTimer.Mode != client.DisappearAfterRead || s.DefaultTimer.After != time.Hour || s.Media.AutoDownloadBytes != 5_000_000 {
		t.Fatalf("settings after the restart: %+v", s)
	}
	// And the screen of the restarted daemon shows them.
	page2 := env.pageFor(t, td2.Daemon)
	env.screen(t, page2, "#/settings")
	waitJS(t, page2, `document.getElementById('set-notification_content-name_only').checked && document.getElementById('set-notification_mode-slow').checked`+
		` && document.getElementById('set-receipts').checked && document.getElementById('set-calls').checked`+
		` && document.getElementById('set-timer-mode').value === 'after-read' && document.getElementById('set-timer-after').value === '3600'`+
		` && document.getElementById('set-autodl').value === '5'`)
}

// TestUIPath: the path view shows the paths as guard → relay → relay,
// each hop with the key and address the API reports.
func TestUIPath(t *testing.T) {
	env := uiFixture(t)
	alice := env.api(t, "alice")
	// A request builds paths if none was made yet.
	alice.mustDo("POST", "/api/v1/conversations/"+env.BobID+"/messages", map[string]string{"text": "paths please"}, http.StatusCreated, nil)
	page := env.page(t, "alice")
	env.screen(t, page, "#/path")
	waitJS(t, page, `(() => { const p = document.querySelector('.path'); return p && p.querySelectorAll('.hop').length === 3 })()`)
	env.shot(t, page, "path")
	hops := evalJS[[]string](t, page, `[...document.querySelector('.path').querySelectorAll('.hop')].map(h => h.dataset.role + ' ' + h.querySelector('.hop-key').textContent + ' ' + h.querySelector('.hop-address').textContent)`)
	var r struct {
		Paths []struct {
			Hops []struct {
				Key     string `json:"pubkey_ed25519"`
				Address string `json:"address"`
			} `json:"hops"`
		} `json:"paths"`
	}
	alice.mustDo("GET", "/api/v1/paths", nil, http.StatusOK, &r)
	known := map[string]bool{}
	for _, p := range r.Paths {
		for i, h := range p.Hops {
			role := "relay"
			if i == 0 {
				role = "guard"
			}
			known[role+" "+h.Key+" "+h.Address] = true
		}
	}
	for i, h := range hops {
		f := strings.Fields(h)
		if len(f) != 3 || len(f[1]) != 64 || !strings.HasPrefix(f[2], "127.") {
			t.Fatalf("hop %d shows %q", i, h)
		}
		if (i == 0) != (f[0] == "guard") || !known[h] {
			t.Fatalf("hop %d shows %q, which the API does not report there", i, h)
		}
	}
}

// TestUIDevices: an account on two devices sees both on the devices
// screen (the second one arriving live or on load) and shares its
// history with the other.
func TestUIDevices(t *testing.T) {
	env := uiFixture(t)
	first := env.newDaemon(t)
	var created struct {
		AccountID      string `json:"account_id"`
		RecoveryPhrase string `json:"recovery_phrase"`
	}
	first.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, &created)
	// Slow mode syncs the account (its devices) on every poll; fast mode
	// only in its safety net, a minute apart.
	first.mustDo("PATCH", "/api/v1/settings", map[string]string{"notification_mode": "slow"}, http.StatusOK, nil)
	text := uniqueText("a message to share")
	atRestTexts = append(atRestTexts, text)
	first.mustDo("POST", "/api/v1/conversations/"+env.BobID+"/messages", map[string]string{"text": text}, http.StatusCreated, nil)
	page := env.pageFor(t, first.Daemon)
	waitSSE(t, page)
	env.screen(t, page, "#/devices")
	waitJS(t, page, `document.querySelector('.device[data-this="1"]')`)

	second := env.newDaemon(t)
	second.mustDo("POST", "/api/v1/account/restore", map[string]string{"recovery_phrase": created.RecoveryPhrase, "passphrase": testPass}, http.StatusCreated, nil)
	var devs []deviceJSON
	second.mustDo("GET", "/api/v1/devices", nil, http.StatusOK, &devs)
	var other string
	for _, d := range devs {
		if d.This {
			other = d.ID
		}
	}
	sel := `.device[data-id="` + other + `"]`
	// The first device learns of the second from the network, and its
	// open screen from the device event.
	waitJS(t, page, `document.querySelector('`+sel+`')`)
	env.shot(t, page, "devices")
	do(t, page, chromedp.Click(chromedp.CSS(sel+` button`)))
	waitJS(t, page, `/^Shared \d+ messages? with 1 device/.test(document.getElementById('share-result').textContent)`)
}

// TestUIStorageClearMedia: a received file counts on the storage screen,
// and clearing media drops it there and in the home.
func TestUIStorageClearMedia(t *testing.T) {
	env := uiFixture(t)
	alice, bob := env.api(t, "alice"), env.api(t, "bob")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	caption := uniqueText("the report")
	mw.WriteField("text", caption)
	fw, _ := mw.CreateFormFile("file", "report.bin")
	fw.Write(bytes.Repeat([]byte("hush storage test "), 4000))
	mw.Close()
	resp, b := bob.do(call{method: "POST", path: "/api/v1/conversations/" + env.AliceID + "/messages", body: body.Bytes(),
		header: map[string]string{"Content-Type": mw.FormDataContentType()}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("send a file: %d %s", resp.StatusCode, b)
	}
	// Alice's copy is downloaded whole before she clears: a download
	// still under way would finish after the clear and bring the file
	// back (alice has media from earlier tests, so her storage alone
	// says nothing of this file).
	eventually(t, "alice's copy of the file", func() bool {
		var page struct {
			Messages []client.Message `json:"messages"`
		}
		alice.mustDo("GET", "/api/v1/conversations/"+env.BobID+"/messages?limit=50", nil, http.StatusOK, &page)
		for _, m := range page.Messages {
			if m.Text == caption && len(m.Attachments) == 1 {
				return m.Attachments[0].State == client.MediaReady
			}
		}
		return false
	})
	var st client.StorageReport

	page := env.page(t, "alice")
	env.screen(t, page, "#/storage")
	waitJS(t, page, `Number(document.querySelector('section.screen-storage').dataset.mediaBytes) > 0`)
	env.shot(t, page, "storage")
	do(t, page, chromedp.Click(chromedp.ID("clear-all")))
	waitJS(t, page, `document.querySelector('section.screen-storage').dataset.mediaBytes === '0'`)
	alice.mustDo("GET", "/api/v1/storage", nil, http.StatusOK, &st)
	if st.MediaBytes != 0 {
		t.Fatalf("media bytes after clear media: %d", st.MediaBytes)
	}
}

// TestUIBackupExport: the storage screen's backup export downloads a
// file, and that file restores the account.
func TestUIBackupExport(t *testing.T) {
	env := uiFixture(t)
	dir := t.TempDir()
	page := env.page(t, "alice")
	if _, err := chromedp.CallBrowser(page, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	// Later tests download into the shared folder again.
	t.Cleanup(func() {
		chromedp.CallBrowser(page, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: env.Downloads})
	})
	env.screen(t, page, "#/storage")
	do(t, page,
		chromedp.SendKeys(chromedp.ID("backup-pass"), testPass),
		chromedp.SendKeys(chromedp.ID("backup-newpass"), "a backup passphrase"),
		chromedp.SendKeys(chromedp.ID("backup-newpass2"), "a backup passphrase"),
		chromedp.Click(chromedp.ID("backup-export")))
	waitJS(t, page, `document.querySelector('section.screen-storage').dataset.exported`)
	size := evalJS[string](t, page, `document.querySelector('section.screen-storage').dataset.exported`)
	file := filepath.Join(dir, "hush-backup.hushbackup")
	eventually(t, "the downloaded backup", func() bool {
		st, err := os.Stat(file)
		return err == nil && strconv.FormatInt(st.Size(), 10) == size
	})
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.NewHome(filepath.Join(t.TempDir(), "restored"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := h.Import(io.Reader(f), []byte("a backup passphrase"), []byte(testPass), client.InsecureTestKDF())
	if err != nil {
		t.Fatalf("import the downloaded backup: %v", err)
	}
	if sum.AccountID.String() != env.AliceID {
		t.Fatalf("the backup restores %s, want alice %s", sum.AccountID, env.AliceID)
	}
}

// TestUIAtRest runs after the other browser tests (it is the last in the
// last file): a message shown in alice's page and one typed and sent
// there, and the texts the earlier tests showed, are nowhere in the
// files of the Chromium profile the tests used (the API's no-store
// keeps them out of the disk cache).
func TestUIAtRest(t *testing.T) {
	env := uiFixture(t)
	incoming, typed := uniqueText("at rest canary from bob"), uniqueText("at rest canary typed by alice")
	page := env.page(t, "alice")
	waitSSE(t, page)
	env.screen(t, page, "#/chats")
	evalJS[bool](t, page, `(window.hushApp.go('#/chat/`+env.BobID+`'), true)`)
	waitJS(t, page, `document.documentElement.dataset.route === 'chat' && document.getElementById('compose')`)
	env.api(t, "bob").mustDo("POST", "/api/v1/conversations/"+env.AliceID+"/messages", map[string]string{"text": incoming}, http.StatusCreated, nil)
	waitJS(t, page, `[...document.querySelectorAll('#messages .msg .text')].some(e => e.textContent === `+strconv.Quote(incoming)+`)`)
	do(t, page, chromedp.SendKeys(chromedp.ID("compose"), typed), chromedp.Click(chromedp.ID("send")))
	waitJS(t, page, `[...document.querySelectorAll('#messages .msg.out .text')].some(e => e.textContent === `+strconv.Quote(typed)+`)`)
	// Reloading reads the whole conversation through the API again.
	do(t, page, chromedp.Reload())
	waitJS(t, page, `[...document.querySelectorAll('#messages .msg .text')].some(e => e.textContent === `+strconv.Quote(incoming)+`)`)
	do(t, page, chromedp.Navigate("about:blank"))

	for _, text := range append([]string{incoming, typed}, atRestTexts...) {
		found, files := profileHolds(t, env.Profile, text)
		if files == 0 {
			t.Fatalf("the profile %s has no files: is it the browser's?", env.Profile)
		}
		if len(found) > 0 {
			t.Errorf("%q is stored in the browser profile: %s", text, strings.Join(found, ", "))
		}
	}
}
