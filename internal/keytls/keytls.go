// Package keytls binds TLS to Ed25519 identities, for every HTTPS hop of
// hush: a service node, a relay or a registry host presents a self-signed
// certificate for its own Ed25519 key ([Certificate]), and its peer
// accepts the connection only if that key is the one it expects
// ([ClientConfig], [ServerConfig]). No certificate authority is involved;
// the key is the identity, as in the network file and the registry
// snapshot.
//
// Pinning checks the leaf certificate's public key and nothing else (not
// names, not dates): the TLS 1.3 handshake itself proves that the peer
// holds the matching private key. The check runs in VerifyConnection, so
// it also covers resumed sessions.
package keytls

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/hushnet/hush/identity"
)

// ErrWrongKey is returned, wrapped, by handshakes whose peer presents a
// key that is not the one (or one of those) expected, or no Ed25519 key.
var ErrWrongKey = errors.New("peer presents an unexpected key")

// Certificate returns a self-signed TLS certificate for priv, usable by a
// server and as a client certificate. Its dates span centuries because
// nobody checks them: the key is what is pinned, and a host with a wrong
// clock still serves peers that check dates anyway.
func Certificate(priv ed25519.PrivateKey) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "hush " + identity.Ed25519PublicKeyOf(priv).String()[:16]},
		NotBefore:             time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("keytls: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("keytls: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}, nil
}

// peerKey returns the Ed25519 key of the peer's leaf certificate.
func peerKey(cs *tls.ConnectionState) (identity.Ed25519PublicKey, bool) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return identity.Ed25519PublicKey{}, false
	}
	pub, ok := cs.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
	if !ok {
		return identity.Ed25519PublicKey{}, false
	}
	k, err := identity.Ed25519PublicKeyFromBytes(pub)
	return k, err == nil
}

// PeerNode returns the node identity a TLS peer proved: the Ed25519 key
// of the certificate it presented, when nodes accepts that key (in a
// service node, when the key is a node of the current snapshot). It
// reports false for a nil state, a peer without a certificate (an
// ordinary client), a certificate without an Ed25519 key, and a key nodes
// refuses; a server treats all of those as clients.
//
// This is the proof by which a relay identifies itself to the next hop
// (internal/relay) and to steward servers, so that they can budget its
// traffic per relay rather than per address. Possession is proven by the
// handshake itself: a TLS 1.3 client signs the transcript with the
// certificate's key (CertificateVerify), which crypto/tls checks whenever
// a certificate is sent, even when the server, like a node, only requests
// one ([RequestClientCerts]) and verifies no chain. Names, dates and
// issuers are ignored, as everywhere in this package.
func PeerNode(cs *tls.ConnectionState, nodes func(identity.Ed25519PublicKey) bool) (identity.Ed25519PublicKey, bool) {
	k, ok := peerKey(cs)
	if !ok || !nodes(k) {
		return identity.Ed25519PublicKey{}, false
	}
	return k, true
}

// RequestClientCerts makes a server config ask every client for a
// certificate without requiring one or checking its chain, so that relays
// can identify themselves ([PeerNode]) while clients connect without one.
func RequestClientCerts(c *tls.Config) {
	c.ClientAuth = tls.RequestClientCert
}

// verify returns a VerifyConnection that admits the keys trusted accepts.
func verify(trusted func(identity.Ed25519PublicKey) bool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		k, ok := peerKey(&cs)
		if !ok {
			return fmt.Errorf("%w: no Ed25519 certificate", ErrWrongKey)
		}
		if !trusted(k) {
			return fmt.Errorf("%w: %s", ErrWrongKey, k)
		}
		return nil
	}
}

// Only returns a trust function that accepts exactly k.
func Only(k identity.Ed25519PublicKey) func(identity.Ed25519PublicKey) bool {
	return func(o identity.Ed25519PublicKey) bool { return o == k }
}

// ServerConfig returns a TLS 1.3 server config presenting cert, with Go's
// default key exchanges (which include the hybrid post-quantum
// X25519MLKEM768) left as they are. With trusted non-nil the server
// demands a client certificate whose key trusted accepts (mutual TLS);
// with nil any client may connect.
func ServerConfig(cert tls.Certificate, trusted func(identity.Ed25519PublicKey) bool) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}
	if trusted != nil {
		c.ClientAuth = tls.RequireAnyClientCert
		c.VerifyConnection = verify(trusted)
	}
	return c
}

// ClientConfig returns a TLS 1.3 client config that accepts only servers
// whose key trusted accepts, and presents cert if it is non-nil. trusted
// runs in every handshake, resumed ones included, and may record the key
// it is shown (trust on first use).
func ClientConfig(cert *tls.Certificate, trusted func(identity.Ed25519PublicKey) bool) *tls.Config {
	c := &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Chain and name checks are replaced by the key pin.
		InsecureSkipVerify: true,
		VerifyConnection:   verify(trusted),
	}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return c
}
