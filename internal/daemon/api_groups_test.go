package daemon

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hushnet/hush/client"
)

// waitUntil polls cond (an API read) until it holds, failing after a
// generous deadline: the daemons' background duties do the network work.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 90 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The API's group nouns as a test reads them: identity.AccountID parses
// accounts (05) only, and a group's ID starts 03.
type (
	tGroup struct {
		ID             string               `json:"id"`
		Name           string               `json:"name"`
		State          string               `json:"state"`
		Admin          bool                 `json:"admin"`
		Members        int                  `json:"members"`
		KeyGeneration  uint64               `json:"key_generation"`
		DisappearAfter time.Duration        `json:"disappear_after_ns"`
		InvitedBy      string               `json:"invited_by"`
		MemberList     []client.GroupMember `json:"member_list"`
	}
	tRequest struct {
		Peer        string `json:"peer"`
		Group       bool   `json:"group"`
		InvitedBy   string `json:"invited_by"`
		DisplayName string `json:"display_name"`
	}
	tConversation struct {
		Peer  string `json:"peer"`
		Group bool   `json:"group"`
		Name  string `json:"name"`
	}
	tMessage struct {
		LocalID  int64  `json:"local_id"`
		Peer     string `json:"peer"`
		Sender   string `json:"sender"`
		Text     string `json:"text"`
		Outgoing bool   `json:"outgoing"`
	}
)

func statusID(td *testDaemon) string {
	var st statusJSON
	td.mustDo("GET", "/api/v1/status", nil, 200, &st)
	return st.AccountID
}

// TestGroupsAPI drives a closed group through the API on a standalone
// node: create with two members, invitations as requests (accepted one
// way, declined another), every message with its sender, the errors a
// member's admin action, a full group, a bad name, an unknown group and
// an admin's removal get, rename and the timer, promote, remove, delete.
func TestGroupsAPI(t *testing.T) {
	node, files := standalone(t), newMemFiles()
	// A short safety net: the client starts a group's long-poll at its
	// next safety-net poll after joining (a minute by default).
	daemon := func() *testDaemon {
		td := startDaemon(t, Config{Options: client.Options{Standalone: node, Files: files, SafetyNetInterval: time.Second}})
		td.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, nil)
		return td
	}
	alice, bob, carol := daemon(), daemon(), daemon()
	aliceID, bobID, carolID := statusID(alice), statusID(bob), statusID(carol)
	aEvents, bEvents := alice.events(), bob.events()
	alice.mustDo("PUT", "/api/v1/contacts/"+bobID, map[string]string{"name": "bob"}, 200, nil)

	var g tGroup
	// Members by nickname or Account ID.
	alice.mustDo("POST", "/api/v1/groups", map[string]any{"name": "team", "members": []string{"bob", carolID}}, http.StatusCreated, &g)
	gid := g.ID
	if g.Name != "team" || !g.Admin || g.Members != 3 || len(g.MemberList) != 3 || g.MemberList[0].Account.String() != aliceID || g.MemberList[0].Role != "admin" {
		t.Fatalf("created %+v", g)
	}
	if g.MemberList[1].State != client.GroupInvited {
		t.Fatalf("a new member is %q, want invited", g.MemberList[1].State)
	}

	// Refusals before any network work.
	full := make([]string, client.MaxGroupMembers)
	for i := range full {
		b := make([]byte, 32)
		rand.Read(b)
		b[31] &= 0x7f // a canonical X25519 key
		full[i] = "05" + hex.EncodeToString(b)
	}
	for _, tc := range []struct {
		name         string
		td           *testDaemon
		method, path string
		body         any
		status       int
		code         string
	}{
		{"blank name", alice, "POST", "/api/v1/groups", map[string]any{"name": " ", "members": []string{bobID}}, 400, "bad_group_name"},
		{"too many members", alice, "POST", "/api/v1/groups", map[string]any{"name": "crowd", "members": full}, 409, "group_full"},
		{"a group as member", alice, "POST", "/api/v1/groups", map[string]any{"name": "nested", "members": []string{gid}}, 400, "bad_account_id"},
		{"unknown member", alice, "POST", "/api/v1/groups", map[string]any{"name": "x", "members": []string{"nobody"}}, 404, "unknown_contact"},
		{"unknown group", alice, "GET", "/api/v1/groups/no-such-group", nil, 404, "unknown_group"},
		{"unknown group ID", alice, "GET", "/api/v1/groups/03" + hex.EncodeToString(make([]byte, 32)), nil, 404, "unknown_group"},
		{"nothing to change", alice, "PATCH", "/api/v1/groups/" + gid, map[string]any{}, 400, "nothing_to_change"},
		{"bad timer", alice, "PATCH", "/api/v1/groups/" + gid, map[string]any{"disappear_after_ns": int64(time.Second)}, 400, "bad_timer"},
		{"admin removed", alice, "DELETE", "/api/v1/groups/" + gid + "/members/" + aliceID, nil, 409, "group_admin_fixed"},
		{"non-member removed", alice, "DELETE", "/api/v1/groups/" + gid + "/members/" + full[0], nil, 404, "not_found"},
		{"invite nobody", alice, "POST", "/api/v1/groups/" + gid + "/members", map[string]any{"members": []string{}}, 400, "no_members"},
		{"invite past the limit", alice, "POST", "/api/v1/groups/" + gid + "/members", map[string]any{"members": full[:client.MaxGroupMembers-2]}, 409, "group_full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := tc.td.do(call{method: tc.method, path: tc.path, body: tc.body})
			if resp.StatusCode != tc.status || errorCode(b) != tc.code {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, b, tc.status, tc.code)
			}
		})
	}

	// Invitations are requests: bob accepts through the requests, carol
	// through the group.
	bEvents.waitFor("request", func(b json.RawMessage) bool {
		var m tMessage
		json.Unmarshal(b, &m)
		return m.Peer == gid
	})
	var reqs []tRequest
	bob.mustDo("GET", "/api/v1/requests", nil, 200, &reqs)
	if len(reqs) != 1 || !reqs[0].Group || reqs[0].Peer != gid || reqs[0].DisplayName != "team" || reqs[0].InvitedBy != aliceID {
		t.Fatalf("bob's requests %+v", reqs)
	}
	bob.mustDo("POST", "/api/v1/requests/"+gid+"/accept", nil, 200, nil)
	waitUntil(t, "carol's invitation", func() bool {
		resp, _ := carol.do(call{method: "GET", path: "/api/v1/groups/" + gid})
		return resp.StatusCode == 200
	})
	carol.mustDo("POST", "/api/v1/groups/"+gid+"/accept", nil, 200, nil)
	for _, td := range []*testDaemon{bob, carol} {
		waitUntil(t, "the group's key", func() bool {
			var g tGroup
			td.mustDo("GET", "/api/v1/groups/"+gid, nil, 200, &g)
			return g.State == client.GroupJoined && g.KeyGeneration >= 1 && len(g.MemberList) == 3
		})
	}
	var cs []tConversation
	bob.mustDo("GET", "/api/v1/conversations", nil, 200, &cs)
	if len(cs) != 1 || !cs[0].Group || cs[0].Name != "team" {
		t.Fatalf("bob's conversations %+v", cs)
	}

	// Messages carry their sender; a group's name addresses it too.
	var sent tMessage
	bob.mustDo("POST", "/api/v1/conversations/"+gid+"/messages", map[string]string{"text": "from bob"}, http.StatusCreated, &sent)
	if sent.Sender != bobID || !sent.Outgoing {
		t.Fatalf("bob sent %+v", sent)
	}
	carol.mustDo("POST", "/api/v1/groups/team/messages", map[string]string{"text": "from carol"}, http.StatusCreated, nil)
	want := map[string]string{"from bob": bobID, "from carol": carolID}
	for got := map[string]string{}; len(got) < len(want); {
		var m tMessage
		json.Unmarshal(aEvents.waitFor("message", func(b json.RawMessage) bool {
			var m tMessage
			json.Unmarshal(b, &m)
			return m.Peer == gid
		}), &m)
		if want[m.Text] != m.Sender || m.Outgoing {
			t.Fatalf("alice got %+v", m)
		}
		got[m.Text] = m.Sender
	}
	var page struct {
		Messages []tMessage `json:"messages"`
	}
	alice.mustDo("GET", "/api/v1/conversations/"+gid+"/messages", nil, 200, &page)
	if len(page.Messages) != 2 || page.Messages[0].Sender == page.Messages[1].Sender {
		t.Fatalf("alice's history %+v", page.Messages)
	}

	// A file to the group: bob's daemon seals and uploads it once, alice's
	// fetches and opens it by itself (a group chat is no request).
	data := make([]byte, 3000)
	rand.Read(data)
	path := filepath.Join(t.TempDir(), "plan.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	bob.mustDo("POST", "/api/v1/conversations/"+gid+"/messages", map[string]any{"text": "the plan", "files": []map[string]string{{"path": path}}}, http.StatusCreated, nil)
	var fm struct {
		tMessage
		Attachments []client.Attachment `json:"attachments"`
	}
	json.Unmarshal(aEvents.waitFor("message", func(b json.RawMessage) bool {
		var m tMessage
		json.Unmarshal(b, &m)
		return m.Peer == gid && m.Text == "the plan"
	}), &fm)
	if fm.Sender != bobID || len(fm.Attachments) != 1 || fm.Attachments[0].FileName != "plan.bin" {
		t.Fatalf("alice got the file message %+v", fm)
	}
	waitUntil(t, "alice's daemon fetches the file", func() bool {
		alice.mustDo("GET", fmt.Sprintf("/api/v1/messages/%d", fm.LocalID), nil, 200, &fm)
		return fm.Attachments[0].State == "ready"
	})
	if resp, b := alice.do(call{method: "GET", path: fmt.Sprintf("/api/v1/messages/%d/attachments/0", fm.LocalID)}); resp.StatusCode != 200 || !bytes.Equal(b, data) {
		t.Fatalf("alice opens the group's file: %d, %d bytes", resp.StatusCode, len(b))
	}

	// A member is no admin.
	for _, c := range []call{
		{method: "DELETE", path: "/api/v1/groups/" + gid + "/members/" + bobID},
		{method: "POST", path: "/api/v1/groups/" + gid + "/members/" + bobID + "/promote"},
		{method: "PATCH", path: "/api/v1/groups/" + gid, body: map[string]string{"name": "mine"}},
		{method: "DELETE", path: "/api/v1/groups/" + gid},
	} {
		if resp, b := carol.do(c); resp.StatusCode != 403 || errorCode(b) != "not_group_admin" {
			t.Fatalf("carol %s %s: %d %s", c.method, c.path, resp.StatusCode, b)
		}
	}

	// The admin renames, sets the timer, promotes bob, removes carol.
	g = tGroup{} // a fresh decode: omitted fields must not keep old values
	alice.mustDo("PATCH", "/api/v1/groups/"+gid, map[string]any{"name": "crew", "disappear_after_ns": int64(time.Hour)}, 200, &g)
	if g.Name != "crew" || g.DisappearAfter != time.Hour {
		t.Fatalf("after the patch %+v", g)
	}
	g = tGroup{}
	alice.mustDo("POST", "/api/v1/groups/"+gid+"/members/"+bobID+"/promote", nil, 200, &g)
	// Admins come first, in Account ID order: bob may be first or second.
	if i := slices.IndexFunc(g.MemberList, func(m client.GroupMember) bool { return m.Account.String() == bobID }); i < 0 || i > 1 || g.MemberList[i].Role != "admin" {
		t.Fatalf("after the promotion %+v", g.MemberList)
	}
	g = tGroup{}
	alice.mustDo("DELETE", "/api/v1/groups/"+gid+"/members/"+carolID, nil, 200, &g)
	if g.Members != 2 || len(g.MemberList) != 2 || g.KeyGeneration < 2 {
		t.Fatalf("after the removal %+v", g)
	}
	waitUntil(t, "carol learns she was removed", func() bool {
		var g tGroup
		carol.mustDo("GET", "/api/v1/groups/"+gid, nil, 200, &g)
		return g.State == client.GroupRemoved
	})
	if resp, b := carol.do(call{method: "POST", path: "/api/v1/conversations/" + gid + "/messages", body: map[string]string{"text": "still here?"}}); resp.StatusCode != 403 || errorCode(b) != "not_group_member" {
		t.Fatalf("carol sends after her removal: %d %s", resp.StatusCode, b)
	}

	// An invitation declined: it leaves the requests and the chats.
	var g2 tGroup
	alice.mustDo("POST", "/api/v1/groups", map[string]any{"name": "second", "members": []string{carolID}}, http.StatusCreated, &g2)
	waitUntil(t, "carol's second invitation", func() bool {
		carol.mustDo("GET", "/api/v1/requests", nil, 200, &reqs)
		return len(reqs) == 1 && reqs[0].Peer == g2.ID
	})
	carol.mustDo("DELETE", "/api/v1/requests/"+g2.ID, nil, 200, nil)
	carol.mustDo("GET", "/api/v1/requests", nil, 200, &reqs)
	carol.mustDo("GET", "/api/v1/conversations", nil, 200, &cs)
	for _, c := range cs {
		if c.Peer == g2.ID {
			t.Fatalf("a declined invitation is a chat: %+v", c)
		}
	}
	if len(reqs) != 0 {
		t.Fatalf("carol's requests after declining %+v", reqs)
	}

	// Bob leaves; the admin deletes the group.
	g = tGroup{}
	bob.mustDo("POST", "/api/v1/groups/"+gid+"/leave", nil, 200, &g)
	if g.State != client.GroupLeft {
		t.Fatalf("bob after leaving %+v", g)
	}
	alice.mustDo("DELETE", "/api/v1/groups/"+gid, nil, 200, nil)
	var gs []tGroup
	alice.mustDo("GET", "/api/v1/groups", nil, 200, &gs)
	for _, x := range gs {
		if x.ID == gid && x.State != client.GroupDeleted {
			t.Fatalf("alice's groups after the delete %+v", gs)
		}
	}
}
