package clientdb

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hushnet/hush/identity"
)

// reactionsTable is the schema version that added reactions.
const reactionsTable = 7

// reactions reports whether the file has the reactions table (a test may
// stop migrating before it).
func (db *DB) reactions() bool { t := db.cfg.targetVersion; return t == 0 || t >= reactionsTable }

// Reaction is one person's emoji on a message, or its withdrawal.
type Reaction struct {
	// Target and TargetAuthor name the message reacted to.
	Target       MessageID
	TargetAuthor identity.AccountID
	Reactor      identity.AccountID
	Emoji        string
	// Removed: the reactor withdrew this emoji. Such rows are kept (and
	// never returned with a message) so an older reaction that arrives
	// late does not bring it back.
	Removed bool
	// SentAt and ID are the reaction's signed time and its own message
	// ID: the latest (SentAt, then ID as bytes) wins.
	SentAt time.Time
	ID     MessageID
	// Signed is the reactor's signed part of the message that carried
	// the reaction (protocol v2), kept so a history share can prove a
	// contact's reaction to a new device; nil for this account's own and
	// for reactions that came without one.
	Signed []byte
}

// MaxEmojiSize bounds a reaction's emoji in bytes: the longest emoji
// sequences (families, flags with tags) take about 35.
const MaxEmojiSize = 64

func (r *Reaction) check() error {
	switch {
	case r.Target == MessageID{} || r.ID == MessageID{}:
		return fmt.Errorf("%w: reaction message IDs are required", ErrInvalid)
	case r.TargetAuthor.IsZero() || r.Reactor.IsZero():
		return fmt.Errorf("%w: reaction accounts are required", ErrInvalid)
	case r.SentAt.IsZero():
		return fmt.Errorf("%w: reaction time is required", ErrInvalid)
	case r.Emoji == "" || len(r.Emoji) > MaxEmojiSize || !utf8.ValidString(r.Emoji):
		return fmt.Errorf("%w: emoji must be 1 to %d bytes of UTF-8", ErrInvalid, MaxEmojiSize)
	case strings.ContainsFunc(r.Emoji, func(c rune) bool { return c < 0x21 || c == 0x7f || (c >= 0x80 && c < 0xa0) }):
		return fmt.Errorf("%w: emoji has a space or control character", ErrInvalid)
	}
	return nil
}

// newer reports whether r supersedes old: the later signed time, and
// among equal times the greater reaction ID, so every device keeps the
// same one whatever order they arrived in.
func (r *Reaction) newer(old *Reaction) bool {
	if a, b := r.SentAt.UnixMilli(), old.SentAt.UnixMilli(); a != b {
		return a > b
	}
	return bytes.Compare(r.ID[:], old.ID[:]) > 0
}

// encodeReaction lays out a reaction's sealed part: target author ‖
// target ID ‖ reactor ‖ reaction ID ‖ 8-byte sent ms ‖ removed byte ‖
// emoji length ‖ emoji, zero-padded to 128 bytes so the row's size says
// nothing of the emoji; then, with a signed part, 0x01 ‖ 2-byte length ‖
// signed part (rows written before it have only the zero padding, which
// reads as none).
func encodeReaction(r *Reaction) []byte {
	b := make([]byte, 0, 128)
	b = append(b, r.TargetAuthor[:]...)
	b = append(b, r.Target[:]...)
	b = append(b, r.Reactor[:]...)
	b = append(b, r.ID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.SentAt.UnixMilli()))
	rm := byte(0)
	if r.Removed {
		rm = 1
	}
	b = append(b, rm, byte(len(r.Emoji)))
	b = append(b, r.Emoji...)
	if len(r.Signed) > 0 && len(r.Signed) <= maxReactionSigned {
		b = append(b, 1)
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.Signed)))
		b = append(b, r.Signed...)
	}
	return b[:max(len(b), 128)]
}

// maxReactionSigned bounds a kept signed part: a reaction's padded
// Content and its seal's signature take well under a kilobyte.
const maxReactionSigned = 4 << 10

func decodeReaction(b []byte) (Reaction, error) {
	const head = 2*identity.AccountIDSize + 2*len(MessageID{}) + 8 + 2
	var r Reaction
	if len(b) < head {
		return r, fmt.Errorf("%w: reaction too short", ErrCorrupt)
	}
	b = b[copy(r.TargetAuthor[:], b):]
	b = b[copy(r.Target[:], b):]
	b = b[copy(r.Reactor[:], b):]
	b = b[copy(r.ID[:], b):]
	r.SentAt = fromMS(int64(binary.BigEndian.Uint64(b)))
	r.Removed, b = b[8] == 1, b[9:]
	n := int(b[0])
	if n > len(b)-1 {
		return r, fmt.Errorf("%w: reaction emoji length", ErrCorrupt)
	}
	r.Emoji = string(b[1 : 1+n])
	if rest := b[1+n:]; len(rest) >= 3 && rest[0] == 1 {
		l := int(binary.BigEndian.Uint16(rest[1:]))
		if l > len(rest)-3 {
			return r, fmt.Errorf("%w: reaction signed part length", ErrCorrupt)
		}
		r.Signed = slices.Clone(rest[3 : 3+l])
	}
	return r, nil
}

// PutReaction records r in the conversation with peer unless the row
// for (target, reactor, emoji) holds a newer one, and reports whether it
// changed anything. The target need not be here yet. It returns
// [ErrNotFound] when there is no conversation with peer, [ErrDeleted]
// for a target deleted here (or in a chat deleted since r was sent), and
// [ErrInvalid] for a malformed r or a target held in another
// conversation (a peer may react only to what it can see).
func (db *DB) PutReaction(peer identity.AccountID, r Reaction, now time.Time) (bool, error) {
	if err := r.check(); err != nil {
		return false, err
	}
	if err := checkTime("now", now); err != nil {
		return false, err
	}
	pk := db.k.lookupKey(lookupAccount, peer[:])
	tk := db.k.lookupKey(lookupMessage, r.TargetAuthor[:], r.Target[:])
	rk := db.k.lookupKey(lookupReaction, tk, r.Reactor[:], []byte(r.Emoji))
	changed := false
	err := db.write(false, func(tx *sql.Tx) error {
		var conv ConversationID
		err := tx.QueryRow("SELECT id FROM conversations WHERE peer_key = ?", pk).Scan(&conv)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM tombstones
			WHERE (kind = ? AND key = ? AND before_ms >= ?) OR (kind = ? AND key = ?)`,
			tombstoneConv, pk, toMS(r.SentAt), tombstoneMessage, tk).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrDeleted
		}
		var held ConversationID
		err = tx.QueryRow("SELECT conv_id FROM messages WHERE msg_key = ?", tk).Scan(&held)
		switch {
		case err == nil && held != conv:
			return fmt.Errorf("%w: reaction to a message of another conversation", ErrInvalid)
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		var sealed []byte
		err = tx.QueryRow("SELECT sealed FROM reactions WHERE reaction_key = ?", rk).Scan(&sealed)
		switch {
		case err == nil:
			pt, err := open(db.k.messages, "reactions.content", rk, sealed)
			if err != nil {
				return err
			}
			old, err := decodeReaction(pt)
			if err != nil {
				return err
			}
			if !r.newer(&old) {
				return nil
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.Exec(`INSERT INTO reactions(reaction_key, target_key, conv_id, received_ms, sealed) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(reaction_key) DO UPDATE SET received_ms = excluded.received_ms, sealed = excluded.sealed`,
			rk, tk, conv, toMS(now), seal(db.k.messages, "reactions.content", rk, encodeReaction(&r)))
		changed = err == nil
		return err
	})
	return changed, err
}

// fillReactions sets the standing reactions (not removed) of ms, in the
// order they were sent. keys are the messages' msg_key values, by index.
func (db *DB) fillReactions(q querier, ms []Message, keys [][]byte) error {
	if !db.reactions() || len(ms) == 0 {
		return nil
	}
	index := map[string]int{}
	args := make([]any, 0, len(keys))
	for i, k := range keys {
		index[string(k)] = i
		args = append(args, k)
	}
	for len(args) > 0 {
		// SQLite's default bound-variable limit is far above a page, but
		// a search's results may be many.
		part := args[:min(len(args), 500)]
		args = args[len(part):]
		in := "(" + strings.Repeat("?,", len(part)-1) + "?)"
		rows, err := q.Query("SELECT reaction_key, target_key, conv_id, sealed FROM reactions WHERE target_key IN "+in, part...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				rk, tk, sealed []byte
				conv           ConversationID
			)
			if err := rows.Scan(&rk, &tk, &conv, &sealed); err != nil {
				rows.Close()
				return err
			}
			m := &ms[index[string(tk)]]
			if conv != m.Conversation {
				continue
			}
			pt, err := open(db.k.messages, "reactions.content", rk, sealed)
			if err != nil {
				rows.Close()
				return err
			}
			r, err := decodeReaction(pt)
			if err != nil {
				rows.Close()
				return err
			}
			if !r.Removed {
				m.Reactions = append(m.Reactions, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for i := range ms {
		slices.SortStableFunc(ms[i].Reactions, func(a, b Reaction) int {
			if c := a.SentAt.Compare(b.SentAt); c != 0 {
				return c
			}
			return bytes.Compare(a.ID[:], b.ID[:])
		})
	}
	return nil
}

// deleteReactions deletes the reactions to the messages matching where
// (over messages m), before the messages themselves go.
func (db *DB) deleteReactions(tx *sql.Tx, where string, args ...any) error {
	if !db.reactions() {
		return nil
	}
	_, err := tx.Exec("DELETE FROM reactions WHERE target_key IN (SELECT m.msg_key FROM messages AS m WHERE "+where+")", args...)
	return err
}

// expireOrphanReactions drops reactions whose message has not arrived
// within the tombstone time: it never will.
func (db *DB) expireOrphanReactions(tx *sql.Tx, now time.Time) error {
	if !db.reactions() {
		return nil
	}
	_, err := tx.Exec(`DELETE FROM reactions WHERE received_ms <= ?
		AND NOT EXISTS (SELECT 1 FROM messages WHERE msg_key = reactions.target_key)`, toMS(now.Add(-db.cfg.tombstoneTTL)))
	return err
}
