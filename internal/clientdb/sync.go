package clientdb

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MarkSeen records swarm message hashes as fetched, until expires (the
// messages' swarm expiry is the natural choice: after it no node returns
// them). A hash already recorded keeps the later expiry. It returns
// [ErrInvalid] for a zero expires.
func (db *DB) MarkSeen(expires time.Time, hashes ...string) error {
	if err := checkTime("expires", expires); err != nil {
		return err
	}
	return db.write(false, func(tx *sql.Tx) error {
		for _, h := range hashes {
			_, err := tx.Exec(`INSERT INTO seen(hash_key, expires_ms) VALUES (?, ?)
				ON CONFLICT DO UPDATE SET expires_ms = max(expires_ms, excluded.expires_ms)`,
				db.k.lookupKey(lookupSwarm, []byte(h)), toMS(expires))
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Seen reports whether hash was recorded by [DB.MarkSeen] and not yet
// dropped by [DB.ExpireDue].
func (db *DB) Seen(hash string) (bool, error) {
	var n int
	err := db.read(func(r *sql.DB) error {
		return r.QueryRow("SELECT count(*) FROM seen WHERE hash_key = ?", db.k.lookupKey(lookupSwarm, []byte(hash))).Scan(&n)
	})
	return n > 0, err
}

// Unseen returns, in their order, the hashes that [DB.Seen] would report as
// not seen: what a poll must still process.
func (db *DB) Unseen(hashes ...string) ([]string, error) {
	var out []string
	err := db.read(func(r *sql.DB) error {
		for _, h := range hashes {
			var n int
			if err := r.QueryRow("SELECT count(*) FROM seen WHERE hash_key = ?", db.k.lookupKey(lookupSwarm, []byte(h))).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				out = append(out, h)
			}
		}
		return nil
	})
	return out, err
}

// Cursor is how far a poller has read one namespace of a swarm. Nodes order
// messages swarm-wide, but anti-entropy repairs and back-dated deposits can
// land behind a cursor, so the next poll starts a lookback window before it
// ([Cursor.Resume]) and drops what it has already seen ([DB.Unseen]).
type Cursor struct {
	// Position is the node's opaque paging token (a last hash or a
	// swarm-order key), empty at the start.
	Position string `json:"pos,omitempty"`
	// Time is the storage timestamp of the last message read.
	Time time.Time `json:"t,omitzero"`
}

// Resume returns where the next poll should start reading: lookback before
// the cursor's time, or the zero time (from the beginning) for a new cursor.
func (c Cursor) Resume(lookback time.Duration) time.Time {
	if c.Time.IsZero() {
		return time.Time{}
	}
	return c.Time.Add(-lookback)
}

// Cursor returns the cursor saved under name (for example "own/0" for the
// user's own DM namespace); the zero Cursor if none was saved.
func (db *DB) Cursor(name string) (Cursor, error) {
	var c Cursor
	pt, err := db.sealedValue("cursors", lookupCursor, name)
	if errors.Is(err, ErrNotFound) {
		return c, nil
	} else if err != nil {
		return c, err
	}
	if err := json.Unmarshal(pt, &c); err != nil {
		return Cursor{}, fmt.Errorf("%w: cursor: %w", ErrCorrupt, err)
	}
	return c, nil
}

// SetCursor saves c under name. Cursor names and values are sealed: a
// position names a message hash.
func (db *DB) SetCursor(name string, c Cursor) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return db.setSealedValue("cursors", lookupCursor, name, b)
}

// Setting returns the value stored under name, or [ErrNotFound].
func (db *DB) Setting(name string) ([]byte, error) {
	return db.sealedValue("settings", lookupSetting, name)
}

// SetSetting stores value under name; both are sealed (the name only as a
// keyed hash), since which settings exist can say what the user uses.
func (db *DB) SetSetting(name string, value []byte) error {
	if name == "" || len(name) > maxSettingNameLen {
		return fmt.Errorf("%w: setting name must have 1 to %d bytes", ErrInvalid, maxSettingNameLen)
	}
	return db.setSealedValue("settings", lookupSetting, name, value)
}

// UpdateSetting replaces name's value with fn's answer in one write
// transaction, so a load-modify-save cannot lose a change another
// goroutine or process made between the load and the save. fn gets the
// current value (nil when there is none; an empty value may read as nil
// too) and returns the new one; nil deletes the setting, an empty non-nil
// slice stores an empty value. An error from fn is returned and changes nothing.
func (db *DB) UpdateSetting(name string, fn func(old []byte) ([]byte, error)) error {
	if name == "" || len(name) > maxSettingNameLen {
		return fmt.Errorf("%w: setting name must have 1 to %d bytes", ErrInvalid, maxSettingNameLen)
	}
	nk := db.k.lookupKey(lookupSetting, []byte(name))
	return db.write(false, func(tx *sql.Tx) error {
		var old []byte
		var sealed []byte
		err := tx.QueryRow("SELECT sealed FROM settings WHERE name_key = ?", nk).Scan(&sealed)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			if old, err = open(db.k.settings, "settings.value", nk, sealed); err != nil {
				return err
			}
		}
		v, err := fn(old)
		if err != nil {
			return err
		}
		if v == nil {
			_, err = tx.Exec("DELETE FROM settings WHERE name_key = ?", nk)
			return err
		}
		_, err = tx.Exec("INSERT INTO settings(name_key, sealed) VALUES (?, ?) ON CONFLICT DO UPDATE SET sealed = excluded.sealed",
			nk, seal(db.k.settings, "settings.value", nk, v))
		return err
	})
}

// DeleteSetting removes name's value; it returns [ErrNotFound] if there was
// none.
func (db *DB) DeleteSetting(name string) error {
	return db.write(true, func(tx *sql.Tx) error {
		res, err := tx.Exec("DELETE FROM settings WHERE name_key = ?", db.k.lookupKey(lookupSetting, []byte(name)))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// sealedValue reads the sealed value of a name-keyed table (settings or
// cursors; table and domain are constants, never user input).
func (db *DB) sealedValue(table, domain, name string) ([]byte, error) {
	nk := db.k.lookupKey(domain, []byte(name))
	var sealed []byte
	err := db.read(func(r *sql.DB) error {
		return r.QueryRow("SELECT sealed FROM "+table+" WHERE name_key = ?", nk).Scan(&sealed)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, err
	}
	return open(db.k.settings, table+".value", nk, sealed)
}

func (db *DB) setSealedValue(table, domain, name string, value []byte) error {
	nk := db.k.lookupKey(domain, []byte(name))
	return db.write(false, func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO "+table+"(name_key, sealed) VALUES (?, ?) ON CONFLICT DO UPDATE SET sealed = excluded.sealed",
			nk, seal(db.k.settings, table+".value", nk, value))
		return err
	})
}
