package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/backup"
	"github.com/hushnet/hush/internal/clientdb"
	"github.com/hushnet/hush/internal/keystore"
	"github.com/hushnet/hush/internal/paths"
)

// The home's file layout. These are every name hush keeps in a home; no
// other package knows them: the key store and the database are handed
// paths.
const (
	// keyFile is the key file (internal/keystore): the Account ID in the
	// clear, the seed and the database key under the passphrase.
	keyFile = "account.json"
	// dbFile is the encrypted local database (internal/clientdb), with
	// SQLite's -wal, -shm and -journal files beside it.
	dbFile = "hush.db"
	// PathsFile is the file in the home where the path manager keeps
	// guards and paths (public node keys and addresses only).
	PathsFile = "paths.json"
	// snapshotFile is where a home keeps its newest verified snapshot.
	snapshotFile = "snapshot.json"
	// prekeyLockFile is the empty file whose lock serializes every
	// load-modify-save of this device's private prekeys across processes
	// (prekeylock.go): hush's own, but nothing to back up.
	prekeyLockFile = ".prekeys.lock"
	// daemonLockFile is the empty file a running daemon holds an
	// exclusive lock on, and daemonInfoFile names that daemon
	// (daemonlock.go). DaemonKeyFile is where the daemon keeps its API
	// key (0600). None of them is ever in a backup: they belong to one
	// running process on this machine.
	daemonLockFile = ".daemon.lock"
	daemonInfoFile = "daemon.json"
	DaemonKeyFile  = "daemon.key"
	// Leftovers of interrupted writes: ".tmp-*" from atomic writes of
	// the key file, ".backup-*" from [Home.Export]'s scratch space.
	tmpPrefix    = ".tmp-"
	backupPrefix = ".backup-"
)

// backupFiles are the files of a home, besides the key file and the
// database, that a backup carries when they exist: the paths (so a moved
// home keeps its guards and meets no new relays) and the snapshot (so it
// needs no seed node). See internal/backup's package doc.
var backupFiles = []string{PathsFile, snapshotFile}

// Home is a home directory: the key file that holds the account's seed
// and the database key under the passphrase (internal/keystore), the
// encrypted database, and small public files (the newest snapshot, the
// onion paths). It owns the layout: every other part of hush asks it for
// paths. A Home is a value; all its state is on disk.
type Home struct {
	dir string
	// claim is set on the Home a daemon's claim hands out: that value
	// may open and write the home while the daemon holds it.
	claim *DaemonClaim
}

// NewHome returns the home in dir, which need not exist yet. The path is
// made absolute, since the database is opened through a URI.
func NewHome(dir string) (*Home, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &Home{dir: abs}, nil
}

// Dir returns the home's absolute path.
func (h *Home) Dir() string { return h.dir }

func (h *Home) dbPath() string  { return filepath.Join(h.dir, dbFile) }
func (h *Home) keyPath() string { return filepath.Join(h.dir, keyFile) }

// HomeOption adjusts what [Home]'s methods write.
type HomeOption func(*homeConfig)

type homeConfig struct {
	replace bool
	kdf     keystore.Params
	bkdf    keystore.Params
	clock   func() time.Time
}

func homeOptions(opts []HomeOption) homeConfig {
	c := homeConfig{kdf: keystore.DefaultParams, bkdf: backup.DefaultParams, clock: time.Now}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// ReplaceHome lets [Home.Create] and [Home.Restore] replace an existing
// account (destroyed for good unless its recovery phrase is known), and
// [Home.Import] replace a home that holds only hush's files.
func ReplaceHome() HomeOption { return func(c *homeConfig) { c.replace = true } }

// InsecureTestKDF makes the key file (and a backup's header) use Argon2id
// parameters so cheap that the passphrase is trivially guessed. For tests
// only.
func InsecureTestKDF() HomeOption {
	return func(c *homeConfig) { c.kdf, c.bkdf = keystore.TestParams, keystore.TestParams }
}

// AccountID returns the home's Account ID, which the key file keeps in
// the clear: no passphrase needed. It returns [ErrNoAccount].
func (h *Home) AccountID() (identity.AccountID, error) {
	return keystore.ReadAccountID(h.keyPath())
}

// Unlock checks the passphrase and returns the account (the seed and its
// keys). It returns [ErrNoAccount] and [ErrWrongPassphrase].
func (h *Home) Unlock(passphrase []byte) (*identity.Account, error) {
	sec, err := keystore.Open(h.keyPath(), passphrase)
	if err != nil {
		return nil, err
	}
	return sec.Account, nil
}

// Create makes a new account in the home (created 0700 if missing) under
// passphrase, with this home as its first device, and returns its recovery
// phrase. It returns [ErrAccountExists] unless [ReplaceHome] is given, and
// [ErrEmptyPassphrase]. When only the device identity could not be made,
// it returns the Account ID with the error: the account exists, and the
// first [Open] makes the device. Publishing the device's keys needs the
// network: open the home and call [Client.PublishKeys].
func (h *Home) Create(passphrase []byte, opts ...HomeOption) (identity.AccountID, string, error) {
	if err := h.checkDaemon(); err != nil {
		return identity.AccountID{}, "", err
	}
	seed := identity.NewSeed()
	id, err := h.create(seed, passphrase, homeOptions(opts))
	if id.IsZero() {
		return id, "", err
	}
	return id, identity.Phrase(seed), err
}

// Restore makes the account of a recovery phrase in the home, as a new
// device of it: contacts and settings come back from the network, but no
// message sealed before this device existed opens here (protocol v2)
// unless another device shares it ([Client.ShareHistory]). It returns the
// errors of [Home.Create] and identity's for a bad phrase.
func (h *Home) Restore(phrase string, passphrase []byte, opts ...HomeOption) (identity.AccountID, error) {
	if err := h.checkDaemon(); err != nil {
		return identity.AccountID{}, err
	}
	seed, err := identity.ParsePhrase(phrase)
	if err != nil {
		return identity.AccountID{}, err
	}
	return h.create(seed, passphrase, homeOptions(opts))
}

func (h *Home) create(seed identity.Seed, passphrase []byte, c homeConfig) (identity.AccountID, error) {
	sec, err := keystore.Create(h.keyPath(), seed, passphrase, c.kdf, c.replace)
	if err != nil {
		return identity.AccountID{}, err
	}
	// Every home is a device of its account, a restored one too.
	if err := h.createDevice(sec, c.clock()); err != nil {
		return sec.Account.ID(), fmt.Errorf("device identity not created: %w", err)
	}
	return sec.Account.ID(), nil
}

// createDevice gives the home a device identity (a random device ID and
// Ed25519 device key, kept in the home's encrypted database) unless it has
// one. [Home.Create] calls it right after creating the key file; [Open]
// too, for homes made before devices existed. An imported backup keeps its
// device, since moving a home is not a new device.
func (h *Home) createDevice(sec *keystore.Secrets, now time.Time) error {
	db, err := clientdb.Open(h.dbPath(), sec.DBKey)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = ensureDevice(db, sec.Account.ID(), now)
	return err
}

// Open opens a [Client] on the home: [Open] with o.Home set to it.
func (h *Home) Open(ctx context.Context, passphrase []byte, o Options) (*Client, error) {
	o.Home, o.Passphrase = h.dir, passphrase
	return openHome(ctx, o, h)
}

// ChangePassphrase re-wraps the account's seed and database key under a
// new passphrase; nothing else is rewritten. It returns
// [ErrWrongPassphrase] and [ErrEmptyPassphrase].
func (h *Home) ChangePassphrase(oldPass, newPass []byte, opts ...HomeOption) error {
	if err := h.checkDaemon(); err != nil {
		return err
	}
	return keystore.ChangePassphrase(h.keyPath(), oldPass, newPass, homeOptions(opts).kdf)
}

// Empty reports whether the home does not exist or is an empty directory
// (a daemon's files aside: a daemon may start on an empty home and import
// into it): where [Home.Import] may restore without [ReplaceHome].
func (h *Home) Empty() (bool, error) {
	ents, err := os.ReadDir(h.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		if !daemonFile(e.Name()) {
			return false, nil
		}
	}
	return true, nil
}

// daemonFile reports whether name is one of a running daemon's files,
// which belong to that process and are never in a backup.
func daemonFile(name string) bool {
	return name == daemonLockFile || name == daemonInfoFile || name == DaemonKeyFile
}

// isHomeFile reports whether name is a file hush keeps in a home: the key
// file, the database and its journals, the backed-up files, the prekey
// lock, the media and avatar folders, and the leftovers of interrupted
// writes.
func isHomeFile(name string) bool {
	return reservedFile(name) || slices.Contains(backupFiles, name) || name == prekeyLockFile || name == mediaDir || name == avatarDir ||
		daemonFile(name) ||
		strings.HasPrefix(name, tmpPrefix) || strings.HasPrefix(name, backupPrefix)
}

// reservedFile names belong to the key file and the database, which have
// their own entries in a backup.
func reservedFile(name string) bool {
	return name == keyFile || name == dbFile || name == dbFile+"-wal" || name == dbFile+"-shm" || name == dbFile+"-journal"
}

// foreignFiles lists what the home holds that is not hush's.
func (h *Home) foreignFiles() ([]string, error) {
	ents, err := os.ReadDir(h.dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !isHomeFile(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Wipe overwrites the key file with random bytes and removes it (the
// database key is wrapped only there, so the database is unreadable from
// then on), then removes the database and every other file hush keeps in
// the home, and the home itself when nothing else is left. It returns the
// names of entries it left because they are not hush's. It asks for no
// passphrase: callers confirm first ([Home.Unlock]).
func (h *Home) Wipe() ([]string, error) {
	if err := h.checkDaemon(); err != nil {
		return nil, err
	}
	if err := shred(h.keyPath()); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(h.dir)
	if err != nil {
		return nil, fmt.Errorf("wipe: %w", err)
	}
	var left []string
	for _, e := range ents {
		name := e.Name()
		if h.claim != nil && daemonFile(name) {
			continue // the daemon wiping its home's account owns it still
		}
		if isHomeFile(name) {
			path := filepath.Join(h.dir, name)
			// An interrupted key file write leaves a wrapped seed behind.
			if strings.HasPrefix(name, tmpPrefix) && e.Type().IsRegular() {
				if err := shred(path); err != nil {
					return nil, err
				}
			}
			if err := os.RemoveAll(path); err != nil {
				return nil, fmt.Errorf("wipe: %w", err)
			}
			continue
		}
		left = append(left, name)
	}
	if len(left) == 0 && h.claim == nil {
		if err := os.Remove(h.dir); err != nil {
			return nil, fmt.Errorf("wipe: %w", err)
		}
	}
	return left, nil
}

// shred overwrites path with random bytes, syncs, and removes it. On
// flash storage and journalling file systems the old blocks may survive
// below the file; the wrap under the passphrase still protects them.
func shred(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("wipe: %w", err)
	}
	st, err := f.Stat()
	if err == nil {
		buf := make([]byte, st.Size())
		rand.Read(buf)
		_, err = f.WriteAt(buf, 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wipe: %w", err)
	}
	return os.Remove(path)
}

// WritePaths writes the onion paths and bad nodes the path manager saved
// in the home, as `hush path` shows them: one line per path and bad node,
// or one JSON document with asJSON. It needs no passphrase: they are
// public facts about the network.
func (h *Home) WritePaths(w io.Writer, asJSON bool, now time.Time) error {
	r, err := paths.ReadReport(filepath.Join(h.dir, PathsFile))
	if err != nil {
		return err
	}
	if asJSON {
		return paths.WriteJSON(w, r.Paths, r.BadNodes...)
	}
	if err := paths.WriteText(w, r.Paths, now); err != nil {
		return err
	}
	return paths.WriteBad(w, r.BadNodes, now)
}

// BackupSummary describes a backup written or restored.
type BackupSummary struct {
	AccountID     identity.AccountID `json:"account_id"`
	DatabaseBytes int64              `json:"database_bytes"`
	Files         []string           `json:"files"`
	// A backup carries no media files (the size of a home's media would
	// make it unwieldy, and the file server keeps them for weeks): an
	// export reports the files it left out, an import how many
	// attachments it marked not downloaded, which [Client.FetchMedia]
	// gets again while the file server holds them.
	MediaLeftOut      int   `json:"media_left_out"`
	MediaLeftOutBytes int64 `json:"media_left_out_bytes"`
	MediaToFetch      int   `json:"media_to_fetch"`
}

// transportParams wrap the key file under the random transport key: the
// key has 256 bits, so the KDF needs no cost.
var transportParams = keystore.Params{Time: 1, MemoryKiB: 64, Threads: 1}

// Export writes a backup of the home (internal/backup's format), unlocked
// with homePass, to w, sealed under backupPass. Expired private prekeys
// are deleted first, so a backup carries only unexpired ones
// (docs/protocol-v2.md §9). It returns [ErrWrongPassphrase] before writing
// anything when homePass is wrong, and [ErrEmptyBackupPassphrase]. The database may be in use meanwhile.
func (h *Home) Export(ctx context.Context, w io.Writer, homePass, backupPass []byte, opts ...HomeOption) (*BackupSummary, error) {
	if err := h.checkDaemon(); err != nil {
		return nil, err
	}
	if len(backupPass) == 0 {
		return nil, backup.ErrEmptyPassphrase
	}
	if _, err := h.AccountID(); err != nil {
		return nil, err
	}
	c, err := h.Open(ctx, homePass, Options{})
	if err != nil {
		return nil, err
	}
	_, err = c.PrunePrekeys()
	c.Close()
	if err != nil {
		return nil, fmt.Errorf("pruning expired prekeys before the export: %w", err)
	}
	// Scratch space inside the home: it is private (0700), on the same
	// file system, and what lands there (a re-wrapped key file, a sealed
	// database copy) is no more exposed than the home itself.
	tmp, err := os.MkdirTemp(h.dir, backupPrefix)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer os.RemoveAll(tmp)
	transport := make([]byte, backup.TransportKeySize)
	rand.Read(transport)
	scratch := &Home{dir: tmp}
	keys, err := os.ReadFile(h.keyPath())
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := os.WriteFile(scratch.keyPath(), keys, 0o600); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	// ChangePassphrase checks homePass and re-wraps the same seed and
	// database key under the transport key, in the copy only.
	if err := keystore.ChangePassphrase(scratch.keyPath(), homePass, transport, transportParams); err != nil {
		return nil, err
	}
	sec, err := keystore.Open(scratch.keyPath(), transport)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if keys, err = os.ReadFile(scratch.keyPath()); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	db, err := clientdb.Open(h.dbPath(), sec.DBKey)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	dbCopy := scratch.dbPath()
	err = db.Backup(dbCopy)
	db.Close()
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}

	bw, err := backup.NewWriter(w, backupPass, homeOptions(opts).bkdf)
	if err != nil {
		return nil, err
	}
	sum := &BackupSummary{AccountID: sec.Account.ID(), Files: []string{}}
	if ents, err := os.ReadDir(filepath.Join(h.dir, mediaDir)); err == nil {
		for _, e := range ents {
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
				sum.MediaLeftOut++
				sum.MediaLeftOutBytes += info.Size()
			}
		}
	}
	keysEntry := append(transport, keys...)
	if err := bw.Add(backup.Entry{Kind: backup.KindKeys, Size: int64(len(keysEntry))}, bytes.NewReader(keysEntry)); err != nil {
		return nil, err
	}
	for _, name := range backupFiles {
		b, err := os.ReadFile(filepath.Join(h.dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		if err := bw.Add(backup.Entry{Kind: backup.KindFile, Name: name, Size: int64(len(b))}, bytes.NewReader(b)); err != nil {
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
	if err := bw.Add(backup.Entry{Kind: backup.KindDatabase, Size: st.Size()}, f); err != nil {
		return nil, err
	}
	if err := bw.Close(); err != nil {
		return nil, err
	}
	return sum, nil
}

// Import restores the backup read from r, sealed under backupPass, into
// the home, whose key file it writes under homePass. It refuses a home
// that is not empty with [ErrHomeNotEmpty] unless [ReplaceHome] is given,
// in which case the old home is replaced, but only when everything in it
// is hush's: replacing never sweeps away a directory that was not a home.
// Everything is assembled in a private directory beside the home, checked
// by opening the key file and the database, and only then moved into
// place, so a failed import leaves no half-written home (and leaves a
// replaced home as it was). It returns [ErrWrongBackupPassphrase],
// [ErrBackupCorrupt], [ErrBackupVersion] and [ErrEmptyPassphrase].
func (h *Home) Import(r io.Reader, backupPass, homePass []byte, opts ...HomeOption) (*BackupSummary, error) {
	if err := h.checkDaemon(); err != nil {
		return nil, err
	}
	cfg := homeOptions(opts)
	if len(homePass) == 0 {
		return nil, keystore.ErrEmptyPassphrase
	}
	empty, err := h.Empty()
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if !empty && !cfg.replace {
		return nil, fmt.Errorf("%w: %s", ErrHomeNotEmpty, h.dir)
	}
	if !empty {
		foreign, err := h.foreignFiles()
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		if len(foreign) > 0 {
			return nil, fmt.Errorf("%w: %s holds files that are not hush's (%s); not replacing it", ErrHomeNotEmpty, h.dir, strings.Join(foreign, ", "))
		}
	}
	parent := filepath.Dir(h.dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	stage, err := os.MkdirTemp(parent, ".hush-import-")
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer os.RemoveAll(stage) // gone by rename on success
	sum, err := restoreBackup(r, backupPass, &Home{dir: stage}, homePass, cfg.kdf)
	if err != nil {
		return nil, err
	}
	if h.claim != nil {
		// The daemon importing into its home keeps it: its files move
		// along as hard links, so the lock file is the same file and its
		// lock stays held.
		for _, name := range []string{daemonLockFile, daemonInfoFile, DaemonKeyFile} {
			if err := os.Link(filepath.Join(h.dir, name), filepath.Join(stage, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("import: %w", err)
			}
		}
	}
	// Empty ignored a daemon's files; the directory is replaced whole
	// unless nothing at all is in it.
	if ents, err := os.ReadDir(h.dir); err == nil && len(ents) > 0 {
		empty = false
	}
	if err := replaceDir(stage, h.dir, empty); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return sum, nil
}

// restoreBackup unpacks the backup into the empty home stage and checks it.
func restoreBackup(r io.Reader, backupPass []byte, stage *Home, homePass []byte, p keystore.Params) (*BackupSummary, error) {
	br, err := backup.NewReader(r, backupPass)
	if err != nil {
		return nil, err
	}
	var keysEntry []byte
	sum := &BackupSummary{Files: []string{}}
	haveDB := false
	for {
		e, err := br.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		switch {
		case e.Kind == backup.KindKeys && keysEntry == nil && !haveDB && len(sum.Files) == 0:
			if keysEntry, err = io.ReadAll(br); err != nil {
				return nil, err
			}
			if len(keysEntry) <= backup.TransportKeySize {
				return nil, fmt.Errorf("%w: keys entry too short", backup.ErrCorrupt)
			}
		case e.Kind == backup.KindFile && keysEntry != nil && !haveDB && !slices.Contains(sum.Files, e.Name) && !reservedFile(e.Name):
			if err := writeNewFile(filepath.Join(stage.dir, e.Name), br); err != nil {
				return nil, err
			}
			sum.Files = append(sum.Files, e.Name)
		case e.Kind == backup.KindDatabase && keysEntry != nil && !haveDB:
			if err := writeNewFile(stage.dbPath(), br); err != nil {
				return nil, err
			}
			haveDB, sum.DatabaseBytes = true, e.Size
		default:
			return nil, fmt.Errorf("%w: unexpected entry (kind %d %q)", backup.ErrCorrupt, e.Kind, e.Name)
		}
	}
	if keysEntry == nil || !haveDB {
		return nil, fmt.Errorf("%w: the keys or the database are missing", backup.ErrCorrupt)
	}
	// The whole file authenticated: now the key file may be rewritten.
	if err := writeNewFile(stage.keyPath(), bytes.NewReader(keysEntry[backup.TransportKeySize:])); err != nil {
		return nil, err
	}
	if err := keystore.ChangePassphrase(stage.keyPath(), keysEntry[:backup.TransportKeySize], homePass, p); err != nil {
		return nil, fmt.Errorf("%w: the key file does not open: %w", backup.ErrCorrupt, err)
	}
	sec, err := keystore.Open(stage.keyPath(), homePass)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	db, err := clientdb.Open(stage.dbPath(), sec.DBKey)
	if err != nil {
		return nil, fmt.Errorf("%w: the database does not open: %w", backup.ErrCorrupt, err)
	}
	// No media came with it (see BackupSummary): what was here is to be
	// fetched again.
	if sum.MediaToFetch, err = db.ResetLocalMedia(); err != nil {
		db.Close()
		return nil, fmt.Errorf("import: %w", err)
	}
	if err := db.Close(); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	sum.AccountID = sec.Account.ID()
	return sum, nil
}

func writeNewFile(path string, r io.Reader) error {
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
