package callrtc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/identity"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/zaf/g711"
)

// frame is one RTP packet's worth of audio: 20 ms.
const (
	frame        = 20 * time.Millisecond
	frameSamples = SampleRate / 50
)

// candidateBatch is how long local candidates wait to go out together:
// each batch is one message through an onion path.
const candidateBatch = 150 * time.Millisecond

// ErrCallEnded: the call is over.
var ErrCallEnded = errors.New("callrtc: the call ended")

// Options configure a [Session].
type Options struct {
	// Audio is what is sent (8 kHz samples, e.g. from [ReadWAV]); after
	// it, and without it, silence.
	Audio []int16
	// ICEServers replace the ones asked of the client
	// ([client.Client.ICEServers]); tests.
	ICEServers []client.ICEServer
	// IncludeLoopback lets direct mode use loopback host candidates (a
	// devnet on 127.0.0.1).
	IncludeLoopback bool
	Logger          *slog.Logger
}

// Session is one side of a call: its peer connection and the signals
// between it and the client library.
type Session struct {
	c    *client.Client
	id   string
	pc   *webrtc.PeerConnection
	log  *slog.Logger
	opts Options

	events <-chan client.Event
	unsub  func()

	mu        sync.Mutex
	recording []int16
	remoteSet bool
	early     []client.ICECandidate // remote candidates before the remote description
	pending   []client.ICECandidate // local candidates to send
	canSend   bool                  // the offer or answer is out: candidates may follow
	flushing  bool
	endErr    error

	flowing     chan struct{} // closed when the first audio packet arrives
	flowingOnce sync.Once
	flowingAt   time.Time
	done        chan struct{} // closed when the call is over
	doneOnce    sync.Once
	wg          sync.WaitGroup
}

// Dial calls peer: it starts the call ([client.Client.StartCall]), builds
// the peer connection and sends the offer. Someone must be receiving on
// c ([client.Client.Run] or Receive) for the answer to arrive.
func Dial(ctx context.Context, c *client.Client, peer identity.AccountID, o Options) (*Session, error) {
	s, err := newSession(ctx, c, o)
	if err != nil {
		return nil, err
	}
	call, err := c.StartCall(ctx, peer)
	if err != nil {
		s.close()
		return nil, err
	}
	s.id = call.ID
	offer, err := s.pc.CreateOffer(nil)
	if err == nil {
		err = s.pc.SetLocalDescription(offer)
	}
	if err == nil {
		err = c.SendCallOffer(ctx, s.id, offer.SDP)
	}
	if err != nil {
		c.EndCall(context.WithoutCancel(ctx), s.id, client.EndHangup)
		s.close()
		return nil, err
	}
	s.start()
	return s, nil
}

// Answer answers the ringing call id: it builds the peer connection from
// the offer (waiting for it if only the pre-offer arrived) and answers
// ([client.Client.AnswerCall]).
func Answer(ctx context.Context, c *client.Client, id string, o Options) (*Session, error) {
	s, err := newSession(ctx, c, o)
	if err != nil {
		return nil, err
	}
	s.id = id
	fail := func(err error) (*Session, error) {
		s.close()
		return nil, err
	}
	var offer string
	var cands []client.ICECandidate
	sigs, err := c.PendingCallSignals(id)
	if err != nil {
		return fail(err)
	}
	for offer == "" {
		for _, sig := range sigs {
			switch sig.Type {
			case "offer":
				offer = sig.SDP
			case "candidates":
				cands = append(cands, sig.Candidates...)
			case "end":
				return fail(ErrCallEnded)
			}
		}
		if offer != "" {
			break
		}
		select {
		case e, ok := <-s.events:
			if !ok {
				return fail(ErrCallEnded)
			}
			if e.Kind != client.EventCall || e.Call.ID != id {
				continue
			}
			if e.Call.State == client.CallEnded {
				return fail(ErrCallEnded)
			}
			sigs = nil
			if e.CallSignal != nil {
				sigs = []client.CallSignal{*e.CallSignal}
			}
		case <-ctx.Done():
			return fail(ctx.Err())
		}
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		c.EndCall(context.WithoutCancel(ctx), id, client.EndHangup)
		return fail(err)
	}
	s.mu.Lock()
	s.remoteSet = true
	s.mu.Unlock()
	s.addRemote(cands)
	answer, err := s.pc.CreateAnswer(nil)
	if err == nil {
		err = s.pc.SetLocalDescription(answer)
	}
	if err == nil {
		err = c.AnswerCall(ctx, id, answer.SDP)
	}
	if err != nil {
		c.EndCall(context.WithoutCancel(ctx), id, client.EndHangup)
		return fail(err)
	}
	s.start()
	return s, nil
}

func newSession(ctx context.Context, c *client.Client, o Options) (*Session, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	mode, err := c.CallMode()
	if err != nil {
		return nil, err
	}
	if mode == client.CallsOff {
		return nil, client.ErrCallsOff
	}
	servers := o.ICEServers
	if servers == nil {
		if servers, err = c.ICEServers(ctx); err != nil {
			if mode != client.CallsDirect || !errors.Is(err, client.ErrNoTURN) {
				return nil, fmt.Errorf("callrtc: TURN credentials: %w", err)
			}
		}
	}
	var ice []webrtc.ICEServer
	for _, s := range servers {
		ice = append(ice, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: SampleRate, Channels: 1},
		PayloadType:        0,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(iceMDNSDisabled)
	se.SetIncludeLoopbackCandidate(o.IncludeLoopback)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
	policy := webrtc.ICETransportPolicyRelay
	if mode == client.CallsDirect {
		policy = webrtc.ICETransportPolicyAll
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: ice, ICETransportPolicy: policy})
	if err != nil {
		return nil, err
	}
	s := &Session{c: c, pc: pc, log: o.Logger, opts: o, flowing: make(chan struct{}), done: make(chan struct{})}
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: SampleRate, Channels: 1}, "audio", "hush")
	if err != nil {
		pc.Close()
		return nil, err
	}
	if _, err := pc.AddTrack(track); err != nil {
		pc.Close()
		return nil, err
	}
	s.events, s.unsub = c.Subscribe(256)
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			s.flush(true)
			return
		}
		j := cand.ToJSON()
		ic := client.ICECandidate{Candidate: j.Candidate}
		if j.SDPMid != nil {
			ic.SDPMid = *j.SDPMid
		}
		if j.SDPMLineIndex != nil {
			ic.SDPMLineIndex = *j.SDPMLineIndex
		}
		s.mu.Lock()
		s.pending = append(s.pending, ic)
		s.mu.Unlock()
		s.flush(false)
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		s.wg.Go(func() { s.receive(tr) })
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed {
			s.finish(fmt.Errorf("callrtc: the connection failed"))
			c.EndCall(context.Background(), s.id, client.EndHangup)
		}
	})
	s.wg.Go(func() { s.send(track) })
	return s, nil
}

// start lets candidates go out and follows the call's signals.
func (s *Session) start() {
	s.mu.Lock()
	s.canSend = true
	s.mu.Unlock()
	s.flush(false)
	s.wg.Go(s.follow)
}

// follow applies the peer's signals until the call ends.
func (s *Session) follow() {
	for {
		select {
		case <-s.done:
			return
		case e, ok := <-s.events:
			if !ok {
				s.finish(ErrCallEnded)
				return
			}
			if e.Kind != client.EventCall || e.Call.ID != s.id {
				continue
			}
			if sig := e.CallSignal; sig != nil {
				switch sig.Type {
				case "answer":
					if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.SDP}); err != nil {
						s.finish(err)
						s.c.EndCall(context.Background(), s.id, client.EndHangup)
						return
					}
					s.mu.Lock()
					s.remoteSet = true
					early := s.early
					s.early = nil
					s.mu.Unlock()
					s.addRemote(early)
				case "candidates":
					s.mu.Lock()
					if !s.remoteSet {
						s.early = append(s.early, sig.Candidates...)
						s.mu.Unlock()
						continue
					}
					s.mu.Unlock()
					s.addRemote(sig.Candidates)
				}
			}
			if e.Call.State == client.CallEnded {
				s.finish(fmt.Errorf("%w: %s", ErrCallEnded, e.Call.EndReason))
				return
			}
		}
	}
}

func (s *Session) addRemote(cands []client.ICECandidate) {
	for _, cd := range cands {
		mid, idx := cd.SDPMid, cd.SDPMLineIndex
		if err := s.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: cd.Candidate, SDPMid: &mid, SDPMLineIndex: &idx}); err != nil {
			s.log.Debug("a remote candidate was refused", "err", err)
		}
	}
}

// flush sends the local candidates gathered, in batches: at once when
// gathering is complete, else after candidateBatch.
func (s *Session) flush(now bool) {
	s.mu.Lock()
	if !s.canSend || len(s.pending) == 0 || (s.flushing && !now) {
		s.mu.Unlock()
		return
	}
	s.flushing = true
	s.mu.Unlock()
	s.wg.Go(func() {
		if !now {
			select {
			case <-time.After(candidateBatch):
			case <-s.done:
			}
		}
		s.mu.Lock()
		batch := s.pending
		s.pending = nil
		s.flushing = false
		s.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.c.SendCallCandidates(ctx, s.id, batch); err != nil {
			s.log.Debug("sending candidates", "err", err)
		}
	})
}

// send sends the audio, then silence, a frame every 20 ms, from when the
// connection is up.
func (s *Session) send(track *webrtc.TrackLocalStaticSample) {
	connected := make(chan struct{})
	var once sync.Once
	s.pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		if st == webrtc.ICEConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	select {
	case <-connected:
	case <-s.done:
		return
	}
	tick := time.NewTicker(frame)
	defer tick.Stop()
	audio := s.opts.Audio
	pcm := make([]byte, frameSamples*2)
	for {
		clear(pcm)
		n := min(frameSamples, len(audio))
		for i := range n {
			binary.LittleEndian.PutUint16(pcm[2*i:], uint16(audio[i]))
		}
		audio = audio[n:]
		if err := track.WriteSample(media.Sample{Data: g711.EncodeUlaw(pcm), Duration: frame}); err != nil {
			s.log.Debug("writing audio", "err", err)
		}
		select {
		case <-tick.C:
		case <-s.done:
			return
		}
	}
}

// receive records the peer's audio and reports media flowing.
func (s *Session) receive(tr *webrtc.TrackRemote) {
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if len(pkt.Payload) == 0 {
			continue
		}
		s.flowingOnce.Do(func() {
			s.mu.Lock()
			s.flowingAt = time.Now()
			s.mu.Unlock()
			close(s.flowing)
			s.c.CallConnected(s.id)
		})
		pcm := g711.DecodeUlaw(pkt.Payload)
		s.mu.Lock()
		for i := 0; i+1 < len(pcm); i += 2 {
			s.recording = append(s.recording, int16(binary.LittleEndian.Uint16(pcm[i:])))
		}
		s.mu.Unlock()
	}
}

// ID returns the call's ID.
func (s *Session) ID() string { return s.id }

// Flowing is closed when the first audio packet from the peer arrives.
func (s *Session) Flowing() <-chan struct{} { return s.flowing }

// FlowingAt is when the first audio packet arrived (zero before).
func (s *Session) FlowingAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flowingAt
}

// Done is closed when the call is over; Err then says why.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is why the call ended (wrapping [ErrCallEnded] when the peer or the
// client ended it), nil while it runs.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endErr
}

// Recording returns the audio received so far.
func (s *Session) Recording() []int16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int16(nil), s.recording...)
}

// CandidatePair is the types of the selected ICE candidate pair (host,
// srflx, prflx, relay).
type CandidatePair struct{ Local, Remote string }

// SelectedPair returns the types of the nominated candidate pair from
// pion's stats report; ok is false while there is none.
func (s *Session) SelectedPair() (pair CandidatePair, ok bool) {
	rep := s.pc.GetStats()
	for _, st := range rep {
		p, isPair := st.(webrtc.ICECandidatePairStats)
		if !isPair || !p.Nominated || p.State != webrtc.StatsICECandidatePairStateSucceeded {
			continue
		}
		l, lok := rep[p.LocalCandidateID].(webrtc.ICECandidateStats)
		r, rok := rep[p.RemoteCandidateID].(webrtc.ICECandidateStats)
		if lok && rok {
			return CandidatePair{Local: l.CandidateType.String(), Remote: r.CandidateType.String()}, true
		}
	}
	return CandidatePair{}, false
}

// Hangup ends the call and the session.
func (s *Session) Hangup(ctx context.Context) error {
	err := s.c.EndCall(ctx, s.id, client.EndHangup)
	if errors.Is(err, client.ErrNoCall) {
		err = nil
	}
	s.finish(fmt.Errorf("%w: %s", ErrCallEnded, client.EndHangup))
	s.close()
	return err
}

// Close ends the session (not the call: [Session.Hangup] does both) and
// waits for its goroutines.
func (s *Session) Close() error {
	s.finish(ErrCallEnded)
	return s.close()
}

func (s *Session) finish(err error) {
	s.doneOnce.Do(func() {
		s.mu.Lock()
		s.endErr = err
		s.mu.Unlock()
		close(s.done)
	})
}

func (s *Session) close() error {
	s.finish(ErrCallEnded)
	err := s.pc.Close()
	s.unsub()
	s.wg.Wait()
	return err
}

var iceMDNSDisabled = ice.MulticastDNSModeDisabled
