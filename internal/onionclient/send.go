package onionclient

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
)

// Errors a *[HopError] wraps besides the relay errors of protocol/onion
// (onion.ErrTimeout and its siblings, through *onion.RelayError) and
// onion.ErrResponseUndecryptable.
var (
	// ErrUnreachable: the first hop could not be reached (connection,
	// TLS pin, time-out).
	ErrUnreachable = errors.New("onionclient: first hop unreachable")
	// ErrRejected: the first hop answered with an HTTP error instead of
	// an onion response: it could not peel the frame.
	ErrRejected = errors.New("onionclient: first hop rejected the request")
)

// HopError is a failed onion request. Hop is the position charged with
// the failure: 0 for the first hop, len(path) for the destination, and -1
// when no position can be named (a response that does not decrypt could
// have been damaged by any node).
type HopError struct {
	Hop int
	// Node is the node at Hop (zero when Hop is -1).
	Node identity.Ed25519PublicKey
	// Reporter is the position whose layer key authenticated a relay
	// error; -1 when the failure was seen by this client directly.
	Reporter int
	Err      error
}

func (e *HopError) Error() string {
	if e.Hop < 0 {
		return fmt.Sprintf("onion path failed: %v", e.Err)
	}
	return fmt.Sprintf("onion hop %d (%s) failed: %v", e.Hop, short(e.Node), e.Err)
}

func (e *HopError) Unwrap() error { return e.Err }

func short(k identity.Ed25519PublicKey) string { return k.String()[:12] }

// Send builds an onion request carrying payload through path to dest,
// posts it to path[0] (or dest, with an empty path) and opens the
// response. It returns the destination's status and body. Every failure
// but a cancelled ctx and a request that cannot be built is a *HopError.
func Send(ctx context.Context, p Poster, path []snapshot.Node, dest snapshot.Node, payload []byte) (int, []byte, error) {
	d, err := hop(dest)
	if err != nil {
		return 0, nil, fmt.Errorf("destination: %w", err)
	}
	return send(ctx, p, path, onion.Destination{Node: d}, dest, payload, nil)
}

// SendHold is Send for a request the destination may hold open (fast
// mode's long-poll: a retrieve whose wait is at most hold): every layer,
// relays and destination, carries hold (onion.Instruction.Hold, 1 ms to
// onion.MaxHold), so each hop waits up to its ordinary time-out plus hold,
// capped by its own limit. A hop whose cap cuts the hold short answers
// with an onion.CodeTimeout failure, a *HopError like any other. ctx must
// allow for the hold; p needs no time-out of its own (Pool has none). A
// hold of 0 is Send.
func SendHold(ctx context.Context, p Poster, path []snapshot.Node, dest snapshot.Node, payload []byte, hold time.Duration) (int, []byte, error) {
	return (*Sessions)(nil).SendHold(ctx, p, path, dest, payload, hold)
}

// SendHold is [SendHold] on the path whose sessions s are: the request
// opens sessions at the guard and the middle relay, or uses those it
// opened before (docs/onion.md). A nil s sends full requests.
func (s *Sessions) SendHold(ctx context.Context, p Poster, path []snapshot.Node, dest snapshot.Node, payload []byte, hold time.Duration) (int, []byte, error) {
	d, err := hop(dest)
	if err != nil {
		return 0, nil, fmt.Errorf("destination: %w", err)
	}
	return send(ctx, p, path, onion.Destination{Node: d, Hold: hold}, dest, payload, s)
}

// SendServer sends payload through path to a steward server (file or
// push server): the last node of path forwards it to target, if that
// node's allow-list has it, and the payload is sealed to serverKey, the
// server's X25519 key from the network file. A *HopError with Hop equal
// to len(path) blames the server.
func SendServer(ctx context.Context, p Poster, path []snapshot.Node, target onion.ServerTarget, serverKey snapshot.X25519Key, payload []byte) (int, []byte, error) {
	return (*Sessions)(nil).SendServer(ctx, p, path, target, serverKey, payload)
}

// SendServer is [SendServer] on the path whose sessions s are (see
// [Sessions.SendHold]).
func (s *Sessions) SendServer(ctx context.Context, p Poster, path []snapshot.Node, target onion.ServerTarget, serverKey snapshot.X25519Key, payload []byte) (int, []byte, error) {
	if len(path) == 0 {
		return 0, nil, errors.New("onionclient: a steward server is reached through at least one node")
	}
	x, err := ecdh.X25519().NewPublicKey(serverKey[:])
	if err != nil {
		return 0, nil, fmt.Errorf("server key: %w", err)
	}
	return send(ctx, p, path, onion.Destination{Node: onion.Hop{X25519: x}, Server: &target}, snapshot.Node{}, payload, s)
}

// send does the work of Send and SendServer; last is the destination
// node, zero for a server. With sessions, a request that finds a session
// hop without its session (an authenticated session_unknown: it never
// got past that hop) or a hop that does not speak sessions is sent again
// at once as a full request, which opens new sessions in the first case.
func send(ctx context.Context, p Poster, path []snapshot.Node, dest onion.Destination, last snapshot.Node, payload []byte, sess *Sessions) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		layers, use := sess.plan(len(path), dest.Hold == 0)
		status, body, st, err := sendOnce(ctx, p, path, dest, last, payload, layers)
		reached, refused, unknown := sessionOutcome(err)
		switch use {
		case useOpen:
			sess.opened(st, reached, refused)
			if refused && attempt == 0 {
				continue
			}
		case useWarm:
			if unknown {
				sess.lost(layers)
				if attempt == 0 {
					continue
				}
			}
		}
		return status, body, err
	}
}

// sendOnce builds one request with the given session layers and sends
// it; st is nil when the request could not be built.
func sendOnce(ctx context.Context, p Poster, path []snapshot.Node, dest onion.Destination, last snapshot.Node, payload []byte, layers []onion.SessionLayer) (int, []byte, *onion.ClientState, error) {
	hops := make([]onion.Hop, len(path))
	for i, n := range path {
		h, err := hop(n)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("hop %d: %w", i, err)
		}
		hops[i] = h
	}
	frame, st, err := onion.BuildSessions(hops, dest, payload, layers)
	if err != nil {
		return 0, nil, nil, err
	}
	at := func(i int) identity.Ed25519PublicKey {
		if i < len(path) {
			return path[i].Ed25519
		}
		return last.Ed25519
	}
	first := last
	if len(path) > 0 {
		first = path[0]
	}
	status, resp, err := p.Post(ctx, first.Ed25519, first.Address, OnionPath, frame, maxResponse)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, st, ctx.Err()
		}
		return 0, nil, st, &HopError{Hop: 0, Node: first.Ed25519, Reporter: -1, Err: fmt.Errorf("%w: %w", ErrUnreachable, err)}
	}
	if status != http.StatusOK {
		return 0, nil, st, &HopError{Hop: 0, Node: first.Ed25519, Reporter: -1, Err: fmt.Errorf("%w: HTTP %d", ErrRejected, status)}
	}
	st2, body, err := onion.OpenResponse(st, resp)
	var re *onion.RelayError
	switch {
	case err == nil:
		return st2, body, st, nil
	case errors.As(err, &re):
		h := re.Hop
		switch re.Code {
		case onion.CodeNextNodeNotFound, onion.CodeTimeout, onion.CodeDestinationFailed:
			// The reporter is fine; the node after it is not.
			h = min(h+1, len(path))
		}
		return 0, nil, st, &HopError{Hop: h, Node: at(h), Reporter: re.Hop, Err: err}
	default:
		return 0, nil, st, &HopError{Hop: -1, Reporter: -1, Err: err}
	}
}

func hop(n snapshot.Node) (onion.Hop, error) {
	x, err := ecdh.X25519().NewPublicKey(n.X25519[:])
	if err != nil {
		return onion.Hop{}, err
	}
	return onion.Hop{Ed25519: n.Ed25519.Bytes(), X25519: x}, nil
}
