package clientdb

import (
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/hushnet/hush/identity"
)

// Group is one closed group this account belongs to, was invited to, or
// left: its ID (prefix 03, the same 33-byte shape as an Account ID, which
// is why it is held in that type here and serves as the peer of the
// group's conversation) and its state, a value the client library
// defines and this package only seals.
type Group struct {
	ID      identity.AccountID
	State   []byte
	Updated time.Time
}

// GroupKey is one key of a group: its ID (chosen by the admin that made
// it), its generation (the order of the group's keys: a newer key has a
// higher one) and the 32-byte key, which must be deleted at Expires.
type GroupKey struct {
	KeyID      []byte
	Generation uint64
	Key        [32]byte
	Expires    time.Time
}

// PutGroup stores the state of group id, replacing what was stored. It
// returns [ErrInvalid] for a zero ID or now.
func (db *DB) PutGroup(id identity.AccountID, state []byte, now time.Time) error {
	if err := checkTime("now", now); err != nil {
		return err
	}
	if err := checkAccount(id); err != nil {
		return err
	}
	gk := db.k.lookupKey(lookupGroup, id[:])
	return db.write(false, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO groups(group_key, sealed, updated_ms) VALUES (?, ?, ?)
			ON CONFLICT(group_key) DO UPDATE SET sealed = excluded.sealed, updated_ms = excluded.updated_ms`,
			gk, seal(db.k.groups, "groups.sealed", gk, append(id[:len(id):len(id)], state...)), toMS(now))
		return err
	})
}

// Group returns the group id, or [ErrNotFound].
func (db *DB) Group(id identity.AccountID) (Group, error) {
	gk := db.k.lookupKey(lookupGroup, id[:])
	var g Group
	err := db.read(func(r *sql.DB) error {
		var err error
		g, err = db.scanGroup(r.QueryRow("SELECT group_key, sealed, updated_ms FROM groups WHERE group_key = ?", gk))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	return g, err
}

// Groups returns every group, most recently changed first.
func (db *DB) Groups() ([]Group, error) {
	var out []Group
	err := db.read(func(r *sql.DB) error {
		rows, err := r.Query("SELECT group_key, sealed, updated_ms FROM groups ORDER BY updated_ms DESC")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			g, err := db.scanGroup(rows)
			if err != nil {
				return err
			}
			out = append(out, g)
		}
		return rows.Err()
	})
	return out, err
}

func (db *DB) scanGroup(s scanner) (Group, error) {
	var (
		gk, sealed []byte
		ms         int64
	)
	if err := s.Scan(&gk, &sealed, &ms); err != nil {
		return Group{}, err
	}
	plain, err := open(db.k.groups, "groups.sealed", gk, sealed)
	if err != nil {
		return Group{}, err
	}
	var g Group
	if len(plain) < len(g.ID) {
		return Group{}, fmt.Errorf("%w: group row of %d bytes", ErrCorrupt, len(plain))
	}
	copy(g.ID[:], plain)
	g.State, g.Updated = plain[len(g.ID):], fromMS(ms)
	return g, nil
}

// DeleteGroup deletes group id's state and every key of it, and returns
// [ErrNotFound] when there is none. Its conversation is deleted by
// [DB.DeleteConversation].
func (db *DB) DeleteGroup(id identity.AccountID) error {
	gk := db.k.lookupKey(lookupGroup, id[:])
	return db.write(true, func(tx *sql.Tx) error {
		if _, err := tx.Exec("DELETE FROM group_keys WHERE group_key = ?", gk); err != nil {
			return err
		}
		res, err := tx.Exec("DELETE FROM groups WHERE group_key = ?", gk)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// AddGroupKey stores key k of group id and reports whether it was new
// (a key already held keeps its row). It returns [ErrNotFound] when the
// group is not stored, and [ErrInvalid] for a key without ID or expiry.
func (db *DB) AddGroupKey(id identity.AccountID, k GroupKey) (bool, error) {
	if len(k.KeyID) == 0 || len(k.KeyID) > 64 {
		return false, fmt.Errorf("%w: group key ID of %d bytes", ErrInvalid, len(k.KeyID))
	}
	if err := checkTime("expires", k.Expires); err != nil {
		return false, err
	}
	if k.Generation > 1<<62 {
		return false, fmt.Errorf("%w: group key generation %d", ErrInvalid, k.Generation)
	}
	gk := db.k.lookupKey(lookupGroup, id[:])
	ref := db.k.lookupKey(lookupGroupKey, id[:], k.KeyID)
	isNew := false
	err := db.write(false, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRow("SELECT count(*) FROM groups WHERE group_key = ?", gk).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		plain := make([]byte, 0, 32+len(k.KeyID))
		plain = append(append(plain, k.Key[:]...), k.KeyID...)
		res, err := tx.Exec(`INSERT INTO group_keys(key_ref, group_key, generation, sealed, expires_ms)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT(key_ref) DO NOTHING`,
			ref, gk, int64(k.Generation), seal(db.k.groups, "group_keys.sealed", ref, plain), toMS(k.Expires))
		if err != nil {
			return err
		}
		c, _ := res.RowsAffected()
		isNew = c > 0
		return nil
	})
	return isNew, err
}

// GroupKeys returns group id's keys, newest generation first.
func (db *DB) GroupKeys(id identity.AccountID) ([]GroupKey, error) {
	gk := db.k.lookupKey(lookupGroup, id[:])
	var out []GroupKey
	err := db.read(func(r *sql.DB) error {
		rows, err := r.Query(`SELECT key_ref, generation, sealed, expires_ms FROM group_keys
			WHERE group_key = ? ORDER BY generation DESC, key_ref`, gk)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				ref, sealed []byte
				gen, exp    int64
			)
			if err := rows.Scan(&ref, &gen, &sealed, &exp); err != nil {
				return err
			}
			plain, err := open(db.k.groups, "group_keys.sealed", ref, sealed)
			if err != nil {
				return err
			}
			if len(plain) <= 32 {
				return fmt.Errorf("%w: group key of %d bytes", ErrCorrupt, len(plain))
			}
			k := GroupKey{KeyID: plain[32:], Generation: uint64(gen), Expires: fromMS(exp)}
			copy(k.Key[:], plain)
			out = append(out, k)
		}
		return rows.Err()
	})
	return out, err
}

// PruneGroupKeys deletes every group key whose deadline is at or before
// now (securely: the WAL is truncated after) and returns how many went.
func (db *DB) PruneGroupKeys(now time.Time) (int, error) {
	if err := checkTime("now", now); err != nil {
		return 0, err
	}
	var n int64
	err := db.write(true, func(tx *sql.Tx) error {
		res, err := tx.Exec("DELETE FROM group_keys WHERE expires_ms <= ?", toMS(now))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// address is a storage address as sealed JSON holds it: an Account ID or
// a group's ID (prefix 03), as hex, the text form of identity.AccountID,
// whose parser takes 05 IDs only. Rows written before groups read the
// same.
type address identity.AccountID

func (a address) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(a[:])), nil }

func (a *address) UnmarshalText(b []byte) error {
	var v identity.AccountID
	if n, err := hex.Decode(v[:], b); err != nil || n != len(v) || len(b) != 2*len(v) {
		return fmt.Errorf("%w: address %q", ErrCorrupt, b)
	}
	*a = address(v)
	return nil
}
