package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
)

// write runs fn in a write transaction and commits it; op names the method
// in errors.
func (db *DB) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if err := db.enter(); err != nil {
		return err
	}
	defer db.leave()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", op, db.wrap(err))
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return fmt.Errorf("%s: %w", op, db.wrap(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", op, db.wrap(err))
	}
	return nil
}

// accountID returns the row id of account, or ok false when it has none.
func accountID(ctx context.Context, tx *sql.Tx, account identity.AccountID) (id int64, ok bool, err error) {
	err = tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE account = ?`, account[:]).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// tombstone records that hash was deleted, until expiry. A later expiry
// wins, so a tombstone outlives every copy a peer may still hold.
func tombstone(ctx context.Context, tx *sql.Tx, acct int64, hash string, expiry int64) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO tombstones (account_id, hash, expiry) VALUES (?, ?, ?)
		ON CONFLICT (account_id, hash) DO UPDATE SET expiry = max(expiry, excluded.expiry)`,
		acct, hash, expiry)
	return err
}

// deleteRows runs a DELETE ... RETURNING hash, expiry and leaves a tombstone
// for each deleted message.
func deleteRows(ctx context.Context, tx *sql.Tx, acct int64, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var (
		hashes   []string
		expiries []int64
	)
	for rows.Next() {
		var h string
		var exp int64
		if err := rows.Scan(&h, &exp); err != nil {
			rows.Close()
			return nil, err
		}
		hashes, expiries = append(hashes, h), append(expiries, exp)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	for i, h := range hashes {
		if err := tombstone(ctx, tx, acct, h, expiries[i]); err != nil {
			return nil, err
		}
	}
	return hashes, nil
}

// Delete implements [store.Store]. Each deleted message leaves a tombstone
// until its expiry, so that [DB.Put] of the same hash (a peer's late
// forward or anti-entropy) does not bring it back. Hashes of messages that
// expired but were not yet swept are deleted and returned too.
func (db *DB) Delete(ctx context.Context, account identity.AccountID, hashes []string) ([]string, error) {
	var deleted []string
	err := db.write(ctx, "delete", func(tx *sql.Tx) error {
		acct, ok, err := accountID(ctx, tx, account)
		if !ok {
			return err
		}
		for _, h := range hashes {
			d, err := deleteRows(ctx, tx, acct,
				`DELETE FROM messages WHERE account_id = ? AND hash = ? RETURNING hash, expiry`, acct, h)
			if err != nil {
				return err
			}
			deleted = append(deleted, d...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

// Deleted implements [store.Store].
func (db *DB) Deleted(ctx context.Context, account identity.AccountID, hash string) (bool, error) {
	if err := db.enter(); err != nil {
		return false, err
	}
	defer db.leave()
	var one int
	err := db.r.QueryRowContext(ctx, `
		SELECT 1 FROM tombstones JOIN accounts ON accounts.id = tombstones.account_id
		WHERE accounts.account = ? AND tombstones.hash = ?`, account[:], hash).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("deleted: %w", db.wrap(err))
	}
	return true, nil
}

// DeleteBefore implements [store.Store], leaving tombstones as [DB.Delete]
// does.
func (db *DB) DeleteBefore(ctx context.Context, account identity.AccountID, ns *int32, before time.Time) ([]string, error) {
	var deleted []string
	err := db.write(ctx, "delete before", func(tx *sql.Tx) error {
		acct, ok, err := accountID(ctx, tx, account)
		if !ok {
			return err
		}
		deleted, err = deleteRows(ctx, tx, acct, `
			DELETE FROM messages
			WHERE account_id = ?1 AND (?2 IS NULL OR namespace = ?2) AND timestamp <= ?3
			RETURNING hash, expiry`, acct, nsArg(ns), ms(before))
		return err
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

// ApplyTombstones records tombstones learnt from a swarm peer and deletes
// the messages they name, returning the hashes it deleted. It is the
// anti-entropy counterpart of [DB.Tombstones].
func (db *DB) ApplyTombstones(ctx context.Context, account identity.AccountID, ts []store.HashInfo) ([]string, error) {
	var deleted []string
	err := db.write(ctx, "apply tombstones", func(tx *sql.Tx) error {
		var acct int64
		if err := tx.QueryRowContext(ctx, `
			INSERT INTO accounts (account) VALUES (?)
			ON CONFLICT (account) DO UPDATE SET account = excluded.account
			RETURNING id`, account[:]).Scan(&acct); err != nil {
			return err
		}
		for _, t := range ts {
			if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE account_id = ? AND hash = ?`, acct, t.Hash); err != nil {
				return err
			}
			var changes int
			if err := tx.QueryRowContext(ctx, `SELECT changes()`).Scan(&changes); err != nil {
				return err
			}
			if changes > 0 {
				deleted = append(deleted, t.Hash)
			}
			if err := tombstone(ctx, tx, acct, t.Hash, ms(t.Expiry)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

// newExpiry is the SQL for the expiry SetExpiry gives a message: ?1 is the
// requested expiry, ?2 the ExpiryMode, ?6 and ?7 the TTL caps of
// [ttlCap]. No mode takes a message past its cap, so an owner cannot keep
// a deposit longer than its namespace allows (the forward-secrecy window
// of DESIGN.md §6 assumes that bound); extend never shortens.
var newExpiry = `CASE ?2 WHEN 1 THEN min(expiry, ?1) WHEN 2 THEN max(expiry, min(?1, ` + ttlCap(6, 7) + `)) ELSE min(?1, ` + ttlCap(6, 7) + `) END`

// SetExpiry implements [store.Store].
func (db *DB) SetExpiry(ctx context.Context, account identity.AccountID, hashes []string, expiry time.Time, mode store.ExpiryMode, now time.Time) (map[string]time.Time, error) {
	if err := checkExpiryArgs(expiry, mode, now); err != nil {
		return nil, fmt.Errorf("set expiry: %w", err)
	}
	out := make(map[string]time.Time, len(hashes))
	pub, priv := db.cfg.ttlMS()
	err := db.write(ctx, "set expiry", func(tx *sql.Tx) error {
		acct, ok, err := accountID(ctx, tx, account)
		if !ok {
			return err
		}
		for _, h := range hashes {
			if err := updateExpiry(ctx, tx, out, `
				UPDATE messages SET expiry = `+newExpiry+`
				WHERE account_id = ?3 AND hash = ?4 AND expiry > ?5
				RETURNING hash, expiry`,
				ms(expiry), int(mode), acct, h, ms(now), pub, priv); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetExpiryAll implements [store.Store].
func (db *DB) SetExpiryAll(ctx context.Context, account identity.AccountID, ns *int32, expiry time.Time, mode store.ExpiryMode, now time.Time) (map[string]time.Time, error) {
	if err := checkExpiryArgs(expiry, mode, now); err != nil {
		return nil, fmt.Errorf("set expiry all: %w", err)
	}
	out := make(map[string]time.Time)
	pub, priv := db.cfg.ttlMS()
	err := db.write(ctx, "set expiry all", func(tx *sql.Tx) error {
		acct, ok, err := accountID(ctx, tx, account)
		if !ok {
			return err
		}
		return updateExpiry(ctx, tx, out, `
			UPDATE messages SET expiry = `+newExpiry+`
			WHERE account_id = ?3 AND (?4 IS NULL OR namespace = ?4) AND expiry > ?5
			RETURNING hash, expiry`,
			ms(expiry), int(mode), acct, nsArg(ns), ms(now), pub, priv)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func checkExpiryArgs(expiry time.Time, mode store.ExpiryMode, now time.Time) error {
	if err := checkNow(now); err != nil {
		return err
	}
	if expiry.IsZero() {
		return errors.New("zero expiry")
	}
	if mode < store.ExpiryAny || mode > store.ExpiryExtend {
		return fmt.Errorf("unknown expiry mode %d", mode)
	}
	return nil
}

func updateExpiry(ctx context.Context, tx *sql.Tx, out map[string]time.Time, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		var exp int64
		if err := rows.Scan(&h, &exp); err != nil {
			return err
		}
		out[h] = fromMS(exp)
	}
	return rows.Err()
}

// sweepBatch bounds how long one Sweep transaction holds the write lock, so
// that Puts are not held up behind a sweep of a large backlog.
const sweepBatch = 1000

// Sweep implements [store.Store]. It also drops tombstones that expired and
// accounts left with neither messages nor tombstones.
func (db *DB) Sweep(ctx context.Context, now time.Time) (int, error) {
	if err := checkNow(now); err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	total := 0
	for {
		var n int64
		err := db.write(ctx, "sweep", func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `
				DELETE FROM messages WHERE id IN (
					SELECT id FROM messages WHERE expiry <= ? LIMIT ?)`, ms(now), sweepBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		total += int(n)
		if err != nil {
			return total, err
		}
		if n < sweepBatch {
			break
		}
	}
	err := db.write(ctx, "sweep", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tombstones WHERE expiry <= ?`, ms(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			DELETE FROM accounts WHERE messages = 0
			AND NOT EXISTS (SELECT 1 FROM tombstones WHERE account_id = accounts.id)`)
		return err
	})
	return total, err
}

// RunSweeper calls Sweep every interval with the time now returns, until
// ctx is done (a clean exit, nil) or the store is closed (store.ErrClosed).
// Other errors are logged and retried at the next tick: a sweep that fails
// for want of disk space must not stop the node.
func (db *DB) RunSweeper(ctx context.Context, every time.Duration, now func() time.Time) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := db.Sweep(ctx, now())
		switch {
		case errors.Is(err, store.ErrClosed):
			return err
		case ctx.Err() != nil:
			return nil
		case err != nil:
			db.cfg.logger.Error("store sweep failed", "err", err, "deleted", n)
		case n > 0:
			db.cfg.logger.Debug("store swept", "deleted", n)
		}
	}
}
