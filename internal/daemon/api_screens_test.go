package daemon

import (
	"testing"
	"time"

	"github.com/hushnet/hush/client"
)

// TestDefaultTimer: the default disappearing timer is a setting; the first
// message to a new peer carries it (both sides adopt it), an existing
// conversation keeps its own, and a bad one changes nothing.
func TestDefaultTimer(t *testing.T) {
	p := newPair(t)
	var s settingsJSON
	p.alice.mustDo("GET", "/api/v1/settings", nil, 200, &s)
	if s.DefaultTimer.Mode != client.DisappearOff || len(s.NotificationModes) != 3 {
		t.Fatalf("settings %+v", s)
	}
	for _, m := range s.NotificationModes {
		if m.Explanation == "" {
			t.Fatalf("mode %s has no explanation", m.Mode)
		}
	}
	resp, b := p.alice.do(call{method: "PATCH", path: "/api/v1/settings", body: map[string]any{
		"receipts": true, "default_timer": map[string]any{"mode": "after-send", "after_ns": 1500 * time.Millisecond}}})
	if resp.StatusCode != 400 || errorCode(b) != "bad_timer" {
		t.Fatalf("a bad default timer: %d %s", resp.StatusCode, b)
	}
	p.alice.mustDo("GET", "/api/v1/settings", nil, 200, &s)
	if s.Receipts {
		t.Fatal("a refused patch changed receipts")
	}
	p.alice.mustDo("PATCH", "/api/v1/settings", map[string]any{
		"default_timer": map[string]any{"mode": "after-read", "after_ns": time.Hour}}, 200, &s)
	if s.DefaultTimer.Mode != client.DisappearAfterRead || s.DefaultTimer.After != time.Hour {
		t.Fatalf("default timer %+v", s.DefaultTimer)
	}

	p.alice.mustDo("POST", "/api/v1/conversations/"+p.bobID+"/messages", map[string]string{"text": "first"}, 201, nil)
	var tm client.Timer
	p.alice.mustDo("GET", "/api/v1/conversations/"+p.bobID+"/timer", nil, 200, &tm)
	if tm.Mode != client.DisappearAfterRead || tm.After != time.Hour || tm.ChangedBy.String() != p.aliceID {
		t.Fatalf("alice's timer %+v", tm)
	}
	p.bEvents.waitFor("message", messageMatch("first"))
	p.bob.mustDo("GET", "/api/v1/conversations/"+p.aliceID+"/timer", nil, 200, &tm)
	if tm.Mode != client.DisappearAfterRead || tm.After != time.Hour {
		t.Fatalf("bob's timer %+v", tm)
	}

	// An existing conversation keeps its timer when the default changes.
	p.alice.mustDo("PATCH", "/api/v1/settings", map[string]any{"default_timer": map[string]any{"mode": "off"}}, 200, &s)
	p.alice.mustDo("POST", "/api/v1/conversations/"+p.bobID+"/messages", map[string]string{"text": "second"}, 201, nil)
	p.alice.mustDo("GET", "/api/v1/conversations/"+p.bobID+"/timer", nil, 200, &tm)
	if tm.Mode != client.DisappearAfterRead {
		t.Fatalf("the existing conversation's timer changed: %+v", tm)
	}
}
