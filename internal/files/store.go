package files

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hushnet/hush/internal/schema"
	wire "github.com/hushnet/hush/protocol/files"
)

// Layout of the data directory.
const (
	// DBFile is the metadata database.
	DBFile = "files.db"
	// BlobDir holds the blobs, sharded by the first two bytes of the ID
	// in hex: blobs/ab/cd/abcd… (the whole ID in hex). Hex rather than
	// the wire's base64url, whose upper and lower case letters would
	// collide on a case-insensitive file system.
	BlobDir = "blobs"
	// TempDir holds uploads being written; whatever is there at start
	// is a crash's leftover and is removed.
	TempDir = "tmp"
)

// applicationID marks the database as a hush file server's ("hshf").
const applicationID = 0x68736866

//go:embed sql/*.sql
var migrationFiles embed.FS

// Errors of [Store] methods.
var (
	ErrNotFound  = errors.New("files: no such blob, or expired")
	ErrForbidden = errors.New("files: wrong token")
	ErrFull      = errors.New("files: capacity used up")
	ErrTooLarge  = errors.New("files: blob too large")
	ErrRange     = errors.New("files: offset past the end of the blob")
)

// Store keeps blobs as files and their metadata in SQLite. It is safe for
// concurrent use.
type Store struct {
	dir      string
	db       *sql.DB
	capacity int64
	maxBlob  int64

	mu sync.Mutex // guards used, reserved and count
	// used is the bytes of the rows, count the rows; reserved the bytes
	// of uploads being written, so that concurrent uploads cannot
	// overshoot the capacity together.
	used, reserved, count int64
}

// Stats are a store's totals.
type Stats struct {
	Blobs, Bytes int64
}

// OpenStore opens the store in dir (creating it), removes what a crash
// left half-done (see "Storage" in the package doc), and loads its totals.
// capacity bounds the bytes stored; maxBlob the size of one blob.
func OpenStore(dir string, capacity, maxBlob int64) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, BlobDir), filepath.Join(dir, TempDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("files: %w", err)
		}
	}
	q := url.Values{"_pragma": {"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)"}, "_txlock": {"immediate"}}
	db, err := sql.Open("sqlite", schema.FileURI(filepath.Join(dir, DBFile), q))
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	// One connection: writes are few and short, and one writer never
	// meets SQLITE_BUSY from itself.
	db.SetMaxOpenConns(1)
	s := &Store{dir: dir, db: db, capacity: capacity, maxBlob: maxBlob}
	err = schema.Migrate(context.Background(), db, schema.Schema{ApplicationID: applicationID, Files: migrationFiles, Glob: "sql/*.sql"})
	if err == nil {
		err = s.recover()
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("files: open %s: %w", dir, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Stats returns the totals.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Blobs: s.count, Bytes: s.used}
}

// recover removes temporary files and blob files without a row (a crash
// between rename and insert, or between delete and unlink), and counts
// the rest. A row whose file is missing (a disk that lost it) is dropped.
func (s *Store) recover() error {
	tmp := filepath.Join(s.dir, TempDir)
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(tmp, e.Name())); err != nil {
			return err
		}
	}
	rows, err := s.db.Query("SELECT id, size FROM blobs")
	if err != nil {
		return err
	}
	known := map[string]int64{}
	for rows.Next() {
		var id []byte
		var size int64
		if err := rows.Scan(&id, &size); err != nil {
			rows.Close()
			return err
		}
		known[hex.EncodeToString(id)] = size
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	found := map[string]bool{}
	err = filepath.WalkDir(filepath.Join(s.dir, BlobDir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, ok := known[d.Name()]; ok && path == s.blobPath(d.Name()) {
			found[d.Name()] = true
			return nil
		}
		return os.Remove(path)
	})
	if err != nil {
		return err
	}
	for h, size := range known {
		if found[h] {
			s.used += size
			s.count++
			continue
		}
		id, _ := hex.DecodeString(h)
		if _, err := s.db.Exec("DELETE FROM blobs WHERE id = ?", id); err != nil {
			return err
		}
	}
	return nil
}

// blobPath is where the blob with hex ID h lives.
func (s *Store) blobPath(h string) string {
	return filepath.Join(s.dir, BlobDir, h[0:2], h[2:4], h)
}

// Uploaded is what Put returns.
type Uploaded struct {
	ID      []byte
	Token   []byte
	Expires time.Time
}

// Put stores data as a new blob expiring at expires. The file is written
// under TempDir, synced, renamed into place and its directory synced; only
// then is the row inserted, which makes the blob visible. A crash at any
// point leaves either no row (the file, if any, is removed at the next
// start) or a complete blob.
func (s *Store) Put(ctx context.Context, data []byte, expires time.Time) (_ Uploaded, err error) {
	n := int64(len(data))
	if n == 0 || n > s.maxBlob {
		return Uploaded{}, ErrTooLarge
	}
	if err := s.reserve(n); err != nil {
		return Uploaded{}, err
	}
	defer func() {
		s.mu.Lock()
		s.reserved -= n
		if err == nil {
			s.used += n
			s.count++
		}
		s.mu.Unlock()
	}()
	u := Uploaded{ID: make([]byte, wire.IDSize), Token: make([]byte, wire.TokenSize), Expires: expires}
	rand.Read(u.ID)
	rand.Read(u.Token)
	h := hex.EncodeToString(u.ID)
	tmp, err := os.CreateTemp(filepath.Join(s.dir, TempDir), "upload-*")
	if err != nil {
		return Uploaded{}, err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Uploaded{}, err
	}
	final := s.blobPath(h)
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return Uploaded{}, err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Uploaded{}, err
	}
	syncDir(filepath.Dir(final))
	th := sha256.Sum256(u.Token)
	if _, err := s.db.ExecContext(ctx, "INSERT INTO blobs (id, size, expires_ms, token_hash) VALUES (?, ?, ?, ?)",
		u.ID, n, expires.UnixMilli(), th[:]); err != nil {
		os.Remove(final)
		return Uploaded{}, err
	}
	return u, nil
}

// syncDir makes a rename in dir durable; where directories cannot be
// synced the rename is as durable as the file system makes it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func (s *Store) reserve(n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used+s.reserved+n > s.capacity {
		return ErrFull
	}
	s.reserved += n
	return nil
}

// Meta is what a row says of a blob.
type Meta struct {
	Size    int64
	Expires time.Time
}

// Info returns the metadata of a blob unexpired at now.
func (s *Store) Info(ctx context.Context, id []byte, now time.Time) (Meta, error) {
	var m Meta
	var exp int64
	err := s.db.QueryRowContext(ctx, "SELECT size, expires_ms FROM blobs WHERE id = ? AND expires_ms > ?", id, now.UnixMilli()).Scan(&m.Size, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Meta{}, ErrNotFound
	}
	if err != nil {
		return Meta{}, err
	}
	m.Expires = time.UnixMilli(exp)
	return m, nil
}

// Read returns up to length bytes of the blob from offset, with its
// metadata. An offset at or past the end is ErrRange.
func (s *Store) Read(ctx context.Context, id []byte, offset, length int64, now time.Time) ([]byte, Meta, error) {
	m, err := s.Info(ctx, id, now)
	if err != nil {
		return nil, Meta{}, err
	}
	if offset >= m.Size {
		return nil, Meta{}, ErrRange
	}
	f, err := os.Open(s.blobPath(hex.EncodeToString(id)))
	if errors.Is(err, fs.ErrNotExist) {
		// Deleted or swept between the row and the open.
		return nil, Meta{}, ErrNotFound
	}
	if err != nil {
		return nil, Meta{}, err
	}
	defer f.Close()
	buf := make([]byte, min(length, m.Size-offset))
	if _, err := f.ReadAt(buf, offset); err != nil && !errors.Is(err, io.EOF) {
		return nil, Meta{}, err
	}
	return buf, m, nil
}

// checkToken returns the row's expiry if token is the blob's.
func (s *Store) checkToken(ctx context.Context, id, token []byte, now time.Time) error {
	var th []byte
	err := s.db.QueryRowContext(ctx, "SELECT token_hash FROM blobs WHERE id = ? AND expires_ms > ?", id, now.UnixMilli()).Scan(&th)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	h := sha256.Sum256(token)
	if subtle.ConstantTimeCompare(h[:], th) != 1 {
		return ErrForbidden
	}
	return nil
}

// Extend sets a blob's expiry to expires if token is its capability. An
// expiry is never shortened by Extend: the later of the two is kept.
func (s *Store) Extend(ctx context.Context, id, token []byte, expires, now time.Time) (time.Time, error) {
	if err := s.checkToken(ctx, id, token, now); err != nil {
		return time.Time{}, err
	}
	var exp int64
	err := s.db.QueryRowContext(ctx, "UPDATE blobs SET expires_ms = max(expires_ms, ?) WHERE id = ? RETURNING expires_ms", expires.UnixMilli(), id).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, ErrNotFound
	}
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(exp), nil
}

// Delete removes a blob if token is its capability: the row first (it is
// gone for readers at once), then the file.
func (s *Store) Delete(ctx context.Context, id, token []byte, now time.Time) error {
	if err := s.checkToken(ctx, id, token, now); err != nil {
		return err
	}
	return s.remove(ctx, "DELETE FROM blobs WHERE id = ? RETURNING id, size", id)
}

// Sweep removes the blobs expired at now and returns how many.
func (s *Store) Sweep(ctx context.Context, now time.Time) (int, error) {
	var n int
	for {
		// In batches, so that the one connection is not held for long.
		k, err := s.removeCount(ctx, "DELETE FROM blobs WHERE id IN (SELECT id FROM blobs WHERE expires_ms <= ? LIMIT 500) RETURNING id, size", now.UnixMilli())
		n += k
		if err != nil || k == 0 {
			return n, err
		}
	}
}

func (s *Store) remove(ctx context.Context, query string, args ...any) error {
	k, err := s.removeCount(ctx, query, args...)
	if err == nil && k == 0 {
		return ErrNotFound
	}
	return err
}

// removeCount runs a DELETE … RETURNING id, size and unlinks the files of
// the rows it removed. A crash between the two leaves files without rows,
// which the next start removes.
func (s *Store) removeCount(ctx context.Context, query string, args ...any) (int, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	type gone struct {
		id   []byte
		size int64
	}
	var removed []gone
	for rows.Next() {
		var g gone
		if err := rows.Scan(&g.id, &g.size); err != nil {
			rows.Close()
			return 0, err
		}
		removed = append(removed, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, g := range removed {
		if err := os.Remove(s.blobPath(hex.EncodeToString(g.id))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return len(removed), err
		}
		s.mu.Lock()
		s.used -= g.size
		s.count--
		s.mu.Unlock()
	}
	return len(removed), nil
}
