package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/client"
)

// pair is alice's and bob's daemons on one standalone node, with one file
// server, each with an open event stream.
type pair struct {
	alice, bob       *testDaemon
	aliceID, bobID   string
	aEvents, bEvents *stream
}

func newPair(t *testing.T) *pair {
	node, files := standalone(t), newMemFiles()
	p := &pair{alice: unlockedDaemon(t, node, files), bob: unlockedDaemon(t, node, files)}
	var st statusJSON
	p.alice.mustDo("GET", "/api/v1/status", nil, 200, &st)
	p.aliceID = st.AccountID
	p.bob.mustDo("GET", "/api/v1/status", nil, 200, &st)
	p.bobID = st.AccountID
	p.aEvents, p.bEvents = p.alice.events(), p.bob.events()
	return p
}

func messageMatch(text string) func(json.RawMessage) bool {
	return func(b json.RawMessage) bool {
		var m client.Message
		json.Unmarshal(b, &m)
		return m.Text == text
	}
}

// TestMessaging drives a conversation through the API: send, the
// receiver's message, request and notification events, accept, paging,
// mark read with the sender's status event, typing, a timer, unsend; and
// the bad input each endpoint refuses.
func TestMessaging(t *testing.T) {
	p := newPair(t)
	for _, d := range []*testDaemon{p.alice, p.bob} {
		d.mustDo("PATCH", "/api/v1/settings", map[string]bool{"receipts": true}, 200, nil)
	}
	var sent client.Message
	p.alice.mustDo("POST", "/api/v1/conversations/"+p.bobID+"/messages", map[string]string{"text": "hello bob"}, http.StatusCreated, &sent)
	if sent.Text != "hello bob" || sent.ID == 0 || !sent.Outgoing {
		t.Fatalf("sent %+v", sent)
	}
	// Bob does not know alice: her first message is a request.
	p.bEvents.waitFor("request", messageMatch("hello bob"))
	var n notificationJSON
	json.Unmarshal(p.bEvents.waitFor("notification", nil), &n)
	if n.Peer != p.aliceID || n.Body != "hello bob" || !strings.Contains(n.Title, p.aliceID) {
		t.Fatalf("notification %+v", n)
	}
	var reqs []client.Request
	p.bob.mustDo("GET", "/api/v1/requests", nil, 200, &reqs)
	if len(reqs) != 1 || reqs[0].Peer.String() != p.aliceID {
		t.Fatalf("requests %+v", reqs)
	}
	p.bob.mustDo("POST", "/api/v1/requests/"+p.aliceID+"/accept", nil, 200, nil)
	p.bob.mustDo("PUT", "/api/v1/contacts/"+p.aliceID, map[string]string{"name": "alice"}, 200, nil)

	var conv conversationJSON
	p.bob.mustDo("GET", "/api/v1/conversations/alice", nil, 200, &conv)
	if conv.Peer.String() != p.aliceID || conv.LastMessage == nil || conv.LastMessage.Text != "hello bob" {
		t.Fatalf("conversation %+v", conv)
	}

	// Notification content: name only, then nothing.
	p.bob.mustDo("PATCH", "/api/v1/settings", map[string]string{"notification_content": "name_only"}, 200, nil)
	p.alice.mustDo("POST", "/api/v1/conversations/"+p.bobID+"/messages", map[string]string{"text": "second"}, http.StatusCreated, nil)
	p.bEvents.waitFor("message", messageMatch("second"))
	json.Unmarshal(p.bEvents.waitFor("notification", nil), &n)
	if n.Title != "alice" || strings.Contains(n.Body, "second") {
		t.Fatalf("name-only notification %+v", n)
	}
	p.bob.mustDo("PATCH", "/api/v1/settings", map[string]string{"notification_content": "nothing"}, 200, nil)
	p.alice.mustDo("POST", "/api/v1/conversations/"+p.bobID+"/messages", map[string]string{"text": "third"}, http.StatusCreated, nil)
	p.bEvents.waitFor("message", messageMatch("third"))
	n = notificationJSON{}
	json.Unmarshal(p.bEvents.waitFor("notification", nil), &n)
	if n.Peer != "" || strings.Contains(n.Title+n.Body, "alice") || strings.Contains(n.Body, "third") {
		t.Fatalf("nothing notification %+v", n)
	}

	// Bob's list: nicknames work as {peer}, the last message is there.
	var convs []conversationJSON
	p.bob.mustDo("GET", "/api/v1/conversations", nil, 200, &convs)
	if len(convs) != 1 || convs[0].Unread != 3 || convs[0].LastMessage == nil || convs[0].LastMessage.Text != "third" || convs[0].Nickname != "alice" {
		t.Fatalf("conversations %+v", convs)
	}
	var page messagePage
	p.bob.mustDo("GET", "/api/v1/conversations/alice/messages?limit=2", nil, 200, &page)
	if len(page.Messages) != 2 || !page.More || page.Messages[1].Text != "third" {
		t.Fatalf("page %+v", page)
	}
	p.bob.mustDo("GET", fmt.Sprintf("/api/v1/conversations/alice/messages?limit=2&before=%d", page.Messages[0].ID), nil, 200, &page)
	if len(page.Messages) != 1 || page.More || page.Messages[0].Text != "hello bob" {
		t.Fatalf("older page %+v", page)
	}

	// Read receipts: bob reads, alice's stream shows the status.
	var marked map[string]int
	p.bob.mustDo("POST", "/api/v1/conversations/alice/read", nil, 200, &marked)
	if marked["marked"] != 3 {
		t.Fatalf("marked %v", marked)
	}
	p.aEvents.waitFor("status", func(b json.RawMessage) bool {
		var m client.Message
		json.Unmarshal(b, &m)
		return m.ID == sent.ID && m.Status == "read"
	})

	// Typing, both ways of it.
	p.bob.mustDo("POST", "/api/v1/conversations/alice/typing", map[string]bool{"typing": true}, http.StatusNoContent, nil)
	var ty client.Typing
	json.Unmarshal(p.aEvents.waitFor("typing", nil), &ty)
	if ty.Peer.String() != p.bobID || !ty.Typing {
		t.Fatalf("typing %+v", ty)
	}

	// A timer, read back.
	var tm client.Timer
	p.alice.mustDo("PUT", "/api/v1/conversations/"+p.bobID+"/timer", map[string]any{"mode": "after-send", "after_ns": int64(3600e9)}, 200, &tm)
	p.alice.mustDo("GET", "/api/v1/conversations/"+p.bobID+"/timer", nil, 200, &tm)
	if tm.Mode != "after-send" {
		t.Fatalf("timer %+v", tm)
	}

	// Unsend: bob's stream shows it gone.
	var m2 client.Message
	p.alice.mustDo("POST", "/api/v1/conversations/"+p.bobID+"/messages", map[string]string{"text": "oops"}, http.StatusCreated, &m2)
	p.bEvents.waitFor("message", messageMatch("oops"))
	p.alice.mustDo("POST", fmt.Sprintf("/api/v1/messages/%d/unsend", m2.ID), nil, 200, nil)
	p.bEvents.waitFor("unsent", nil)
	p.alice.mustDo("GET", fmt.Sprintf("/api/v1/messages/%d", sent.ID), nil, 200, nil)

	// Delete for me: gone here, with an event; deleted again, not found
	// (in the table below).
	var m3 client.Message
	p.alice.mustDo("POST", "/api/v1/conversations/"+p.bobID+"/messages", map[string]string{"text": "delete me"}, http.StatusCreated, &m3)
	var del struct {
		Deleted    bool  `json:"deleted"`
		LocalID    int64 `json:"local_id"`
		RemoteDone bool  `json:"remote_done"`
	}
	p.alice.mustDo("DELETE", fmt.Sprintf("/api/v1/messages/%d", m3.ID), nil, 200, &del)
	if !del.Deleted || del.LocalID != m3.ID || !del.RemoteDone {
		t.Fatalf("delete: %+v", del)
	}
	p.aEvents.waitFor("unsent", func(b json.RawMessage) bool {
		var m client.Message
		json.Unmarshal(b, &m)
		return m.ID == m3.ID
	})

	unknown := strings.Repeat("05", 33)
	for _, tc := range []struct {
		name   string
		c      call
		status int
		code   string
	}{
		{"malformed Account ID", call{method: "POST", path: "/api/v1/conversations/06" + strings.Repeat("00", 32) + "/messages", body: map[string]string{"text": "x"}}, 400, "bad_account_id"},
		{"unknown nickname", call{method: "GET", path: "/api/v1/conversations/nobody/messages"}, 404, "unknown_contact"},
		{"unknown conversation", call{method: "GET", path: "/api/v1/conversations/" + unknown + "/messages"}, 404, "not_found"},
		{"unknown conversation's entry", call{method: "GET", path: "/api/v1/conversations/" + unknown}, 404, "not_found"},
		{"empty message", call{method: "POST", path: "/api/v1/conversations/" + p.bobID + "/messages", body: map[string]string{"text": ""}}, 400, "empty_message"},
		{"oversize message", call{method: "POST", path: "/api/v1/conversations/" + p.bobID + "/messages", body: map[string]string{"text": strings.Repeat("x", 100_000)}}, 413, "too_large"},
		{"oversize body", call{method: "POST", path: "/api/v1/conversations/" + p.bobID + "/messages", body: map[string]string{"text": strings.Repeat("x", maxJSONBody)}}, 413, "too_large"},
		{"unknown field", call{method: "POST", path: "/api/v1/conversations/" + p.bobID + "/messages", body: map[string]string{"txt": "x"}}, 400, "bad_json"},
		{"not JSON", call{method: "POST", path: "/api/v1/conversations/" + p.bobID + "/messages", body: []byte("text=x"), header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "bad_content_type"},
		{"relative path", call{method: "POST", path: "/api/v1/conversations/" + p.bobID + "/messages", body: map[string]any{"files": []map[string]string{{"path": "x.txt"}}}}, 400, "bad_path"},
		{"unknown message", call{method: "GET", path: "/api/v1/messages/999999"}, 404, "not_found"},
		{"bad message ID", call{method: "GET", path: "/api/v1/messages/abc"}, 400, "bad_id"},
		{"unsend an incoming message", call{method: "POST", path: "/api/v1/messages/999999/unsend"}, 404, "not_found"},
		{"delete an unknown message", call{method: "DELETE", path: "/api/v1/messages/999999"}, 404, "not_found"},
		{"delete a deleted message", call{method: "DELETE", path: fmt.Sprintf("/api/v1/messages/%d", m3.ID)}, 404, "not_found"},
		{"get a deleted message", call{method: "GET", path: fmt.Sprintf("/api/v1/messages/%d", m3.ID)}, 404, "not_found"},
		{"delete a bad message ID", call{method: "DELETE", path: "/api/v1/messages/-1"}, 400, "bad_id"},
		{"bad limit", call{method: "GET", path: "/api/v1/conversations/" + p.bobID + "/messages?limit=0"}, 400, "bad_limit"},
		{"unknown before", call{method: "GET", path: "/api/v1/conversations/" + p.bobID + "/messages?before=999999"}, 404, "not_found"},
		{"bad timer", call{method: "PUT", path: "/api/v1/conversations/" + p.bobID + "/timer", body: map[string]any{"mode": "sometimes"}}, 400, "bad_timer"},
		{"bad notification mode", call{method: "PATCH", path: "/api/v1/settings", body: map[string]string{"notification_mode": "loud"}}, 400, "bad_notification_mode"},
		{"bad notification content", call{method: "PATCH", path: "/api/v1/settings", body: map[string]string{"notification_content": "all"}}, 400, "bad_notification_content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := p.alice.do(tc.c)
			if resp.StatusCode != tc.status || errorCode(b) != tc.code {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, b, tc.status, tc.code)
			}
		})
	}
	// The unsent-by-bob case: he cannot unsend alice's message.
	var bobPage messagePage
	p.bob.mustDo("GET", "/api/v1/conversations/alice/messages", nil, 200, &bobPage)
	resp, b := p.bob.do(call{method: "POST", path: fmt.Sprintf("/api/v1/messages/%d/unsend", bobPage.Messages[0].ID)})
	if resp.StatusCode != http.StatusConflict || errorCode(b) != "cannot_unsend" {
		t.Fatalf("bob unsends alice's message: %d %s", resp.StatusCode, b)
	}

	// Block: nothing more is shown or notified from alice.
	p.bob.mustDo("POST", "/api/v1/contacts/alice/block", nil, 200, nil)
	var cs []client.Contact
	p.bob.mustDo("GET", "/api/v1/contacts", nil, 200, &cs)
	if len(cs) != 1 || !cs[0].Blocked {
		t.Fatalf("contacts %+v", cs)
	}
	p.bob.mustDo("POST", "/api/v1/contacts/alice/unblock", nil, 200, nil)
	var deleted map[string]int
	p.bob.mustDo("DELETE", "/api/v1/conversations/alice", nil, 200, &deleted)
	if deleted["deleted"] == 0 {
		t.Fatalf("deleted %v", deleted)
	}
}

// TestRequests: a request deleted, then a new one blocked from the
// request list.
func TestRequests(t *testing.T) {
	p := newPair(t)
	p.alice.mustDo("POST", "/api/v1/conversations/"+p.bobID+"/messages", map[string]string{"text": "first"}, http.StatusCreated, nil)
	p.bEvents.waitFor("request", messageMatch("first"))
	var deleted map[string]int
	p.bob.mustDo("DELETE", "/api/v1/requests/"+p.aliceID, nil, 200, &deleted)
	if deleted["deleted"] != 1 {
		t.Fatalf("deleted %v", deleted)
	}
	var reqs []client.Request
	p.bob.mustDo("GET", "/api/v1/requests", nil, 200, &reqs)
	if len(reqs) != 0 {
		t.Fatalf("requests after delete %+v", reqs)
	}
	// A new message from alice opens a new request. One stamped by
	// alice's clock no later than bob's deletion by his counts as sent
	// before it and goes with the deleted chat (clientdb's tombstone),
	// and the two clients' network clocks may disagree by a few
	// milliseconds (each corrects by its own measure of the nodes'
	// offset): a write right after the deletion may be dropped, so
	// alice writes again if no request came.
	again := func(b json.RawMessage) bool {
		var m client.Message
		json.Unmarshal(b, &m)
		return strings.HasPrefix(m.Text, "again")
	}
	var seen []string
	for i := 0; ; i++ {
		if i == 5 {
			t.Fatalf("no request after the deletion; saw %q", seen)
		}
		p.alice.mustDo("POST", "/api/v1/conversations/"+p.bobID+"/messages", map[string]string{"text": fmt.Sprint("again ", i)}, http.StatusCreated, nil)
		_, s, ok := p.bEvents.waitWithin("request", again, 15*time.Second)
		if seen = append(seen, s...); ok {
			break
		}
	}
	p.bob.mustDo("POST", "/api/v1/requests/"+p.aliceID+"/block", nil, 200, nil)
	var cs []client.Contact
	p.bob.mustDo("GET", "/api/v1/contacts", nil, 200, &cs)
	if len(cs) != 1 || !cs[0].Blocked || cs[0].Account.String() != p.aliceID {
		t.Fatalf("contacts after block %+v", cs)
	}
	// Locking ends nothing: the stream says so.
	p.bob.mustDo("POST", "/api/v1/account/lock", nil, 200, nil)
	p.bEvents.waitFor("account", func(b json.RawMessage) bool {
		var st statusJSON
		json.Unmarshal(b, &st)
		return st.State == stateLocked
	})
	p.bob.mustDo("POST", "/api/v1/account/unlock", map[string]string{"passphrase": testPass}, 200, nil)
	p.bEvents.waitFor("account", func(b json.RawMessage) bool {
		var st statusJSON
		json.Unmarshal(b, &st)
		return st.State == stateUnlocked && st.AccountID == p.bobID
	})
}

// testPNG is a small PNG image.
func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{255, 0, 0, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestMedia: files sent as a multipart upload and by path arrive with
// transfer events; an SVG or HTML attachment is served only as a download
// in a sandbox, a PNG inline; a thumbnail is served; clear media and
// storage report on them.
func TestMedia(t *testing.T) {
	p := newPair(t)
	p.bob.mustDo("PATCH", "/api/v1/settings", map[string]any{"media": map[string]int64{"auto_download_bytes": 10 << 20}}, 200, nil)
	svg := `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`
	html := `<html><script>alert(1)</script></html>`
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("text", "files")
	for _, f := range []struct{ name, data string }{{"x.svg", svg}, {"x.html", html}, {"p.png", string(testPNG(t))}} {
		w, _ := mw.CreateFormFile("file", f.name)
		w.Write([]byte(f.data))
	}
	mw.Close()
	var sent client.Message
	resp, b := p.alice.do(call{method: "POST", path: "/api/v1/conversations/" + p.bobID + "/messages", body: body.Bytes(),
		header: map[string]string{"Content-Type": mw.FormDataContentType()}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("send files: %d %s", resp.StatusCode, b)
	}
	json.Unmarshal(b, &sent)
	if len(sent.Attachments) != 3 || sent.Attachments[0].FileName != "x.svg" {
		t.Fatalf("sent %+v", sent)
	}
	p.aEvents.waitFor("transfer", func(b json.RawMessage) bool {
		var tr transferJSON
		json.Unmarshal(b, &tr)
		return tr.Up && tr.Done == tr.Total && tr.Total > 0
	})
	var got client.Message
	json.Unmarshal(p.bEvents.waitFor("request", messageMatch("files")), &got)
	p.bob.mustDo("POST", "/api/v1/requests/"+p.aliceID+"/accept", nil, 200, nil)
	// Requests are never downloaded by themselves: fetch.
	p.bob.mustDo("POST", fmt.Sprintf("/api/v1/messages/%d/fetch", got.ID), nil, 200, &got)
	p.bEvents.waitFor("transfer", func(b json.RawMessage) bool {
		var tr transferJSON
		json.Unmarshal(b, &tr)
		return !tr.Up && tr.Done == tr.Total
	})
	for _, tc := range []struct {
		name, query string
		index       int
		disposition string
		ctype       string
		body        string
	}{
		{"svg", "", 0, "attachment", "application/octet-stream", svg},
		{"html", "", 1, "attachment", "application/octet-stream", html},
		{"png", "", 2, "inline", "image/png", ""},
		{"thumbnail", "?thumbnail=1", 2, "inline", "image/jpeg", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := p.bob.do(call{method: "GET", path: fmt.Sprintf("/api/v1/messages/%d/attachments/%d%s", got.ID, tc.index, tc.query)})
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			h := resp.Header
			if !strings.HasPrefix(h.Get("Content-Disposition"), tc.disposition) || h.Get("Content-Type") != tc.ctype ||
				!strings.HasPrefix(h.Get("Content-Security-Policy"), "sandbox") || h.Get("X-Content-Type-Options") != "nosniff" ||
				h.Get("Cache-Control") != "no-store" {
				t.Fatalf("headers %v", h)
			}
			if tc.body != "" && string(b) != tc.body {
				t.Fatalf("body %q", b)
			}
		})
	}
	resp, b = p.bob.do(call{method: "GET", path: fmt.Sprintf("/api/v1/messages/%d/attachments/9", got.ID)})
	if resp.StatusCode != 404 || errorCode(b) != "not_found" {
		t.Fatalf("unknown attachment: %d %s", resp.StatusCode, b)
	}

	// By path, on alice's side.
	path := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(path, []byte("some notes"), 0o600)
	p.alice.mustDo("POST", "/api/v1/conversations/"+p.bobID+"/messages", map[string]any{"text": "by path", "files": []map[string]any{{"path": path, "as_file": true}}}, http.StatusCreated, &sent)
	json.Unmarshal(p.bEvents.waitFor("message", messageMatch("by path")), &got)

	var items []client.MediaItem
	p.bob.mustDo("GET", "/api/v1/media?peer="+p.aliceID, nil, 200, &items)
	if len(items) != 4 {
		t.Fatalf("media %+v", items)
	}
	var st client.StorageReport
	p.bob.mustDo("GET", "/api/v1/storage", nil, 200, &st)
	if st.MediaBytes == 0 {
		t.Fatalf("storage %+v", st)
	}
	var cleared client.ClearedMedia
	p.bob.mustDo("POST", "/api/v1/storage/clear-media", map[string]string{"peer": p.aliceID}, 200, &cleared)
	if cleared.Files == 0 {
		t.Fatalf("cleared %+v", cleared)
	}
	resp, b = p.bob.do(call{method: "GET", path: fmt.Sprintf("/api/v1/messages/%d/attachments/0", items[0].MessageID)})
	if resp.StatusCode != http.StatusConflict || errorCode(b) != "not_downloaded" {
		t.Fatalf("cleared attachment: %d %s", resp.StatusCode, b)
	}
}

// TestSettingsAndAccount covers the settings, paths, devices,
// share-history and backup endpoints.
func TestSettingsAndAccount(t *testing.T) {
	td := unlockedDaemon(t, standalone(t), nil)
	var s settingsJSON
	td.mustDo("GET", "/api/v1/settings", nil, 200, &s)
	if s.Notifications.Explanation == "" || s.CallsWarning != client.CallsWarning || s.Calls || s.NotificationContent != client.NotifyNameAndContent || s.Receipts {
		t.Fatalf("settings %+v", s)
	}
	td.mustDo("PATCH", "/api/v1/settings", map[string]any{"receipts": true, "calls": true, "notification_mode": "slow",
		"notification_content": "name_only", "media": map[string]int64{"auto_download_bytes": 1234}}, 200, &s)
	if !s.Receipts || !s.Calls || s.Notifications.Mode != "slow" || s.NotificationContent != client.NotifyNameOnly || s.Media.AutoDownloadBytes != 1234 {
		t.Fatalf("settings after patch %+v", s)
	}
	resp, b := td.do(call{method: "GET", path: "/api/v1/paths"})
	if resp.StatusCode != 200 || !json.Valid(b) {
		t.Fatalf("paths: %d %s", resp.StatusCode, b)
	}
	var devs []deviceJSON
	td.mustDo("GET", "/api/v1/devices", nil, 200, &devs)
	if len(devs) != 1 || !devs[0].This {
		t.Fatalf("devices %+v", devs)
	}
	var shared map[string]any
	td.mustDo("POST", "/api/v1/devices/share-history", nil, 200, &shared)
	resp, b = td.do(call{method: "POST", path: "/api/v1/devices/share-history", body: map[string]any{"devices": []string{"zz"}}})
	if resp.StatusCode != 400 || errorCode(b) != "bad_device_id" {
		t.Fatalf("bad device: %d %s", resp.StatusCode, b)
	}

	// Backup: a wrong passphrase is a JSON error, the right one a stream.
	resp, b = td.do(call{method: "POST", path: "/api/v1/backup/export", body: map[string]string{"passphrase": "wrong", "backup_passphrase": "b"}})
	if resp.StatusCode != http.StatusForbidden || errorCode(b) != "wrong_passphrase" {
		t.Fatalf("export with a wrong passphrase: %d %s", resp.StatusCode, b)
	}
	resp, b = td.do(call{method: "POST", path: "/api/v1/backup/export", body: map[string]string{"passphrase": testPass}})
	if resp.StatusCode != 400 || errorCode(b) != "empty_backup_passphrase" {
		t.Fatalf("export without a backup passphrase: %d %s", resp.StatusCode, b)
	}
	resp, b = td.do(call{method: "POST", path: "/api/v1/backup/export", body: map[string]string{"passphrase": testPass, "backup_passphrase": "backup pass"}})
	if resp.StatusCode != 200 || len(b) < 100 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("export: %d %v %d bytes", resp.StatusCode, resp.Header, len(b))
	}
	// The backup imports into a fresh home.
	h, _ := client.NewHome(filepath.Join(t.TempDir(), "restored"))
	if _, err := h.Import(bytes.NewReader(b), []byte("backup pass"), []byte(testPass), client.InsecureTestKDF()); err != nil {
		t.Fatalf("import the exported backup: %v", err)
	}
}

// TestConcurrentMediaSettings: two PATCHes at once, each changing one of
// the media settings, keep both changes (each reads, changes and writes
// the media settings as one value).
func TestConcurrentMediaSettings(t *testing.T) {
	td := unlockedDaemon(t, standalone(t), nil)
	for i := range 30 {
		max, auto := int64(1_000_000+i), int64(1000+i)
		var wg sync.WaitGroup
		for _, m := range []map[string]int64{{"max_attachment_bytes": max}, {"auto_download_bytes": auto}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if resp, b := td.do(call{method: "PATCH", path: "/api/v1/settings", body: map[string]any{"media": m}}); resp.StatusCode != 200 {
					t.Errorf("patch %v: %d %s", m, resp.StatusCode, b)
				}
			}()
		}
		wg.Wait()
		var s settingsJSON
		td.mustDo("GET", "/api/v1/settings", nil, 200, &s)
		if s.Media.MaxAttachmentBytes != max || s.Media.AutoDownloadBytes != auto {
			t.Fatalf("round %d: media settings %+v, want max %d and auto %d", i, s.Media, max, auto)
		}
	}
}
