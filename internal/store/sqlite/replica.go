package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hushnet/hush/identity"
	"github.com/hushnet/hush/internal/store"
)

// This file holds what replication (internal/replication) needs beyond
// store.Store: which accounts the node holds, messages by hash, and dropping
// an account handed to another swarm. PutBatch, Hashes, Tombstones and
// ApplyTombstones, the rest of store.Replica, sit beside the store.Store
// methods they share code with.

var _ store.Replica = (*DB)(nil)

// Accounts implements [store.Replica]. It returns every account holding messages or tombstones, in
// ascending byte order.
func (db *DB) Accounts(ctx context.Context) ([]identity.AccountID, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	rows, err := db.r.QueryContext(ctx, `
		SELECT account FROM accounts
		WHERE messages > 0 OR EXISTS (SELECT 1 FROM tombstones WHERE account_id = accounts.id)
		ORDER BY account`)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", db.wrap(err))
	}
	defer rows.Close()
	var out []identity.AccountID
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("accounts: %w", db.wrap(err))
		}
		// Only validated IDs were ever stored: copy them rather than run
		// identity's point check, an X25519 multiplication per account.
		var id identity.AccountID
		if len(b) != len(id) {
			return nil, fmt.Errorf("accounts: stored account of %d bytes", len(b))
		}
		copy(id[:], b)
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: %w", db.wrap(err))
	}
	return out, nil
}

// Messages implements [store.Replica]. It returns the account's messages with the given hashes that are
// unexpired at now, data included, in the order of hashes; missing ones are
// left out.
func (db *DB) Messages(ctx context.Context, account identity.AccountID, hashes []string, now time.Time) ([]store.Message, error) {
	if err := db.enter(); err != nil {
		return nil, err
	}
	defer db.leave()
	if err := checkNow(now); err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	conn, err := db.r.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("messages: %w", db.wrap(err))
	}
	defer conn.Close()
	stmt, err := conn.PrepareContext(ctx, `
		SELECT namespace, timestamp, expiry, data FROM messages
		WHERE account_id = (SELECT id FROM accounts WHERE account = ?) AND hash = ? AND expiry > ?`)
	if err != nil {
		return nil, fmt.Errorf("messages: %w", db.wrap(err))
	}
	defer stmt.Close()
	out := make([]store.Message, 0, len(hashes))
	for _, h := range hashes {
		m := store.Message{Account: account, Hash: h}
		var ts, exp int64
		err := stmt.QueryRowContext(ctx, account[:], h, ms(now)).Scan(&m.Namespace, &ts, &exp, &m.Data)
		switch {
		case err == sql.ErrNoRows:
			continue
		case err != nil:
			return nil, fmt.Errorf("messages: %w", db.wrap(err))
		}
		m.Timestamp, m.Expiry = fromMS(ts), fromMS(exp)
		out = append(out, m)
	}
	return out, nil
}

// DropHandedOff implements [store.Replica]. It leaves no tombstones: they
// would wrongly delete the messages should the account ever map back
// here. Only what the hand-off sent goes, so a store or deletion that
// committed between the hand-off's read and this call stays.
func (db *DB) DropHandedOff(ctx context.Context, account identity.AccountID, msgs, tombs []string, now time.Time) (int, error) {
	var n int64
	err := db.write(ctx, "drop handed off", func(tx *sql.Tx) error {
		acct, ok, err := accountID(ctx, tx, account)
		if !ok {
			return err
		}
		del := func(query string, args ...any) error {
			res, err := tx.ExecContext(ctx, query, args...)
			if err != nil {
				return err
			}
			d, err := res.RowsAffected()
			n += d
			return err
		}
		for _, h := range msgs {
			if err := del(`DELETE FROM messages WHERE account_id = ? AND hash = ?`, acct, h); err != nil {
				return err
			}
		}
		if err := del(`DELETE FROM messages WHERE account_id = ? AND expiry <= ?`, acct, ms(now)); err != nil {
			return err
		}
		for _, h := range tombs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM tombstones WHERE account_id = ? AND hash = ?`, acct, h); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `
			DELETE FROM accounts WHERE id = ? AND messages = 0
			AND NOT EXISTS (SELECT 1 FROM tombstones WHERE account_id = accounts.id)`, acct)
		return err
	})
	return int(n), err
}
