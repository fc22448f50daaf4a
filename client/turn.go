package client

import (
	"context"
	"errors"
	"fmt"

	"sync"
	"time"

	"github.com/hushnet/hush/protocol/netfile"
	wire "github.com/hushnet/hush/protocol/turn"
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

// turnRefresh is how long before its expiry a cached credential is
// replaced: a call set up with it then has this long before its
// allocation can no longer be refreshed.
const turnRefresh = 10 * time.Minute

// turnCache is the credential in use.
type turnCache struct {
	mu      sync.Mutex
	servers []ICEServer
	renew   time.Time // fetch a new one from then (network time)
}

// ICEServers fetches (through an onion path, from the network's TURN
// credential endpoint) a short-lived credential; cached until ~10 min
// before it expires. It returns [ErrNoTURN] when the network has no TURN
// server and [ErrNoNetwork] without a network; a refusal of the server
// is a *turn.Error (protocol/turn; errors.Is turn.ErrRateLimited when its
// issuance budget is used up).
func (c *Client) ICEServers(ctx context.Context) ([]ICEServer, error) {
	tr, ok := c.tr.(pushTransport)
	if c.network == nil || !ok {
		return nil, ErrNoNetwork
	}
	svc := c.network.Services.TURN
	if svc == nil || svc.X25519 == nil || svc.Endpoint == "" {
		return nil, ErrNoTURN
	}
	c.turn.mu.Lock()
	defer c.turn.mu.Unlock() // one fetch at a time: callers at once share it
	if c.turn.servers != nil && c.now().Before(c.turn.renew) {
		return cloneICE(c.turn.servers), nil
	}
	status, body, err := tr.DoServer(ctx, svc.OnionTarget(wire.Target), *svc.X25519, wire.MarshalRequest())
	if err != nil {
		return nil, fmt.Errorf("turn server: %w", err)
	}
	cred, err := wire.ParseAnswer(status, body)
	if err != nil {
		return nil, err
	}
	now := c.now()
	life := cred.Expires.Sub(now)
	if life <= 0 {
		return nil, fmt.Errorf("turn server: %w: the credential expired on arrival (clock skew?)", wire.ErrMalformed)
	}
	c.turn.servers = []ICEServer{{URLs: turnURLs(svc), Username: cred.Username, Credential: cred.Password, Expires: cred.Expires}}
	c.turn.renew = cred.Expires.Add(-min(turnRefresh, life/2))
	return cloneICE(c.turn.servers), nil
}

// turnURLs are the ICE URLs of a TURN entry of the network file.
func turnURLs(svc *netfile.Service) []string {
	urls := []string{"turn:" + svc.Address + "?transport=udp", "turn:" + svc.Address + "?transport=tcp"}
	if svc.TLSAddress != "" {
		urls = append(urls, "turns:"+svc.TLSAddress+"?transport=tcp")
	}
	return urls
}

func cloneICE(s []ICEServer) []ICEServer {
	out := make([]ICEServer, len(s))
	for i, v := range s {
		v.URLs = append([]string(nil), v.URLs...)
		out[i] = v
	}
	return out
}
