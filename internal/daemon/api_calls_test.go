package daemon

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hushnet/hush/client"
)

// testSDP is an audio offer as a WebRTC engine writes it (PCMU only), with
// one relay candidate: what relay-only mode lets out.
const testSDP = "v=0\r\n" +
	"o=- 4215775240449105457 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=group:BUNDLE 0\r\n" +
	"a=msid-semantic: WMS\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:Xk3b\r\n" +
	"a=ice-pwd:4mA9vJq2yTzWcLr8NpE1sH6u\r\n" +
	"a=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 5B:2E:9A:3C:71:0D:44:8F:E2:19:6B:A7:30:C5:DE:12:88:4F:0A:B3:67:91:2C:E5:FA:03:7D:56:B8:21:9E:4C\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:0\r\n" +
	"a=sendrecv\r\n" +
	"a=rtcp-mux\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=candidate:1 1 udp 16777215 127.0.0.1 50000 typ relay raddr 0.0.0.0 rport 0\r\n"

const (
	relayCandidate = "candidate:2 1 udp 16777215 127.0.0.1 50002 typ relay raddr 0.0.0.0 rport 0"
	hostCandidate  = "candidate:3 1 udp 2122260223 127.0.0.1 50004 typ host generation 0"
)

// callMatch matches a call event of call id (any call when id is "") in
// state st.
func callMatch(id string, st client.CallState) func(json.RawMessage) bool {
	return func(b json.RawMessage) bool {
		var c client.Call
		json.Unmarshal(b, &c)
		return (id == "" || c.ID == id) && c.State == st
	}
}

func signalMatch(id, typ string) func(json.RawMessage) bool {
	return func(b json.RawMessage) bool {
		var s callSignalJSON
		json.Unmarshal(b, &s)
		return s.CallID == id && s.Type == typ
	}
}

// TestCallSettings: calls are off by default, with both warnings in the
// settings; calls_mode takes off, relay and direct and refuses anything
// else; the old calls flag still works (on = relay).
func TestCallSettings(t *testing.T) {
	td := unlockedDaemon(t, standalone(t), nil)
	var s settingsJSON
	td.mustDo("GET", "/api/v1/settings", nil, http.StatusOK, &s)
	if s.Calls || s.CallsMode != client.CallsOff || !strings.Contains(s.CallsWarning, "IP address") || !strings.Contains(s.CallsDirectWarning, "IP address") {
		t.Fatalf("default settings %+v", s)
	}
	cases := []struct {
		name   string
		patch  map[string]any
		status int
		code   string
		mode   client.CallMode
	}{
		{"relay", map[string]any{"calls_mode": "relay"}, 200, "", client.CallsRelay},
		{"direct", map[string]any{"calls_mode": "direct"}, 200, "", client.CallsDirect},
		{"unknown mode", map[string]any{"calls_mode": "loud"}, 400, "bad_call_mode", client.CallsDirect},
		{"off", map[string]any{"calls_mode": "off"}, 200, "", client.CallsOff},
		{"flag on", map[string]any{"calls": true}, 200, "", client.CallsRelay},
		{"flag off", map[string]any{"calls": false}, 200, "", client.CallsOff},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := td.do(call{method: "PATCH", path: "/api/v1/settings", body: tc.patch})
			if resp.StatusCode != tc.status || (tc.code != "" && errorCode(b) != tc.code) {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, b, tc.status, tc.code)
			}
			td.mustDo("GET", "/api/v1/settings", nil, http.StatusOK, &s)
			if s.CallsMode != tc.mode || s.Calls != (tc.mode != client.CallsOff) {
				t.Fatalf("mode %q calls %v, want %q", s.CallsMode, s.Calls, tc.mode)
			}
		})
	}
}

// TestCallSignaling drives a call through two daemons' APIs: alice calls,
// bob's stream rings; offer, answer and candidates reach the other side
// as call_signal events and in GET /calls/{id}; a host candidate is
// refused in relay-only mode; hanging up ends the call on both sides.
// Then the refusals: calls off, no TURN server, bad bodies, unknown calls.
func TestCallSignaling(t *testing.T) {
	p := newPair(t)
	// Without calls on, nothing starts, and there are no ICE servers.
	resp, b := p.alice.do(call{method: "POST", path: "/api/v1/calls", body: map[string]string{"peer": p.bobID}})
	if resp.StatusCode != http.StatusConflict || errorCode(b) != "calls_off" {
		t.Fatalf("call with calls off: %d %s", resp.StatusCode, b)
	}
	resp, b = p.alice.do(call{method: "GET", path: "/api/v1/calls/ice-servers"})
	if resp.StatusCode != http.StatusConflict || errorCode(b) != "calls_off" {
		t.Fatalf("ICE servers with calls off: %d %s", resp.StatusCode, b)
	}
	// Contacts of each other (a stranger's call would not ring), relay-only.
	p.alice.mustDo("PUT", "/api/v1/contacts/"+p.bobID, map[string]string{"name": "bob"}, http.StatusOK, nil)
	p.bob.mustDo("PUT", "/api/v1/contacts/"+p.aliceID, map[string]string{"name": "alice"}, http.StatusOK, nil)
	for _, d := range []*testDaemon{p.alice, p.bob} {
		d.mustDo("PATCH", "/api/v1/settings", map[string]string{"calls_mode": "relay"}, http.StatusOK, nil)
	}
	// A standalone node is no network with a TURN server.
	resp, b = p.alice.do(call{method: "GET", path: "/api/v1/calls/ice-servers"})
	if resp.StatusCode != http.StatusServiceUnavailable || (errorCode(b) != "no_turn" && errorCode(b) != "no_network") {
		t.Fatalf("ICE servers without TURN: %d %s", resp.StatusCode, b)
	}

	var out callJSON
	p.alice.mustDo("POST", "/api/v1/calls", map[string]string{"peer": "bob"}, http.StatusCreated, &out)
	if out.ID == "" || out.State != client.CallOutgoing || out.Incoming || out.Peer.String() != p.bobID {
		t.Fatalf("started %+v", out)
	}
	id := out.ID
	p.aEvents.waitFor("call", callMatch(id, client.CallOutgoing))
	p.bEvents.waitFor("call", callMatch(id, client.CallIncoming))
	var active []client.Call
	p.bob.mustDo("GET", "/api/v1/calls", nil, http.StatusOK, &active)
	if len(active) != 1 || active[0].ID != id || !active[0].Incoming {
		t.Fatalf("bob's calls %+v", active)
	}

	p.alice.mustDo("POST", "/api/v1/calls/"+id+"/offer", map[string]string{"sdp": testSDP}, http.StatusOK, nil)
	var sig callSignalJSON
	json.Unmarshal(p.bEvents.waitFor("call_signal", signalMatch(id, "offer")), &sig)
	if sig.Peer != p.aliceID || !strings.Contains(sig.SDP, "PCMU/8000") {
		t.Fatalf("offer signal %+v", sig)
	}
	p.alice.mustDo("POST", "/api/v1/calls/"+id+"/candidates",
		map[string]any{"candidates": []client.ICECandidate{{Candidate: relayCandidate, SDPMid: "0"}}}, http.StatusOK, nil)
	json.Unmarshal(p.bEvents.waitFor("call_signal", signalMatch(id, "candidates")), &sig)
	if len(sig.Candidates) != 1 || sig.Candidates[0].Candidate != relayCandidate {
		t.Fatalf("candidates signal %+v", sig)
	}
	// A page opened now finds the offer and the candidates.
	p.bob.mustDo("GET", "/api/v1/calls/"+id, nil, http.StatusOK, &out)
	if len(out.Signals) != 2 || out.Signals[0].Type != "offer" || out.Signals[1].Type != "candidates" {
		t.Fatalf("bob's call %+v", out)
	}
	// Relay-only: a host candidate never leaves (the library leaves it
	// out of the batch, or refuses it); the relay candidate beside it does.
	resp, b = p.bob.do(call{method: "POST", path: "/api/v1/calls/" + id + "/candidates",
		body: map[string]any{"candidates": []client.ICECandidate{{Candidate: hostCandidate, SDPMid: "0"}}}})
	if resp.StatusCode != http.StatusOK && (resp.StatusCode != http.StatusBadRequest || errorCode(b) != "relay_only") {
		t.Fatalf("host candidate: %d %s", resp.StatusCode, b)
	}
	p.bob.mustDo("POST", "/api/v1/calls/"+id+"/candidates",
		map[string]any{"candidates": []client.ICECandidate{{Candidate: hostCandidate, SDPMid: "0"}, {Candidate: relayCandidate, SDPMid: "0"}}}, http.StatusOK, nil)
	json.Unmarshal(p.aEvents.waitFor("call_signal", signalMatch(id, "candidates")), &sig)
	if len(sig.Candidates) != 1 || !strings.Contains(sig.Candidates[0].Candidate, "typ relay") {
		t.Fatalf("bob's candidates reached alice as %+v", sig)
	}

	p.bob.mustDo("POST", "/api/v1/calls/"+id+"/answer", map[string]string{"sdp": testSDP}, http.StatusOK, nil)
	json.Unmarshal(p.aEvents.waitFor("call_signal", signalMatch(id, "answer")), &sig)
	if !strings.Contains(sig.SDP, "PCMU/8000") {
		t.Fatalf("answer signal %+v", sig)
	}

	// Media flows (the engine says so): the call is active on bob's side.
	var now client.Call
	p.bob.mustDo("POST", "/api/v1/calls/"+id+"/connected", nil, http.StatusOK, &now)
	if now.State != client.CallActive {
		t.Fatalf("after connected %+v", now)
	}
	p.bEvents.waitFor("call", callMatch(id, client.CallActive))

	// Bad bodies and unknown calls.
	bad := []struct {
		name, path string
		body       any
		status     int
		code       string
	}{
		{"empty sdp", "/calls/" + id + "/offer", map[string]string{"sdp": ""}, 400, "bad_sdp"},
		{"huge sdp", "/calls/" + id + "/answer", map[string]string{"sdp": strings.Repeat("a", maxSDP+1)}, 400, "bad_sdp"},
		{"unknown field", "/calls/" + id + "/offer", map[string]string{"spd": testSDP}, 400, "bad_json"},
		{"no candidates", "/calls/" + id + "/candidates", map[string]any{"candidates": []client.ICECandidate{}}, 400, "bad_candidates"},
		{"too many candidates", "/calls/" + id + "/candidates", map[string]any{"candidates": make([]client.ICECandidate, maxCandidates+1)}, 400, "bad_candidates"},
		{"bad reason", "/calls/" + id + "/end", map[string]string{"reason": "bored"}, 400, "bad_reason"},
		{"no peer", "/calls", map[string]string{}, 400, "bad_peer"},
		{"unknown peer", "/calls", map[string]string{"peer": "nobody"}, 404, "unknown_contact"},
		{"unknown call", "/calls/00112233445566778899aabbccddeeff/end", nil, 404, "no_call"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := p.alice.do(call{method: "POST", path: "/api/v1" + tc.path, body: tc.body})
			if resp.StatusCode != tc.status || errorCode(b) != tc.code {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, b, tc.status, tc.code)
			}
		})
	}
	resp, b = p.alice.do(call{method: "GET", path: "/api/v1/calls/00112233445566778899aabbccddeeff"})
	if resp.StatusCode != http.StatusNotFound || errorCode(b) != "no_call" {
		t.Fatalf("unknown call: %d %s", resp.StatusCode, b)
	}

	// Alice hangs up: both sides see the call end.
	var ended client.Call
	p.alice.mustDo("POST", "/api/v1/calls/"+id+"/end", map[string]string{"reason": "hangup"}, http.StatusOK, &ended)
	if ended.State != client.CallEnded {
		t.Fatalf("after the hang-up %+v", ended)
	}
	p.bEvents.waitFor("call", callMatch(id, client.CallEnded))
	for _, d := range []*testDaemon{p.alice, p.bob} {
		d.mustDo("GET", "/api/v1/calls", nil, http.StatusOK, &active)
		if len(active) != 0 {
			t.Fatalf("calls after the end %+v", active)
		}
	}
}
