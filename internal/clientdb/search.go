package clientdb

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/hushnet/hush/identity"
)

// Text is a message's text for a search index kept in memory: the
// database holds bodies sealed, so a search opens them (client/search.go).
type Text struct {
	ID           LocalID
	Conversation ConversationID
	Body         string
}

// MessageTexts returns the texts of up to limit messages whose local ID
// is above after, in ID order. Local IDs are never reused (migration 4),
// so an index that remembers the highest ID it holds asks only for what
// is new.
func (db *DB) MessageTexts(after LocalID, limit int) ([]Text, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	}
	var out []Text
	err := db.read(func(r *sql.DB) error {
		rows, err := r.Query("SELECT id, conv_id, msg_key, sealed FROM messages WHERE id > ? ORDER BY id LIMIT ?", after, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				t          Text
				mk, sealed []byte
			)
			if err := rows.Scan(&t.ID, &t.Conversation, &mk, &sealed); err != nil {
				return err
			}
			pt, err := open(db.k.messages, "messages.content", mk, sealed)
			if err != nil {
				return err
			}
			var m Message
			if err := decodeContent(pt, &m); err != nil {
				return err
			}
			t.Body = m.Body
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// MessageIDs returns the local IDs of every message held, in order: what
// an index checks its entries against, since deletions happen in many
// places (unsend, timers, chat delete, another process).
func (db *DB) MessageIDs() ([]LocalID, error) {
	var out []LocalID
	err := db.read(func(r *sql.DB) error {
		rows, err := r.Query("SELECT id FROM messages ORDER BY id")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id LocalID
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	return out, err
}

// CountMessages returns how many messages are held: an index that has
// just added every message above its last ID learns in one cheap query
// (SQLite counts the smallest index, not the sealed rows) whether any was
// deleted since.
func (db *DB) CountMessages() (int, error) {
	var n int
	err := db.read(func(r *sql.DB) error {
		return r.QueryRow("SELECT count(*) FROM messages").Scan(&n)
	})
	return n, err
}

// ConversationPeer returns the peer of conversation id, or [ErrNotFound]:
// [DB.ConversationByID] without the counts, which read every message of
// the conversation.
func (db *DB) ConversationPeer(id ConversationID) (identity.AccountID, error) {
	var peer identity.AccountID
	err := db.read(func(r *sql.DB) error {
		var pk, sealed []byte
		err := r.QueryRow("SELECT peer_key, peer_sealed FROM conversations WHERE id = ?", id).Scan(&pk, &sealed)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		raw, err := open(db.k.contacts, "conversations.peer", pk, sealed)
		if err != nil {
			return err
		}
		if len(raw) != identity.AccountIDSize {
			return fmt.Errorf("%w: conversation peer has %d bytes", ErrCorrupt, len(raw))
		}
		copy(peer[:], raw)
		return nil
	})
	return peer, err
}

// InsertMessages is [DB.InsertMessage] for many messages of the
// conversation with peer in one transaction (an import, a test filling a
// large history): all are stored or, on the first error, none.
func (db *DB) InsertMessages(peer identity.AccountID, ms []Message) error {
	if err := checkAccount(peer); err != nil {
		return err
	}
	for i := range ms {
		m := &ms[i]
		if m.Sender.IsZero() && m.Direction == Incoming {
			m.Sender = peer
		}
		if m.Status == 0 {
			m.Status = StatusReceived
			if m.Direction == Outgoing {
				m.Status = StatusQueued
			}
		}
		if err := m.check(); err != nil {
			return err
		}
	}
	return db.write(false, func(tx *sql.Tx) error {
		for i := range ms {
			if _, _, err := db.insertMessage(tx, peer, &ms[i]); err != nil {
				return err
			}
		}
		return nil
	})
}
