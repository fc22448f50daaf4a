package clientdb

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hushnet/hush/identity"
)

// ConversationID is a conversation's local row ID. It is not stable across
// devices or across a delete and a new message from the same peer.
type ConversationID int64

// DisappearMode says when messages of a conversation disappear.
type DisappearMode int

// The values are stored; never renumber them.
const (
	DisappearOff DisappearMode = iota
	// DisappearAfterSend: a message disappears After its signed sent time.
	DisappearAfterSend
	// DisappearAfterRead: an incoming message disappears After it was
	// first read here; an outgoing one After it was sent (its sender has
	// read it), as Session's clients do.
	DisappearAfterRead
)

// Disappearing is a disappearing-message setting.
type Disappearing struct {
	Mode  DisappearMode
	After time.Duration // whole seconds; zero when Mode is DisappearOff
}

func (d Disappearing) check() error {
	switch {
	case d.Mode == DisappearOff && d.After == 0:
		return nil
	case d.Mode != DisappearAfterSend && d.Mode != DisappearAfterRead:
		return fmt.Errorf("%w: disappearing mode %d with duration %v", ErrInvalid, d.Mode, d.After)
	case d.After < time.Second || d.After%time.Second != 0 || d.After/time.Second > math.MaxUint32:
		return fmt.Errorf("%w: disappearing duration %v must be whole seconds, at least one", ErrInvalid, d.After)
	}
	return nil
}

// Conversation is the 1:1 conversation with one peer.
type Conversation struct {
	ID           ConversationID
	Peer         identity.AccountID
	Disappearing Disappearing
	// Unread counts incoming messages with [StatusReceived].
	Unread int
	// LastActivity is the latest signed sent time of its messages, each
	// capped at the time it was received, so a sender's clock running ahead
	// cannot pin a conversation to the top of the list.
	LastActivity time.Time
	Created      time.Time
	// Storage use: messages held, bytes of their sealed rows, and the
	// announced sizes of their attachments.
	Messages        int
	MessageBytes    int64
	AttachmentBytes int64
}

const convCols = `c.id, c.peer_key, c.peer_sealed, c.disappear_mode, c.disappear_s, c.last_activity_ms, c.created_ms,
	(SELECT count(*) FROM messages m WHERE m.conv_id = c.id AND m.status = 1),
	(SELECT count(*) FROM messages m WHERE m.conv_id = c.id),
	(SELECT coalesce(sum(length(m.sealed)), 0) FROM messages m WHERE m.conv_id = c.id),
	(SELECT coalesce(sum(a.bytes), 0) FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.conv_id = c.id)`

// Conversation returns the conversation with peer, or [ErrNotFound].
func (db *DB) Conversation(peer identity.AccountID) (Conversation, error) {
	var c Conversation
	err := db.read(func(r *sql.DB) (err error) {
		c, err = db.conversationWhere(r, "c.peer_key = ?", db.k.lookupKey(lookupAccount, peer[:]))
		return err
	})
	return c, err
}

// ConversationByID returns the conversation with local ID id, or
// [ErrNotFound].
func (db *DB) ConversationByID(id ConversationID) (Conversation, error) {
	var c Conversation
	err := db.read(func(r *sql.DB) (err error) {
		c, err = db.conversationWhere(r, "c.id = ?", id)
		return err
	})
	return c, err
}

// Conversations returns every conversation, most recent activity first.
func (db *DB) Conversations() ([]Conversation, error) {
	var cs []Conversation
	err := db.read(func(r *sql.DB) error {
		rows, err := r.Query("SELECT " + convCols + " FROM conversations c ORDER BY c.last_activity_ms DESC, c.id DESC")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := db.scanConversation(rows)
			if err != nil {
				return err
			}
			cs = append(cs, c)
		}
		return rows.Err()
	})
	return cs, err
}

// EnsureConversation returns the conversation with peer, creating it (with
// disappearing messages off) if there is none. It returns [ErrInvalid] for a
// zero now.
func (db *DB) EnsureConversation(peer identity.AccountID, now time.Time) (Conversation, error) {
	if err := checkTime("now", now); err != nil {
		return Conversation{}, err
	}
	if err := checkAccount(peer); err != nil {
		return Conversation{}, err
	}
	err := db.write(false, func(tx *sql.Tx) error {
		_, err := db.ensureConversation(tx, peer, now)
		return err
	})
	if err != nil {
		return Conversation{}, err
	}
	return db.Conversation(peer)
}

// SetDisappearing sets the conversation's disappearing-message setting,
// creating the conversation if needed. It applies to messages inserted
// afterwards that carry no setting of their own; messages already stored
// keep their deadlines. It returns [ErrInvalid] for a bad setting or a zero
// now.
func (db *DB) SetDisappearing(peer identity.AccountID, d Disappearing, now time.Time) error {
	if err := checkTime("now", now); err != nil {
		return err
	}
	if err := checkAccount(peer); err != nil {
		return err
	}
	if err := d.check(); err != nil {
		return err
	}
	return db.write(false, func(tx *sql.Tx) error {
		id, err := db.ensureConversation(tx, peer, now)
		if err != nil {
			return err
		}
		_, err = tx.Exec("UPDATE conversations SET disappear_mode = ?, disappear_s = ? WHERE id = ?",
			d.Mode, int64(d.After/time.Second), id)
		return err
	})
}

// ensureConversation returns the ID of peer's conversation, creating it with
// last activity now.
func (db *DB) ensureConversation(tx *sql.Tx, peer identity.AccountID, now time.Time) (ConversationID, error) {
	pk := db.k.lookupKey(lookupAccount, peer[:])
	var id ConversationID
	err := tx.QueryRow("SELECT id FROM conversations WHERE peer_key = ?", pk).Scan(&id)
	if !errors.Is(err, sql.ErrNoRows) {
		return id, err
	}
	err = tx.QueryRow(`INSERT INTO conversations(peer_key, peer_sealed, disappear_mode, disappear_s,
			last_activity_ms, created_ms) VALUES (?, ?, 0, 0, ?, ?) RETURNING id`,
		pk, seal(db.k.contacts, "conversations.peer", pk, peer[:]), toMS(now), toMS(now)).Scan(&id)
	return id, err
}

func (db *DB) conversationWhere(q querier, where string, args ...any) (Conversation, error) {
	c, err := db.scanConversation(q.QueryRow("SELECT "+convCols+" FROM conversations c WHERE "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, ErrNotFound
	}
	return c, err
}

func (db *DB) scanConversation(s scanner) (Conversation, error) {
	var (
		c                  Conversation
		pk, peer           []byte
		secs, last, create int64
	)
	if err := s.Scan(&c.ID, &pk, &peer, &c.Disappearing.Mode, &secs, &last, &create,
		&c.Unread, &c.Messages, &c.MessageBytes, &c.AttachmentBytes); err != nil {
		return Conversation{}, err
	}
	raw, err := open(db.k.contacts, "conversations.peer", pk, peer)
	if err != nil {
		return Conversation{}, err
	}
	if len(raw) != identity.AccountIDSize {
		return Conversation{}, fmt.Errorf("%w: conversation peer has %d bytes", ErrCorrupt, len(raw))
	}
	copy(c.Peer[:], raw)
	c.Disappearing.After = time.Duration(secs) * time.Second
	c.LastActivity, c.Created = fromMS(last), fromMS(create)
	return c, nil
}
