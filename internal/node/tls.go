package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"time"

	"github.com/hushnet/hush/internal/keytls"
)

// Certificate returns a self-signed TLS certificate whose key is the
// node's Ed25519 identity key, so a client that knows the node's key can
// pin it (internal/nodeclient). Nothing else in the certificate matters to
// such a client; the validity period is long so that a node with a wrong
// clock still serves clients that check dates anyway.
func Certificate(key ed25519.PrivateKey, now time.Time) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "hush node"},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// ServerTLSConfig is the node's TLS configuration: TLS 1.3 only, with Go's
// default key exchanges (which include the hybrid post-quantum
// X25519MLKEM768) left as they are. It requests, never requires, a client
// certificate: a relay forwarding onion traffic presents its own node
// certificate so that this node can budget it per node identity
// (keytls.PeerNode, internal/relay), while clients present none.
func ServerTLSConfig(cert tls.Certificate) *tls.Config {
	c := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
	}
	keytls.RequestClientCerts(c)
	return c
}

// MaxStreamsPerConn bounds the HTTP/2 streams one connection may have
// open at once, so that one connection holds no more requests than that
// (an HTTP/1.1 connection holds one). 100 is the least RFC 9113 asks a
// server to allow; a relay with more to send opens another connection,
// which the relay's per-node budget still counts.
const MaxStreamsPerConn = 100

// HTTP2Config is the node's HTTP/2 server configuration.
func HTTP2Config() *http.HTTP2Config {
	return &http.HTTP2Config{MaxConcurrentStreams: MaxStreamsPerConn}
}
