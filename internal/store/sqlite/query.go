package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
)

// List implements [store.Store]. It returns [ErrNoTime] when q.Now is zero.
func (db *DB) List(ctx context.Context, q store.Query) ([]store.Message, bool, error) {
	if err := db.enter(); err != nil {
		return nil, false, err
	}
	defer db.leave()
	if err := checkNow(q.Now); err != nil {
		return nil, false, fmt.Errorf("list: %w", err)
	}
	limit, maxBytes := q.Limit, q.MaxBytes
	if limit <= 0 {
		limit = db.cfg.listLimit
	}
	if maxBytes <= 0 {
		maxBytes = db.cfg.listBytes
	}
	// The zero Cursor is before everything, including a message stamped
	// before year 1, which ms(time.Time{}) would not be.
	afterTS, afterHash := int64(math.MinInt64), ""
	if q.After != (store.Cursor{}) {
		afterTS, afterHash = ms(q.After.Timestamp), q.After.Hash
	}
	// One row past the limit tells whether more remain. The row-value
	// comparison is a range on messages_list, so paging deep into a large
	// inbox costs the same as the first page.
	rows, err := db.r.QueryContext(ctx, `
		SELECT hash, timestamp, expiry, data FROM messages
		WHERE account_id = (SELECT id FROM accounts WHERE account = ?)
		  AND namespace = ? AND (timestamp, hash) > (?, ?) AND expiry > ?
		ORDER BY timestamp, hash
		LIMIT ?`,
		q.Account[:], q.Namespace, afterTS, afterHash, ms(q.Now), limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("list: %w", db.wrap(err))
	}
	defer rows.Close()
	var (
		msgs  []store.Message
		total int
		more  bool
	)
	for rows.Next() {
		m := store.Message{Account: q.Account, Namespace: q.Namespace}
		var ts, exp int64
		if err := rows.Scan(&m.Hash, &ts, &exp, &m.Data); err != nil {
			return nil, false, fmt.Errorf("list: %w", db.wrap(err))
		}
		if len(msgs) == limit || (len(msgs) > 0 && total+len(m.Data) > maxBytes) {
			more = true
			break
		}
		m.Timestamp, m.Expiry = fromMS(ts), fromMS(exp)
		total += len(m.Data)
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("list: %w", db.wrap(err))
	}
	return msgs, more, nil
}

// Expiries implements [store.Store].
func (db *DB) Expiries(ctx context.Context, account identity.AccountID, hashes []string, now time.Time) (map[string]time.Time, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	if err := checkNow(now); err != nil {
		return nil, fmt.Errorf("expiries: %w", err)
	}
	conn, err := db.r.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("expiries: %w", db.wrap(err))
	}
	defer conn.Close()
	out := make(map[string]time.Time, len(hashes))
	for _, h := range hashes {
		var exp int64
		err := conn.QueryRowContext(ctx, `
			SELECT expiry FROM messages
			WHERE account_id = (SELECT id FROM accounts WHERE account = ?) AND hash = ? AND expiry > ?`,
			account[:], h, ms(now)).Scan(&exp)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("expiries: %w", db.wrap(err))
		default:
			out[h] = fromMS(exp)
		}
	}
	return out, nil
}

// Hashes returns the hash, namespace and expiry of every message of account
// in ns (nil: all namespaces) unexpired at now, sorted by hash. It reads
// messages_hash and each row's first page, never the data, so listing an
// account costs about one page read per message.
func (db *DB) Hashes(ctx context.Context, account identity.AccountID, ns *int32, now time.Time) ([]store.HashInfo, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	if err := checkNow(now); err != nil {
		return nil, fmt.Errorf("hashes: %w", err)
	}
	rows, err := db.r.QueryContext(ctx, `
		SELECT hash, namespace, expiry FROM messages
		WHERE account_id = (SELECT id FROM accounts WHERE account = ?)
		  AND (?2 IS NULL OR namespace = ?2) AND expiry > ?
		ORDER BY hash`,
		account[:], nsArg(ns), ms(now))
	if err != nil {
		return nil, fmt.Errorf("hashes: %w", db.wrap(err))
	}
	out, err := scanHashInfo(rows, true)
	if err != nil {
		return nil, fmt.Errorf("hashes: %w", db.wrap(err))
	}
	return out, nil
}

// digestDomain separates account digests from any other SHA-256 in hush and
// names the format, so that a change of it cannot be mistaken for divergence.
const digestDomain = "hush/store/account-digest/v1\x00"

// AccountDigest summarises which messages of account are stored and
// unexpired at now, so that two swarm members can compare accounts cheaply
// and exchange [DB.Hashes] only for those that differ. The digest is SHA-256
// over digestDomain and then each hash in ascending byte order followed by a
// zero byte (hashes are base64, never zero bytes). Expiries are left out:
// they are reconciled by the expire forwards, and a digest that changed with
// every in-flight expire would make members exchange whole hash lists for
// accounts that hold the same messages.
func (db *DB) AccountDigest(ctx context.Context, account identity.AccountID, now time.Time) (digest [32]byte, count int, err error) {
	hs, err := db.Hashes(ctx, account, nil, now)
	if err != nil {
		return digest, 0, err
	}
	h := sha256.New()
	h.Write([]byte(digestDomain))
	for _, x := range hs {
		h.Write([]byte(x.Hash))
		h.Write([]byte{0})
	}
	h.Sum(digest[:0])
	return digest, len(hs), nil
}

// Tombstones returns the account's tombstones still live at now (expiry after
// now), sorted by hash, for anti-entropy to pass deletions on
// ([DB.ApplyTombstones] on the peer).
func (db *DB) Tombstones(ctx context.Context, account identity.AccountID, now time.Time) ([]store.HashInfo, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	if err := checkNow(now); err != nil {
		return nil, fmt.Errorf("tombstones: %w", err)
	}
	rows, err := db.r.QueryContext(ctx, `
		SELECT hash, expiry FROM tombstones
		WHERE account_id = (SELECT id FROM accounts WHERE account = ?) AND expiry > ?
		ORDER BY hash`,
		account[:], ms(now))
	if err != nil {
		return nil, fmt.Errorf("tombstones: %w", db.wrap(err))
	}
	out, err := scanHashInfo(rows, false)
	if err != nil {
		return nil, fmt.Errorf("tombstones: %w", db.wrap(err))
	}
	return out, nil
}

func scanHashInfo(rows *sql.Rows, withNS bool) ([]store.HashInfo, error) {
	defer rows.Close()
	var out []store.HashInfo
	for rows.Next() {
		var (
			x   store.HashInfo
			exp int64
			err error
		)
		if withNS {
			err = rows.Scan(&x.Hash, &x.Namespace, &exp)
		} else {
			err = rows.Scan(&x.Hash, &exp)
		}
		if err != nil {
			return nil, err
		}
		x.Expiry = fromMS(exp)
		out = append(out, x)
	}
	return out, rows.Err()
}

// Stats implements [store.Store]. Messages and Bytes include expired
// messages not yet swept; Accounts counts accounts holding any message.
func (db *DB) Stats(ctx context.Context) (store.Stats, error) {
	if err := db.enter(); err != nil {
		return store.Stats{}, err
	}
	defer db.leave()
	var s store.Stats
	err := db.r.QueryRowContext(ctx, `
		SELECT coalesce(sum(messages), 0), coalesce(sum(bytes), 0), count(*) FILTER (WHERE messages > 0)
		FROM accounts`).Scan(&s.Messages, &s.Bytes, &s.Accounts)
	if err != nil {
		return store.Stats{}, fmt.Errorf("stats: %w", db.wrap(err))
	}
	return s, nil
}

// nsArg turns an optional namespace into a value that is NULL for "all".
func nsArg(ns *int32) any {
	if ns == nil {
		return nil
	}
	return *ns
}
