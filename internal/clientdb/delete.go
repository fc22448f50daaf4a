package clientdb

import (
	"database/sql"
	"errors"
	"time"

	"github.com/hushnet/hush/identity"
)

// DeleteConversation deletes the conversation with peer, its messages and
// their attachment rows, and leaves a tombstone so that messages peer sent at
// or before now are refused by [DB.InsertMessage] when a later poll fetches
// them again. The contact, if any, stays. It returns the swarm hashes the
// caller should delete remotely (the copies in the user's own swarm) and the
// attachments whose files it should remove; with no conversation it still
// leaves the tombstone and returns an empty Deleted. It returns
// [ErrInvalid] for a zero now.
func (db *DB) DeleteConversation(peer identity.AccountID, now time.Time) (Deleted, error) {
	if err := checkTime("now", now); err != nil {
		return Deleted{}, err
	}
	pk := db.k.lookupKey(lookupAccount, peer[:])
	var d Deleted
	err := db.write(true, func(tx *sql.Tx) error {
		var err error
		d, err = db.deleteMessages(tx, "m.conv_id = (SELECT id FROM conversations WHERE peer_key = ?)", pk)
		if err != nil {
			return err
		}
		if _, err := tx.Exec("DELETE FROM conversations WHERE peer_key = ?", pk); err != nil {
			return err
		}
		return db.tombstone(tx, tombstoneConv, pk, now, now)
	})
	return d, err
}

// DeleteMessage deletes message id and its attachment rows, and leaves a
// tombstone so a later poll does not bring it back. It returns
// [ErrNotFound] for an unknown message and [ErrInvalid] for a zero now.
func (db *DB) DeleteMessage(id LocalID, now time.Time) (Deleted, error) {
	if err := checkTime("now", now); err != nil {
		return Deleted{}, err
	}
	var d Deleted
	err := db.write(true, func(tx *sql.Tx) error {
		var (
			mk   []byte
			sent int64
		)
		err := tx.QueryRow("SELECT msg_key, sent_ms FROM messages WHERE id = ?", id).Scan(&mk, &sent)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if d, err = db.deleteMessages(tx, "m.id = ?", id); err != nil {
			return err
		}
		return db.tombstone(tx, tombstoneMessage, mk, fromMS(sent), now)
	})
	return d, err
}

// DeleteMessageByID deletes the message sender sent with ID msgID, as an
// unsend request asks, and leaves its tombstone even when the message has
// not arrived yet, so it is refused when it does. It returns [ErrInvalid]
// for a zero now.
func (db *DB) DeleteMessageByID(sender identity.AccountID, msgID MessageID, now time.Time) (Deleted, error) {
	if err := checkTime("now", now); err != nil {
		return Deleted{}, err
	}
	mk := db.k.lookupKey(lookupMessage, sender[:], msgID[:])
	var d Deleted
	err := db.write(true, func(tx *sql.Tx) error {
		var err error
		if d, err = db.deleteMessages(tx, "m.msg_key = ?", mk); err != nil {
			return err
		}
		return db.tombstone(tx, tombstoneMessage, mk, now, now)
	})
	return d, err
}

// Expired reports what [DB.ExpireDue] removed.
type Expired struct {
	Deleted // disappeared messages
	// Gone are the disappeared messages as they were, so a client can
	// tell its UI which ones went.
	Gone       []Message
	Seen       int64 // seen-hash entries past their expiry
	Tombstones int64 // tombstones past their expiry
}

// ExpireDue deletes the messages whose disappearing deadline is at or before
// now (leaving tombstones, so a copy still in a swarm is not fetched again),
// and drops seen hashes and tombstones that have expired. It returns
// [ErrInvalid] for a zero now.
func (db *DB) ExpireDue(now time.Time) (Expired, error) {
	if err := checkTime("now", now); err != nil {
		return Expired{}, err
	}
	var e Expired
	err := db.write(true, func(tx *sql.Tx) error {
		res, err := tx.Exec("DELETE FROM seen WHERE expires_ms <= ?", toMS(now))
		if err != nil {
			return err
		}
		e.Seen, _ = res.RowsAffected()
		if res, err = tx.Exec("DELETE FROM tombstones WHERE expires_ms <= ?", toMS(now)); err != nil {
			return err
		}
		e.Tombstones, _ = res.RowsAffected()
		if err := db.expireOrphanReactions(tx, now); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO tombstones(kind, key, before_ms, expires_ms)
				SELECT ?, msg_key, sent_ms, ? FROM messages WHERE expires_ms <= ?
			ON CONFLICT DO NOTHING`, tombstoneMessage, toMS(now.Add(db.cfg.tombstoneTTL)), toMS(now)); err != nil {
			return err
		}
		if e.Gone, err = db.queryMessages(tx, "SELECT "+messageCols+" FROM messages WHERE expires_ms <= ?", toMS(now)); err != nil {
			return err
		}
		e.Deleted, err = db.deleteMessages(tx, "m.expires_ms <= ?", toMS(now))
		return err
	})
	return e, err
}

// deleteMessages deletes the messages matching where (over messages m),
// with their copies and attachments, and returns what they referred to.
func (db *DB) deleteMessages(tx *sql.Tx, where string, args ...any) (Deleted, error) {
	var d Deleted
	copies, err := db.queryCopies(tx, `SELECT c.message_id, c.hash_key, c.sealed FROM message_copies c
		JOIN messages m ON m.id = c.message_id WHERE `+where+` ORDER BY c.message_id, c.hash_key`, args...)
	if err != nil {
		return d, err
	}
	for _, c := range copies {
		d.SwarmHashes = append(d.SwarmHashes, c.hash)
	}
	atts, err := db.queryAttachments(tx, where, args...)
	if err != nil {
		return d, err
	}
	for _, a := range atts {
		d.Attachments = append(d.Attachments, a.Attachment)
	}
	if err := db.deleteReactions(tx, where, args...); err != nil {
		return d, err
	}
	// Copies and attachments go by ON DELETE CASCADE.
	res, err := tx.Exec("DELETE FROM messages AS m WHERE "+where, args...)
	if err != nil {
		return d, err
	}
	n, _ := res.RowsAffected()
	d.Messages = int(n)
	return d, nil
}

// tombstone records that key (of kind) was deleted for everything sent at
// or before before, keeping the later bound if one exists.
func (db *DB) tombstone(tx *sql.Tx, kind int, key []byte, before, now time.Time) error {
	_, err := tx.Exec(`INSERT INTO tombstones(kind, key, before_ms, expires_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT(kind, key) DO UPDATE SET before_ms = max(before_ms, excluded.before_ms),
			expires_ms = max(expires_ms, excluded.expires_ms)`,
		kind, key, toMS(before), toMS(now.Add(db.cfg.tombstoneTTL)))
	return err
}

// ConversationDeleted reports whether the user deleted the conversation with
// peer at or after sentAt, so that a message peer sent at sentAt must be
// dropped.
func (db *DB) ConversationDeleted(peer identity.AccountID, sentAt time.Time) (bool, error) {
	return db.tombstoned(tombstoneConv, db.k.lookupKey(lookupAccount, peer[:]), toMS(sentAt))
}

// MessageDeleted reports whether the message sender sent with ID msgID was
// deleted here (by the user, an unsend request, or its disappearing timer).
func (db *DB) MessageDeleted(sender identity.AccountID, msgID MessageID) (bool, error) {
	return db.tombstoned(tombstoneMessage, db.k.lookupKey(lookupMessage, sender[:], msgID[:]), -1<<62)
}

func (db *DB) tombstoned(kind int, key []byte, sentMS int64) (bool, error) {
	var n int
	err := db.read(func(r *sql.DB) error {
		return r.QueryRow("SELECT count(*) FROM tombstones WHERE kind = ? AND key = ? AND before_ms >= ?", kind, key, sentMS).Scan(&n)
	})
	return n > 0, err
}
