package daemon

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/client"
)

// wav16 is a 16-bit mono 8 kHz WAV of ms milliseconds.
func wav16(ms int) []byte {
	n := 8 * ms
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(2*n))
	for i := range n {
		binary.Write(&b, binary.LittleEndian, int16((i%40)*500))
	}
	return b.Bytes()
}

// TestConversationFeaturesB drives issue 22's note to self, mute, pin,
// archive, voice notes and link previews through the API of two daemons
// on one node: a muted chat's message raises no notification event, a
// voice note arrives with its duration, and a link preview is fetched by
// the sender only when the setting is on, never by the receiver (a
// loopback server counts the requests).
func TestConversationFeaturesB(t *testing.T) {
	node, files := standalone(t), newMemFiles()
	// A short safety net: a joined group's long-poll starts at the next
	// safety-net poll (as TestGroupsAPI).
	opts := client.Options{Standalone: node, Files: files, LinkPreviewLoopbackHTTP: true, SafetyNetInterval: time.Second}
	alice, bob := startDaemon(t, Config{Options: opts}), startDaemon(t, Config{Options: opts})
	for _, d := range []*testDaemon{alice, bob} {
		d.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, nil)
	}
	var st statusJSON
	alice.mustDo("GET", "/api/v1/status", nil, 200, &st)
	aliceID := st.AccountID
	bob.mustDo("GET", "/api/v1/status", nil, 200, &st)
	bobID := st.AccountID
	bEvents := bob.events()
	bob.mustDo("PUT", "/api/v1/contacts/"+aliceID, map[string]string{"name": "alice"}, 200, nil)
	alice.mustDo("PUT", "/api/v1/contacts/"+bobID, map[string]string{"name": "bob"}, 200, nil)

	// Mute: the message comes, its notification does not.
	var fl client.ChatFlags
	bob.mustDo("PUT", "/api/v1/conversations/alice/flags", map[string]bool{"muted": true}, 200, &fl)
	if !fl.Muted || fl.Pinned {
		t.Fatalf("flags after mute: %+v", fl)
	}
	alice.mustDo("POST", "/api/v1/conversations/bob/messages", map[string]string{"text": "shh"}, http.StatusCreated, nil)
	var got client.Message
	json.Unmarshal(bEvents.waitFor("message", messageMatch("shh")), &got)
	if !got.Muted {
		t.Errorf("a muted chat's message event is not marked muted: %+v", got)
	}
	bob.mustDo("PUT", "/api/v1/conversations/alice/flags", map[string]bool{"muted": false, "pinned": true}, 200, &fl)
	alice.mustDo("POST", "/api/v1/conversations/bob/messages", map[string]string{"text": "loud"}, http.StatusCreated, nil)
	var n notificationJSON
	json.Unmarshal(bEvents.waitFor("notification", nil), &n)
	if n.Body != "loud" {
		t.Fatalf("the first notification after the muted message is %+v, want the unmuted one", n)
	}

	// Note to self: its own conversation, sent without a second device.
	var self map[string]string
	alice.mustDo("GET", "/api/v1/note-to-self", nil, 200, &self)
	if self["peer"] != aliceID || self["name"] != client.NoteToSelfName {
		t.Fatalf("note to self %v", self)
	}
	var note client.Message
	alice.mustDo("POST", "/api/v1/conversations/"+aliceID+"/messages", map[string]string{"text": "buy milk"}, http.StatusCreated, &note)
	if note.Status != "sent" {
		t.Errorf("a note to self is %q, want sent", note.Status)
	}
	var convs []conversationJSON
	alice.mustDo("GET", "/api/v1/conversations", nil, 200, &convs)
	found := false
	for _, cv := range convs {
		found = found || cv.NoteToSelf && cv.Peer.String() == aliceID && cv.Nickname == client.NoteToSelfName
	}
	if !found {
		t.Errorf("no note to self in %+v", convs)
	}

	// Pinned first; archived out of the list and into the archived one.
	bob.mustDo("POST", "/api/v1/conversations/"+bobID+"/messages", map[string]string{"text": "note"}, http.StatusCreated, nil)
	bob.mustDo("GET", "/api/v1/conversations", nil, 200, &convs)
	if len(convs) != 2 || convs[0].Peer.String() != aliceID || !convs[0].Pinned {
		t.Fatalf("pinned alice is not first: %+v", convs)
	}
	bob.mustDo("PUT", "/api/v1/conversations/alice/flags", map[string]bool{"archived": true, "muted": true}, 200, nil)
	bob.mustDo("GET", "/api/v1/conversations", nil, 200, &convs)
	if len(convs) != 1 || !convs[0].NoteToSelf {
		t.Fatalf("archived alice still listed: %+v", convs)
	}
	bob.mustDo("GET", "/api/v1/conversations/archived", nil, 200, &convs)
	if len(convs) != 1 || convs[0].Peer.String() != aliceID || !convs[0].Archived {
		t.Fatalf("archived list %+v", convs)
	}

	// A voice note as the web UI uploads it: multipart with its fields.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "memo.wav")
	fw.Write(wav16(1200))
	mw.WriteField("voice", "true")
	mw.Close()
	var sent client.Message
	resp, rb := alice.do(call{method: "POST", path: "/api/v1/conversations/bob/messages", body: body.Bytes(),
		header: map[string]string{"Content-Type": mw.FormDataContentType()}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("send a voice note: %d %s", resp.StatusCode, rb)
	}
	json.Unmarshal(rb, &sent)
	if len(sent.Attachments) != 1 || !sent.Attachments[0].Voice || sent.Attachments[0].DurationMS != 1200 {
		t.Fatalf("sent voice note %+v", sent.Attachments)
	}
	json.Unmarshal(bEvents.waitFor("message", func(b json.RawMessage) bool {
		var m client.Message
		json.Unmarshal(b, &m)
		return len(m.Attachments) == 1
	}), &got)
	if a := got.Attachments[0]; !a.Voice || a.DurationMS != 1200 || len(a.Waveform) != 64 {
		t.Fatalf("received voice note %+v", a)
	}
	// Archived and muted, it stays archived after the new message.
	bob.mustDo("GET", "/api/v1/conversations/archived", nil, 200, &convs)
	if len(convs) != 1 {
		t.Errorf("a muted archived chat came back with a message: archived %+v", convs)
	}

	// Link previews: a loopback site that counts its requests.
	var hits atomic.Int32
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if strings.Contains(r.URL.RawQuery, "utm_") {
			t.Errorf("tracking parameters fetched: %s", r.URL)
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<meta property="og:title" content="Site <b>title</b>"><meta property="og:description" content="About it">`))
	}))
	defer site.Close()
	link := site.URL + "/page?utm_source=hush&x=1"
	var lp linkPreviewsJSON
	bob.mustDo("GET", "/api/v1/settings/link-previews", nil, 200, &lp)
	if lp.On || !strings.Contains(lp.Warning, "IP address") {
		t.Fatalf("link previews by default: %+v", lp)
	}
	alice.mustDo("POST", "/api/v1/conversations/bob/messages", map[string]string{"text": "off " + link}, http.StatusCreated, &sent)
	if hits.Load() != 0 || len(sent.Previews) != 0 {
		t.Fatalf("previews off: %d requests, previews %+v", hits.Load(), sent.Previews)
	}
	for _, d := range []*testDaemon{alice, bob} { // on for bob too: still, receivers never fetch
		d.mustDo("PUT", "/api/v1/settings/link-previews", map[string]bool{"on": true}, 200, &lp)
	}
	alice.mustDo("POST", "/api/v1/conversations/bob/messages", map[string]string{"text": "on " + link}, http.StatusCreated, &sent)
	clean := site.URL + "/page?x=1"
	if len(sent.Previews) != 1 || sent.Previews[0].Title != "Site <b>title</b>" || sent.Previews[0].URL != clean || sent.Text != "on "+clean {
		t.Fatalf("sent with a preview: %q %+v", sent.Text, sent.Previews)
	}
	fetched := hits.Load()
	json.Unmarshal(bEvents.waitFor("message", messageMatch("on "+clean)), &got)
	if len(got.Previews) != 1 || got.Previews[0].Description != "About it" {
		t.Fatalf("received previews %+v", got.Previews)
	}
	var page messagePage
	bob.mustDo("GET", "/api/v1/conversations/alice/messages", nil, 200, &page)
	if hits.Load() != fetched || fetched != 1 {
		t.Errorf("%d requests to the site, want 1 (the sender's only)", hits.Load())
	}

	// In a group: bob mutes it, and alice's link arrives with its
	// preview, marked muted, without a notification; still only the
	// sender fetched.
	var g struct {
		ID string `json:"id"`
	}
	alice.mustDo("POST", "/api/v1/groups", map[string]any{"name": "team", "members": []string{"bob"}}, http.StatusCreated, &g)
	bEvents.waitFor("request", func(b json.RawMessage) bool {
		var m struct{ Peer string }
		json.Unmarshal(b, &m)
		return m.Peer == g.ID
	})
	bob.mustDo("POST", "/api/v1/requests/"+g.ID+"/accept", nil, 200, nil)
	waitUntil(t, "the group's key", func() bool {
		var gs struct {
			State string `json:"state"`
			Gen   int    `json:"key_generation"`
		}
		bob.mustDo("GET", "/api/v1/groups/"+g.ID, nil, 200, &gs)
		return gs.State == client.GroupJoined && gs.Gen >= 1
	})
	bob.mustDo("PUT", "/api/v1/conversations/"+g.ID+"/flags", map[string]bool{"muted": true, "pinned": true}, 200, nil)
	bob.mustDo("PUT", "/api/v1/conversations/alice/flags", map[string]bool{"muted": false, "archived": false, "pinned": false}, 200, nil)
	glink := site.URL + "/group?fbclid=x"
	var gsent struct{ Previews []client.LinkPreview }
	alice.mustDo("POST", "/api/v1/conversations/"+g.ID+"/messages", map[string]string{"text": "team " + glink}, http.StatusCreated, &gsent)
	if len(gsent.Previews) != 1 || gsent.Previews[0].URL != site.URL+"/group" {
		t.Fatalf("group message sent with previews %+v", gsent.Previews)
	}
	var gm struct {
		Muted    bool
		Previews []client.LinkPreview
	}
	json.Unmarshal(bEvents.waitFor("message", func(b json.RawMessage) bool {
		var m struct{ Text string }
		json.Unmarshal(b, &m)
		return m.Text == "team "+site.URL+"/group"
	}), &gm)
	got.Muted, got.Previews = gm.Muted, gm.Previews
	if !got.Muted || len(got.Previews) != 1 || got.Previews[0].Title != "Site <b>title</b>" {
		t.Fatalf("group message received: muted %v, previews %+v", got.Muted, got.Previews)
	}
	alice.mustDo("POST", "/api/v1/conversations/bob/messages", map[string]string{"text": "after the group"}, http.StatusCreated, nil)
	json.Unmarshal(bEvents.waitFor("notification", nil), &n)
	if n.Body != "after the group" {
		t.Fatalf("the first notification after the muted group's message is %+v", n)
	}
	var gconvs []struct {
		Peer          string
		Pinned, Muted bool
	}
	bob.mustDo("GET", "/api/v1/conversations", nil, 200, &gconvs)
	if len(gconvs) == 0 || gconvs[0].Peer != g.ID || !gconvs[0].Pinned || !gconvs[0].Muted {
		t.Errorf("the pinned group is not first: %+v", gconvs)
	}
	if hits.Load() != 2 {
		t.Errorf("%d requests to the site, want 2 (the sender's two)", hits.Load())
	}
}
