package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushnet/hush/client"
)

// dMessage is a message as the API shows it, with string IDs (a group's
// start with 03) and the fields the devnet test reads.
type dMessage struct {
	ID       int64  `json:"local_id"`
	Peer     string `json:"peer"`
	Sender   string `json:"sender"`
	Text     string `json:"text"`
	Outgoing bool   `json:"outgoing"`
	Quote    *struct {
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
	Attachments []struct {
		Voice      bool   `json:"voice"`
		DurationMS uint32 `json:"duration_ms"`
	} `json:"attachments"`
	Previews []struct {
		URL   string `json:"url"`
		Title string `json:"title"`
	} `json:"previews"`
}

// reactionSet is a message's reactions as "emoji:reactor" strings, sorted.
func (m dMessage) reactionSet() []string {
	out := []string{}
	for _, r := range m.Reactions {
		if r.Count != len(r.By) {
			return append(out, fmt.Sprintf("bad count %d for %d reactors", r.Count, len(r.By)))
		}
		for _, by := range r.By {
			out = append(out, r.Emoji+":"+by[:8])
		}
	}
	sort.Strings(out)
	return out
}

// dMatch matches a message event by text in chat peer.
func dMatch(peer, text string) func(json.RawMessage) bool {
	return func(b json.RawMessage) bool {
		var m dMessage
		return json.Unmarshal(b, &m) == nil && m.Peer == peer && m.Text == text
	}
}

// TestConvGroupDevnet drives issue 22's features through the API of three
// daemons on the package's devnet (real hushd nodes and file server,
// onion paths): bob, and alice on two devices (a1, and a2 restored from
// her phrase). In a group of the two accounts: a link preview fetched by
// the sender alone, a reply whose quote reaches the other account and the
// replier's other device, reactions from alice's two devices racing and
// converging everywhere, a typing event, a voice note with its duration,
// and search finding the group's message. Then 1:1 across alice's
// devices: mute, pin and archive set on a1 appear on a2 (config sync),
// and a note to self written on a1 arrives on a2. (TestTwoDaemonsOnDevnet
// covers the 1:1 reply, reaction, typing, search, voice note and mute
// between two accounts on the same devnet.)
func TestConvGroupDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	start := time.Now()
	phase := func(name string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), name) }
	o := startNetwork(t)
	o.LinkPreviewLoopbackHTTP = true
	// A short safety net: device announcements and the config, which
	// carry a new device and chat flags, are read by its polls (fast
	// mode holds only the inbox and sync namespaces).
	o.SafetyNetInterval = time.Second
	phase("devnet up")

	var created map[string]string
	bob := startDaemon(t, Config{Options: o})
	bob.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, nil)
	a1 := startDaemon(t, Config{Options: o})
	a1.mustDo("POST", "/api/v1/account/create", map[string]string{"passphrase": testPass}, http.StatusCreated, &created)
	a2 := startDaemon(t, Config{Options: o})
	a2.mustDo("POST", "/api/v1/account/restore", map[string]string{"recovery_phrase": created["recovery_phrase"], "passphrase": testPass}, http.StatusCreated, nil)
	all := []*testDaemon{bob, a1, a2}
	for _, d := range all {
		// Receipts on, for typing; link previews on everywhere, so the
		// receivers would fetch if they ever did.
		d.mustDo("PATCH", "/api/v1/settings", map[string]any{"receipts": true, "media": map[string]int64{"auto_download_bytes": 10 << 20}}, 200, nil)
		d.mustDo("PUT", "/api/v1/settings/link-previews", map[string]bool{"on": true}, 200, nil)
	}
	bobID, aliceID := statusID(bob), statusID(a1)
	if statusID(a2) != aliceID {
		t.Fatal("a2 restored another account")
	}
	bEv, a1Ev, a2Ev := bob.events(), a1.events(), a2.events()
	// Each device of alice knows the other before anything is sent, so
	// every sync copy is sealed to both.
	for _, d := range []*testDaemon{a1, a2} {
		waitUntil(t, "alice's devices know each other", func() bool {
			var ds []deviceJSON
			d.mustDo("GET", "/api/v1/devices", nil, 200, &ds)
			return len(ds) == 2
		})
	}
	bob.mustDo("PUT", "/api/v1/contacts/"+aliceID, map[string]string{"name": "alice"}, 200, nil)
	a1.mustDo("PUT", "/api/v1/contacts/"+bobID, map[string]string{"name": "bob"}, 200, nil)
	phase("daemons up")

	// The group: bob creates it, a1 accepts, a2 follows through the sync.
	var g tGroup
	bob.mustDo("POST", "/api/v1/groups", map[string]any{"name": "conv", "members": []string{aliceID}}, http.StatusCreated, &g)
	a1Ev.waitFor("request", func(b json.RawMessage) bool {
		var m tMessage
		json.Unmarshal(b, &m)
		return m.Peer == g.ID
	})
	a1.mustDo("POST", "/api/v1/requests/"+g.ID+"/accept", nil, 200, nil)
	for _, d := range all {
		waitUntil(t, "the group joined with its key", func() bool {
			var gg tGroup
			resp, b := d.do(call{method: "GET", path: "/api/v1/groups/" + g.ID})
			return resp.StatusCode == 200 && json.Unmarshal(b, &gg) == nil &&
				gg.State == client.GroupJoined && gg.KeyGeneration >= 1 && gg.Members == 2
		})
	}
	phase("group joined")

	// A link preview: bob (the sender) fetches once; alice's devices show
	// it and fetch nothing.
	var hits atomic.Int32
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<meta property="og:title" content="Dinner place">`))
	}))
	defer site.Close()
	text := "dinner here? " + site.URL + "/menu?utm_source=hush&day=fri"
	clean := "dinner here? " + site.URL + "/menu?day=fri"
	var orig dMessage
	bob.mustDo("POST", "/api/v1/conversations/"+g.ID+"/messages", map[string]string{"text": text}, http.StatusCreated, &orig)
	if orig.Text != clean || len(orig.Previews) != 1 || orig.Previews[0].Title != "Dinner place" {
		t.Fatalf("bob's message with a preview: %q %+v", orig.Text, orig.Previews)
	}
	fetched := hits.Load()
	at := map[*testDaemon]dMessage{bob: orig}
	for d, ev := range map[*testDaemon]*stream{a1: a1Ev, a2: a2Ev} {
		var m dMessage
		json.Unmarshal(ev.waitFor("message", dMatch(g.ID, clean)), &m)
		if len(m.Previews) != 1 || m.Previews[0].Title != "Dinner place" || m.Sender != bobID {
			t.Fatalf("alice's copy of bob's message: %+v", m)
		}
		at[d] = m
	}
	if n := hits.Load(); n != 1 || fetched != 1 {
		t.Fatalf("%d requests to the linked site (%d by the sender), want the sender's one", n, fetched)
	}
	phase("link preview")

	// a1 replies: bob and a2 get the quote, pointing at their own copy.
	var reply dMessage
	a1.mustDo("POST", fmt.Sprintf("/api/v1/messages/%d/reply", at[a1].ID), map[string]string{"text": "friday works"}, http.StatusCreated, &reply)
	for d, ev := range map[*testDaemon]*stream{bob: bEv, a2: a2Ev} {
		var m dMessage
		json.Unmarshal(ev.waitFor("message", dMatch(g.ID, "friday works")), &m)
		if q := m.Quote; q == nil || !q.Available || q.Author != bobID || q.LocalID != at[d].ID || q.Text != clean {
			t.Fatalf("the reply's quote at %s: %+v (want local %d)", map[*testDaemon]string{bob: "bob", a2: "a2"}[d], m.Quote, at[d].ID)
		}
		if m.Sender != aliceID || m.Outgoing != (d == a2) {
			t.Fatalf("the reply at %s: sender %s, outgoing %v", map[*testDaemon]string{bob: "bob", a2: "a2"}[d], m.Sender, m.Outgoing)
		}
	}
	phase("reply")

	// Alice's two devices react to bob's message at once: the same emoji
	// from both (one reaction), one each of their own, and a race on 🔥
	// (put on one, taken away on the other). Everyone converges on the
	// same set, whichever 🔥 won.
	var wg sync.WaitGroup
	for _, step := range []struct {
		d      *testDaemon
		emoji  string
		remove bool
	}{{a1, "👍", false}, {a2, "👍", false}, {a1, "🎉", false}, {a2, "❤️", false}, {a1, "🔥", false}, {a2, "🔥", true}} {
		wg.Go(func() {
			resp, b := step.d.do(call{method: "POST", path: fmt.Sprintf("/api/v1/messages/%d/reactions", at[step.d].ID),
				body: map[string]any{"emoji": step.emoji, "remove": step.remove}})
			if resp.StatusCode != http.StatusOK {
				t.Errorf("react %s: %d %s", step.emoji, resp.StatusCode, b)
			}
		})
	}
	wg.Wait()
	reactionsAt := func(d *testDaemon) []string {
		var m dMessage
		d.mustDo("GET", fmt.Sprintf("/api/v1/messages/%d", at[d].ID), nil, 200, &m)
		return m.reactionSet()
	}
	a := aliceID[:8]
	base := []string{"❤️:" + a, "🎉:" + a, "👍:" + a}
	withFire := append([]string{"🔥:" + a}, base...)
	sort.Strings(base)
	sort.Strings(withFire)
	var converged []string
	waitUntil(t, "the reactions converge", func() bool {
		sets := [][]string{reactionsAt(bob), reactionsAt(a1), reactionsAt(a2)}
		for _, s := range sets[1:] {
			if !reflect.DeepEqual(s, sets[0]) {
				return false
			}
		}
		converged = sets[0]
		return reflect.DeepEqual(sets[0], base) || reflect.DeepEqual(sets[0], withFire)
	})
	t.Logf("converged on %v", converged)
	phase("reactions")

	// Typing in the group: a1 sees bob type.
	bob.mustDo("POST", "/api/v1/conversations/"+g.ID+"/typing", map[string]bool{"typing": true}, http.StatusNoContent, nil)
	a1Ev.waitFor("typing", func(b json.RawMessage) bool {
		var ty struct {
			Peer, From string
			Typing     bool
		}
		json.Unmarshal(b, &ty)
		return ty.Peer == g.ID && ty.From == bobID && ty.Typing
	})
	phase("typing")

	// A voice note from a1 to the group through the file server: bob's
	// arrives with its duration.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("file", "memo.wav")
	w.Write(wav16(900))
	mw.WriteField("voice", "true")
	mw.Close()
	resp, b := a1.do(call{method: "POST", path: "/api/v1/conversations/" + g.ID + "/messages", body: body.Bytes(),
		header: map[string]string{"Content-Type": mw.FormDataContentType()}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("a voice note to the group: %d %s", resp.StatusCode, b)
	}
	var voice dMessage
	json.Unmarshal(bEv.waitFor("message", func(b json.RawMessage) bool {
		var m dMessage
		json.Unmarshal(b, &m)
		return m.Peer == g.ID && len(m.Attachments) == 1
	}), &voice)
	if v := voice.Attachments[0]; !v.Voice || v.DurationMS != 900 || voice.Sender != aliceID {
		t.Fatalf("bob's voice note %+v from %s", voice.Attachments, voice.Sender)
	}
	phase("voice note")

	// Search at bob finds the group's message, in the group's chat.
	var res struct {
		Messages []dMessage `json:"messages"`
	}
	bob.mustDo("GET", "/api/v1/search?q=FRIDAY&chat="+g.ID, nil, 200, &res)
	if len(res.Messages) != 1 || res.Messages[0].Text != "friday works" || res.Messages[0].Peer != g.ID {
		t.Fatalf("search in the group: %+v", res.Messages)
	}
	a2.mustDo("GET", "/api/v1/search?q=dinner", nil, 200, &res)
	if len(res.Messages) != 1 || res.Messages[0].Peer != g.ID {
		t.Fatalf("search on a2: %+v", res.Messages)
	}
	phase("search")

	// 1:1 across alice's devices: a1's flags for bob's chat reach a2.
	want := client.ChatFlags{Muted: true, Pinned: true, Archived: true}
	a1.mustDo("PUT", "/api/v1/conversations/"+bobID+"/flags", map[string]bool{"muted": true, "pinned": true, "archived": true}, 200, nil)
	waitUntil(t, "a1's flags on a2", func() bool {
		var fl client.ChatFlags
		a2.mustDo("GET", "/api/v1/conversations/"+bobID+"/flags", nil, 200, &fl)
		return fl == want
	})
	phase("flags")

	// A note to self from a1 arrives on a2, in the note-to-self chat.
	var note dMessage
	a1.mustDo("POST", "/api/v1/conversations/"+aliceID+"/messages", map[string]string{"text": "pick up the cake"}, http.StatusCreated, &note)
	var got dMessage
	json.Unmarshal(a2Ev.waitFor("message", dMatch(aliceID, "pick up the cake")), &got)
	if !got.Outgoing || got.Sender != aliceID {
		t.Fatalf("a2's copy of the note: %+v", got)
	}
	phase("note to self")
}
