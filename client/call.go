package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/envelope"
	"github.com/hushnet/hush/protocol/rpc"
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

// callTTL is a call message's TTL in the recipient's swarm, and how old a
// signed call message may be and still count: a signal waiting longer
// belongs to a call long over.
const callTTL = 5 * time.Minute

// Limits on what a call message may carry, beyond the envelope's.
const (
	maxSDP       = 64 << 10
	maxCandidate = 1024
	maxCandBatch = 64
)

// CallsRequest is the end reason of an incoming call from an account that
// is not an accepted contact: it did not ring. The user allows such calls
// by accepting the request ([Client.Accept]).
const CallsRequest = "request"

// callBook is a Client's calls, in memory only: a call does not outlive
// the process that signals it.
type callBook struct {
	mu      sync.Mutex
	timeout time.Duration
	calls   map[string]*callEntry
	// seen holds the message IDs of the call messages handled lately, with
	// when they may be forgotten (their signed time + callTTL, after which
	// a replay is stale anyway).
	seen map[string]time.Time
	// malformed counts call messages dropped as malformed.
	malformed atomic.Int64
	// trace is Options.CallSignalSent.
	trace func(identity.AccountID, CallSignal)
}

type callEntry struct {
	call      Call
	uuid      []byte
	signals   []CallSignal // received from the peer, for a late engine
	timer     *time.Timer
	offerSent bool
}

func (b *callBook) init() {
	if b.calls == nil {
		b.calls = map[string]*callEntry{}
		b.seen = map[string]time.Time{}
	}
}

// busy reports whether a call other than id is not over.
func (b *callBook) busy(id string) bool {
	for k, e := range b.calls {
		if k != id && e.call.State != CallEnded {
			return true
		}
	}
	return false
}

// prune forgets ended calls and message IDs older than callTTL.
func (b *callBook) prune(now time.Time) {
	for k, e := range b.calls {
		if e.call.State == CallEnded && now.Sub(e.call.Ended) > callTTL {
			delete(b.calls, k)
		}
	}
	for k, until := range b.seen {
		if now.After(until) {
			delete(b.seen, k)
		}
	}
}

// end moves e to ended; the caller holds b.mu. It reports whether it did
// (false for a call already over).
func (e *callEntry) end(now time.Time, reason string) bool {
	if e.call.State == CallEnded {
		return false
	}
	if e.timer != nil {
		e.timer.Stop()
	}
	e.call.State, e.call.Ended, e.call.EndReason = CallEnded, now, reason
	return true
}

// SetCallMode sets the call mode, local to the device; calls are off
// until the user turns them on after reading [CallsWarning] (and
// [CallsDirectWarning] for direct mode). It returns [ErrBadCallMode].
// [Client.SetCalls](true) is [CallsRelay], and false [CallsOff].
func (c *Client) SetCallMode(m CallMode) error {
	var v string
	switch m {
	case CallsOff:
		v = "off"
	case CallsRelay:
		v = "on"
	case CallsDirect:
		v = "direct"
	default:
		return fmt.Errorf("%w: %q", ErrBadCallMode, m)
	}
	return c.db.SetSetting(settingCalls, []byte(v))
}

// CallMode returns the call mode; [CallsOff] unless set.
func (c *Client) CallMode() (CallMode, error) {
	b, err := c.db.Setting(settingCalls)
	if errors.Is(err, ErrNotFound) {
		return CallsOff, nil
	}
	if err != nil {
		return "", err
	}
	switch string(b) {
	case "on":
		return CallsRelay, nil
	case "direct":
		return CallsDirect, nil
	}
	return CallsOff, nil
}

// StartCall starts a call to peer: it sends the pre-offer, so the peer's
// devices ring, and returns the call, [CallOutgoing]. The media engine
// then sends its offer with [Client.SendCallOffer]. A call not answered
// within the timeout (Options.CallTimeout, [DefaultCallTimeout]) ends as
// [EndUnavailable]: a caller cannot tell a callee whose calls are off, or
// who is offline, from one who let it ring, and is not told. It returns
// [ErrCallsOff], [ErrBlocked], [ErrInCall], [ErrBadAccountID], or the
// send's error (the call is then over, [EndFailed]).
func (c *Client) StartCall(ctx context.Context, peer identity.AccountID) (Call, error) {
	if _, err := peer.X25519(); err != nil {
		return Call{}, fmt.Errorf("%w: %w", ErrBadAccountID, err)
	}
	if peer.Equal(c.acct.ID()) {
		return Call{}, fmt.Errorf("%w: cannot call oneself", ErrBadAccountID)
	}
	if m, err := c.CallMode(); err != nil {
		return Call{}, err
	} else if m == CallsOff {
		return Call{}, ErrCallsOff
	}
	if st, err := c.peerState(peer); err != nil {
		return Call{}, err
	} else if st.blocked {
		return Call{}, ErrBlocked
	}
	uuid := make([]byte, envelope.CallUUIDSize)
	rand.Read(uuid)
	id := hex.EncodeToString(uuid)
	b := &c.calls
	b.mu.Lock()
	b.init()
	now := c.now()
	b.prune(now)
	if b.busy(id) {
		b.mu.Unlock()
		return Call{}, ErrInCall
	}
	e := &callEntry{uuid: uuid, call: Call{ID: id, Peer: peer, State: CallOutgoing, Started: now}}
	b.calls[id] = e
	e.timer = time.AfterFunc(b.timeout, func() { c.ringTimeout(id) })
	call := e.call
	b.mu.Unlock()
	c.emitCall(call, nil)
	if err := c.sendCall(ctx, peer, &envelope.CallMessage{Type: envelope.CallMessage_TYPE_PRE_OFFER, CallUuid: uuid}); err != nil {
		c.endLocal(id, EndFailed)
		return Call{}, err
	}
	return call, nil
}

// SendCallOffer sends the offer of an outgoing call, once. In relay-only
// mode the SDP's host and server-reflexive candidates are removed first.
// It returns [ErrNoCall], [ErrCallState], or [ErrBadCallSignal] for an
// SDP that does not parse.
func (c *Client) SendCallOffer(ctx context.Context, id, sdp string) error {
	sdp, err := c.outgoingSDP(sdp)
	if err != nil {
		return err
	}
	b := &c.calls
	b.mu.Lock()
	e, err := b.entry(id)
	if err == nil && (e.call.Incoming || e.call.State != CallOutgoing || e.offerSent) {
		err = fmt.Errorf("%w: an offer for a call %s", ErrCallState, e.call.State)
	}
	if err != nil {
		b.mu.Unlock()
		return err
	}
	e.offerSent = true
	peer, uuid := e.call.Peer, e.uuid
	b.mu.Unlock()
	return c.sendCall(ctx, peer, &envelope.CallMessage{Type: envelope.CallMessage_TYPE_OFFER, CallUuid: uuid, Sdp: sdp})
}

// AnswerCall answers a ringing incoming call with the media engine's SDP:
// the call becomes [CallConnecting], the answer goes to the caller, and
// the account's other devices are told, so they stop ringing
// ([EndAnsweredElsewhere]). It returns [ErrNoCall], [ErrCallState],
// [ErrBadCallSignal] for an SDP that does not parse, or the send's error.
func (c *Client) AnswerCall(ctx context.Context, id, sdp string) error {
	sdp, err := c.outgoingSDP(sdp)
	if err != nil {
		return err
	}
	b := &c.calls
	b.mu.Lock()
	e, err := b.entry(id)
	if err == nil && (!e.call.Incoming || e.call.State != CallIncoming) {
		err = fmt.Errorf("%w: an answer to a call %s", ErrCallState, e.call.State)
	}
	if err != nil {
		b.mu.Unlock()
		return err
	}
	e.timer.Stop()
	e.call.State, e.call.Answered = CallConnecting, c.now()
	call, uuid := e.call, e.uuid
	b.mu.Unlock()
	c.emitCall(call, nil)
	err = c.sendCall(ctx, call.Peer, &envelope.CallMessage{Type: envelope.CallMessage_TYPE_ANSWER, CallUuid: uuid, Sdp: sdp})
	// The own devices hear of it even when the answer failed: this one
	// took the call, so theirs must not ring on.
	serr := c.syncCall(ctx, &envelope.CallMessage{
		Type: envelope.CallMessage_TYPE_END, CallUuid: uuid, EndReason: envelope.CallMessage_END_REASON_ANSWERED_ELSEWHERE,
	})
	if serr != nil {
		c.log.Debug("telling the own devices a call was answered", "err", serr)
	}
	return err
}

// SendCallCandidates sends a batch of ICE candidates of a call not over.
// In relay-only mode only relay candidates leave the device: host,
// server-reflexive and peer-reflexive ones are left out (and the batch is
// not sent when none is left), so no signal ever carries this device's
// address. Empty candidates (WebRTC's end-of-candidates) are left out
// too, and a relay candidate's related address (where the TURN server saw
// this device) is cleared to 0.0.0.0. It returns [ErrNoCall], or
// [ErrBadCallSignal] for a candidate that does not parse.
func (c *Client) SendCallCandidates(ctx context.Context, id string, cands []ICECandidate) error {
	mode, err := c.CallMode()
	if err != nil {
		return err
	}
	var out []*envelope.CallMessage_IceCandidate
	for _, cd := range cands {
		if cd.Candidate == "" {
			continue
		}
		cand := cd.Candidate
		if mode == CallsDirect {
			if _, err := parseCandidateType(cand); err != nil {
				return err
			}
		} else {
			relay, ok, err := relayCandidate(cand)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			cand = relay
		}
		out = append(out, &envelope.CallMessage_IceCandidate{Candidate: cand, SdpMid: cd.SDPMid, SdpMlineIndex: uint32(cd.SDPMLineIndex)})
	}
	b := &c.calls
	b.mu.Lock()
	e, err := b.entry(id)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	peer, uuid := e.call.Peer, e.uuid
	b.mu.Unlock()
	for len(out) > 0 {
		n := min(len(out), maxCandBatch)
		if err := c.sendCall(ctx, peer, &envelope.CallMessage{Type: envelope.CallMessage_TYPE_ICE_CANDIDATES, CallUuid: uuid, Candidates: out[:n]}); err != nil {
			return err
		}
		out = out[n:]
	}
	return nil
}

// EndCall hangs up a call, or declines a ringing one: reason is
// [EndHangup] or [EndDeclined] ("" picks the one that fits). A declined
// call stops ringing on the account's other devices too. It returns
// [ErrNoCall] or the send's error (the call is over here all the same).
func (c *Client) EndCall(ctx context.Context, id, reason string) error {
	b := &c.calls
	b.mu.Lock()
	e, err := b.entry(id)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	if reason == "" {
		reason = EndHangup
		if e.call.State == CallIncoming {
			reason = EndDeclined
		}
	}
	wire := envelope.CallMessage_END_REASON_HANGUP
	if reason == EndDeclined {
		wire = envelope.CallMessage_END_REASON_DECLINED
	}
	ringing := e.call.State == CallIncoming
	e.end(c.now(), reason)
	call, uuid := e.call, e.uuid
	b.mu.Unlock()
	c.emitCall(call, nil)
	end := &envelope.CallMessage{Type: envelope.CallMessage_TYPE_END, CallUuid: uuid, EndReason: wire}
	err = c.sendCall(ctx, call.Peer, end)
	if ringing {
		err = errors.Join(err, c.syncCall(ctx, end))
	}
	return err
}

// CallConnected is the media engine's report that media flows: a
// [CallConnecting] call becomes [CallActive]. It returns [ErrNoCall].
func (c *Client) CallConnected(id string) error {
	b := &c.calls
	b.mu.Lock()
	e, err := b.entry(id)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	if e.call.State != CallConnecting {
		b.mu.Unlock()
		return nil
	}
	e.call.State = CallActive
	call := e.call
	b.mu.Unlock()
	c.emitCall(call, nil)
	return nil
}

// Call returns the call with that ID, over or not (an ended call is
// remembered a few minutes). It returns [ErrNoCall].
func (c *Client) Call(id string) (Call, error) {
	b := &c.calls
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.calls[id]
	if !ok || e.call.Peer.IsZero() {
		return Call{}, ErrNoCall
	}
	return e.call, nil
}

// PendingCallSignals returns the signals the peer sent for a call so far
// (its offer or answer and candidates, in order), for a media engine that
// starts after they arrived. It returns [ErrNoCall].
func (c *Client) PendingCallSignals(id string) ([]CallSignal, error) {
	b := &c.calls
	b.mu.Lock()
	defer b.mu.Unlock()
	e, err := b.entry(id)
	if err != nil {
		return nil, err
	}
	return slices.Clone(e.signals), nil
}

// ActiveCalls returns the calls not over, oldest first.
func (c *Client) ActiveCalls() []Call {
	b := &c.calls
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Call
	for _, e := range b.calls {
		if e.call.State != CallEnded {
			out = append(out, e.call)
		}
	}
	slices.SortFunc(out, func(a, b Call) int { return a.Started.Compare(b.Started) })
	return out
}

// MalformedCallMessages counts the call messages dropped since Open
// because their SDP or candidates did not parse.
func (c *Client) MalformedCallMessages() int64 { return c.calls.malformed.Load() }

// entry returns the call id if it is not over; the caller holds b.mu.
func (b *callBook) entry(id string) (*callEntry, error) {
	e, ok := b.calls[id]
	if !ok || e.call.State == CallEnded {
		return nil, fmt.Errorf("%w: %s", ErrNoCall, id)
	}
	return e, nil
}

func (c *Client) emitCall(call Call, sig *CallSignal) {
	c.emit(Event{Kind: EventCall, Call: &call, CallSignal: sig})
}

// endLocal ends a call here without telling anyone.
func (c *Client) endLocal(id, reason string) {
	b := &c.calls
	b.mu.Lock()
	e, ok := b.calls[id]
	if !ok || !e.end(c.now(), reason) {
		b.mu.Unlock()
		return
	}
	call := e.call
	b.mu.Unlock()
	c.emitCall(call, &CallSignal{Type: "end"})
}

// ringTimeout ends a call still ringing when its time is up: an outgoing
// one as [EndUnavailable] (the callee is told, so it stops ringing), an
// incoming one as [EndTimeout] (a missed call; the caller's own timer
// ends it there).
func (c *Client) ringTimeout(id string) {
	b := &c.calls
	b.mu.Lock()
	e, ok := b.calls[id]
	if !ok || (e.call.State != CallOutgoing && e.call.State != CallIncoming) {
		b.mu.Unlock()
		return
	}
	reason := EndTimeout
	if !e.call.Incoming {
		reason = EndUnavailable
	}
	e.end(c.now(), reason)
	call, uuid := e.call, e.uuid
	b.mu.Unlock()
	c.emitCall(call, &CallSignal{Type: "end"})
	if !call.Incoming {
		c.background(func(ctx context.Context) {
			c.sendCall(ctx, call.Peer, &envelope.CallMessage{
				Type: envelope.CallMessage_TYPE_END, CallUuid: uuid, EndReason: envelope.CallMessage_END_REASON_TIMEOUT,
			})
		})
	}
}

// background runs f on the Client's background context unless the
// Client is closed; Close waits for it.
func (c *Client) background(f func(ctx context.Context)) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.bgWG.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.bgWG.Done()
		ctx, cancel := context.WithTimeout(c.bg, callTTL)
		defer cancel()
		f(ctx)
	}()
}

// sendCall seals m to peer's devices and stores it in their inbox with
// callTTL, like a typing indicator: no history, no outbox.
func (c *Client) sendCall(ctx context.Context, peer identity.AccountID, m *envelope.CallMessage) error {
	data, _, err := c.sealCall(ctx, peer, m)
	if err != nil || data == nil {
		return err // no device to seal to: the call goes unanswered
	}
	_, err = c.store(ctx, peer, NamespaceInbox, callTTL, data)
	return err
}

// syncCall tells the account's other devices about m through the sync
// namespace, as sync copies go.
func (c *Client) syncCall(ctx context.Context, m *envelope.CallMessage) error {
	self := c.acct.ID()
	data, here, err := c.sealCall(ctx, self, m)
	if err != nil || data == nil || here {
		// here: sealed to this device alone, so no other device to tell.
		return err
	}
	if err := c.db.MarkSeen(c.clock().Add(callTTL+rpc.SigTolerance), rpc.MessageHash(self, NamespaceSync, data)); err != nil {
		return err
	}
	_, err = c.store(ctx, self, NamespaceSync, callTTL, data)
	return err
}

func (c *Client) sealCall(ctx context.Context, to identity.AccountID, m *envelope.CallMessage) ([]byte, bool, error) {
	if c.calls.trace != nil {
		c.calls.trace(to, traceSignal(m))
	}
	now := c.now()
	mid := make([]byte, envelope.MessageIDSize)
	rand.Read(mid)
	encoded, err := envelope.MarshalContent(&envelope.Content{
		MessageId: mid, SentAtMs: uint64(now.UnixMilli()), Body: &envelope.Content_Call{Call: m},
	})
	if err != nil {
		return nil, false, err
	}
	// Its own message: never handled as a received one.
	b := &c.calls
	b.mu.Lock()
	b.init()
	b.seen[string(mid)] = now.Add(callTTL + rpc.SigTolerance)
	b.mu.Unlock()
	env, err := c.seal.seal(ctx, to, envelope.Pad(encoded), envelope.CoarseTimestamp(now))
	return env.data, env.here, err
}

// outgoingSDP checks an SDP this device sends and, in relay-only mode,
// removes its non-relay candidates.
func (c *Client) outgoingSDP(sdp string) (string, error) {
	mode, err := c.CallMode()
	if err != nil {
		return "", err
	}
	if mode == CallsOff {
		return "", ErrCallsOff
	}
	return checkSDP(sdp, mode != CallsDirect)
}

// applyCall handles a call message from sender, fetched from namespace
// ns, signed at signed. A malformed one returns an error wrapping
// ErrDropped (so it is counted) and ends its call cleanly.
func (c *Client) applyCall(ns int32, sender identity.AccountID, content *envelope.Content, signed time.Time) error {
	m := content.GetCall()
	now := c.now()
	if now.Sub(signed) > callTTL {
		return nil // stale: its call is over
	}
	b := &c.calls
	b.mu.Lock()
	b.init()
	b.prune(now)
	mid := string(content.GetMessageId())
	if _, replay := b.seen[mid]; replay {
		b.mu.Unlock()
		return nil
	}
	b.seen[mid] = signed.Add(callTTL + rpc.SigTolerance)
	b.mu.Unlock()
	id := hex.EncodeToString(m.GetCallUuid())
	if ns == NamespaceSync {
		if !sender.Equal(c.acct.ID()) {
			return fmt.Errorf("%w: call sync signed by another account", ErrDropped)
		}
		return c.applyOwnCall(id, m)
	}
	st, err := c.peerState(sender)
	if err != nil || st.blocked {
		return err // a blocked account never rings
	}
	mode, err := c.CallMode()
	if err != nil {
		return err
	}
	relayOnly := mode != CallsDirect
	switch m.GetType() {
	case envelope.CallMessage_TYPE_PRE_OFFER, envelope.CallMessage_TYPE_OFFER:
		return c.applyOffer(id, sender, st, mode, m, signed)
	case envelope.CallMessage_TYPE_ANSWER:
		sdp, err := checkSDP(m.GetSdp(), relayOnly)
		b.mu.Lock()
		e := b.calls[id]
		if e == nil || e.call.Incoming || !e.call.Peer.Equal(sender) || e.call.State != CallOutgoing {
			b.mu.Unlock()
			return nil // another device's call, or one over
		}
		if err != nil {
			b.mu.Unlock()
			return c.malformedCall(id, err)
		}
		e.timer.Stop()
		e.call.State, e.call.Answered = CallConnecting, now
		return c.deliverSignal(e, CallSignal{Type: "answer", SDP: sdp})
	case envelope.CallMessage_TYPE_ICE_CANDIDATES:
		cands, err := checkCandidates(m.GetCandidates(), relayOnly)
		b.mu.Lock()
		e := b.calls[id]
		if e == nil || !e.call.Peer.Equal(sender) || e.call.State == CallEnded {
			b.mu.Unlock()
			return nil
		}
		if err != nil {
			b.mu.Unlock()
			return c.malformedCall(id, err)
		}
		if len(cands) == 0 {
			b.mu.Unlock()
			return nil
		}
		return c.deliverSignal(e, CallSignal{Type: "candidates", Candidates: cands})
	case envelope.CallMessage_TYPE_END:
		b.mu.Lock()
		e := b.calls[id]
		if e == nil || !e.call.Peer.Equal(sender) || !e.end(now, endReason(m.GetEndReason(), e.call)) {
			b.mu.Unlock()
			return nil
		}
		call := e.call
		b.mu.Unlock()
		c.emitCall(call, &CallSignal{Type: "end"})
	}
	return nil
}

// deliverSignal records sig on e and reports it; the caller holds b.mu,
// which it releases.
func (c *Client) deliverSignal(e *callEntry, sig CallSignal) error {
	e.signals = append(e.signals, sig)
	call := e.call
	c.calls.mu.Unlock()
	c.emitCall(call, &sig)
	return nil
}

// endReason maps the reason a peer's END gives to this side's.
func endReason(r envelope.CallMessage_EndReason, call Call) string {
	switch r {
	case envelope.CallMessage_END_REASON_DECLINED:
		return EndDeclined
	case envelope.CallMessage_END_REASON_BUSY:
		return EndBusy
	case envelope.CallMessage_END_REASON_TIMEOUT:
		if call.Incoming {
			return EndTimeout // a missed call
		}
	}
	return EndHangup
}

// applyOffer handles a pre-offer or an offer: the first one of a call
// rings, if calls are on, the caller is an accepted contact and this
// device is not in another call.
func (c *Client) applyOffer(id string, sender identity.AccountID, st peerState, mode CallMode, m *envelope.CallMessage, signed time.Time) error {
	var sdp string
	var sdpErr error
	if m.GetType() == envelope.CallMessage_TYPE_OFFER {
		sdp, sdpErr = checkSDP(m.GetSdp(), mode != CallsDirect)
	}
	b := &c.calls
	now := c.now()
	b.mu.Lock()
	e := b.calls[id]
	if e != nil && e.call.State == CallEnded {
		b.mu.Unlock()
		return nil // over already (here, or answered elsewhere)
	}
	if e != nil && (!e.call.Incoming || !e.call.Peer.Equal(sender)) {
		b.mu.Unlock()
		return fmt.Errorf("%w: an offer for another account's call", ErrDropped)
	}
	if e == nil {
		uuid, _ := hex.DecodeString(id)
		left := b.timeout - now.Sub(signed)
		e = &callEntry{uuid: uuid, call: Call{ID: id, Peer: sender, Incoming: true, State: CallIncoming, Started: signed}}
		var reason string
		switch {
		case mode == CallsOff:
			// Silence: the caller's call ends as unavailable.
			b.mu.Unlock()
			return nil
		case !st.accepted:
			reason = CallsRequest
		case left <= 0:
			reason = EndTimeout
		case b.busy(id):
			reason = EndBusy
		}
		b.calls[id] = e
		if reason != "" {
			e.end(now, reason)
			call := e.call
			b.mu.Unlock()
			c.emitCall(call, nil)
			if reason == EndBusy {
				c.background(func(ctx context.Context) {
					c.sendCall(ctx, sender, &envelope.CallMessage{
						Type: envelope.CallMessage_TYPE_END, CallUuid: e.uuid, EndReason: envelope.CallMessage_END_REASON_BUSY,
					})
				})
			}
			return nil
		}
		e.timer = time.AfterFunc(left, func() { c.ringTimeout(id) })
		if m.GetType() == envelope.CallMessage_TYPE_PRE_OFFER || sdpErr != nil {
			call := e.call
			b.mu.Unlock()
			c.emitCall(call, nil)
			b.mu.Lock()
		}
	}
	if m.GetType() != envelope.CallMessage_TYPE_OFFER {
		b.mu.Unlock()
		return nil
	}
	if sdpErr != nil {
		b.mu.Unlock()
		return c.malformedCall(id, sdpErr)
	}
	if slices.ContainsFunc(e.signals, func(s CallSignal) bool { return s.Type == "offer" }) {
		b.mu.Unlock()
		return nil // one offer per call
	}
	return c.deliverSignal(e, CallSignal{Type: "offer", SDP: sdp})
}

// applyOwnCall handles a call message from another device of this
// account: the call it names was answered or declined there, so it stops
// ringing here. One that arrives before the call's own pre-offer is
// remembered, so the pre-offer does not ring.
func (c *Client) applyOwnCall(id string, m *envelope.CallMessage) error {
	if m.GetType() != envelope.CallMessage_TYPE_END {
		return nil
	}
	reason := EndDeclined
	if m.GetEndReason() == envelope.CallMessage_END_REASON_ANSWERED_ELSEWHERE {
		reason = EndAnsweredElsewhere
	}
	b := &c.calls
	now := c.now()
	b.mu.Lock()
	e := b.calls[id]
	if e == nil {
		b.calls[id] = &callEntry{call: Call{ID: id, State: CallEnded, Ended: now, EndReason: reason}}
		b.mu.Unlock()
		return nil
	}
	if !e.call.Incoming || e.call.State != CallIncoming || !e.end(now, reason) {
		b.mu.Unlock()
		return nil
	}
	call := e.call
	b.mu.Unlock()
	c.emitCall(call, &CallSignal{Type: "end"})
	return nil
}

// malformedCall counts a malformed call message and ends its call: the
// peer is told, and the engine gets an end.
func (c *Client) malformedCall(id string, err error) error {
	c.calls.malformed.Add(1)
	b := &c.calls
	b.mu.Lock()
	e, ok := b.calls[id]
	if !ok || !e.end(c.now(), EndFailed) {
		b.mu.Unlock()
		return fmt.Errorf("%w: %w", ErrDropped, err)
	}
	call, uuid := e.call, e.uuid
	b.mu.Unlock()
	c.emitCall(call, &CallSignal{Type: "end"})
	c.background(func(ctx context.Context) {
		c.sendCall(ctx, call.Peer, &envelope.CallMessage{Type: envelope.CallMessage_TYPE_END, CallUuid: uuid, EndReason: envelope.CallMessage_END_REASON_HANGUP})
	})
	return fmt.Errorf("%w: %w", ErrDropped, err)
}

// checkCandidates parses received candidates; in relay-only mode it
// keeps the relay ones alone, so this device's engine never checks a
// path that could reveal its address.
func checkCandidates(in []*envelope.CallMessage_IceCandidate, relayOnly bool) ([]ICECandidate, error) {
	if len(in) > maxCandBatch {
		return nil, fmt.Errorf("%w: %d candidates in a batch, at most %d", ErrBadCallSignal, len(in), maxCandBatch)
	}
	var out []ICECandidate
	for _, cd := range in {
		typ, err := parseCandidateType(cd.GetCandidate())
		if err != nil {
			return nil, err
		}
		if cd.GetSdpMlineIndex() > 0xffff || len(cd.GetSdpMid()) > 64 {
			return nil, fmt.Errorf("%w: candidate's media line out of range", ErrBadCallSignal)
		}
		if relayOnly && typ != "relay" {
			continue
		}
		out = append(out, ICECandidate{Candidate: cd.GetCandidate(), SDPMid: cd.GetSdpMid(), SDPMLineIndex: uint16(cd.GetSdpMlineIndex())})
	}
	return out, nil
}

// traceSignal is m as Options.CallSignalSent sees it.
func traceSignal(m *envelope.CallMessage) CallSignal {
	sig := CallSignal{SDP: m.GetSdp()}
	switch m.GetType() {
	case envelope.CallMessage_TYPE_PRE_OFFER:
		sig.Type = "pre-offer"
	case envelope.CallMessage_TYPE_OFFER:
		sig.Type = "offer"
	case envelope.CallMessage_TYPE_ANSWER:
		sig.Type = "answer"
	case envelope.CallMessage_TYPE_ICE_CANDIDATES:
		sig.Type = "candidates"
	case envelope.CallMessage_TYPE_END:
		sig.Type = "end"
	}
	for _, cd := range m.GetCandidates() {
		sig.Candidates = append(sig.Candidates, ICECandidate{Candidate: cd.GetCandidate(), SDPMid: cd.GetSdpMid(), SDPMLineIndex: uint16(cd.GetSdpMlineIndex())})
	}
	return sig
}
