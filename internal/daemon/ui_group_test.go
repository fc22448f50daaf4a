package daemon

// The browser test of closed groups in the web UI (issue 21, part 3), on
// the shared environment of browser_test.go.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestUIGroup: alice creates a group with bob and a third account (carol)
// on the New group screen; bob accepts the invitation among his
// requests; alice's message reaches bob's page named by bob's nickname
// for her, and carol's client with alice as its sender; alice removes
// carol on the group's info screen and carol's client learns it.
func TestUIGroup(t *testing.T) {
	env := uiFixture(t)
	start := time.Now()
	step := func(what string) { t.Logf("%5.1fs %s", time.Since(start).Seconds(), what) }
	aliceAPI, bobAPI := env.api(t, "alice"), env.api(t, "bob")
	carol := env.newDaemon(t)
	var created struct {
		AccountID string `json:"account_id"`
	}
	carol.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, &created)
	carolID := created.AccountID
	// Bob's nickname for alice, which his page must show as the author.
	var contacts []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	bobAPI.mustDo("GET", "/api/v1/contacts", nil, http.StatusOK, &contacts)
	aliceNick := ""
	for _, c := range contacts {
		if c.ID == env.AliceID {
			aliceNick = c.Name
		}
	}

	step("carol up")
	// Alice: Chats → New group.
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

	step("group created")
	// Bob: the invitation among his requests, accepted there; carol
	// accepts through the API.
	bob := env.page(t, "bob")
	waitSSE(t, bob)
	env.goTo(t, bob, "#/contacts")
	invite := fmt.Sprintf(`document.querySelector('.group-invite[data-peer=%s]')`, jsq(gid))
	waitJS(t, bob, invite+` && `+invite+`.textContent.includes(`+jsq(name)+`)`)
	do(t, bob, chromedp.Click(chromedp.JSPath(invite+`.querySelector('button.accept')`)))
	waitJS(t, bob, `!`+invite)
	step("bob accepted")
	joined := func(td *testDaemon) func() bool {
		return func() bool {
			var g tGroup
			td.mustDo("GET", "/api/v1/groups/"+gid, nil, http.StatusOK, &g)
			return g.State == "joined" && g.KeyGeneration >= 1 && len(g.MemberList) == 3
		}
	}
	waitUntil(t, "carol's invitation", func() bool {
		resp, _ := carol.do(call{method: "GET", path: "/api/v1/groups/" + gid})
		return resp.StatusCode == http.StatusOK
	})
	carol.mustDo("POST", "/api/v1/groups/"+gid+"/accept", nil, http.StatusOK, nil)
	step("carol accepted")
	waitUntil(t, "bob in the group", joined(bobAPI))
	waitUntil(t, "carol in the group", joined(carol))

	step("both joined")
	// Bob's chat list marks the group.
	env.goTo(t, bob, "#/chats")
	waitJS(t, bob, fmt.Sprintf(`document.querySelector('#chat-list li[data-peer=%s][data-group=true] .group-mark')`, jsq(gid)))

	step("list marked")
	// Alice sends from the group's chat; bob's page shows it with her name.
	text := uniqueText("hello group")
	do(t, alice, chromedp.SendKeys(chromedp.ID("compose"), text), chromedp.Click(chromedp.ID("send")))
	waitJS(t, alice, hasText("#messages .msg.out .text", text))
	env.goTo(t, bob, "#/chat/"+gid)
	in := fmt.Sprintf(`[...document.querySelectorAll('#messages .msg.in')].find(e => e.querySelector('.text') && e.querySelector('.text').textContent === %s)`, jsq(text))
	waitJS(t, bob, in)
	if got := evalJS[string](t, bob, in+`.querySelector('.sender-name').textContent`); got != aliceNick+": " || aliceNick == "" {
		t.Fatalf("bob's page names the author %q, bob calls alice %q", got, aliceNick)
	}
	if got := evalJS[string](t, bob, in+`.querySelector('.sender-name').dataset.sender`); got != env.AliceID {
		t.Fatalf("the author is %s, want alice %s", got, env.AliceID)
	}
	step("bob got it")
	waitUntil(t, "carol gets the message", func() bool {
		var page struct {
			Messages []tMessage `json:"messages"`
		}
		carol.mustDo("GET", "/api/v1/conversations/"+gid+"/messages", nil, http.StatusOK, &page)
		for _, m := range page.Messages {
			if m.Text == text {
				if m.Sender != env.AliceID {
					t.Fatalf("carol got %q from %s, want alice", text, m.Sender)
				}
				return true
			}
		}
		return false
	})
	env.shot(t, bob, "group-chat")

	step("carol got it")
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
		carol.mustDo("GET", "/api/v1/groups/"+gid, nil, http.StatusOK, &g)
		return g.State == "removed"
	})
	step("carol knows")
	var g tGroup
	b := aliceAPI.mustDo("GET", "/api/v1/groups/"+gid, nil, http.StatusOK, nil)
	json.Unmarshal(b, &g)
	if g.Members != 2 || g.KeyGeneration < 2 {
		t.Fatalf("after the removal alice has %+v", g)
	}
	t.Logf("group flow in %.1fs (after the shared environment)", time.Since(start).Seconds())
}
