package daemon

import (
	"errors"
	"net/http"

	"github.com/hushnet/hush/client"
)

// Calls through the API (issue 20, DESIGN.md §9). The daemon runs no
// media: the browser (or a script) is the call's media engine. It asks
// for ICE servers here, sends its SDP and candidates through the
// endpoints below, and receives the other side's as call_signal events.
// The client library does the signaling (CallMessages through the
// network) and keeps the signals that came in for each call still under
// way, so a page that opens after the offer arrived (a ringing call
// answered from a tab opened later) still finds it in GET /calls/{id}.

// callJSON is a call with the signals that came in for it so far (GET
// /calls/{id}): the media engine applies them in order.
type callJSON struct {
	client.Call
	Signals []client.CallSignal `json:"signals"`
}

// callSignalJSON is a call_signal event: the call it belongs to and the
// signal.
type callSignalJSON struct {
	CallID string `json:"call_id"`
	Peer   string `json:"peer"`
	client.CallSignal
}

// callEvents returns the API events of a client call event: the call's
// state ("call") and, when it carries one, its signal ("call_signal").
func (d *Daemon) callEvents(e client.Event) []sseEvent {
	if e.Call == nil {
		return nil
	}
	out := []sseEvent{{name: "call", data: *e.Call}}
	if e.CallSignal != nil {
		out = append(out, sseEvent{name: "call_signal", data: callSignalJSON{
			CallID: e.Call.ID, Peer: e.Call.Peer.String(), CallSignal: *e.CallSignal}})
	}
	return out
}

// iceJSON is what a browser needs to build its RTCPeerConnection:
// RTCConfiguration's iceServers and iceTransportPolicy.
type iceJSON struct {
	ICEServers []client.ICEServer `json:"ice_servers"`
	// ICETransportPolicy is "relay" in relay-only mode (the browser then
	// gathers relay candidates only, so no host or server-reflexive
	// address can leave it) and "all" in direct mode.
	ICETransportPolicy string          `json:"ice_transport_policy"`
	Mode               client.CallMode `json:"mode"`
}

func (d *Daemon) iceServers(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	mode, err := c.CallMode()
	if err != nil {
		return err
	}
	if mode == client.CallsOff {
		return client.ErrCallsOff
	}
	servers, err := c.ICEServers(r.Context())
	if errors.Is(err, client.ErrNoTURN) && mode == client.CallsDirect {
		// Direct calls need no relay: peers that reach each other (on
		// one network) connect without one.
		servers, err = nil, nil
	}
	if err != nil {
		return err
	}
	out := iceJSON{ICEServers: servers, ICETransportPolicy: "relay", Mode: mode}
	if mode == client.CallsDirect {
		out.ICETransportPolicy = "all"
	}
	if out.ICEServers == nil {
		out.ICEServers = []client.ICEServer{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (d *Daemon) listCalls(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	return writeList(w, c.ActiveCalls(), nil)
}

func (d *Daemon) startCall(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	var b struct {
		Peer string `json:"peer"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if b.Peer == "" {
		return badRequest("bad_peer", "peer is an Account ID or a contact's nickname")
	}
	p, err := c.Resolve(b.Peer)
	if err != nil {
		return err
	}
	call, err := c.StartCall(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, callJSON{Call: call, Signals: []client.CallSignal{}})
	return nil
}

func (d *Daemon) getCall(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	id := r.PathValue("id")
	call, err := c.Call(id)
	if err != nil {
		return err
	}
	out := callJSON{Call: call, Signals: []client.CallSignal{}}
	if call.State != client.CallEnded {
		sigs, err := c.PendingCallSignals(id)
		if err != nil && !errors.Is(err, client.ErrNoCall) { // ended meanwhile
			return err
		}
		out.Signals = append(out.Signals, sigs...)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// sdpBody is an offer's or an answer's body.
type sdpBody struct {
	SDP string `json:"sdp"`
}

// maxSDP bounds an SDP from the page: a browser's offer with audio and
// video is a few KB; it must fit in one signaling message.
const maxSDP = 32 << 10

func (b sdpBody) check() error {
	if b.SDP == "" || len(b.SDP) > maxSDP {
		return badRequest("bad_sdp", "sdp is a session description of at most %d bytes", maxSDP)
	}
	return nil
}

func (d *Daemon) sendOffer(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	var b sdpBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	return d.afterCall(w, r, c, c.SendCallOffer(r.Context(), r.PathValue("id"), b.SDP))
}

func (d *Daemon) answerCall(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	var b sdpBody
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	return d.afterCall(w, r, c, c.AnswerCall(r.Context(), r.PathValue("id"), b.SDP))
}

// maxCandidates bounds one batch: a browser gathers a handful per
// transport; the library batches what it sends anyway.
const maxCandidates = 32

func (d *Daemon) sendCandidates(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	var b struct {
		Candidates []client.ICECandidate `json:"candidates"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if len(b.Candidates) == 0 || len(b.Candidates) > maxCandidates {
		return badRequest("bad_candidates", "candidates is a list of 1 to %d ICE candidates", maxCandidates)
	}
	return d.afterCall(w, r, c, c.SendCallCandidates(r.Context(), r.PathValue("id"), b.Candidates))
}

func (d *Daemon) endCall(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	var b struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &b); err != nil {
			return err
		}
	}
	// "" lets the library pick: declined for a ringing call, else hangup.
	switch b.Reason {
	case "", client.EndHangup, client.EndDeclined, client.EndFailed:
	default:
		return badRequest("bad_reason", "reason is hangup, declined or failed")
	}
	return d.afterCall(w, r, c, c.EndCall(r.Context(), r.PathValue("id"), b.Reason))
}

// callConnected is the media engine's report that media flows: the call
// becomes active (its timer starts on the account's side too).
func (d *Daemon) callConnected(w http.ResponseWriter, r *http.Request, c *client.Client) error {
	return d.afterCall(w, r, c, c.CallConnected(r.PathValue("id")))
}

// afterCall answers a call action: its error, or the call as it stands.
func (d *Daemon) afterCall(w http.ResponseWriter, r *http.Request, c *client.Client, err error) error {
	if errors.Is(err, client.ErrBadCallSignal) {
		// The library refused an SDP or a candidate that does not parse.
		return badRequest("malformed", "%v", err)
	}
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	call, err := c.Call(id)
	if errors.Is(err, client.ErrNoCall) {
		// Done, and the library already forgot the call (it ended).
		call, err = client.Call{ID: id, State: client.CallEnded}, nil
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, call)
	return nil
}
