package clientdb

import (
	"database/sql"
	"time"
)

// SetExpiry sets message id's disappearing deadline to at (zero: never),
// for deadlines the database cannot derive from the message alone: an
// after-read message the user sent disappears at its read receipt's time
// plus the timer, which only the client learns. [DB.ExpireDue] enforces
// it like any other deadline. It returns [ErrNotFound] for an unknown
// message.
func (db *DB) SetExpiry(id LocalID, at time.Time) error {
	return db.write(false, func(tx *sql.Tx) error {
		res, err := tx.Exec("UPDATE messages SET expires_ms = ? WHERE id = ?", nullMS(at), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// NextExpiry returns the earliest disappearing deadline of any message,
// or the zero time when no message has one: when [DB.ExpireDue] next has
// work.
func (db *DB) NextExpiry() (time.Time, error) {
	var ms sql.NullInt64
	err := db.read(func(r *sql.DB) error {
		return r.QueryRow("SELECT min(expires_ms) FROM messages WHERE expires_ms IS NOT NULL").Scan(&ms)
	})
	if err != nil || !ms.Valid {
		return time.Time{}, err
	}
	return fromMS(ms.Int64), nil
}
