package clientdb

import (
	"database/sql"
	"fmt"
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
