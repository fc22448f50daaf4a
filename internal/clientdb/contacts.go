package clientdb

import (
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hushnet/hush/identity"
)

// Contact is what the user knows about another account.
type Contact struct {
	Account identity.AccountID
	// Nickname is the name the user gave the contact, unique among contacts
	// (compared after [FoldNickname]) and the only name that addresses a
	// conversation. Empty when none was given.
	Nickname string
	// DisplayName is the name the contact chose for itself, received in its
	// profile: a hint for display, never used for addressing, since anyone
	// can choose any name.
	DisplayName string
	// Accepted is set once the user accepted the contact's message request
	// (or wrote to it first); Blocked drops its messages.
	Accepted, Blocked bool
	Created           time.Time
}

// FoldNickname returns the form in which nicknames are compared: trimmed of
// surrounding space and lower-cased, so "Alice" and "alice " cannot name two
// contacts. (Unicode normalization would need x/text; nicknames that differ
// only in normalization stay distinct.)
func FoldNickname(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func checkNickname(s string) error {
	if !utf8.ValidString(s) || len(s) > maxNicknameLen || (s != "" && FoldNickname(s) == "") {
		return fmt.Errorf("%w: nickname must be valid UTF-8, not blank, at most %d bytes", ErrInvalid, maxNicknameLen)
	}
	return nil
}

// UpsertContact creates c, or replaces every field of the existing contact
// with the same Account ID except Created, which keeps its first value (and
// is set from c.Created, or else now, on creation). It returns
// [ErrNicknameTaken] when another contact has the same folded nickname, and
// [ErrInvalid] for a bad nickname or a zero now.
func (db *DB) UpsertContact(c Contact, now time.Time) error {
	if err := checkTime("now", now); err != nil {
		return err
	}
	if err := checkAccount(c.Account); err != nil {
		return err
	}
	if err := checkNickname(c.Nickname); err != nil {
		return err
	}
	if !utf8.ValidString(c.DisplayName) || len(c.DisplayName) > maxDisplayNameLen {
		return fmt.Errorf("%w: display name must be valid UTF-8 of at most %d bytes", ErrInvalid, maxDisplayNameLen)
	}
	if c.Created.IsZero() {
		c.Created = now
	}
	return db.write(false, func(tx *sql.Tx) error { return db.upsertContact(tx, c) })
}

func (db *DB) upsertContact(tx *sql.Tx, c Contact) error {
	ak := db.k.lookupKey(lookupAccount, c.Account[:])
	var nickKey, nickSealed, dispSealed []byte
	if c.Nickname != "" {
		nickKey = db.k.lookupKey(lookupNickname, []byte(FoldNickname(c.Nickname)))
		nickSealed = seal(db.k.contacts, "contacts.nickname", ak, []byte(c.Nickname))
	}
	if c.DisplayName != "" {
		dispSealed = seal(db.k.contacts, "contacts.display_name", ak, []byte(c.DisplayName))
	}
	_, err := tx.Exec(`INSERT INTO contacts(account_key, account_sealed, nickname_key, nickname_sealed,
			display_sealed, accepted, blocked, created_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(account_key) DO UPDATE SET nickname_key = excluded.nickname_key,
			nickname_sealed = excluded.nickname_sealed, display_sealed = excluded.display_sealed,
			accepted = excluded.accepted, blocked = excluded.blocked`,
		ak, seal(db.k.contacts, "contacts.account", ak, c.Account[:]), nickKey, nickSealed,
		dispSealed, c.Accepted, c.Blocked, toMS(c.Created))
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return ErrNicknameTaken
	}
	return err
}

// SetDisplayName records the display name a contact announced in its
// profile, creating an unaccepted contact (a message request) if the account
// is unknown. It returns [ErrInvalid] for an over-long name or a zero now.
func (db *DB) SetDisplayName(id identity.AccountID, name string, now time.Time) error {
	if err := checkTime("now", now); err != nil {
		return err
	}
	if err := checkAccount(id); err != nil {
		return err
	}
	if !utf8.ValidString(name) || len(name) > maxDisplayNameLen {
		return fmt.Errorf("%w: display name must be valid UTF-8 of at most %d bytes", ErrInvalid, maxDisplayNameLen)
	}
	return db.write(false, func(tx *sql.Tx) error {
		c, err := db.contactWhere(tx, "account_key = ?", db.k.lookupKey(lookupAccount, id[:]))
		if errors.Is(err, ErrNotFound) {
			c = Contact{Account: id, Created: now}
		} else if err != nil {
			return err
		}
		c.DisplayName = name
		return db.upsertContact(tx, c)
	})
}

// ContactByAccount returns the contact with Account ID id, or [ErrNotFound].
func (db *DB) ContactByAccount(id identity.AccountID) (Contact, error) {
	var c Contact
	err := db.read(func(r *sql.DB) (err error) {
		c, err = db.contactWhere(r, "account_key = ?", db.k.lookupKey(lookupAccount, id[:]))
		return err
	})
	return c, err
}

// ContactByNickname returns the contact whose nickname folds to the same
// string as nick, or [ErrNotFound]. Display names are never matched.
func (db *DB) ContactByNickname(nick string) (Contact, error) {
	var c Contact
	err := db.read(func(r *sql.DB) (err error) {
		c, err = db.contactWhere(r, "nickname_key = ?", db.k.lookupKey(lookupNickname, []byte(FoldNickname(nick))))
		return err
	})
	return c, err
}

// Contacts returns every contact, ordered by folded nickname (contacts
// without one last), then display name, then Account ID.
func (db *DB) Contacts() ([]Contact, error) {
	var cs []Contact
	err := db.read(func(r *sql.DB) error {
		rows, err := r.Query("SELECT " + contactCols + " FROM contacts")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := db.scanContact(rows)
			if err != nil {
				return err
			}
			cs = append(cs, c)
		}
		return rows.Err()
	})
	// Names are sealed, so the order is made here rather than in SQL.
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if (a.Nickname == "") != (b.Nickname == "") {
			return a.Nickname != ""
		}
		if fa, fb := FoldNickname(a.Nickname), FoldNickname(b.Nickname); fa != fb {
			return fa < fb
		}
		if a.DisplayName != b.DisplayName {
			return a.DisplayName < b.DisplayName
		}
		return a.Account.String() < b.Account.String()
	})
	return cs, err
}

// DeleteContact removes the contact (not its conversation; see
// [DB.DeleteConversation]). It returns [ErrNotFound] if there is none.
func (db *DB) DeleteContact(id identity.AccountID) error {
	return db.write(true, func(tx *sql.Tx) error {
		res, err := tx.Exec("DELETE FROM contacts WHERE account_key = ?", db.k.lookupKey(lookupAccount, id[:]))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

const contactCols = "account_key, account_sealed, nickname_sealed, display_sealed, accepted, blocked, created_ms"

type querier interface {
	Query(query string, args ...any) (*sql.Rows, error)
	QueryRow(query string, args ...any) *sql.Row
}

type scanner interface{ Scan(dest ...any) error }

func (db *DB) contactWhere(q querier, where string, args ...any) (Contact, error) {
	c, err := db.scanContact(q.QueryRow("SELECT "+contactCols+" FROM contacts WHERE "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, ErrNotFound
	}
	return c, err
}

func (db *DB) scanContact(s scanner) (Contact, error) {
	var (
		c                    Contact
		ak, acct, nick, disp []byte
		created              int64
	)
	if err := s.Scan(&ak, &acct, &nick, &disp, &c.Accepted, &c.Blocked, &created); err != nil {
		return Contact{}, err
	}
	raw, err := open(db.k.contacts, "contacts.account", ak, acct)
	if err != nil {
		return Contact{}, err
	}
	if copy(c.Account[:], raw) != identity.AccountIDSize || len(raw) != identity.AccountIDSize {
		return Contact{}, fmt.Errorf("%w: contact account ID has %d bytes", ErrCorrupt, len(raw))
	}
	if nick != nil {
		v, err := open(db.k.contacts, "contacts.nickname", ak, nick)
		if err != nil {
			return Contact{}, err
		}
		c.Nickname = string(v)
	}
	if disp != nil {
		v, err := open(db.k.contacts, "contacts.display_name", ak, disp)
		if err != nil {
			return Contact{}, err
		}
		c.DisplayName = string(v)
	}
	c.Created = fromMS(created)
	return c, nil
}
