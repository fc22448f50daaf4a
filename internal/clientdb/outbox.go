package clientdb

import (
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hushnet/hush/identity"
)

// OutboxItem is one queued store request: a payload for one account's swarm.
// Everything but the scheduling fields is stored sealed.
type OutboxItem struct {
	ID int64
	// Message is the local message this item delivers, or zero. When the
	// outbox gives the item up, that message becomes StatusFailed; deleting
	// the message drops the item.
	Message   LocalID
	To        identity.AccountID
	Namespace int
	TTL       time.Duration
	Payload   []byte
	// Attempts counts failed attempts; NextAttempt is when the item is due.
	Attempts    int
	NextAttempt time.Time
	Created     time.Time
	LastError   string
	// Sealed is Payload as the client sealed it for its first attempt,
	// and SealedAt when; both are zero until then. A retry stores these
	// very bytes, so that a store which landed although its answer was
	// lost is a duplicate the swarm ignores, not a second deposit under
	// another hash (client/send.go sealItem says when they are replaced).
	Sealed   []byte
	SealedAt time.Time
}

// outboxSealed is what the sealed column holds. Fields added later are
// omitempty, so that rows written before them read as their zero values.
type outboxSealed struct {
	To        address `json:"to"`
	Namespace int     `json:"ns"`
	TTLms     int64   `json:"ttl_ms"`
	Payload   []byte  `json:"payload"`
	LastError string  `json:"err,omitempty"`
	Sealed    []byte  `json:"sealed,omitempty"`
	SealedMS  int64   `json:"sealed_ms,omitempty"`
}

// sealedColumn returns the plaintext of it's sealed column, with lastErr
// as its last error.
func (it OutboxItem) sealedColumn(lastErr string) ([]byte, error) {
	v := outboxSealed{To: address(it.To), Namespace: it.Namespace, TTLms: it.TTL.Milliseconds(), Payload: it.Payload, LastError: lastErr}
	if len(it.Sealed) > 0 {
		v.Sealed, v.SealedMS = it.Sealed, toMS(it.SealedAt)
	}
	return json.Marshal(v)
}

// EnqueueOutbox queues it and returns its ID. It is due at it.NextAttempt, or
// now if that is zero. It returns [ErrInvalid] for a zero now or a missing
// recipient, and [ErrNotFound] if it.Message names no message.
func (db *DB) EnqueueOutbox(it OutboxItem, now time.Time) (int64, error) {
	if err := checkTime("now", now); err != nil {
		return 0, err
	}
	if it.To.IsZero() {
		return 0, fmt.Errorf("%w: outbox item without recipient", ErrInvalid)
	}
	if it.NextAttempt.IsZero() {
		it.NextAttempt = now
	}
	if len(it.Sealed) > 0 {
		if err := checkTime("sealed at", it.SealedAt); err != nil {
			return 0, err
		}
	}
	ref := make([]byte, 16)
	rand.Read(ref)
	plain, err := it.sealedColumn("")
	if err != nil {
		return 0, err
	}
	var id int64
	err = db.write(false, func(tx *sql.Tx) error {
		var msg sql.NullInt64
		if it.Message != 0 {
			msg = sql.NullInt64{Int64: int64(it.Message), Valid: true}
			var n int
			if err := tx.QueryRow("SELECT count(*) FROM messages WHERE id = ?", it.Message).Scan(&n); err != nil {
				return err
			} else if n == 0 {
				return ErrNotFound
			}
		}
		return tx.QueryRow(`INSERT INTO outbox(ref, message_id, attempts, next_ms, created_ms, sealed)
			VALUES (?, ?, 0, ?, ?, ?) RETURNING id`,
			ref, msg, toMS(it.NextAttempt), toMS(now), seal(db.k.outbox, "outbox.item", ref, plain)).Scan(&id)
	})
	return id, err
}

// DueOutbox returns up to limit items (all if limit ≤ 0) whose next attempt
// is at or before now, earliest first.
func (db *DB) DueOutbox(now time.Time, limit int) ([]OutboxItem, error) {
	if limit <= 0 {
		limit = -1
	}
	return db.outboxWhere("next_ms <= ? ORDER BY next_ms, id LIMIT ?", toMS(now), limit)
}

// Outbox returns every queued item, earliest due first.
func (db *DB) Outbox() ([]OutboxItem, error) {
	return db.outboxWhere("1 ORDER BY next_ms, id")
}

func (db *DB) outboxWhere(where string, args ...any) ([]OutboxItem, error) {
	var items []OutboxItem
	err := db.read(func(r *sql.DB) error {
		rows, err := r.Query("SELECT "+outboxCols+" FROM outbox WHERE "+where, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			it, _, err := db.scanOutbox(rows)
			if err != nil {
				return err
			}
			items = append(items, it)
		}
		return rows.Err()
	})
	return items, err
}

func (db *DB) scanOutbox(s scanner) (OutboxItem, []byte, error) {
	var (
		it          OutboxItem
		ref, sealed []byte
		msg         sql.NullInt64
		next, crt   int64
	)
	if err := s.Scan(&it.ID, &ref, &msg, &it.Attempts, &next, &crt, &sealed); err != nil {
		return it, nil, err
	}
	pt, err := open(db.k.outbox, "outbox.item", ref, sealed)
	if err != nil {
		return it, nil, err
	}
	var v outboxSealed
	if err := json.Unmarshal(pt, &v); err != nil {
		return it, nil, fmt.Errorf("%w: outbox item: %w", ErrCorrupt, err)
	}
	it.Message = LocalID(msg.Int64)
	it.To, it.Namespace, it.TTL, it.Payload, it.LastError = identity.AccountID(v.To), v.Namespace, time.Duration(v.TTLms)*time.Millisecond, v.Payload, v.LastError
	if len(v.Sealed) > 0 {
		it.Sealed, it.SealedAt = v.Sealed, fromMS(v.SealedMS)
	}
	it.NextAttempt, it.Created = fromMS(next), fromMS(crt)
	return it, ref, nil
}

const outboxCols = "id, ref, message_id, attempts, next_ms, created_ms, sealed"

// OutboxItemByID returns the queued item id, or [ErrNotFound] when it is
// not queued (sent, given up, or its message deleted).
func (db *DB) OutboxItemByID(id int64) (OutboxItem, error) {
	var it OutboxItem
	err := db.read(func(r *sql.DB) error {
		var err error
		it, _, err = db.scanOutbox(r.QueryRow("SELECT "+outboxCols+" FROM outbox WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	return it, err
}

// SetOutboxSealed records sealed as the bytes item id was sealed to at
// time at ([OutboxItem.Sealed]), replacing any earlier ones; its schedule
// and attempts are left alone. It returns [ErrNotFound] for an item no
// longer queued, and [ErrInvalid] for empty bytes or a zero time.
func (db *DB) SetOutboxSealed(id int64, sealed []byte, at time.Time) error {
	if err := checkTime("sealed at", at); err != nil {
		return err
	}
	if len(sealed) == 0 {
		return fmt.Errorf("%w: empty sealed payload", ErrInvalid)
	}
	return db.write(false, func(tx *sql.Tx) error {
		it, ref, err := db.scanOutbox(tx.QueryRow("SELECT "+outboxCols+" FROM outbox WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		it.Sealed, it.SealedAt = sealed, at
		plain, err := it.sealedColumn(it.LastError)
		if err != nil {
			return err
		}
		_, err = tx.Exec("UPDATE outbox SET sealed = ? WHERE id = ?", seal(db.k.outbox, "outbox.item", ref, plain), id)
		return err
	})
}

// OutboxOutcome says what [DB.OutboxResult] did with an item.
type OutboxOutcome int

const (
	// OutboxDone: the attempt succeeded and the item was removed.
	OutboxDone OutboxOutcome = iota
	// OutboxRetry: the attempt failed; the item is due again later.
	OutboxRetry
	// OutboxGaveUp: the attempt failed and the item was older than the
	// give-up age; it was removed and its message marked failed.
	OutboxGaveUp
)

// OutboxResult records the result of an attempt to send item id: sendErr nil
// removes it; otherwise its attempt count goes up and it is due again after
// an exponential backoff (see [WithOutboxBackoff]), or, when it was queued
// longer ago than the give-up age, it is removed and its message set to
// StatusFailed. The backoff has no jitter: one client retries a handful of
// items, not a herd. It returns [ErrNotFound] for an unknown item and
// [ErrInvalid] for a zero now.
func (db *DB) OutboxResult(id int64, sendErr error, now time.Time) (OutboxOutcome, error) {
	if err := checkTime("now", now); err != nil {
		return 0, err
	}
	var out OutboxOutcome
	err := db.write(true, func(tx *sql.Tx) error {
		it, ref, err := db.scanOutbox(tx.QueryRow("SELECT "+outboxCols+" FROM outbox WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if sendErr == nil {
			out = OutboxDone
			_, err := tx.Exec("DELETE FROM outbox WHERE id = ?", id)
			return err
		}
		if now.Sub(it.Created) >= db.cfg.outboxGiveUp {
			out = OutboxGaveUp
			if _, err := tx.Exec("DELETE FROM outbox WHERE id = ?", id); err != nil {
				return err
			}
			if it.Message != 0 {
				_, err = tx.Exec("UPDATE messages SET status = ? WHERE id = ? AND status IN (?, ?)",
					StatusFailed, it.Message, StatusQueued, StatusSent)
			}
			return err
		}
		out = OutboxRetry
		attempts := it.Attempts + 1
		plain, err := it.sealedColumn(sendErr.Error())
		if err != nil {
			return err
		}
		_, err = tx.Exec("UPDATE outbox SET attempts = ?, next_ms = ?, sealed = ? WHERE id = ?",
			attempts, toMS(now.Add(db.backoff(attempts))), seal(db.k.outbox, "outbox.item", ref, plain), id)
		return err
	})
	return out, err
}

// backoff is the wait after the n-th failed attempt (n ≥ 1).
func (db *DB) backoff(n int) time.Duration {
	d := db.cfg.outboxBase
	for i := 1; i < n && d < db.cfg.outboxMax; i++ {
		d *= 2
	}
	return min(d, db.cfg.outboxMax)
}
