package devnet

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWebPushCA: the devnet's Web Push test setting is written with the
// key readable by its owner only, loads back, issues certificates for
// loopback names that verify against it, and cannot vouch for any other
// name (its name constraints).
func TestWebPushCA(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadWebPush(dir); !errors.Is(err, ErrNoWebPush) {
		t.Fatalf("empty folder: %v, want ErrNoWebPush", err)
	}
	now := time.Now()
	if err := createWebPushCA(dir, now); err != nil {
		t.Fatal(err)
	}
	if err := createWebPushCA(dir, now); err == nil {
		t.Fatal("a second CA overwrote the first")
	}
	vapid, err := seedVAPID(dir, filepath.Join(dir, "push"))
	if err != nil {
		t.Fatal(err)
	}
	// The push server finds the same key in its store.
	if again, err := seedVAPID(t.TempDir(), filepath.Join(dir, "push")); err != nil || !bytes.Equal(again, vapid) {
		t.Fatalf("the store's key changed: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, WebPushCAKeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st.Mode(), err)
	}
	wp, err := LoadWebPush(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wp.VAPIDPublic, vapid) {
		t.Fatal("VAPID key differs")
	}
	cert, err := wp.CA.ServerCert(now)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: wp.CA.Pool()}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: "push.example.net", Roots: wp.CA.Pool()}); err == nil {
		t.Error("a loopback certificate verified for another name")
	}
	// A certificate the CA's key signs for a real host does not verify.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "push.example.net"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), DNSNames: []string{"push.example.net"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, wp.CA.cert, &key.PublicKey, wp.CA.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "push.example.net", Roots: wp.CA.Pool()}); err == nil {
		t.Error("the CA vouched for push.example.net")
	}
}
