// Package keystore keeps an account's secrets at rest in a home directory.
//
// One master key is derived from the user's passphrase with Argon2id; it
// wraps (XChaCha20-Poly1305) two small secrets: the 16-byte account seed and
// a random 32-byte database key for the client's local database. Changing the
// passphrase re-wraps those two blobs and nothing else, and every command
// pays exactly one KDF run.
//
// # The file
//
// The key file (mode 0600, in a directory of mode 0700; its name in a home
// is the client's business, client.Home) holds the public Account ID in
// the clear (so `hush id` needs no passphrase), the KDF parameters and salt,
// and the two wrapped secrets. Each wrap binds the Account ID and its own
// purpose as associated data, so blobs cannot be swapped between files or
// roles. A wrong passphrase fails authentication of the first blob and is
// reported as [ErrWrongPassphrase]; the file is never written in that case.
// Writes go to a temporary file that is synced and renamed over the old one,
// so a crash leaves either the old file or the new one.
//
// # Parameters
//
// [DefaultParams] is Argon2id with t=3, m=64 MiB, p=2 (RFC 9106 §4's second
// recommended option, with the lanes cut to the two cores our machines have):
// about 0.2–0.3 s on them. The parameters are stored in the file, so they can
// be raised later without breaking existing homes.
package keystore

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/hushnet/hush/identity"
)

// Params are Argon2id parameters.
type Params struct {
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

// DefaultParams are the parameters new homes use; see the package doc.
var DefaultParams = Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 2}

// TestParams are cheap parameters for tests only: they make a passphrase
// trivially guessable.
var TestParams = Params{Time: 1, MemoryKiB: 64, Threads: 1}

// minimum parameters accepted when reading a file; anything weaker means the
// file was tampered with or written by a test.
func (p Params) validate() error {
	if p.Time < 1 || p.MemoryKiB < 8*uint32(p.Threads) || p.Threads < 1 || p.MemoryKiB > 4<<20 || p.Time > 64 {
		return fmt.Errorf("%w: bad KDF parameters %+v", ErrCorrupt, p)
	}
	return nil
}

// Errors returned by this package.
var (
	ErrNoAccount       = errors.New("no account in this home directory (run `hush init`)")
	ErrExists          = errors.New("an account already exists in this home directory")
	ErrWrongPassphrase = errors.New("wrong passphrase")
	ErrEmptyPassphrase = errors.New("the passphrase must not be empty")
	ErrCorrupt         = errors.New("key file is damaged")
)

// Secrets are what the key file protects.
type Secrets struct {
	Account *identity.Account
	DBKey   [32]byte
}

type keyFile struct {
	Version   int                `json:"version"`
	AccountID identity.AccountID `json:"account_id"`
	KDF       string             `json:"kdf"`
	Params    Params             `json:"params"`
	Salt      []byte             `json:"salt"`
	Seed      []byte             `json:"sealed_seed"`
	DBKey     []byte             `json:"sealed_db_key"`
}

const (
	fileVersion = 1
	kdfName     = "argon2id"
	aadSeed     = "hush/1 keystore seed "
	aadDBKey    = "hush/1 keystore db-key "
)

// Create writes a new key file for seed at file, creating its directory
// (the home, 0700) if needed. It returns [ErrExists] if the file exists,
// unless force is set. The returned secrets include a fresh database key.
func Create(file string, seed identity.Seed, passphrase []byte, p Params, force bool) (*Secrets, error) {
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	home := filepath.Dir(file)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("create home directory: %w", err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		return nil, fmt.Errorf("restrict home directory: %w", err)
	}
	if _, err := os.Stat(file); err == nil && !force {
		return nil, ErrExists
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read home directory: %w", err)
	}
	s := &Secrets{Account: identity.FromSeed(seed)}
	rand.Read(s.DBKey[:])
	if err := write(file, s, passphrase, p); err != nil {
		return nil, err
	}
	return s, nil
}

// ReadAccountID returns the Account ID stored in file without the
// passphrase.
func ReadAccountID(file string) (identity.AccountID, error) {
	f, err := read(file)
	if err != nil {
		return identity.AccountID{}, err
	}
	return f.AccountID, nil
}

// Open unlocks the secrets in file with passphrase.
func Open(file string, passphrase []byte) (*Secrets, error) {
	f, err := read(file)
	if err != nil {
		return nil, err
	}
	key := argon2.IDKey(passphrase, f.Salt, f.Params.Time, f.Params.MemoryKiB, f.Params.Threads, chacha20poly1305.KeySize)
	seedBytes, err := unwrap(key, f.Seed, aadSeed+f.AccountID.String())
	if err != nil {
		// The first blob is the passphrase check: an AEAD failure here means
		// the wrong key far more often than a damaged file.
		return nil, ErrWrongPassphrase
	}
	dbKey, err := unwrap(key, f.DBKey, aadDBKey+f.AccountID.String())
	if err != nil || len(seedBytes) != identity.SeedSize || len(dbKey) != 32 {
		return nil, fmt.Errorf("%w: a wrapped secret does not open", ErrCorrupt)
	}
	var seed identity.Seed
	copy(seed[:], seedBytes)
	s := &Secrets{Account: identity.FromSeed(seed)}
	copy(s.DBKey[:], dbKey)
	if !s.Account.ID().Equal(f.AccountID) {
		return nil, fmt.Errorf("%w: the seed does not belong to the stored Account ID", ErrCorrupt)
	}
	return s, nil
}

// ChangePassphrase re-wraps the secrets in file under a new passphrase
// (with a fresh salt and the given parameters). The old passphrase must be
// right.
func ChangePassphrase(file string, oldPass, newPass []byte, p Params) error {
	if len(newPass) == 0 {
		return ErrEmptyPassphrase
	}
	s, err := Open(file, oldPass)
	if err != nil {
		return err
	}
	return write(file, s, newPass, p)
}

func read(path string) (*keyFile, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		// Users know homes, not key files: name the directory.
		return nil, fmt.Errorf("%w: %s", ErrNoAccount, filepath.Dir(path))
	}
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	var f keyFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if f.Version != fileVersion || f.KDF != kdfName {
		return nil, fmt.Errorf("%w: unknown version %d / kdf %q", ErrCorrupt, f.Version, f.KDF)
	}
	if len(f.Salt) < 16 {
		return nil, fmt.Errorf("%w: salt too short", ErrCorrupt)
	}
	if err := f.Params.validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

func write(path string, s *Secrets, passphrase []byte, p Params) error {
	f := keyFile{Version: fileVersion, AccountID: s.Account.ID(), KDF: kdfName, Params: p, Salt: make([]byte, 16)}
	rand.Read(f.Salt)
	key := argon2.IDKey(passphrase, f.Salt, p.Time, p.MemoryKiB, p.Threads, chacha20poly1305.KeySize)
	seed := s.Account.Seed()
	f.Seed = wrap(key, seed[:], aadSeed+f.AccountID.String())
	f.DBKey = wrap(key, s.DBKey[:], aadDBKey+f.AccountID.String())
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(raw, '\n'))
}

func wrap(key, plaintext []byte, aad string) []byte {
	aead, _ := chacha20poly1305.NewX(key) // key is always 32 bytes
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plaintext, []byte(aad))
}

func unwrap(key, blob []byte, aad string) ([]byte, error) {
	aead, _ := chacha20poly1305.NewX(key)
	if len(blob) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("blob too short")
	}
	return aead.Open(nil, blob[:aead.NonceSize()], blob[aead.NonceSize():], []byte(aad))
}

// writeFileAtomic replaces path with data, mode 0600, so that a crash leaves
// either the old or the new content.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // make the rename durable; best effort on filesystems that refuse
		d.Close()
	}
	return nil
}
