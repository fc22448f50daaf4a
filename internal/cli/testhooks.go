package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hushnet/hush/client"
)

// Test hooks: two environment variables that let end-to-end tests drive
// the real command, read only when the hooks are on. Main turns them on
// in builds with the lab tag (the network lab runs the built binary) and
// the package's tests turn them on through run; a shipped `hush` ignores
// them. They stay out of the shipped binary, not documented options,
// because both weaken what a user relies on: one makes a new passphrase
// cheap to guess, the other moves the clock that disappearing messages
// and prekey deletion follow, and an environment variable is easy to
// leave set by accident or to inherit from someone else's script.
const (
	// envTestKDF makes new key files and backups use Argon2id parameters
	// so cheap that their passphrases are trivially guessed
	// ([client.InsecureTestKDF]).
	envTestKDF = "HUSH_INSECURE_TEST_KDF"
	// envTestClock moves the client's local clock by a duration (such as
	// 61m), so scripts can pass disappearing deadlines without sleeping.
	// Only the local clock moves: signed times still follow the nodes'
	// clocks, which the client learns from their answers.
	envTestClock = "HUSH_TEST_CLOCK_OFFSET"
	// envTestClockBase is added to envTestClock: a test that runs its node
	// on a shifted clock (node.WithClock) sets it to the same shift, so
	// scripts keep writing their offsets relative to the network's time.
	envTestClockBase = "HUSH_TEST_CLOCK_BASE"
	// envTestFiles names a folder that stands in for the network's file
	// server ([folderFiles]), so scripts can send files without one.
	envTestFiles = "HUSH_TEST_FILES_DIR"
)

// homeOptions returns the options that writing a key file or backup
// takes: the cheap KDF when the hook asks for it, with a warning.
func (a *app) homeOptions() []client.HomeOption {
	if a.hooks && os.Getenv(envTestKDF) == "1" {
		fmt.Fprintln(a.stderr, "hush: warning: "+envTestKDF+" is set; this passphrase is cheap to guess")
		return []client.HomeOption{client.InsecureTestKDF()}
	}
	return nil
}

// testFiles returns the stand-in file server envTestFiles names, or nil.
func (a *app) testFiles() client.FileServer {
	if !a.hooks || os.Getenv(envTestFiles) == "" {
		return nil
	}
	return folderFiles{dir: os.Getenv(envTestFiles)}
}

// folderFiles is a file server in a folder, one file per blob: a test
// stand-in with the FileServer contract's errors, and no expiry.
type folderFiles struct{ dir string }

func (f folderFiles) path(id string) (string, error) {
	if id == "" || strings.ContainsAny(id, `/\.`) {
		return "", fmt.Errorf("%w: bad id", client.ErrAttachmentExpired)
	}
	return filepath.Join(f.dir, id), nil
}

func (f folderFiles) Upload(_ context.Context, piece []byte, ttl time.Duration) (client.UploadedPiece, error) {
	b := make([]byte, 32)
	rand.Read(b)
	id := hex.EncodeToString(b)
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return client.UploadedPiece{}, err
	}
	if err := os.WriteFile(filepath.Join(f.dir, id), piece, 0o600); err != nil {
		return client.UploadedPiece{}, err
	}
	return client.UploadedPiece{ID: id, Expires: time.Now().Add(ttl), Token: b}, nil
}

func (f folderFiles) Download(_ context.Context, id string, offset, length int64) ([]byte, int64, error) {
	p, err := f.path(id)
	if err != nil {
		return nil, 0, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, client.ErrAttachmentExpired
	} else if err != nil {
		return nil, 0, err
	}
	if offset < 0 || offset > int64(len(b)) || length < 0 {
		return nil, 0, errors.New("bad range")
	}
	return b[offset:min(int64(len(b)), offset+length)], int64(len(b)), nil
}

func (f folderFiles) Delete(_ context.Context, id string, _ []byte) error {
	p, err := f.path(id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return client.ErrAttachmentExpired
	} else if err != nil {
		return err
	}
	return nil
}

func (f folderFiles) Extend(_ context.Context, _ string, _ []byte, ttl time.Duration) (time.Time, error) {
	return time.Now().Add(ttl), nil
}

// testClock returns the clock envTestClock asks for, or nil (the real one).
func (a *app) testClock() func() time.Time {
	if !a.hooks {
		return nil
	}
	var d time.Duration
	for _, name := range []string{envTestClockBase, envTestClock} {
		if e, err := time.ParseDuration(os.Getenv(name)); err == nil {
			d += e
		}
	}
	if d == 0 {
		return nil
	}
	return func() time.Time { return time.Now().Add(d) }
}
