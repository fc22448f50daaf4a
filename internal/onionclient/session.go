package onionclient

import (
	"errors"
	"sync"
	"time"

	"github.com/hushnet/hush/protocol/onion"
)

// sessionHops is how many relays of a path hold sessions: the guard and
// the middle relay (onion.MaxSessionHop+1). A path needs at least one
// relay more, which keeps a fresh key per request like the destination.
const sessionHops = onion.MaxSessionHop + 1

// Sessions are one path's onion sessions at its first two relays
// (docs/onion.md). A path manager keeps one per path and passes it to
// [SendSessions]; a new path starts a new Sessions. It is safe for
// concurrent use: parallel requests on a path take distinct counters.
type Sessions struct {
	clock func() time.Time

	mu sync.Mutex // guards everything below
	// open are the sessions in use (nil: none), opened at openedAt, and
	// counter the last counter taken.
	open     []onion.Session
	openedAt time.Time
	counter  uint64
	// opening is set while a request that opens sessions is in flight;
	// other requests then go as full requests rather than open more.
	opening bool
	// off is set when a relay of the path refused to open a session (an
	// older node, or one without a signing key): full requests only.
	off bool
}

// NewSessions returns the sessions of a new path; clock reads the time
// for their lifetime.
func NewSessions(clock func() time.Time) *Sessions {
	return &Sessions{clock: clock}
}

// sessionUse is what plan chose for one request.
type sessionUse int

const (
	useFull sessionUse = iota // no session: an ordinary full request
	useOpen                   // open sessions
	useWarm                   // use the open sessions
)

// plan chooses how the next request on a path of relays relays goes.
// A request that may not open sessions (mayOpen false: a held long-poll,
// which would keep the path's other requests from using the sessions
// for its whole hold) uses open ones or goes full.
func (s *Sessions) plan(relays int, mayOpen bool) ([]onion.SessionLayer, sessionUse) {
	if s == nil || relays <= sessionHops {
		return nil, useFull
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.off {
		return nil, useFull
	}
	if s.open != nil && s.counter < onion.MaxSessionRequests && s.clock().Sub(s.openedAt) < onion.SessionLifetime {
		s.counter++
		layers := make([]onion.SessionLayer, sessionHops)
		for i := range layers {
			layers[i] = onion.SessionLayer{Use: &s.open[i], Counter: s.counter}
		}
		return layers, useWarm
	}
	if s.opening || !mayOpen {
		return nil, useFull
	}
	// Spent or expired: open new ones, with new random IDs, on the
	// same path.
	s.open, s.opening = nil, true
	layers := make([]onion.SessionLayer, sessionHops)
	for i := range layers {
		id := onion.NewSessionID()
		layers[i] = onion.SessionLayer{Open: &id}
	}
	return layers, useOpen
}

// opened ends an opening request. reached reports whether a node past
// the session hops authenticated the answer (the destination, or a
// failure reported by the last relay or later), which shows that both
// session hops peeled their layer and opened their session; only then
// are the sessions used. refused reports that a session hop answered
// bad_instruction to the opening: it does not speak sessions.
func (s *Sessions) opened(st *onion.ClientState, reached, refused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opening = false
	switch {
	case refused:
		s.off = true
	case reached:
		open := make([]onion.Session, sessionHops)
		for i := range open {
			var ok bool
			if open[i], ok = st.OpenedSession(i); !ok {
				return
			}
		}
		s.open, s.openedAt, s.counter = open, s.clock(), 0
	}
}

// lost drops the sessions after a session hop answered session_unknown
// (authenticated: the hop's signature over the very session and counter
// of the request), unless newer ones replaced them meanwhile.
func (s *Sessions) lost(used []onion.SessionLayer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open != nil && len(used) > 0 && used[0].Use == &s.open[0] {
		s.open = nil
	}
}

// sessionOutcome classifies a request's error for the sessions it used:
// whether a node past the session hops authenticated the answer, whether
// a session hop refused to open one, and whether one lost its session.
func sessionOutcome(err error) (reached, refused, unknown bool) {
	if err == nil {
		return true, false, false
	}
	var he *HopError
	if !errors.As(err, &he) {
		return false, false, false
	}
	var re *onion.RelayError
	if !errors.As(err, &re) {
		return false, false, false
	}
	switch {
	case re.Hop >= sessionHops:
		return true, false, false
	case re.Code == onion.CodeBadInstruction:
		return false, true, false
	case re.Code == onion.CodeSessionUnknown:
		return false, false, true
	}
	return false, false, false
}
