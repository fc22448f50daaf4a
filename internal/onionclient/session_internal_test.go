package onionclient

import (
	"crypto/ecdh"
	"crypto/rand"
	"testing"
	"time"

	"github.com/hushnet/hush/protocol/onion"
)

// openedState is the client state of an opening request whose sessions
// came back, as BuildSessions makes it.
func openedState(t *testing.T, layers []onion.SessionLayer) *onion.ClientState {
	t.Helper()
	hops := make([]onion.Hop, 4)
	for i := range hops {
		k, _ := ecdhKey()
		hops[i] = onion.Hop{Ed25519: make([]byte, 32), X25519: k}
	}
	_, st, err := onion.BuildSessions(hops[:3], onion.Destination{Node: hops[3]}, nil, layers)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestSessionsLifetime(t *testing.T) {
	now := time.Unix(1e9, 0)
	s := NewSessions(func() time.Time { return now })
	open := func() [2]onion.SessionID {
		t.Helper()
		layers, use := s.plan(3, true)
		if use != useOpen {
			t.Fatalf("plan = %v, want to open", use)
		}
		if _, use := s.plan(3, true); use != useFull {
			t.Fatalf("while opening: %v, want a full request", use)
		}
		s.opened(openedState(t, layers), true, false)
		return [2]onion.SessionID{*layers[0].Open, *layers[1].Open}
	}
	first := open()
	for c := uint64(1); c <= onion.MaxSessionRequests; c++ {
		layers, use := s.plan(3, false)
		if use != useWarm || layers[0].Counter != c || layers[0].Use.ID != first[0] || layers[1].Use.ID != first[1] {
			t.Fatalf("request %d: %v counter %d", c, use, layers[0].Counter)
		}
	}
	// Spent: a held request may not open, an ordinary one opens anew.
	if _, use := s.plan(3, false); use != useFull {
		t.Fatalf("held request after the last counter: %v", use)
	}
	second := open()
	if second == first || second[0] == second[1] {
		t.Fatal("new sessions reuse an ID")
	}
	now = now.Add(onion.SessionLifetime)
	if _, use := s.plan(3, true); use != useOpen {
		t.Fatalf("after the lifetime: %v, want to open", use)
	}
	// An opening that does not come back leaves no sessions.
	s.opened(nil, false, false)
	if _, use := s.plan(3, true); use != useOpen {
		t.Fatalf("after a failed opening: %v", use)
	}
	// A hop that refuses sessions turns them off for the path.
	s.opened(nil, false, true)
	if _, use := s.plan(3, true); use != useFull {
		t.Fatalf("after a refusal: %v", use)
	}
	// Short paths and nil Sessions never use sessions.
	if _, use := NewSessions(time.Now).plan(2, true); use != useFull {
		t.Fatal("sessions on a path of 2 relays")
	}
	if _, use := (*Sessions)(nil).plan(3, true); use != useFull {
		t.Fatal("sessions without Sessions")
	}
}

func ecdhKey() (*ecdh.PublicKey, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return k.PublicKey(), nil
}
