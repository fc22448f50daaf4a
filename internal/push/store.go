package push

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver

	"github.com/hushnet/hush/internal/schema"
)

//go:embed sql/*.sql
var migrationFiles embed.FS

// applicationID marks a push server database ("hpsh").
const applicationID = 0x68707368

// Subscription is one row of the subscriptions table.
type Subscription struct {
	SubID      [32]byte
	SecretHash [32]byte
	Target     Target
	MgmtKey    []byte
	Expiry     time.Time
	LastTS     time.Time
}

// ErrNotFound is returned by [Store.Get] for an unknown (or expired)
// subscription.
var ErrNotFound = errors.New("push: no such subscription")

// Store is the push server's SQLite database. It is safe for concurrent
// use; writes go through one connection.
//
// Every member of a swarm notifies each message, so the notify path
// meets each subscription and each tag several times within a second or
// so. The store therefore keeps in memory the subscriptions it read or
// wrote last and the tags claimed through it, bounded (cleared wholesale
// when full, which costs only database reads): a repeat is dropped
// without a database write, the one connection every write queues for.
// The database stays the truth: memory is filled only after a statement
// succeeded, and every change goes through the store, which is the only
// writer of its file.
type Store struct {
	db *sql.DB
	// Statements of the notify path, prepared once: preparing one costs
	// about as much as running it.
	get, claim, release *sql.Stmt

	mu sync.Mutex // guards subs and tags
	// subs are recently read or written subscriptions (copies).
	subs map[[32]byte]Subscription
	// tags are claimed tags with their claim time in Unix milliseconds.
	tags map[[32]byte]int64

	// gets and claims count the subscription reads and tag claims that
	// went to the database, for tests of the notify path's cost.
	gets, claims atomic.Int64
}

// Bounds of the store's memory, some 2 MB each at most (a subscription
// with its endpoint or token and keys is about 500 bytes, a tag in a map
// about 100): tags need to outlive only the few seconds over which one
// message's notifies arrive, some 8 s of tags at 2,000 pushes/s.
const (
	maxCachedSubs = 4096
	maxCachedTags = 16384
)

// OpenStore opens (creating and migrating) the database at path.
func OpenStore(path string) (*Store, error) {
	pragmas := []string{"busy_timeout(10000)", "foreign_keys(1)", "journal_mode(WAL)", "synchronous(NORMAL)"}
	dsn := schema.FileURI(path, url.Values{"_pragma": pragmas, "_txlock": {"immediate"}})
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("push database %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and the working set
	// (a page cache) stays one.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	if err := schema.Migrate(context.Background(), db, schema.Schema{ApplicationID: applicationID, Files: migrationFiles, Glob: "sql/*.sql"}); err != nil {
		db.Close()
		return nil, fmt.Errorf("push database %s: %w", path, err)
	}
	s := &Store{db: db, subs: make(map[[32]byte]Subscription), tags: make(map[[32]byte]int64)}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&s.get, `SELECT secret_hash, provider, endpoint, p256dh, auth, token, mgmt_key, expiry_ms, last_ts_ms FROM subscriptions WHERE sub_id = ?`},
		{&s.claim, `INSERT OR IGNORE INTO tags (tag, seen_ms) VALUES (?, ?)`},
		{&s.release, `DELETE FROM tags WHERE tag = ?`},
	} {
		if *p.dst, err = db.Prepare(p.q); err != nil {
			db.Close()
			return nil, fmt.Errorf("push database %s: %w", path, err)
		}
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.get.Close()
	s.claim.Close()
	s.release.Close()
	return s.db.Close()
}

// Put inserts or replaces a subscription.
func (s *Store) Put(ctx context.Context, sub *Subscription) error {
	t := sub.Target
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO subscriptions
		(sub_id, secret_hash, provider, endpoint, p256dh, auth, token, mgmt_key, expiry_ms, last_ts_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sub.SubID[:], sub.SecretHash[:], t.Provider, t.Endpoint, t.P256dh, t.Auth, t.Token, sub.MgmtKey,
		sub.Expiry.UnixMilli(), sub.LastTS.UnixMilli())
	if err != nil {
		// Whether it was written is not known: not cached either way.
		s.forget(sub.SubID)
		return err
	}
	s.remember(sub)
	return nil
}

// remember caches a copy of sub, which the database holds.
func (s *Store) remember(sub *Subscription) {
	// The database keeps milliseconds: so does the copy, so that a hit
	// and a read give the same.
	c := *sub
	c.Expiry, c.LastTS = time.UnixMilli(c.Expiry.UnixMilli()), time.UnixMilli(c.LastTS.UnixMilli())
	c.MgmtKey = bytes.Clone(c.MgmtKey)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.subs) >= maxCachedSubs {
		clear(s.subs)
	}
	s.subs[sub.SubID] = c
}

func (s *Store) forget(id [32]byte) {
	s.mu.Lock()
	delete(s.subs, id)
	s.mu.Unlock()
}

// Get returns the subscription id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id [32]byte) (*Subscription, error) {
	s.mu.Lock()
	c, ok := s.subs[id]
	s.mu.Unlock()
	if ok {
		// The caller may change its copy (manage does, before Put).
		c.MgmtKey = bytes.Clone(c.MgmtKey)
		return &c, nil
	}
	var sub Subscription
	var hash []byte
	var exp, last int64
	s.gets.Add(1)
	err := s.get.QueryRowContext(ctx, id[:]).
		Scan(&hash, &sub.Target.Provider, &sub.Target.Endpoint, &sub.Target.P256dh, &sub.Target.Auth, &sub.Target.Token, &sub.MgmtKey, &exp, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	sub.SubID = id
	copy(sub.SecretHash[:], hash)
	sub.Expiry, sub.LastTS = time.UnixMilli(exp), time.UnixMilli(last)
	s.remember(&sub)
	return &sub, nil
}

// Delete removes a subscription; deleting an unknown one is no error.
func (s *Store) Delete(ctx context.Context, id [32]byte) error {
	// Forgotten first: a concurrent Get then reads the database.
	s.forget(id)
	_, err := s.db.ExecContext(ctx, `DELETE FROM subscriptions WHERE sub_id = ?`, id[:])
	s.forget(id)
	return err
}

// ClaimTag records tag as seen at now and reports whether it was new:
// false means a notify with this tag was taken within the window.
func (s *Store) ClaimTag(ctx context.Context, tag [32]byte, now time.Time) (bool, error) {
	s.mu.Lock()
	_, seen := s.tags[tag]
	s.mu.Unlock()
	if seen {
		return false, nil
	}
	s.claims.Add(1)
	res, err := s.claim.ExecContext(ctx, tag[:], now.UnixMilli())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	// Claimed now or before (by this process before a restart, or
	// before memory was cleared): in the database either way. The time
	// kept is this claim's, a little later than the database's for an
	// old claim, so memory forgets it no sooner than Sweep does.
	s.mu.Lock()
	if len(s.tags) >= maxCachedTags {
		clear(s.tags)
	}
	s.tags[tag] = now.UnixMilli()
	s.mu.Unlock()
	return n == 1, nil
}

// ReleaseTag forgets tag, after its push failed, so that the nodes'
// retries are not dropped as repeats.
func (s *Store) ReleaseTag(ctx context.Context, tag [32]byte) error {
	_, err := s.release.ExecContext(ctx, tag[:])
	if err == nil {
		s.mu.Lock()
		delete(s.tags, tag)
		s.mu.Unlock()
	}
	return err
}

// Sweep deletes subscriptions expired at now and tags seen before
// tagsBefore, and returns how many of each.
func (s *Store) Sweep(ctx context.Context, now, tagsBefore time.Time) (subs, tags int64, err error) {
	r, err := s.db.ExecContext(ctx, `DELETE FROM subscriptions WHERE expiry_ms <= ?`, now.UnixMilli())
	if err != nil {
		return 0, 0, err
	}
	subs, _ = r.RowsAffected()
	s.mu.Lock()
	maps.DeleteFunc(s.subs, func(_ [32]byte, sub Subscription) bool { return !sub.Expiry.After(now) })
	maps.DeleteFunc(s.tags, func(_ [32]byte, ms int64) bool { return ms < tagsBefore.UnixMilli() })
	s.mu.Unlock()
	r, err = s.db.ExecContext(ctx, `DELETE FROM tags WHERE seen_ms < ?`, tagsBefore.UnixMilli())
	if err != nil {
		return subs, 0, err
	}
	tags, _ = r.RowsAffected()
	return subs, tags, nil
}

// Count returns the number of subscriptions per provider.
func (s *Store) Count(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT provider, count(*) FROM subscriptions GROUP BY provider`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var p string
		var n int
		if err := rows.Scan(&p, &n); err != nil {
			return nil, err
		}
		out[p] = n
	}
	return out, rows.Err()
}

// ServerKey returns the key named name, creating it with create on first
// use.
func (s *Store) ServerKey(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM server_keys WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if v, err = create(); err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO server_keys (name, value) VALUES (?, ?)`, name, v); err != nil {
		return nil, err
	}
	return v, nil
}
