package devnet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hushnet/hush/crypto/webpush"
	"github.com/hushnet/hush/internal/push"
)

// The devnet's Web Push test setting. Web Push endpoints must be https,
// and a real push server refuses loopback ones; a devnet's push server
// runs with the test setting instead: loopback endpoints allowed, and one
// extra trusted CA, the devnet's own, whose certificate and key the
// devnet writes into its folder. A local Web Push receiver (`hush tool
// webpush-receiver`) issues itself a certificate from that CA, so TLS
// between the push server and it is verified like any other; nothing
// skips verification. The CA's name constraints let it sign only
// localhost and loopback addresses, so its key, readable by the user,
// cannot vouch for any real host.
//
// The devnet also gives its push server its VAPID key (RFC 8292) before
// starting it, and writes the public half into the folder: that is the
// key a receiver checks pushes against, the one the push server
// announces in its info answer.

// Files of the Web Push test setting inside a devnet's folder.
const (
	// WebPushCAFile is the CA certificate (PEM), the push server's
	// test_extra_roots.
	WebPushCAFile = "webpush-ca.pem"
	// WebPushCAKeyFile is the CA's private key (PKCS#8 PEM, mode 0600).
	WebPushCAKeyFile = "webpush-ca-key.pem"
	// WebPushVAPIDFile is the push server's VAPID public key, base64url
	// of the uncompressed P-256 point.
	WebPushVAPIDFile = "webpush-vapid.txt"
)

// caLifetime and certLifetime bound the CA and the certificates it
// issues; a devnet's folder is cleared at the next `hush devnet up`,
// which makes a new CA.
const (
	caLifetime   = 365 * 24 * time.Hour
	certLifetime = 30 * 24 * time.Hour
)

// ErrNoWebPush is returned by [LoadWebPush] for a folder without the
// Web Push test setting: no devnet, or one whose push server is a test's
// stand-in.
var ErrNoWebPush = errors.New("devnet: no Web Push test CA in this folder (is it a running devnet's, from `hush devnet up`?)")

// WebPush is a devnet's Web Push test setting as a receiver needs it.
type WebPush struct {
	// CA issues the receiver's certificate.
	CA *WebPushCA
	// VAPIDPublic is the key the push server signs its pushes with.
	VAPIDPublic []byte
}

// WebPushCA is a devnet's test certificate authority for Web Push
// receivers on loopback.
type WebPushCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// LoadWebPush reads the Web Push test setting of the devnet in dir. It
// returns ErrNoWebPush when dir has none.
func LoadWebPush(dir string) (*WebPush, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, WebPushCAFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoWebPush, dir)
	} else if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, WebPushCAKeyFile))
	if err != nil {
		return nil, err
	}
	bad := func(what string) error {
		return fmt.Errorf("devnet: %s in %s is not what `hush devnet up` wrote", what, dir)
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, bad("the Web Push CA")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, bad("the Web Push CA certificate")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	key, ok := k.(*ecdsa.PrivateKey)
	if err != nil || !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, bad("the Web Push CA key")
	}
	v, err := os.ReadFile(filepath.Join(dir, WebPushVAPIDFile))
	if err != nil {
		return nil, err
	}
	vapid, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(v)))
	if err != nil {
		return nil, bad("the VAPID key")
	}
	if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), vapid); err != nil {
		return nil, bad("the VAPID key")
	}
	return &WebPush{CA: &WebPushCA{cert: cert, key: key}, VAPIDPublic: vapid}, nil
}

// Pool is a certificate pool holding only the CA.
func (ca *WebPushCA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// ServerCert issues a certificate with a fresh key for localhost,
// 127.0.0.1 and ::1, valid from an hour before now (clock skew) for
// certLifetime or until the CA expires.
func (ca *WebPushCA) ServerCert(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	notAfter := now.Add(certLifetime)
	if ca.cert.NotAfter.Before(notAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// createWebPushCA makes a new CA and writes it into dir: the certificate
// readable by all (it is public), the key by the owner only.
func createWebPushCA(dir string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "hush devnet Web Push test CA (loopback only)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign,
		// Only loopback names: whoever reads the key can make
		// certificates that a devnet's push server trusts, and those
		// must not be good for any real host.
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         []string{"localhost"},
		PermittedIPRanges: []*net.IPNet{
			{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)},
			{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, WebPushCAKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return writeNew(filepath.Join(dir, WebPushCAFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// seedVAPID gives the push server in pushDir its VAPID key before it
// first starts (through its own store, where it keeps it; "vapid" is the
// name internal/push's Service loads it by) and writes the public half
// into dir.
func seedVAPID(dir, pushDir string) ([]byte, error) {
	if err := os.MkdirAll(pushDir, 0o700); err != nil {
		return nil, err
	}
	st, err := push.OpenStore(filepath.Join(pushDir, push.DBFile))
	if err != nil {
		return nil, err
	}
	raw, err := st.ServerKey(context.Background(), "vapid", func() ([]byte, error) {
		k, err := webpush.GenerateVAPIDKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return k.Bytes(), nil
	})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("devnet: vapid key: %w", err)
	}
	k, err := webpush.ParseVAPIDKey(raw)
	if err != nil {
		return nil, err
	}
	pub := k.PublicKey()
	line := base64.RawURLEncoding.EncodeToString(pub) + "\n"
	if err := writeNew(filepath.Join(dir, WebPushVAPIDFile), []byte(line), 0o644); err != nil {
		return nil, err
	}
	return pub, nil
}

// writeNew writes b to a file that must not exist yet, with mode perm
// from the start (never a moment readable by others).
func writeNew(path string, b []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("devnet: %w", err)
	}
	return f.Close()
}
