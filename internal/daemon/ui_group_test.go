package daemon

// The browser test of closed groups in the web UI (issue 21, part 3), on
// the shared environment of browser_test.go.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestUIGroup: alice creates a group with bob and a third account (carol)
// on the New group screen; carol accepts the invitation among her
// requests in her own page (bob through the API); alice's message reaches
// carol's page named by carol's nickname for her; alice removes carol on the group's info screen and carol's client
// learns it.
//
// Carol's daemon polls its safety net every 2 s: the client starts the
// long-poll of a group joined while it runs only at its next safety-net
// poll (a minute by default), so on alice's and bob's daemons a group's
// first messages can take up to that long.
func TestUIGroup(t *testing.T) {
	env := uiFixture(t)
	start := time.Now()
	step := func(what string) { t.Logf("%5.1fs %s", time.Since(start).Seconds(), what) }
	aliceAPI, bobAPI := env.api(t, "alice"), env.api(t, "bob")
	opts := env.Opts
	opts.SafetyNetInterval = 2 * time.Second
	carolAPI := startDaemon(t, Config{Options: opts})
	var created struct {
		AccountID string `json:"account_id"`
	}
	carolAPI.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, &created)
	carolID := created.AccountID
	carolAPI.mustDo("PUT", "/api/v1/contacts/"+env.AliceID, map[string]string{"name": "alice"}, http.StatusOK, nil)

	// Alice: Chats → New group.
	step("carol up")
	alice := env.page(t, "alice")
	waitSSE(t, alice)
	env.goTo(t, alice, "#/chats")
	do(t, alice, chromedp.Click(chromedp.ID("new-group")))
	waitJS(t, alice, `document.documentElement.dataset.route === 'newgroup'`)
	name := uniqueText("ui group")
	do(t, alice,
		chromedp.SendKeys(chromedp.ID("group-name"), name),
		chromedp.SendKeys(chromedp.ID("group-members"), env.BobID+"\n"+carolID),
		chromedp.Click(chromedp.ID("group-create")))
	waitJS(t, alice, `document.documentElement.dataset.route === 'chat' && document.getElementById('title-chat').textContent.includes(`+jsq(name)+`)`)
	gid := strings.TrimPrefix(evalJS[string](t, alice, `location.hash`), "#/chat/")
	if !strings.HasPrefix(gid, "03") || len(gid) != 66 {
		t.Fatalf("the new group's chat is %q", gid)
	}
	t.Cleanup(func() { aliceAPI.do(call{method: "DELETE", path: "/api/v1/groups/" + gid}) })

	// Carol: the invitation among her requests, accepted there; bob
	// accepts through the API.
	step("group created")
	carol := env.pageFor(t, carolAPI.Daemon)
	waitSSE(t, carol)
	env.goTo(t, carol, "#/contacts")
	invite := fmt.Sprintf(`document.querySelector('.group-invite[data-peer=%s]')`, jsq(gid))
	waitJS(t, carol, invite+` && `+invite+`.textContent.includes(`+jsq(name)+`) && `+invite+`.textContent.includes('alice')`)
	env.shot(t, carol, "group-invitation")
	do(t, carol, chromedp.Click(chromedp.JSPath(invite+`.querySelector('button.accept')`)))
	waitJS(t, carol, `!`+invite)
	step("carol accepted")
	joined := func(td *testDaemon) func() bool {
		return func() bool {
			var g tGroup
			td.mustDo("GET", "/api/v1/groups/"+gid, nil, http.StatusOK, &g)
			return g.State == "joined" && g.KeyGeneration >= 1 && len(g.MemberList) == 3
		}
	}
	waitUntil(t, "bob's invitation", func() bool {
		resp, _ := bobAPI.do(call{method: "GET", path: "/api/v1/groups/" + gid})
		return resp.StatusCode == http.StatusOK
	})
	bobAPI.mustDo("POST", "/api/v1/groups/"+gid+"/accept", nil, http.StatusOK, nil)
	waitUntil(t, "carol in the group", joined(carolAPI))
	waitUntil(t, "bob in the group", joined(bobAPI))

	// Carol's chat list marks the group.
	step("both joined")
	env.goTo(t, carol, "#/chats")
	waitJS(t, carol, fmt.Sprintf(`document.querySelector('#chat-list li[data-peer=%s][data-group=true] .group-mark')`, jsq(gid)))
	env.goTo(t, carol, "#/chat/"+gid)

	// Alice sends from the group's chat; carol's page shows it with her
	// nickname for alice.
	text := uniqueText("hello group")
	do(t, alice, chromedp.SendKeys(chromedp.ID("compose"), text), chromedp.Click(chromedp.ID("send")))
	waitJS(t, alice, hasText("#messages .msg.out .text", text))
	in := fmt.Sprintf(`[...document.querySelectorAll('#messages .msg.in')].find(e => e.querySelector('.text') && e.querySelector('.text').textContent === %s)`, jsq(text))
	waitJS(t, carol, in)
	if got := evalJS[string](t, carol, in+`.querySelector('.sender-name').textContent`); got != "alice: " {
		t.Fatalf("carol's page names the author %q, want her nickname for alice", got)
	}
	if got := evalJS[string](t, carol, in+`.querySelector('.sender-name').dataset.sender`); got != env.AliceID {
		t.Fatalf("the author is %s, want alice %s", got, env.AliceID)
	}
	env.shot(t, carol, "group-chat")
	step("carol got it")

	// A file to the group from the composer's attachment button: carol's
	// page offers it as a download named as sent.
	file := filepath.Join(t.TempDir(), "agenda.txt")
	if err := os.WriteFile(file, []byte("1. groups\n2. files\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	caption := uniqueText("the agenda")
	do(t, alice,
		chromedp.SetUploadFiles(chromedp.ID("files"), []string{file}),
		chromedp.SendKeys(chromedp.ID("compose"), caption),
		chromedp.Click(chromedp.ID("send")))
	waitJS(t, alice, hasText("#messages .msg.out .text", caption))
	withFile := fmt.Sprintf(`[...document.querySelectorAll('#messages .msg.in')].find(e => e.querySelector('.text') && e.querySelector('.text').textContent === %s)`, jsq(caption))
	waitJS(t, carol, withFile+` && `+withFile+`.querySelector('a.file[download]') && `+withFile+`.querySelector('a.file').getAttribute('download') === 'agenda.txt'`)
	step("carol got the file")

	// Alice removes carol on the group's info screen (two presses).
	do(t, alice, chromedp.Click(chromedp.ID("group-info")))
	waitJS(t, alice, `document.documentElement.dataset.route === 'group' && document.querySelector('.screen-group').dataset.loaded`)
	if !evalJS[bool](t, alice, `document.querySelector('.screen-group').textContent.includes('cannot be demoted')`) {
		t.Fatal("the group screen does not say an admin cannot be demoted")
	}
	row := fmt.Sprintf(`document.querySelector('#group-members li[data-id=%s]')`, jsq(carolID))
	do(t, alice,
		chromedp.Click(chromedp.JSPath(row+`.querySelector('button.remove')`)),
		chromedp.Click(chromedp.JSPath(row+`.querySelector('button.remove')`)))
	waitJS(t, alice, `!`+row+` && document.querySelectorAll('#group-members li').length === 2`)
	env.shot(t, alice, "group-info")
	step("removed in the UI")
	waitUntil(t, "carol learns she was removed", func() bool {
		var g tGroup
		carolAPI.mustDo("GET", "/api/v1/groups/"+gid, nil, http.StatusOK, &g)
		return g.State == "removed"
	})
	var g tGroup
	aliceAPI.mustDo("GET", "/api/v1/groups/"+gid, nil, http.StatusOK, &g)
	if g.Members != 2 || g.KeyGeneration < 2 {
		t.Fatalf("after the removal alice has %+v", g)
	}
	step("carol knows")
}
