package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/internal/devnet"
)

// startNetwork returns options that reach the package's devnet through
// onion paths, with the client's timers scaled down. The devnet is
// shared (sharedNetwork): every test on it uses accounts of its own.
func startNetwork(t testing.TB) client.Options {
	t.Helper()
	d, err := sharedNetwork()
	if err != nil {
		t.Fatal(err)
	}
	return client.Options{
		Network:       d.Network(),
		OutboxBackoff: client.Backoff{Base: 100 * time.Millisecond, Max: time.Second},
		PollInterval:  200 * time.Millisecond,
	}
}

// The package's devnet, started by the first sharedNetwork and stopped
// by TestMain.
var (
	netOnce   sync.Once
	netShared *devnet.Devnet
	netDir    string
	netErr    error
)

// sharedNetwork builds hushd (without -race: the daemons under test run
// in this process, the nodes need not be instrumented, and a race-built
// devnet takes minutes to form on a busy machine) and runs a devnet of
// six hushd processes with its file server, once for the package: the
// end-to-end test and the browser tests each started their own.
func sharedNetwork() (*devnet.Devnet, error) {
	netOnce.Do(func() {
		if netDir, netErr = os.MkdirTemp("", "hush-daemon-devnet-"); netErr != nil {
			return
		}
		bin := filepath.Join(netDir, "hushd")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/hushnet/hush/cmd/hushd").CombinedOutput(); err != nil {
			netErr = fmt.Errorf("build hushd: %v\n%s", err, out)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
		defer cancel()
		netShared, netErr = devnet.Up(ctx, devnet.Options{
			// Six minutes to form, as the CLI scripts give it: the two-minute
			// default was passed under -race on a loaded machine.
			Timeout: 6 * time.Minute,
			Dir:     filepath.Join(netDir, "devnet"), Nodes: 6, Processes: true, HushdPath: bin,
			EpochInterval: 200 * time.Millisecond, ProbeInterval: 100 * time.Millisecond,
			UnreachableAfter: time.Minute,
		})
		if netErr != nil {
			netErr = fmt.Errorf("devnet: %w", netErr)
		}
	})
	return netShared, netErr
}

// stopNetwork stops the shared devnet, if it started.
func stopNetwork() {
	if netShared != nil {
		netShared.Stop()
	}
	if netDir != "" {
		os.RemoveAll(netDir)
	}
}

// devnetPair is alice's and bob's daemons on a devnet, through onion
// paths, with open event streams and each other's accepted contact.
func devnetPair(t testing.TB, o client.Options) *pair {
	p := &pair{}
	for _, d := range []**testDaemon{&p.alice, &p.bob} {
		*d = startDaemon(t, Config{Options: o})
		(*d).mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, nil)
		(*d).mustDo("PATCH", "/api/v1/settings", map[string]any{"receipts": true, "media": map[string]int64{"auto_download_bytes": 10 << 20}}, 200, nil)
	}
	var st statusJSON
	p.alice.mustDo("GET", "/api/v1/status", nil, 200, &st)
	p.aliceID = st.AccountID
	p.bob.mustDo("GET", "/api/v1/status", nil, 200, &st)
	p.bobID = st.AccountID
	p.aEvents, p.bEvents = p.alice.events(), p.bob.events()
	// Each names the other, so neither side's messages are requests.
	p.alice.mustDo("PUT", "/api/v1/contacts/"+p.bobID, map[string]string{"name": "bob"}, 200, nil)
	p.bob.mustDo("PUT", "/api/v1/contacts/"+p.aliceID, map[string]string{"name": "alice"}, 200, nil)
	return p
}

// TestTwoDaemonsOnDevnet drives a conversation between two daemons on a
// devnet only through the API and the event streams: a message with its
// delivered and read receipts, typing, and an attachment with transfer
// progress on both sides.
func TestTwoDaemonsOnDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	start := time.Now()
	phase := func(name string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), name) }
	n := startNetwork(t)
	phase("devnet up")
	p := devnetPair(t, n)
	phase("daemons up")

	var sent client.Message
	p.alice.mustDo("POST", "/api/v1/conversations/bob/messages", map[string]string{"text": "hi bob"}, http.StatusCreated, &sent)
	var got client.Message
	json.Unmarshal(p.bEvents.waitFor("message", messageMatch("hi bob")), &got)
	if got.Peer.String() != p.aliceID || got.Request {
		t.Fatalf("bob got %+v", got)
	}
	statusOf := func(status string) func(json.RawMessage) bool {
		return func(b json.RawMessage) bool {
			var m client.Message
			json.Unmarshal(b, &m)
			return m.ID == sent.ID && m.Status == status
		}
	}
	p.aEvents.waitFor("status", statusOf("delivered"))
	phase("message delivered")
	var marked map[string]int
	p.bob.mustDo("POST", "/api/v1/conversations/alice/read", nil, 200, &marked)
	if marked["marked"] != 1 {
		t.Fatalf("marked %v", marked)
	}
	p.aEvents.waitFor("status", statusOf("read"))

	// Bob types; alice sees it start and stop.
	p.bob.mustDo("POST", "/api/v1/conversations/alice/typing", map[string]bool{"typing": true}, http.StatusNoContent, nil)
	typing := func(on bool) func(json.RawMessage) bool {
		return func(b json.RawMessage) bool {
			var ty client.Typing
			json.Unmarshal(b, &ty)
			return ty.Peer.String() == p.bobID && ty.Typing == on
		}
	}
	p.aEvents.waitFor("typing", typing(true))
	p.bob.mustDo("POST", "/api/v1/conversations/alice/typing", map[string]bool{"typing": false}, http.StatusNoContent, nil)
	p.aEvents.waitFor("typing", typing(false))

	phase("typing")
	// Replies, reactions and search (issue 22, api_conv_a.go): bob
	// replies to alice's message, she reacts to the reply, bob sees it;
	// each finds the texts.
	var reply client.Message
	p.bob.mustDo("POST", fmt.Sprintf("/api/v1/messages/%d/reply", got.ID), map[string]string{"text": "re: hi"}, http.StatusCreated, &reply)
	var atAlice client.Message
	json.Unmarshal(p.aEvents.waitFor("message", messageMatch("re: hi")), &atAlice)
	if q := atAlice.Quote; q == nil || !q.Available || q.LocalID != sent.ID || q.Text != "hi bob" {
		t.Fatalf("alice's copy of bob's reply: quote %+v", atAlice.Quote)
	}
	p.alice.mustDo("POST", fmt.Sprintf("/api/v1/messages/%d/reactions", atAlice.ID), map[string]string{"emoji": "👍"}, http.StatusOK, nil)
	p.bEvents.waitFor("reaction", func(b json.RawMessage) bool {
		var m client.Message
		json.Unmarshal(b, &m)
		return m.ID == reply.ID && len(m.Reactions) == 1 && m.Reactions[0].Count == 1 && m.Reactions[0].By[0].String() == p.aliceID
	})
	for _, d := range []*testDaemon{p.alice, p.bob} {
		var res struct {
			Messages []client.Message `json:"messages"`
		}
		d.mustDo("GET", "/api/v1/search?q=HI", nil, http.StatusOK, &res)
		if len(res.Messages) != 2 || res.Messages[0].Text != "re: hi" || res.Messages[1].Text != "hi bob" {
			t.Fatalf("search: %+v", res.Messages)
		}
	}
	phase("reply, reaction, search")
	// An attachment through the devnet's file server.
	data := bytes.Repeat([]byte("hush attachment "), 20_000) // 320 KB: several pieces
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("text", "a file")
	w, _ := mw.CreateFormFile("file", "notes.txt")
	w.Write(data)
	mw.Close()
	resp, b := p.alice.do(call{method: "POST", path: "/api/v1/conversations/bob/messages", body: body.Bytes(),
		header: map[string]string{"Content-Type": mw.FormDataContentType()}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("send a file: %d %s", resp.StatusCode, b)
	}
	complete := func(up bool) func(json.RawMessage) bool {
		return func(b json.RawMessage) bool {
			var tr transferJSON
			json.Unmarshal(b, &tr)
			return tr.Up == up && tr.Total > 0 && tr.Done == tr.Total
		}
	}
	p.aEvents.waitFor("transfer", complete(true))
	phase("uploaded")
	json.Unmarshal(p.bEvents.waitFor("message", messageMatch("a file")), &got)
	p.bEvents.waitFor("transfer", complete(false)) // downloaded by bob's daemon by itself
	phase("downloaded")
	// The last progress event may come just before the file counts as
	// ready (verified whole).
	for deadline := time.Now().Add(time.Minute); ; {
		p.bob.mustDo("GET", fmt.Sprintf("/api/v1/messages/%d", got.ID), nil, 200, &got)
		if got.Attachments[0].State == "ready" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("attachment %+v", got.Attachments[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, b = p.bob.do(call{method: "GET", path: fmt.Sprintf("/api/v1/messages/%d/attachments/0", got.ID)})
	if resp.StatusCode != 200 || !bytes.Equal(b, data) || resp.Header.Get("Content-Disposition") != `attachment; filename=notes.txt` {
		t.Fatalf("bob opens the file: %d %v, %d bytes", resp.StatusCode, resp.Header, len(b))
	}
	// Issue 22 (api_conv_b.go): bob mutes alice; her voice note arrives
	// with its duration, marked muted, without a notification; unmuted,
	// the next message notifies. A note to self is sent to no inbox.
	p.bob.mustDo("PUT", "/api/v1/conversations/alice/flags", map[string]bool{"muted": true}, 200, nil)
	body.Reset()
	mw = multipart.NewWriter(&body)
	w, _ = mw.CreateFormFile("file", "memo.wav")
	w.Write(wav16(800)) // api_conv_b_test.go
	mw.WriteField("voice", "true")
	mw.Close()
	resp, b = p.alice.do(call{method: "POST", path: "/api/v1/conversations/bob/messages", body: body.Bytes(),
		header: map[string]string{"Content-Type": mw.FormDataContentType()}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("send a voice note: %d %s", resp.StatusCode, b)
	}
	json.Unmarshal(p.bEvents.waitFor("message", func(b json.RawMessage) bool {
		var m client.Message
		json.Unmarshal(b, &m)
		return len(m.Attachments) == 1 && m.Attachments[0].Voice
	}), &got)
	if got.Attachments[0].DurationMS != 800 || !got.Muted {
		t.Fatalf("bob's voice note: %+v, muted %v", got.Attachments[0], got.Muted)
	}
	p.bob.mustDo("PUT", "/api/v1/conversations/alice/flags", map[string]bool{"muted": false}, 200, nil)
	p.alice.mustDo("POST", "/api/v1/conversations/bob/messages", map[string]string{"text": "unmuted"}, http.StatusCreated, nil)
	var notif notificationJSON
	json.Unmarshal(p.bEvents.waitFor("notification", nil), &notif)
	if notif.Body != "unmuted" {
		t.Fatalf("the first notification after the muted voice note: %+v", notif)
	}
	var note client.Message
	p.alice.mustDo("POST", "/api/v1/conversations/"+p.aliceID+"/messages", map[string]string{"text": "note to self"}, http.StatusCreated, &note)
	if note.Status != "sent" {
		t.Fatalf("note to self is %q", note.Status)
	}
	phase("voice note, mute, note to self")
}
