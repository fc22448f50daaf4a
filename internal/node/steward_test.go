package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
	"github.com/hushnet/hush/internal/relay"
	"github.com/hushnet/hush/protocol/netfile"
	"github.com/hushnet/hush/protocol/onion"
	"github.com/hushnet/hush/protocol/snapshot"
	"github.com/hushnet/hush/protocol/transparency"
)

// TestStewardSeesRelayIdentity: a steward server that requests client
// certificates learns which node relays to it, with the same check nodes
// use (keytls.PeerNode), over the pinned connection the node's relay
// opens from the network file's services.
func TestStewardSeesRelayIdentity(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	relayKey := identity.Ed25519PublicKeyOf(priv)
	_, srvPriv, _ := ed25519.GenerateKey(rand.Reader)
	srvCert, err := keytls.Certificate(srvPriv)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan bool, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, ok := keytls.PeerNode(r.TLS, func(k identity.Ed25519PublicKey) bool { return k == relayKey })
		seen <- ok && k == relayKey
	}))
	srv.TLS = keytls.ServerConfig(srvCert, nil)
	keytls.RequestClientCerts(srv.TLS)
	srv.StartTLS()
	defer srv.Close()

	srvEd := identity.Ed25519PublicKeyOf(srvPriv)
	x := snapshot.X25519Key{9}
	network := &netfile.Network{Services: netfile.Services{Files: &netfile.Service{
		Address: srv.Listener.Addr().String(), Ed25519: &srvEd, X25519: &x,
	}}}
	servers := stewardServers(network)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	want := onion.ServerTarget{Host: "127.0.0.1", Port: uint16(p), Protocol: "https", Method: http.MethodPost, Target: "/hush/files/v1"}
	report := want
	report.Target = transparency.Target
	if len(servers) != 2 || servers[0].Target != want || servers[0].Ed25519 != srvEd || servers[1].Target != report || servers[1].Ed25519 != srvEd {
		t.Fatalf("steward servers %+v, want %+v pinned to the file's key", servers, want)
	}
	if got := stewardServers(nil); got != nil {
		t.Fatalf("a standalone node forwards to %+v", got)
	}

	cert, err := keytls.Certificate(priv)
	if err != nil {
		t.Fatal(err)
	}
	st, err := relay.NewPinnedSteward(&cert, servers)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Do(context.Background(), servers[0].Target, []byte("frame"), 1024); err != nil {
		t.Fatal(err)
	}
	if !<-seen {
		t.Fatal("the steward server did not see the relay's node identity")
	}
}
