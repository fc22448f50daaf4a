package client

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// TestICEServersDevnet: on a devnet, a client gets a TURN credential from
// the devnet's TURN server through an onion path, allocates a relay with
// it (pion's client) and reaches a loopback peer through it (the devnet
// allows loopback peers); a second call is served from the cache; and the
// TURN server's signed transparency report comes through onion paths too.
func TestICEServersDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole network")
	}
	d := startDevnet(t)
	tu := d.TURN()
	if tu.Address == "" || d.Network().Services.TURN == nil || d.Network().Services.TURN.Endpoint != tu.Endpoint {
		t.Fatalf("the devnet's network file names no TURN server: %+v", d.Network().Services.TURN)
	}
	c := open(t, newHome(t), Options{Network: d.Network()})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var servers []ICEServer
	var err error
	// The first onion path may meet a node that is still starting.
	for attempt := 0; attempt < 5; attempt++ {
		if servers, err = c.ICEServers(ctx); err == nil {
			break
		}
		t.Logf("ICEServers: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != 1 || servers[0].URLs[0] != "turn:"+tu.Address+"?transport=udp" || !strings.HasPrefix(servers[0].URLs[2], "turns:"+tu.TLSAddress) {
		t.Fatalf("ICEServers = %+v", servers)
	}
	if life := time.Until(servers[0].Expires); life < 50*time.Minute || life > 61*time.Minute {
		t.Fatalf("credential expires in %v, want about an hour", life)
	}
	again, err := c.ICEServers(ctx)
	if err != nil || again[0].Username != servers[0].Username {
		t.Fatalf("second call: %+v %v, want the cached credential", again, err)
	}

	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tc, err := pionturn.NewClient(&pionturn.ClientConfig{STUNServerAddr: tu.Address, TURNServerAddr: tu.Address, Conn: conn,
		Username: servers[0].Username, Password: servers[0].Credential, Realm: "hush"})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if err := tc.Listen(); err != nil {
		t.Fatal(err)
	}
	relayed, err := tc.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relayed.Close()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	msg := []byte("through the devnet's relay")
	buf := make([]byte, 1500)
	got := false
	for i := 0; i < 50 && !got; i++ {
		relayed.WriteTo(msg, peer.LocalAddr())
		peer.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, from, err := peer.ReadFrom(buf)
		if err == nil {
			got = bytes.Equal(buf[:n], msg) && from.String() == relayed.LocalAddr().String()
		}
	}
	if !got {
		t.Fatal("nothing reached the peer through the relay")
	}

	reps, err := c.TransparencyReports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		if r.Server != "turn" {
			continue
		}
		if r.Err != nil {
			t.Fatalf("turn report: %v", r.Err)
		}
		rec, ok := r.Report.Report.Record("allocations")
		if !ok || rec.Count != 1 {
			t.Fatalf("turn report's allocations: %+v %v", rec, ok)
		}
		return
	}
	t.Fatal("no turn report")
}
