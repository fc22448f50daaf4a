package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/keytls"
)

// TestStewardSeesRelayIdentity: a steward server that requests client
// certificates learns which node relays to it, with the same check nodes
// use (keytls.PeerNode).
func TestStewardSeesRelayIdentity(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	relayKey := identity.Ed25519PublicKeyOf(priv)
	seen := make(chan bool, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, ok := keytls.PeerNode(r.TLS, func(k identity.Ed25519PublicKey) bool { return k == relayKey })
		seen <- ok && k == relayKey
	}))
	srv.TLS = &tls.Config{}
	keytls.RequestClientCerts(srv.TLS)
	srv.StartTLS()
	defer srv.Close()

	cert, err := keytls.Certificate(priv)
	if err != nil {
		t.Fatal(err)
	}
	c := stewardClient(cert)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c.Transport.(*http.Transport).TLSClientConfig.RootCAs = roots
	resp, err := c.Post(srv.URL+"/file", "application/octet-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !<-seen {
		t.Fatal("the steward server did not see the relay's node identity")
	}
}
