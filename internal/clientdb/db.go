package clientdb

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/hushnet/hush/crypto/prekey"
	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/schema"
)

// applicationID marks the file as a hush client database ("hshc") in the
// SQLite header, so that opening another application's database (or the
// node's store) fails instead of migrating it.
const applicationID = 0x68736863

//go:embed sql/*.sql
var migrationFiles embed.FS

// Errors returned by this package. Methods document which they return.
var (
	// ErrWrongKey: the key given to Open does not open the database's check
	// value. Nothing was written.
	ErrWrongKey = errors.New("wrong database key")
	// ErrNotFound: no row matches.
	ErrNotFound = errors.New("not found")
	// ErrNicknameTaken: another contact already has this nickname.
	ErrNicknameTaken = errors.New("nickname is taken by another contact")
	// ErrDeleted: InsertMessage refused a message covered by a tombstone
	// (its conversation or the message itself was deleted). Callers drop it.
	ErrDeleted = errors.New("message was deleted")
	// ErrClosed: the DB was closed.
	ErrClosed = errors.New("database is closed")
	// ErrCorrupt: a sealed value failed to open or a row is malformed; the
	// file was damaged or tampered with.
	ErrCorrupt = errors.New("database is damaged")
	// ErrInvalid: an argument is out of range (a zero time, an empty
	// nickname where one is required, an unknown enum value).
	ErrInvalid = errors.New("invalid argument")
)

// Defaults used by [Open] when no option overrides them.
const (
	DefaultBusyTimeout = 10 * time.Second
	// DefaultTombstoneTTL outlives every key that could open a copy of
	// what a tombstone covers, so no copy a node keeps or stores again can
	// come back once the tombstone goes. The longest-lived is a Sync
	// prekey: deleted at start(e+1) + 30 days + 1 hour
	// (prekey.DeleteAfter), 31 days 1 hour after the start of the
	// copy's epoch e; a deletion happens at the earliest one clock skew
	// (1 hour) before that start. Hence one epoch + the Sync TTL + twice
	// the skew, 31 days 2 hours. (31 days, the longest swarm TTL, was not
	// enough: a copy sealed and deleted early in its UTC day could be
	// stored again and opened for up to an hour after its tombstone.)
	DefaultTombstoneTTL = prekey.EpochLength + 30*24*time.Hour + 2*prekey.ClockSkew
	DefaultPageSize     = 100
	MaxPageSize         = 1000
	// Outbox backoff: 5 s doubling to 10 min; an item is given up 24 h after
	// it was queued, well inside the recipient's 14-day inbox TTL.
	DefaultOutboxBase   = 5 * time.Second
	DefaultOutboxMax    = 10 * time.Minute
	DefaultOutboxGiveUp = 24 * time.Hour
)

const (
	checkName          = "check" // meta row holding the sealed key check
	tombstoneConv      = 1       // tombstones.kind values, stored
	tombstoneMessage   = 2
	maxNicknameLen     = 64
	maxDisplayNameLen  = 256
	maxSettingNameLen  = 256
	defaultReaderConns = 4
)

type config struct {
	busyTimeout   time.Duration
	tombstoneTTL  time.Duration
	outboxBase    time.Duration
	outboxMax     time.Duration
	outboxGiveUp  time.Duration
	targetVersion int // tests only: stop migrating at this version
}

// Option configures [Open].
type Option func(*config)

// WithBusyTimeout sets how long a statement waits for a lock another
// connection or process holds (for example `hush send` while
// `hush receive --follow` writes).
func WithBusyTimeout(d time.Duration) Option { return func(c *config) { c.busyTimeout = d } }

// WithTombstoneTTL sets how long tombstones of deleted conversations and
// messages are kept; zero keeps the default.
func WithTombstoneTTL(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.tombstoneTTL = d
		}
	}
}

// WithOutboxBackoff sets the outbox retry policy: the first retry waits base,
// each further one twice as long up to max, and an item queued longer than
// giveUp ago is given up at its next failure. Zero values keep the defaults.
func WithOutboxBackoff(base, max, giveUp time.Duration) Option {
	return func(c *config) {
		if base > 0 {
			c.outboxBase = base
		}
		if max > 0 {
			c.outboxMax = max
		}
		if giveUp > 0 {
			c.outboxGiveUp = giveUp
		}
	}
}

// DB is an open client database. Its methods are safe for concurrent use,
// and several DBs (in one process or several) may use the same file.
type DB struct {
	path string
	cfg  config
	k    *keys
	// w is the only connection of this DB that writes: writers queue in
	// database/sql instead of spinning on SQLITE_BUSY, and busy_timeout
	// covers writers of other DBs and processes.
	w *sql.DB
	r *sql.DB // read-only pool; WAL lets it read while w writes

	// mu guards closed; methods hold it for reading while they run, so
	// Close waits for calls in flight and later calls see closed.
	mu     sync.RWMutex
	closed bool

	// scrubOwed is set when the checkpoint after a committed deletion
	// failed; the next deleting call checkpoints even if it deletes
	// nothing.
	scrubOwed atomic.Bool
	// checkpointHook, when set (tests only), replaces the checkpoint
	// after a deletion.
	checkpointHook func() error
}

// Open opens or creates the database at path (mode 0600), checks key against
// the sealed check value, and brings the schema up to date. A key that does
// not open the check value returns [ErrWrongKey] before anything is written.
// Open also returns schema.ErrForeignDatabase (another application's
// file, or an unmarked one holding tables), schema.ErrNewerSchema and
// [ErrCorrupt].
func Open(path string, key [32]byte, opts ...Option) (*DB, error) {
	cfg := config{
		busyTimeout:  DefaultBusyTimeout,
		tombstoneTTL: DefaultTombstoneTTL,
		outboxBase:   DefaultOutboxBase,
		outboxMax:    DefaultOutboxMax,
		outboxGiveUp: DefaultOutboxGiveUp,
	}
	for _, o := range opts {
		o(&cfg)
	}
	k, err := deriveKeys(key)
	if err != nil {
		return nil, err
	}
	// SQLite gives the -wal and -shm files the main file's mode, so creating
	// it 0600 here keeps all three private.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	f.Close()

	common := []string{
		// busy_timeout first: the pragmas after it may need a lock.
		fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds()),
		"foreign_keys(1)",
		// Freed pages are overwritten with zeros, so deleted ciphertexts and
		// keyed hashes do not linger in the file's free list.
		"secure_delete(1)",
		// Sorts and temporary indexes stay in memory, never in temp files.
		"temp_store(2)",
	}
	wpragmas := append(common[:len(common):len(common)],
		"journal_mode(WAL)",
		// NORMAL: a commit survives a crash of the process; a power cut may
		// lose the last commits. Messages, cursors and the outbox live in
		// this one file, so such a loss rolls them back together, and the
		// next poll fetches the lost messages again from the swarm.
		"synchronous(NORMAL)",
	)
	// IMMEDIATE takes the write lock at BEGIN: a deferred transaction that
	// reads and then writes fails with SQLITE_BUSY_SNAPSHOT when another
	// process committed in between, which busy_timeout cannot retry.
	wdsn := schema.FileURI(path, url.Values{"_pragma": wpragmas, "_txlock": {"immediate"}})
	db := &DB{path: path, cfg: cfg, k: k}
	if err := db.precheck(path, common); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.migrate(wdsn); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if db.w, err = sql.Open("sqlite", wdsn); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	rdsn := schema.FileURI(path, url.Values{"_pragma": append(common, "query_only(1)")})
	if db.r, err = sql.Open("sqlite", rdsn); err != nil {
		db.w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.r.SetMaxOpenConns(defaultReaderConns)
	db.r.SetMaxIdleConns(defaultReaderConns)
	if err := db.w.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// precheck verifies the key over a read-only connection before the writer
// opens the file. migrate checks it again, but only a read-only connection
// is sure to write nothing at all: after a crash the WAL may still hold
// committed frames, and a read-write connection folds them into the main
// file when it closes. A wrong key must leave every file as it found it.
func (db *DB) precheck(path string, pragmas []string) error {
	if size, err := fileSize(path); err != nil || size == 0 {
		return err
	}
	c, err := sql.Open("sqlite", schema.FileURI(path, url.Values{"_pragma": pragmas, "mode": {"ro"}}))
	if err != nil {
		return err
	}
	defer c.Close()
	tx, err := c.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var appID, version int
	if err := tx.QueryRow("PRAGMA application_id").Scan(&appID); err != nil {
		return err
	}
	if err := tx.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if appID != applicationID || version == 0 {
		return nil // migrate tells a foreign or new file
	}
	return db.verifyCheck(tx)
}

// migrate checks the key and runs the migrations newer than the file's
// user_version (schema.Migrate: one transaction, a crash in the middle
// leaves the old version, and the next Open starts over). The key is checked
// first, before any write, so a wrong key leaves the file as it was; a new
// file gets its key check value in the same transaction.
func (db *DB) migrate(dsn string) error {
	c, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetMaxOpenConns(1)
	return schema.Migrate(context.Background(), c, schema.Schema{
		ApplicationID: applicationID,
		Files:         migrationFiles,
		Glob:          "sql/*.sql",
		Target:        db.cfg.targetVersion,
		Check:         db.verifyCheck,
		Init: func(tx *sql.Tx) error {
			check := seal(db.k.check, "meta.check", nil, []byte(checkPlaintext))
			_, err := tx.Exec("INSERT INTO meta(name, value) VALUES (?, ?)", checkName, check)
			return err
		},
	})
}

func (db *DB) verifyCheck(tx *sql.Tx) error {
	var v []byte
	err := tx.QueryRow("SELECT value FROM meta WHERE name = ?", checkName).Scan(&v)
	if err != nil {
		return fmt.Errorf("%w: no key check value: %w", ErrCorrupt, err)
	}
	pt, err := open(db.k.check, "meta.check", nil, v)
	if err != nil {
		// A wrong key and a damaged check value look alike; the key is by
		// far the likelier cause.
		return ErrWrongKey
	}
	if subtle.ConstantTimeCompare(pt, []byte(checkPlaintext)) != 1 {
		return fmt.Errorf("%w: key check value has unexpected contents", ErrCorrupt)
	}
	return nil
}

// enter starts a method call; every successful enter needs a leave.
func (db *DB) enter() error {
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (db *DB) leave() { db.mu.RUnlock() }

// Close waits for calls in flight and closes the database. Later calls, and a
// second Close, return [ErrClosed].
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return ErrClosed
	}
	db.closed = true
	// Readers first: the last connection to close checkpoints the WAL into
	// the main file and removes it, and that should be the writer.
	var errs []error
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	return errors.Join(errs...)
}

// write runs fn in an IMMEDIATE transaction on the writer connection. When
// scrub is set and fn changed any row, it then checkpoints and truncates the
// WAL, so that pages holding deleted values leave the WAL file as well as
// the main file; a deletion that found nothing (ExpireDue on most runs)
// skips the checkpoint and its wait for readers, unless an earlier one
// failed. A failed checkpoint does not fail the call: its change is
// committed, and a caller told otherwise would skip what must follow it
// (the client's event for a disappeared message, the remote deletion of
// its copies), which no later call can redo since the rows are gone. The
// scrub is owed to the next deleting call (and Close checkpoints too).
func (db *DB) write(scrub bool, fn func(tx *sql.Tx) error) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	tx, err := db.w.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var before, after int64
	if scrub {
		if err := tx.QueryRow("SELECT total_changes()").Scan(&before); err != nil {
			return err
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	if scrub {
		if err := tx.QueryRow("SELECT total_changes()").Scan(&after); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if scrub && (after != before || db.scrubOwed.Load()) {
		check := db.checkpoint
		if db.checkpointHook != nil {
			check = db.checkpointHook
		}
		db.scrubOwed.Store(check() != nil)
	}
	return nil
}

// checkpoint copies the WAL into the main file and truncates it to zero
// bytes. A reader of another process that holds an old snapshot can keep
// frames from being reset; SQLite then reports busy and the frames go at a
// later checkpoint (the next deletion, or Close), which is the best SQLite
// allows without stopping other readers.
func (db *DB) checkpoint() error {
	var busy, logFrames, done int
	if err := db.w.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// read runs fn on the read pool.
func (db *DB) read(fn func(r *sql.DB) error) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	return fn(db.r)
}

func toMS(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toMS(t), Valid: true}
}

func checkTime(name string, t time.Time) error {
	if t.IsZero() {
		return fmt.Errorf("%w: %s is the zero time", ErrInvalid, name)
	}
	return nil
}

func checkAccount(id identity.AccountID) error {
	if id.IsZero() {
		return fmt.Errorf("%w: zero Account ID", ErrInvalid)
	}
	return nil
}

// withSchemaVersion stops migrations at version v, so tests can build a file
// as an older binary left it.
func withSchemaVersion(v int) Option { return func(c *config) { c.targetVersion = v } }
