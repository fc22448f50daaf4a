package client

import (
	"context"
	"errors"
	"time"

	"github.com/hushnet/hush/identity"
)

// Calls (DESIGN.md §9) are signalled through protocol v2 like typing
// indicators (typing.go): CallMessages with a short TTL that are never
// history rows and never outbox items. A signal lost is a call that does
// not connect, and one delivered late by a retry would ring for a call
// long over. The media itself is not this package's business: a media
// engine (client/callrtc with pion, or a browser through the daemon) turns
// the [CallSignal]s of [EventCall] into a WebRTC peer connection and hands
// its own SDP and candidates back through the methods below.

// CallMode is whether calls are on, and how they reach the other party.
type CallMode string

// The call modes.
const (
	// CallsOff: no call rings and none can be made (the default).
	CallsOff CallMode = "off"
	// CallsRelay: every call goes through a TURN relay (ICE transport
	// policy "relay"); host and server-reflexive candidates are never
	// sent, so the other party never learns this device's IP address.
	CallsRelay CallMode = "relay"
	// CallsDirect: direct connections are allowed; the other party
	// learns this device's IP address.
	CallsDirect CallMode = "direct"
)

// CallsDirectWarning is what a user reads before choosing direct calls
// ([Client.SetCallMode] with [CallsDirect]).
const CallsDirectWarning = "Direct calls reveal your IP address to the person you call, and theirs to you: your devices connect to each other without a relay when they can. Anyone you call, or who calls you, learns where you are connecting from. Keep relay-only calls unless you trust everyone you call with that."

// DefaultCallTimeout is how long a call rings unanswered before it ends.
const DefaultCallTimeout = 60 * time.Second

// CallState is where a call stands.
type CallState string

// The call states.
const (
	CallOutgoing   CallState = "outgoing"   // ringing out
	CallIncoming   CallState = "incoming"   // ringing in
	CallConnecting CallState = "connecting" // answered, media not yet reported
	CallActive     CallState = "active"
	CallEnded      CallState = "ended"
)

// The reasons a call ends ([Call].EndReason).
const (
	EndHangup            = "hangup"
	EndDeclined          = "declined"
	EndBusy              = "busy"
	EndTimeout           = "timeout"
	EndUnavailable       = "unavailable"
	EndAnsweredElsewhere = "answered-elsewhere"
	EndFailed            = "failed"
)

// ICECandidate is one ICE candidate, as WebRTC's RTCIceCandidateInit.
type ICECandidate struct {
	Candidate     string `json:"candidate"`
	SDPMid        string `json:"sdpMid"`
	SDPMLineIndex uint16 `json:"sdpMLineIndex"`
}

// Call is one call as this device sees it.
type Call struct {
	// ID is the hex of the 16-byte call UUID.
	ID        string             `json:"id"`
	Peer      identity.AccountID `json:"peer"`
	Incoming  bool               `json:"incoming"`
	State     CallState          `json:"state"`
	Started   time.Time          `json:"started"`
	Answered  time.Time          `json:"answered,omitzero"`
	Ended     time.Time          `json:"ended,omitzero"`
	EndReason string             `json:"end_reason,omitempty"`
}

// CallSignal is a signal for the media engine: the peer's offer, answer
// or candidates, or the end of the call.
type CallSignal struct {
	Type       string         `json:"type"` // "offer", "answer", "candidates", "end"
	SDP        string         `json:"sdp,omitempty"`
	Candidates []ICECandidate `json:"candidates,omitempty"`
}

// The call errors.
var (
	// ErrCallsOff: calls are off on this device ([Client.SetCallMode]).
	ErrCallsOff = errors.New("calls are off")
	// ErrBlocked: the account is blocked.
	ErrBlocked = errors.New("the account is blocked")
	// ErrNoCall: no call by that ID on this device, or it is over.
	ErrNoCall = errors.New("no such call")
	// ErrCallState: the call is not in a state that allows this (an
	// answer to an outgoing call, an offer after the answer).
	ErrCallState = errors.New("the call is not in a state for that")
	// ErrInCall: a call is already under way on this device.
	ErrInCall = errors.New("already in a call")
	// ErrRelayOnly: a host or server-reflexive candidate was given in
	// relay-only mode, where only relay candidates may leave the device.
	ErrRelayOnly = errors.New("relay-only calls send relay candidates only")
	// ErrBadCallMode: [Client.SetCallMode] was given a mode it does not
	// know.
	ErrBadCallMode = errors.New("unknown call mode")
)

// SetCallMode sets the call mode; it returns [ErrBadCallMode].
func (c *Client) SetCallMode(m CallMode) error { return ErrBadCallMode }

// CallMode returns the call mode; [CallsOff] unless set.
func (c *Client) CallMode() (CallMode, error) { return CallsOff, nil }

// StartCall starts a call to peer and sends the pre-offer.
func (c *Client) StartCall(ctx context.Context, peer identity.AccountID) (Call, error) {
	return Call{}, ErrCallsOff
}

// SendCallOffer sends the offer of an outgoing call.
func (c *Client) SendCallOffer(ctx context.Context, id, sdp string) error { return ErrNoCall }

// AnswerCall answers an incoming call with sdp, and stops the ringing on
// this account's other devices.
func (c *Client) AnswerCall(ctx context.Context, id, sdp string) error { return ErrNoCall }

// SendCallCandidates sends a batch of ICE candidates.
func (c *Client) SendCallCandidates(ctx context.Context, id string, cands []ICECandidate) error {
	return ErrNoCall
}

// EndCall hangs up, or declines a ringing call.
func (c *Client) EndCall(ctx context.Context, id, reason string) error { return ErrNoCall }

// Call returns the call with that ID.
func (c *Client) Call(id string) (Call, error) { return Call{}, ErrNoCall }

// ActiveCalls returns the calls not yet ended.
func (c *Client) ActiveCalls() []Call { return nil }
