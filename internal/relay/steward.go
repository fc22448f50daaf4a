package relay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/hushnet/hush/protocol/onion"
)

// HTTPSteward is a [Steward] over an http.Client. Steward servers are
// reached over HTTPS with the client's certificate checks; the payload
// inside is sealed to the server's own X25519 key, so the relay could not
// read it even over plain HTTP.
type HTTPSteward struct {
	Client *http.Client
}

var _ Steward = HTTPSteward{}

// Do implements [Steward].
func (s HTTPSteward) Do(ctx context.Context, t onion.ServerTarget, frame []byte, limit int) (int, []byte, error) {
	u := t.Protocol + "://" + net.JoinHostPort(t.Host, strconv.Itoa(int(t.Port))) + t.Target
	// The frame goes as the body whatever the method: the server's own
	// request is inside it.
	req, err := http.NewRequestWithContext(ctx, t.Method, u, bytes.NewReader(frame))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return 0, nil, err
	}
	if len(b) > limit {
		return 0, nil, fmt.Errorf("relay: steward answer over %d bytes", limit)
	}
	return resp.StatusCode, b, nil
}
