package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hushnet/hush/internal/schema"
	"github.com/hushnet/hush/internal/store"
	"github.com/hushnet/hush/protocol/rpc"
)

// applicationID marks the file as a hush node store ("hush") in the SQLite
// header, so that opening some other application's database fails instead of
// migrating it.
const applicationID = 0x68757368

// migrationFiles are the schema, one script per version, named
// NNNN-what.sql and run in order. A released script is never edited: a
// change of schema is a new script.
//
//go:embed sql/*.sql
var migrationFiles embed.FS

// ErrNoTime is returned by methods that take a now, or a [store.Query] with
// Now, when it is the zero time: with it every stored message would count as
// unexpired, so it is refused as a caller bug.
var ErrNoTime = errors.New("now is the zero time")

// FloodPolicy says what Put does when a message for a public namespace
// (divisible by 10) would take an account over its quota.
type FloodPolicy int

const (
	// EvictOldest deletes the namespace's oldest messages (in the swarm-wide
	// order, and only those older than the new one) to make room. The default;
	// the package documentation says why.
	EvictOldest FloodPolicy = iota
	// Refuse returns store.ErrAccountQuota and keeps the old messages.
	Refuse
)

// Defaults used by [Open] when no option overrides them.
const (
	// DefaultMaxAccountBytes and DefaultMaxAccountMessages bound what an
	// account holds in all its owner-only namespaces together.
	DefaultMaxAccountBytes    = 100 << 20 // about 1,300 messages of the 76,800-byte maximum
	DefaultMaxAccountMessages = 10_000
	// DefaultPublicBytes and DefaultPublicMessages bound what an account
	// holds in each public namespace, separately.
	DefaultPublicBytes    = 100 << 20
	DefaultPublicMessages = 10_000
	// DefaultMaxTotalBytes is session-storage-server's Database::SIZE_LIMIT
	// (oxenss/storage/database.hpp), 3.5 GiB.
	DefaultMaxTotalBytes = 3584 << 20
	DefaultListLimit     = 256
	// DefaultListBytes keeps a retrieve response under the ~7.8 MB that
	// DESIGN.md §4 allows once Data is base64-encoded (4/3 larger).
	DefaultListBytes   = 5_800_000
	DefaultBusyTimeout = 10 * time.Second
)

type config struct {
	maxAccountBytes    int64
	maxAccountMessages int64
	maxPublicBytes     int64
	maxPublicMessages  int64
	maxTTLPublic       time.Duration
	maxTTLPrivate      time.Duration
	maxTotalBytes      int64
	flood              FloodPolicy
	listLimit          int
	listBytes          int
	busyTimeout        time.Duration
	readers            int
	synchronous        string
	clock              func() time.Time
	logger             *slog.Logger
	targetVersion      int // tests only: migrate up to this version, not the latest
}

// Option configures [Open].
type Option func(*config)

// WithPublicQuota sets the most Data bytes and the most messages one
// account may hold in each public namespace (divisible by 10); zero keeps
// the default. A full public namespace evicts or refuses as the
// [FloodPolicy] says, and never takes room from another namespace.
func WithPublicQuota(maxBytes, maxMessages int64) Option {
	return func(c *config) {
		if maxBytes > 0 {
			c.maxPublicBytes = maxBytes
		}
		if maxMessages > 0 {
			c.maxPublicMessages = maxMessages
		}
	}
}

// WithMaxTTL sets the longest a message may live after its deposit
// timestamp, in a public and in an owner-only namespace; SetExpiry,
// SetExpiryAll and a duplicate Put never take an expiry past it. Zero
// keeps the default, the storage RPC's limits (rpc.MaxTTLPublic,
// rpc.MaxTTLPrivate).
func WithMaxTTL(public, ownerOnly time.Duration) Option {
	return func(c *config) {
		if public > 0 {
			c.maxTTLPublic = public
		}
		if ownerOnly > 0 {
			c.maxTTLPrivate = ownerOnly
		}
	}
}

// WithAccountQuota sets the most Data bytes and the most messages one account
// may hold across all its owner-only namespaces together (public ones have
// [WithPublicQuota]); zero keeps the default.
func WithAccountQuota(maxBytes, maxMessages int64) Option {
	return func(c *config) {
		if maxBytes > 0 {
			c.maxAccountBytes = maxBytes
		}
		if maxMessages > 0 {
			c.maxAccountMessages = maxMessages
		}
	}
}

// WithMaxTotalBytes caps the size of the database file (rounded down to whole
// pages). Put returns store.ErrStoreFull at the cap. The WAL beside the file
// is not counted; it stays near 4 MiB (SQLite checkpoints at 1,000 pages)
// unless long reads hold checkpoints back. SQLite never lowers the cap below
// the file's current size, so shrinking it on a full database takes effect
// only after the file shrinks. Zero keeps the default; negative means no cap
// other than the disk.
func WithMaxTotalBytes(n int64) Option {
	return func(c *config) {
		if n != 0 {
			c.maxTotalBytes = n
		}
	}
}

// WithFloodPolicy sets what happens when a public namespace is over quota.
func WithFloodPolicy(p FloodPolicy) Option { return func(c *config) { c.flood = p } }

// WithListDefaults sets the limits List uses when a Query leaves Limit or
// MaxBytes zero.
func WithListDefaults(limit, maxBytes int) Option {
	return func(c *config) {
		if limit > 0 {
			c.listLimit = limit
		}
		if maxBytes > 0 {
			c.listBytes = maxBytes
		}
	}
}

// WithBusyTimeout sets how long a statement waits for a lock held by another
// process (inside one DB, writes queue on the single writer connection).
func WithBusyTimeout(d time.Duration) Option { return func(c *config) { c.busyTimeout = d } }

// WithReaders sets the size of the read connection pool.
func WithReaders(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.readers = n
		}
	}
}

// WithClock sets the clock Put uses to free an over-quota account's expired,
// not yet swept messages before it evicts or refuses. Every other method takes
// its now as an argument.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithLogger sets the logger of [DB.RunSweeper].
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// DB is a message store in one SQLite file. It implements [store.Store].
type DB struct {
	cfg config
	// w is the only connection that writes (SetMaxOpenConns(1)): writers
	// queue in database/sql, honouring their contexts, instead of spinning on
	// SQLITE_BUSY.
	w *sql.DB
	r *sql.DB // read-only pool; WAL lets it read while w writes

	puts putStatements

	// mu guards closed; every method holds it for reading while it runs,
	// so Close waits for calls in flight and later calls see closed.
	mu     sync.RWMutex
	closed bool

	evicted atomic.Int64
}

var _ store.Store = (*DB)(nil)

// Open opens or creates the store at path and brings its schema up to date
// (schema.Migrate). It returns schema.ErrForeignDatabase for a file that is
// not a node store, and schema.ErrNewerSchema for one a newer hush wrote,
// leaving either file as it was.
func Open(path string, opts ...Option) (*DB, error) {
	cfg := config{
		maxAccountBytes:    DefaultMaxAccountBytes,
		maxAccountMessages: DefaultMaxAccountMessages,
		maxPublicBytes:     DefaultPublicBytes,
		maxPublicMessages:  DefaultPublicMessages,
		maxTTLPublic:       rpc.MaxTTLPublic,
		maxTTLPrivate:      rpc.MaxTTLPrivate,
		maxTotalBytes:      DefaultMaxTotalBytes,
		listLimit:          DefaultListLimit,
		listBytes:          DefaultListBytes,
		busyTimeout:        DefaultBusyTimeout,
		readers:            max(4, runtime.GOMAXPROCS(0)),
		// FULL: in WAL mode every commit fsyncs the WAL, so an acknowledged
		// store survives power loss, not only a crash of the process. NORMAL
		// would fsync only at checkpoints: a Put costs about one fsync less
		// (BenchmarkPut/sync=NORMAL ran 1.6 to 13 times faster on a shared
		// VM, as its disk was idle or busy), but the commits of the last
		// moments before a power cut are lost after the node told clients
		// they were stored; with the 2-of-N swarm confirmation that is
		// survivable, but only if members do not lose power together.
		// PutBatch is the cheaper way to fewer fsyncs.
		synchronous: "FULL",
		clock:       time.Now,
		logger:      slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}

	common := []string{
		// busy_timeout first: the pragmas after it may need a lock.
		fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout.Milliseconds()),
		"foreign_keys(1)",
	}
	wpragmas := append(common[:len(common):len(common)],
		"journal_mode(WAL)",
		"synchronous("+cfg.synchronous+")",
	)
	// IMMEDIATE takes the write lock at BEGIN: a deferred transaction that
	// reads first and then writes fails with SQLITE_BUSY_SNAPSHOT when another
	// process committed in between, and busy_timeout cannot retry that.
	mq := url.Values{"_pragma": wpragmas, "_txlock": {"immediate"}}
	db := &DB{cfg: cfg}
	pageSize, err := db.migrate(schema.FileURI(path, mq))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, db.wrap(err))
	}
	if cfg.maxTotalBytes > 0 {
		// SQLite fails a write that would grow the file beyond max_page_count
		// with SQLITE_FULL, as session-storage-server enforces its
		// SIZE_LIMIT, so the cap and a really full disk share one error path.
		// It is a per-connection setting: in the DSN, it also holds for a
		// connection database/sql replaces.
		wpragmas = append(wpragmas, fmt.Sprintf("max_page_count(%d)", max(cfg.maxTotalBytes/pageSize, 1)))
	}
	wq := url.Values{"_pragma": wpragmas, "_txlock": {"immediate"}}
	if db.w, err = sql.Open("sqlite", schema.FileURI(path, wq)); err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	// Also fails now, not at the first Put, if the DSN is wrong.
	if err := db.puts.prepare(db.w); err != nil {
		db.puts.close()
		db.w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}

	rq := url.Values{"_pragma": append(common, "query_only(1)")}
	db.r, err = sql.Open("sqlite", schema.FileURI(path, rq))
	if err != nil {
		db.puts.close()
		db.w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.r.SetMaxOpenConns(cfg.readers)
	db.r.SetMaxIdleConns(cfg.readers)
	return db, nil
}

// migrate runs the store's migrations (schema.Migrate: one transaction, a
// crash in the middle leaves the file at the old version, and the next Open
// starts over). It uses a connection of its own, closed before the store's
// pools open, and returns the page size.
func (db *DB) migrate(dsn string) (pageSize int64, err error) {
	c, err := sql.Open("sqlite", dsn)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetMaxOpenConns(1)
	err = schema.Migrate(context.Background(), c, schema.Schema{
		ApplicationID: applicationID,
		Files:         migrationFiles,
		Glob:          "sql/*.sql",
		Target:        db.cfg.targetVersion,
		Logger:        db.cfg.logger,
	})
	if err != nil {
		return 0, err
	}
	err = c.QueryRow("PRAGMA page_size").Scan(&pageSize)
	return pageSize, err
}

// enter starts a method call; every successful enter needs a leave.
func (db *DB) enter() error {
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

func (db *DB) leave() { db.mu.RUnlock() }

// Close waits for calls in flight and closes the database. Later calls, and
// a second Close, return store.ErrClosed.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return store.ErrClosed
	}
	db.closed = true
	// Readers first: the last connection to close checkpoints the WAL into
	// the main file and removes it, and that should be the writer.
	return errors.Join(db.r.Close(), db.puts.close(), db.w.Close())
}

// wrap maps driver errors to the store's: SQLITE_FULL (the file reached
// max_page_count or the disk is full) to store.ErrStoreFull.
func (db *DB) wrap(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return fmt.Errorf("%w: %w", store.ErrStoreFull, err)
	}
	if errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("%w: %w", store.ErrClosed, err)
	}
	return err
}

// Evicted reports how many messages Put has evicted under [EvictOldest]
// since Open, for metrics.
func (db *DB) Evicted() int64 { return db.evicted.Load() }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func checkNow(now time.Time) error {
	if now.IsZero() {
		return ErrNoTime
	}
	return nil
}

// withSynchronous overrides synchronous=FULL, so benchmarks can show what
// NORMAL would buy.
func withSynchronous(mode string) Option { return func(c *config) { c.synchronous = mode } }
