package sqlite

import (
	"context"
	"fmt"
	"math"

	"github.com/hushnet/hush/internal/store"
)

var _ store.ArrivalLister = (*DB)(nil)

// Arrived implements [store.ArrivalLister]: the arrival number is the
// row ID, which SQLite gives each insert as one more than the largest in
// the table. The mark is read before the messages, in its own statement:
// writes commit one at a time, so every row numbered up to it is
// committed and visible to the query that follows, and a row committed
// later is numbered after it. A row ID is reused only when the newest
// message is deleted before the next insert (SQLite without
// AUTOINCREMENT); a message that then arrives late at this node is missed
// by the mark of this node alone, not by the other members' it is stored
// on. It returns [ErrNoTime] when q.Now is zero.
func (db *DB) Arrived(ctx context.Context, q store.ArrivedQuery) ([]store.Message, int64, error) {
	if err := db.enter(); err != nil {
		return nil, 0, err
	}
	defer db.leave()
	if err := checkNow(q.Now); err != nil {
		return nil, 0, fmt.Errorf("arrived: %w", err)
	}
	limit, maxBytes := q.Limit, q.MaxBytes
	if limit <= 0 {
		limit = db.cfg.listLimit
	}
	if maxBytes <= 0 {
		maxBytes = db.cfg.listBytes
	}
	var mark int64
	// The account's own newest, not the table's: the mark then moves only
	// when this account's namespace gets mail, so an idle client's marks
	// stay put (one index look-up on messages_arrival).
	if err := db.r.QueryRowContext(ctx, `
		SELECT coalesce(max(id), 0) FROM messages
		WHERE account_id = (SELECT id FROM accounts WHERE account = ?) AND namespace = ?`,
		q.Account[:], q.Namespace).Scan(&mark); err != nil {
		return nil, 0, fmt.Errorf("arrived: %w", db.wrap(err))
	}
	upTS, upHash := int64(math.MinInt64), ""
	if q.UpTo != (store.Cursor{}) {
		upTS, upHash = ms(q.UpTo.Timestamp), q.UpTo.Hash
	}
	if q.After >= mark || q.UpTo == (store.Cursor{}) {
		return nil, mark, nil
	}
	rows, err := db.r.QueryContext(ctx, `
		SELECT id, hash, timestamp, expiry, data FROM messages
		WHERE account_id = (SELECT id FROM accounts WHERE account = ?)
		  AND namespace = ? AND id > ? AND id <= ?
		  AND (timestamp, hash) <= (?, ?) AND expiry > ?
		ORDER BY id
		LIMIT ?`,
		q.Account[:], q.Namespace, q.After, mark, upTS, upHash, ms(q.Now), limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("arrived: %w", db.wrap(err))
	}
	defer rows.Close()
	var (
		msgs  []store.Message
		total int
		last  int64
	)
	for rows.Next() {
		m := store.Message{Account: q.Account, Namespace: q.Namespace}
		var id, ts, exp int64
		if err := rows.Scan(&id, &m.Hash, &ts, &exp, &m.Data); err != nil {
			return nil, 0, fmt.Errorf("arrived: %w", db.wrap(err))
		}
		if len(msgs) == limit || (len(msgs) > 0 && total+len(m.Data) > maxBytes) {
			// Cut short: complete up to the last one returned.
			return msgs, last, nil
		}
		m.Timestamp, m.Expiry = fromMS(ts), fromMS(exp)
		total += len(m.Data)
		msgs = append(msgs, m)
		last = id
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("arrived: %w", db.wrap(err))
	}
	return msgs, mark, nil
}
