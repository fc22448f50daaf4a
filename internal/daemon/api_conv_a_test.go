package daemon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hushnet/hush/client"
)

// cMessage is a message as the API shows it, with string IDs (a group's
// starts with 03, which client.Message's Account ID type refuses).
type cMessage struct {
	ID    int64  `json:"local_id"`
	Peer  string `json:"peer"`
	Text  string `json:"text"`
	Quote *struct {
		Author    string `json:"author"`
		Text      string `json:"text"`
		Available bool   `json:"available"`
		LocalID   int64  `json:"local_id"`
	} `json:"quote"`
	Reactions []struct {
		Emoji string   `json:"emoji"`
		Count int      `json:"count"`
		By    []string `json:"by"`
	} `json:"reactions"`
}

// cText matches a message event with text (messageMatch decodes into
// client.Message, which a group's ID does not fit).
func cText(text string) func(json.RawMessage) bool {
	return func(b json.RawMessage) bool {
		var m cMessage
		return json.Unmarshal(b, &m) == nil && m.Text == text
	}
}

// TestConvAAPIGroup drives replies, reactions and search through the API
// in a closed group on a standalone node: bob replies to alice's message
// and reacts to it, alice's stream shows both (the quote pointing at her
// message, the reaction with its count), her own reaction joins bob's,
// search finds the texts in the group's chat only, and bad input gets its
// error codes. (The 1:1 case runs on a devnet: TestTwoDaemonsOnDevnet.)
func TestConvAAPIGroup(t *testing.T) {
	node := standalone(t)
	daemon := func() *testDaemon {
		td := startDaemon(t, Config{Options: client.Options{Standalone: node, SafetyNetInterval: time.Second}})
		td.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, nil)
		return td
	}
	alice, bob := daemon(), daemon()
	aliceID, bobID := statusID(alice), statusID(bob)
	aEvents, bEvents := alice.events(), bob.events()
	var g tGroup
	alice.mustDo("POST", "/api/v1/groups", map[string]any{"name": "plans", "members": []string{bobID}}, http.StatusCreated, &g)
	bEvents.waitFor("request", func(b json.RawMessage) bool {
		var m tMessage
		json.Unmarshal(b, &m)
		return m.Peer == g.ID
	})
	bob.mustDo("POST", "/api/v1/requests/"+g.ID+"/accept", nil, 200, nil)
	waitUntil(t, "the group's key", func() bool {
		var gg tGroup
		bob.mustDo("GET", "/api/v1/groups/"+g.ID, nil, 200, &gg)
		return gg.State == client.GroupJoined && gg.KeyGeneration >= 1
	})

	var orig cMessage
	alice.mustDo("POST", "/api/v1/conversations/"+g.ID+"/messages", map[string]string{"text": "dinner on friday?"}, http.StatusCreated, &orig)
	var atBob cMessage
	json.Unmarshal(bEvents.waitFor("message", cText("dinner on friday?")), &atBob)

	var reply cMessage
	bob.mustDo("POST", fmt.Sprintf("/api/v1/messages/%d/reply", atBob.ID), map[string]string{"text": "friday is good"}, http.StatusCreated, &reply)
	if reply.Quote == nil || !reply.Quote.Available || reply.Quote.LocalID != atBob.ID || reply.Quote.Author != aliceID {
		t.Fatalf("bob's reply %+v", reply.Quote)
	}
	var got cMessage
	json.Unmarshal(aEvents.waitFor("message", cText("friday is good")), &got)
	if got.Quote == nil || !got.Quote.Available || got.Quote.LocalID != orig.ID || got.Quote.Text != "dinner on friday?" {
		t.Fatalf("alice's copy of the reply: quote %+v", got.Quote)
	}

	bob.mustDo("POST", fmt.Sprintf("/api/v1/messages/%d/reactions", atBob.ID), map[string]any{"emoji": "🍝"}, 200, nil)
	reacted := func(n int) func(json.RawMessage) bool {
		return func(b json.RawMessage) bool {
			var m cMessage
			json.Unmarshal(b, &m)
			return m.ID == orig.ID && len(m.Reactions) == 1 && m.Reactions[0].Emoji == "🍝" && m.Reactions[0].Count == n
		}
	}
	aEvents.waitFor("reaction", reacted(1))
	var mine cMessage
	alice.mustDo("POST", fmt.Sprintf("/api/v1/messages/%d/reactions", orig.ID), map[string]any{"emoji": "🍝"}, 200, &mine)
	if len(mine.Reactions) != 1 || mine.Reactions[0].Count != 2 {
		t.Fatalf("after alice's reaction: %+v", mine.Reactions)
	}
	bEvents.waitFor("reaction", func(b json.RawMessage) bool {
		var m cMessage
		json.Unmarshal(b, &m)
		return m.ID == atBob.ID && len(m.Reactions) == 1 && m.Reactions[0].Count == 2
	})

	// Typing in a group, with receipts on at both: alice sees bob type.
	for _, td := range []*testDaemon{alice, bob} {
		td.mustDo("PATCH", "/api/v1/settings", map[string]bool{"receipts": true}, 200, nil)
	}
	bob.mustDo("POST", "/api/v1/conversations/"+g.ID+"/typing", map[string]bool{"typing": true}, http.StatusNoContent, nil)
	aEvents.waitFor("typing", func(b json.RawMessage) bool {
		var ty struct {
			Peer, From string
			Typing     bool
		}
		json.Unmarshal(b, &ty)
		return ty.Peer == g.ID && ty.From == bobID && ty.Typing
	})

	// Search: the group's chat only, any case.
	alice.mustDo("PUT", "/api/v1/contacts/"+bobID, map[string]string{"name": "bob"}, 200, nil)
	alice.mustDo("POST", "/api/v1/conversations/bob/messages", map[string]string{"text": "friday, just us"}, http.StatusCreated, nil)
	var res struct {
		Messages []cMessage `json:"messages"`
	}
	alice.mustDo("GET", "/api/v1/search?q=FRIDAY", nil, 200, &res)
	if len(res.Messages) != 3 || res.Messages[0].Text != "friday, just us" {
		t.Fatalf("search in every chat: %+v", res.Messages)
	}
	alice.mustDo("GET", "/api/v1/search?q=FRIDAY&chat="+url.QueryEscape("plans"), nil, 200, &res)
	if len(res.Messages) != 2 || res.Messages[0].Text != "friday is good" || res.Messages[1].Text != "dinner on friday?" {
		t.Fatalf("search in the group: %+v", res.Messages)
	}

	for _, tc := range []struct {
		name         string
		method, path string
		body         any
		status       int
		code         string
	}{
		{"bad emoji", "POST", fmt.Sprintf("/api/v1/messages/%d/reactions", orig.ID), map[string]any{"emoji": "a b"}, 400, "bad_emoji"},
		{"no emoji", "POST", fmt.Sprintf("/api/v1/messages/%d/reactions", orig.ID), map[string]any{"emoji": ""}, 400, "bad_emoji"},
		{"unknown message", "POST", "/api/v1/messages/999999/reactions", map[string]any{"emoji": "👍"}, 404, "not_found"},
		{"reply to nothing", "POST", "/api/v1/messages/999999/reply", map[string]any{"text": "x"}, 404, "not_found"},
		{"empty reply", "POST", fmt.Sprintf("/api/v1/messages/%d/reply", orig.ID), map[string]any{"text": " "}, 400, "empty_message"},
		{"blank search", "GET", "/api/v1/search?q=%20", nil, 400, "empty_query"},
		{"bad limit", "GET", "/api/v1/search?q=x&limit=0", nil, 400, "bad_limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := alice.do(call{method: tc.method, path: tc.path, body: tc.body})
			if resp.StatusCode != tc.status || errorCode(b) != tc.code {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, b, tc.status, tc.code)
			}
		})
	}
}
