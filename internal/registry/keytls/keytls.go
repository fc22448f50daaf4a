// Package keytls binds TLS to Ed25519 identities: a registry host or a
// service node presents a self-signed certificate for its own Ed25519 key,
// and its peer accepts the connection only if that key is the one it
// expects. No certificate authority is involved; the key is the identity,
// as in the network file and the registry snapshot.
//
// Pinning checks the leaf certificate's public key and nothing else (not
// names, not dates): the TLS 1.3 handshake itself proves that the peer
// holds the matching private key.
package keytls

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/registry/entry"
)

// ErrWrongKey is returned, wrapped, by handshakes whose peer presents a
// key that is not the one (or one of those) expected.
var ErrWrongKey = errors.New("peer presents an unexpected key")

// Certificate returns a self-signed TLS certificate for priv. Its dates
// span centuries because nobody checks them: the key is what is pinned.
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
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}

// PeerKey returns the Ed25519 key of the leaf certificate in raw.
func PeerKey(raw [][]byte) (identity.Ed25519PublicKey, error) {
	if len(raw) == 0 {
		return identity.Ed25519PublicKey{}, fmt.Errorf("%w: no certificate", ErrWrongKey)
	}
	cert, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return identity.Ed25519PublicKey{}, fmt.Errorf("%w: %v", ErrWrongKey, err)
	}
	pub, ok := cert.PublicKey.(ed25519.PublicKey)
	if !ok {
		return identity.Ed25519PublicKey{}, fmt.Errorf("%w: certificate key is not ed25519", ErrWrongKey)
	}
	k, err := identity.Ed25519PublicKeyFromBytes(pub)
	if err != nil {
		return identity.Ed25519PublicKey{}, fmt.Errorf("%w: %v", ErrWrongKey, err)
	}
	return k, nil
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
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return identity.Ed25519PublicKey{}, false
	}
	pub, ok := cs.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
	if !ok {
		return identity.Ed25519PublicKey{}, false
	}
	k, err := identity.Ed25519PublicKeyFromBytes(pub)
	if err != nil || !nodes(k) {
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

// pin returns a VerifyPeerCertificate that admits the keys trusted accepts.
func pin(trusted func(identity.Ed25519PublicKey) bool) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		k, err := PeerKey(raw)
		if err != nil {
			return err
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

// ServerConfig returns a TLS 1.3 server config presenting cert. With
// trusted non-nil the server demands a client certificate whose key
// trusted accepts (mutual TLS); with nil any client may connect.
func ServerConfig(cert tls.Certificate, trusted func(identity.Ed25519PublicKey) bool) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}
	if trusted != nil {
		c.ClientAuth = tls.RequireAnyClientCert
		c.VerifyPeerCertificate = pin(trusted)
	}
	return c
}

// ClientConfig returns a TLS 1.3 client config that accepts only servers
// whose key trusted accepts, and presents cert if it is non-nil.
func ClientConfig(cert *tls.Certificate, trusted func(identity.Ed25519PublicKey) bool) *tls.Config {
	c := &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Chain and name checks are replaced by the key pin below.
		InsecureSkipVerify:    true,
		VerifyPeerCertificate: pin(trusted),
	}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return c
}

// Prober checks that a service node answers at its advertised address
// with its key. Probe returns nil only if a TLS server at address
// completes a handshake presenting key; otherwise its error wraps
// entry.ErrUnreachable. It must return when ctx is done.
type Prober interface {
	Probe(ctx context.Context, address string, key identity.Ed25519PublicKey) error
}

// TLSProber is the real [Prober]: a TLS handshake pinned to the node key.
type TLSProber struct {
	// Timeout bounds one probe; zero means 5 seconds.
	Timeout time.Duration
}

var _ Prober = TLSProber{}

// Probe implements [Prober].
func (p TLSProber) Probe(ctx context.Context, address string, key identity.Ed25519PublicKey) error {
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := tls.Dialer{Config: ClientConfig(nil, Only(key))}
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) && !errors.Is(err, ErrWrongKey) {
			return fmt.Errorf("%w: %v", entry.ErrUnreachable, opErr.Err)
		}
		return fmt.Errorf("%w: %w", entry.ErrUnreachable, err)
	}
	return conn.Close()
}
