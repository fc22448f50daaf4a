package node

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hushnet/hush/identity"
)

// KeyFile is the node's secret key inside the data directory: the 32-byte
// Ed25519 seed in hex. The X25519 key is derived from it as libsodium's
// crypto_sign_ed25519_sk_to_curve25519 does, as Session's storage server
// derives its own.
const KeyFile = "node_ed25519.key"

// Identity is a node's key pair. It holds secrets: never log it.
type Identity struct {
	Ed25519 ed25519.PrivateKey
	X25519  *ecdh.PrivateKey
}

// Ed25519Public returns the node's Ed25519 public key.
func (id *Identity) Ed25519Public() identity.Ed25519PublicKey {
	return identity.Ed25519PublicKeyOf(id.Ed25519)
}

// X25519Public returns the node's X25519 public key bytes.
func (id *Identity) X25519Public() [32]byte {
	var k [32]byte
	copy(k[:], id.X25519.PublicKey().Bytes())
	return k
}

// StandaloneNetworkID is a standalone node's own network ID, fixed by its
// key so that it survives restarts and differs between nodes.
func (id *Identity) StandaloneNetworkID() string {
	return "standalone-" + id.Ed25519Public().String()[:8]
}

func identityFromSeed(seed []byte) (*Identity, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("want a %d-byte seed, got %d", ed25519.SeedSize, len(seed))
	}
	h := sha512.Sum512(seed)
	x, err := ecdh.X25519().NewPrivateKey(h[:32]) // crypto/ecdh clamps
	if err != nil {
		return nil, err
	}
	return &Identity{Ed25519: ed25519.NewKeyFromSeed(seed), X25519: x}, nil
}

// LoadOrCreateIdentity reads the node key from dir, creating dir (0700)
// and a fresh key (0600) on first start. It refuses a key file that other
// users may read.
func LoadOrCreateIdentity(dir string) (*Identity, error) {
	return LoadOrCreateIdentityFile(dir, KeyFile)
}

// LoadOrCreateIdentityFile is LoadOrCreateIdentity for a key file of
// another name: steward servers (internal/files) keep their keys as nodes
// do, under their own name.
func LoadOrCreateIdentityFile(dir, name string) (*Identity, error) {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createIdentity(dir, path)
	}
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("node key %s is readable by other users (mode %o); chmod 600 it", path, st.Mode().Perm())
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("node key %s: not hex", path)
	}
	id, err := identityFromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("node key %s: %w", path, err)
	}
	return id, nil
}

func createIdentity(dir, path string) (*Identity, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	id, err := identityFromSeed(seed)
	if err != nil {
		return nil, err
	}
	// O_EXCL: two nodes started at once on one directory must not both
	// write a key; the loser fails instead of running with a key that is
	// then replaced on disk.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(seed) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("node key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("node key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	return id, nil
}
