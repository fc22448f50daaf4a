package backup

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/internal/keystore"
)

// HomeFiles are the files of a home, besides the key file and the
// database, that a backup carries when they exist; see the package doc.
var HomeFiles = []string{"paths.json", "snapshot.json"}

// ErrHomeNotEmpty: [Import] was asked to restore into a home that already
// holds something, without force.
var ErrHomeNotEmpty = errors.New("the home directory is not empty")

// transportParams wrap the key file under the random transport key: the
// key has 256 bits, so the KDF needs no cost.
var transportParams = keystore.Params{Time: 1, MemoryKiB: 64, Threads: 1}

// Summary describes a backup written or restored.
type Summary struct {
	AccountID     identity.AccountID `json:"account_id"`
	DatabaseBytes int64              `json:"database_bytes"`
	Files         []string           `json:"files"`
}

// Export writes a backup of home, unlocked with homePass, to w, sealed
// under backupPass. It returns keystore.ErrWrongPassphrase before writing
// anything when homePass is wrong. The database may be in use meanwhile.
func Export(w io.Writer, home string, homePass, backupPass []byte, p keystore.Params) (*Summary, error) {
	if len(backupPass) == 0 {
		return nil, ErrEmptyPassphrase
	}
	home, err := filepath.Abs(home) // clientdb opens files through URIs
	if err != nil {
		return nil, err
	}
	if _, err := keystore.ReadAccountID(home); err != nil {
		return nil, err
	}
	// Scratch space inside the home: it is private (0700), on the same
	// file system, and what lands there (a re-wrapped key file, a sealed
	// database copy) is no more exposed than the home itself.
	tmp, err := os.MkdirTemp(home, ".backup-")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer os.RemoveAll(tmp)
	transport := make([]byte, transportKeyLn)
	rand.Read(transport)
	keyFile, err := os.ReadFile(keystore.Path(home))
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := os.WriteFile(keystore.Path(tmp), keyFile, 0o600); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	// ChangePassphrase checks homePass and re-wraps the same seed and
	// database key under the transport key, in the copy only.
	if err := keystore.ChangePassphrase(tmp, homePass, transport, transportParams); err != nil {
		return nil, err
	}
	sec, err := keystore.Open(tmp, transport)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if keyFile, err = os.ReadFile(keystore.Path(tmp)); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	db, err := clientdb.Open(clientdb.Path(home), sec.DBKey)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	dbCopy := filepath.Join(tmp, clientdb.FileName)
	err = db.Backup(dbCopy)
	db.Close()
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}

	bw, err := NewWriter(w, backupPass, p)
	if err != nil {
		return nil, err
	}
	sum := &Summary{AccountID: sec.Account.ID(), Files: []string{}}
	keysEntry := append(transport, keyFile...)
	if err := bw.Add(Entry{Kind: KindKeys, Size: int64(len(keysEntry))}, bytes.NewReader(keysEntry)); err != nil {
		return nil, err
	}
	for _, name := range HomeFiles {
		b, err := os.ReadFile(filepath.Join(home, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		if err := bw.Add(Entry{Kind: KindFile, Name: name, Size: int64(len(b))}, bytes.NewReader(b)); err != nil {
			return nil, err
		}
		sum.Files = append(sum.Files, name)
	}
	f, err := os.Open(dbCopy)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	sum.DatabaseBytes = st.Size()
	if err := bw.Add(Entry{Kind: KindDatabase, Size: st.Size()}, f); err != nil {
		return nil, err
	}
	if err := bw.Close(); err != nil {
		return nil, err
	}
	return sum, nil
}

// IsHomeFile reports whether name is a file hush keeps in a home: the key
// file, the database and its journals, [HomeFiles], and the leftovers of
// interrupted writes (".tmp-*" from atomic writes, ".backup-*" from
// [Export]).
func IsHomeFile(name string) bool {
	return reserved(name) || slices.Contains(HomeFiles, name) || name == prekeyLockFile ||
		strings.HasPrefix(name, ".tmp-") || strings.HasPrefix(name, ".backup-")
}

// prekeyLockFile is the client's empty lock file for prekey generation
// (client.prekeyLockFile): hush's own, but nothing to back up.
const prekeyLockFile = ".prekeys.lock"

// foreignFiles lists what home holds that is not hush's.
func foreignFiles(home string) ([]string, error) {
	ents, err := os.ReadDir(home)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !IsHomeFile(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// HomeEmpty reports whether home does not exist or is an empty directory.
func HomeEmpty(home string) (bool, error) {
	ents, err := os.ReadDir(home)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return len(ents) == 0, nil
}

// Import restores the backup read from r, sealed under backupPass, into
// home, whose key file it writes under homePass with parameters p. It
// refuses a home that is not empty with [ErrHomeNotEmpty] unless force is
// set, in which case the old home is replaced, but only when everything in
// it is hush's ([IsHomeFile]): force never sweeps away a directory that
// was not a home. Everything is assembled in
// a private directory beside home, checked by opening the key file and the
// database, and only then moved into place, so a failed import leaves no
// half-written home (and leaves a forced-over home as it was). It returns
// [ErrWrongPassphrase], [ErrCorrupt] and [ErrUnsupportedVersion].
func Import(r io.Reader, backupPass []byte, home string, homePass []byte, p keystore.Params, force bool) (*Summary, error) {
	if len(homePass) == 0 {
		return nil, keystore.ErrEmptyPassphrase
	}
	home, err := filepath.Abs(home)
	if err != nil {
		return nil, err
	}
	empty, err := HomeEmpty(home)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if !empty && !force {
		return nil, fmt.Errorf("%w: %s", ErrHomeNotEmpty, home)
	}
	if !empty {
		foreign, err := foreignFiles(home)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		if len(foreign) > 0 {
			return nil, fmt.Errorf("%w: %s holds files that are not hush's (%s); not replacing it", ErrHomeNotEmpty, home, strings.Join(foreign, ", "))
		}
	}
	parent := filepath.Dir(home)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	stage, err := os.MkdirTemp(parent, ".hush-import-")
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer os.RemoveAll(stage) // gone by rename on success
	sum, err := restore(r, backupPass, stage, homePass, p)
	if err != nil {
		return nil, err
	}
	if err := replaceDir(stage, home, empty); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return sum, nil
}

// restore unpacks the backup into the empty directory stage and checks it.
func restore(r io.Reader, backupPass []byte, stage string, homePass []byte, p keystore.Params) (*Summary, error) {
	br, err := NewReader(r, backupPass)
	if err != nil {
		return nil, err
	}
	var keysEntry []byte
	sum := &Summary{Files: []string{}}
	haveDB := false
	for {
		e, err := br.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		switch {
		case e.Kind == KindKeys && keysEntry == nil && !haveDB && len(sum.Files) == 0:
			if keysEntry, err = io.ReadAll(br); err != nil {
				return nil, err
			}
			if len(keysEntry) <= transportKeyLn {
				return nil, fmt.Errorf("%w: keys entry too short", ErrCorrupt)
			}
		case e.Kind == KindFile && keysEntry != nil && !haveDB && !slices.Contains(sum.Files, e.Name) && !reserved(e.Name):
			if err := writeFile(filepath.Join(stage, e.Name), br); err != nil {
				return nil, err
			}
			sum.Files = append(sum.Files, e.Name)
		case e.Kind == KindDatabase && keysEntry != nil && !haveDB:
			if err := writeFile(clientdb.Path(stage), br); err != nil {
				return nil, err
			}
			haveDB, sum.DatabaseBytes = true, e.Size
		default:
			return nil, fmt.Errorf("%w: unexpected entry (kind %d %q)", ErrCorrupt, e.Kind, e.Name)
		}
	}
	if keysEntry == nil || !haveDB {
		return nil, fmt.Errorf("%w: the keys or the database are missing", ErrCorrupt)
	}
	// The whole file authenticated: now the key file may be rewritten.
	if err := writeFile(keystore.Path(stage), bytes.NewReader(keysEntry[transportKeyLn:])); err != nil {
		return nil, err
	}
	if err := keystore.ChangePassphrase(stage, keysEntry[:transportKeyLn], homePass, p); err != nil {
		return nil, fmt.Errorf("%w: the key file does not open: %w", ErrCorrupt, err)
	}
	sec, err := keystore.Open(stage, homePass)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	db, err := clientdb.Open(clientdb.Path(stage), sec.DBKey)
	if err != nil {
		return nil, fmt.Errorf("%w: the database does not open: %w", ErrCorrupt, err)
	}
	if err := db.Close(); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	sum.AccountID = sec.Account.ID()
	return sum, nil
}

// reserved names belong to the key file and the database, which have
// their own entries.
func reserved(name string) bool {
	db := clientdb.FileName
	return name == keystore.FileName || name == db || name == db+"-wal" || name == db+"-shm" || name == db+"-journal"
}

func writeFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("import: %w", err)
	}
	return f.Close()
}

// replaceDir moves stage to home. An empty home is removed first; a full
// one is moved aside, and back should the move fail, then removed.
func replaceDir(stage, home string, empty bool) error {
	if err := os.Chmod(stage, 0o700); err != nil {
		return err
	}
	var old string
	if empty {
		if err := os.Remove(home); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	} else {
		old = stage + ".old"
		if err := os.Rename(home, old); err != nil {
			return err
		}
	}
	if err := os.Rename(stage, home); err != nil {
		if old != "" {
			os.Rename(old, home)
		}
		return err
	}
	if d, err := os.Open(filepath.Dir(home)); err == nil {
		d.Sync() // make the renames durable; best effort
		d.Close()
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}
