package relaytest_test

import (
	"context"
	"crypto/ecdh"
	"errors"
	"net/http"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/internal/relay/relaytest"
	"github.com/hushnet/hush/protocol/onion"
)

// TestPinnedSteward: relays built as nodes build them (a PinnedSteward
// over the network file's servers) forward to an allowed server that
// presents the pinned key, presenting their own node certificate; they
// refuse a target off the list, and never deliver to a server whose TLS
// key is not the pinned one.
func TestPinnedSteward(t *testing.T) {
	good := relaytest.StartPinnedSteward(t, "/hush/files/v1")
	impostor := relaytest.StartPinnedSteward(t, "/hush/files/v1")
	// The impostor is listed under the key of the good server: a relay
	// reaching it finds another key and must not deliver.
	wrongKey := impostor.Server()
	wrongKey.Ed25519 = good.Ed25519
	nw := relaytest.Start(t, relaytest.Options{Nodes: 3, StewardServers: []relay.StewardServer{good.Server(), wrongKey}})
	pool := nw.ClientPool()
	path := []onion.Hop{hop(t, nw.Nodes[0].Info), hop(t, nw.Nodes[1].Info), hop(t, nw.Nodes[2].Info)}

	unknown := good.Target
	unknown.Target = "/hush/files/v2"
	plain := good.Target
	plain.Protocol = "http"
	tests := []struct {
		name   string
		st     *relaytest.Steward
		target onion.ServerTarget
		want   error
	}{
		{"allowed and pinned", good, good.Target, nil},
		{"unknown path", good, unknown, onion.ErrTargetNotAllowed},
		{"plain http", good, plain, onion.ErrTargetNotAllowed},
		{"wrong key", impostor, impostor.Target, onion.ErrDestinationFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := ecdh.X25519().NewPublicKey(tc.st.Key[:])
			if err != nil {
				t.Fatal(err)
			}
			frame, cs, err := onion.Build(path, onion.Destination{Node: onion.Hop{X25519: x}, Server: &tc.target}, []byte("upload"))
			if err != nil {
				t.Fatal(err)
			}
			status, resp, err := pool.Post(context.Background(), nw.Nodes[0].Key(), nw.Nodes[0].Info.Address, relay.Path, frame, onion.MaxFrameSize)
			if err != nil || status != http.StatusOK {
				t.Fatalf("%d %v", status, err)
			}
			s, body, err := onion.OpenResponse(cs, resp)
			if tc.want == nil {
				if err != nil || s != http.StatusOK || string(body) != "ok: upload" {
					t.Fatalf("%d %q %v", s, body, err)
				}
				if got := <-tc.st.Seen; got != "POST /hush/files/v1 upload" {
					t.Fatalf("server saw %q", got)
				}
				if got := <-tc.st.Relays; got != nw.Nodes[2].Key() {
					t.Fatalf("server saw relay %v, want the last relay's node key", got)
				}
				return
			}
			var re *onion.RelayError
			if !errors.Is(err, tc.want) || !errors.As(err, &re) || re.Hop != 2 {
				t.Fatalf("err %v, want %v from hop 2", err, tc.want)
			}
			select {
			case got := <-tc.st.Seen:
				t.Fatalf("refused request reached a server: %q", got)
			default:
			}
		})
	}
}

// TestPinnedStewardRefusesUnlisted: a PinnedSteward asked for a server it
// has no key for (a bug in the allow-list) refuses without dialling.
func TestPinnedStewardRefusesUnlisted(t *testing.T) {
	st := relaytest.StartPinnedSteward(t, "/hush/files/v1")
	ps, err := relay.NewPinnedSteward(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ps.Do(context.Background(), st.Target, []byte("x"), 1024); !errors.Is(err, relay.ErrStewardNotPinned) {
		t.Fatalf("unlisted server: %v", err)
	}
	if _, err := relay.NewPinnedSteward(nil, []relay.StewardServer{{Target: relaytest.StartSteward(t, "/x").Target, Ed25519: identity.Ed25519PublicKey{}}}); err == nil {
		t.Fatal("an http server was accepted for pinning")
	}
}
