package client

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
	wire "github.com/hushnet/hush/protocol/turn"
)

// turnTransport answers credential requests as the TURN server's
// endpoint would, counting them.
type turnTransport struct {
	t      *testing.T
	now    func() time.Time
	key    snapshot.X25519Key
	port   uint16
	mu     sync.Mutex
	asked  int
	refuse bool
}

func (tt *turnTransport) Do(context.Context, snapshot.Node, []byte) (int, []byte, error) {
	return 0, nil, errors.New("no nodes here")
}

func (tt *turnTransport) DoServer(_ context.Context, target onion.ServerTarget, key snapshot.X25519Key, body []byte) (int, []byte, error) {
	if target.Target != wire.Target || target.Port != tt.port || key != tt.key || wire.ParseRequest(body) != nil {
		tt.t.Errorf("asked %+v sealed to %x: %q", target, key, body)
	}
	tt.mu.Lock()
	tt.asked++
	tt.mu.Unlock()
	if tt.refuse {
		st, b, _ := wire.MarshalError(&wire.Error{Code: wire.CodeRateLimited, RetryAfter: time.Second})
		return st, b, nil
	}
	exp := time.Unix(tt.now().Add(time.Hour).Unix(), 0)
	u := wire.Username(exp, make([]byte, wire.RandomSize))
	b, _ := (&wire.Credential{Username: u, Password: wire.Password([]byte("s"), u), Expires: exp}).Marshal()
	return http.StatusOK, b, nil
}

// TestICEServers: a network without TURN gives ErrNoTURN; the credential
// is fetched from the TURN entry's endpoint (not its TURN port), sealed
// to its key, and cached until ten minutes before it expires; a refusal
// comes back as the server's error.
func TestICEServers(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	addr := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
	x := snapshot.X25519Key{8}
	base := func() *netfile.Network {
		return &netfile.Network{ID: "testnet", Loopback: true, Limits: netfile.DefaultLimits(),
			Registries: []netfile.Registry{{Address: addr(7101)}}}
	}
	tr := &turnTransport{t: t, now: clock, key: x, port: 7104}

	c := open(t, newHome(t), Options{Network: base(), Transport: tr, Clock: clock})
	if _, err := c.ICEServers(t.Context()); !errors.Is(err, ErrNoTURN) {
		t.Fatalf("no TURN: %v", err)
	}

	nf := base()
	nf.Services.TURN = &netfile.Service{Address: addr(3478), TLSAddress: addr(5349), Endpoint: addr(7104), X25519: &x}
	c = open(t, newHome(t), Options{Network: nf, Transport: tr, Clock: clock})
	s1, err := c.ICEServers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp", "turns:127.0.0.1:5349?transport=tcp"}
	if len(s1) != 1 || len(s1[0].URLs) != 3 || s1[0].URLs[0] != want[0] || s1[0].URLs[1] != want[1] || s1[0].URLs[2] != want[2] {
		t.Fatalf("ICEServers = %+v", s1)
	}
	if _, err := wire.ParseUsername(s1[0].Username); err != nil || s1[0].Credential != wire.Password([]byte("s"), s1[0].Username) {
		t.Fatalf("credential %+v: %v", s1[0], err)
	}
	steps := []struct {
		advance time.Duration
		asked   int
	}{
		{0, 1},                // cached
		{49 * time.Minute, 1}, // 11 min left: still cached
		{2 * time.Minute, 2},  // 9 min left: a new one
		{time.Minute, 2},
	}
	for i, st := range steps {
		advance(st.advance)
		if _, err := c.ICEServers(t.Context()); err != nil {
			t.Fatal(err)
		}
		if tr.asked != st.asked {
			t.Fatalf("step %d: the endpoint was asked %d times, want %d", i, tr.asked, st.asked)
		}
	}
	tr.refuse = true
	advance(2 * time.Hour)
	if _, err := c.ICEServers(t.Context()); !errors.Is(err, wire.ErrRateLimited) {
		t.Fatalf("refused: %v", err)
	}
}
